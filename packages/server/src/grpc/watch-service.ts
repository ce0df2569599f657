/**
 * etcd's Watch service: one bidirectional stream carries many watches, as etcd's watchServer
 * (api/v3rpc/watch.go) serves them.
 *
 * Per stream:
 *   - a create request opens a store Watcher as the stream's user and answers `created` with the
 *     watch ID (the client's, or the lowest free one from 0 up, as etcd's watchStream picks), or
 *     `created` + `canceled` with watch ID -1 and etcd's reason, checked in etcd's order
 *     (permission denied, then an empty range, then a duplicate ID) — never a stream error;
 *   - each watch is pumped by its own loop that takes one response at a time from its Watcher and
 *     writes it to the stream, waiting while the stream is backed up — so a slow client leaves
 *     responses in the Watcher's bounded buffer, where the store's back-pressure (victims)
 *     applies, instead of piling them up in the gRPC stream;
 *   - a cancel request cancels the Watcher and answers `canceled` (an unknown ID gets no answer);
 *   - a watch that compaction cancelled keeps its ID, as in etcd's watchStream (which forgets a
 *     watcher only when the client cancels it): a create may not reuse that ID, the server does
 *     not pick it, and the client's cancel of it is answered;
 *   - a progress request is answered, as etcd 3.4 does, with one response of watch ID -1 — sent
 *     once every watch on the stream has been brought up to a revision (each Watcher's own
 *     progress notification), and carrying the lowest such revision, so it never claims a
 *     revision some watch has not delivered yet;
 *   - a response larger than the request limit, of a watch created with `fragment`, is split
 *     over several responses, `fragment` set on all but the last, written back to back (clientv3
 *     joins consecutive fragments of one watch);
 *   - the stream ending (client cancel, server shutdown) cancels every watch. A client's
 *     half-close does not: etcd keeps sending until the call is done.
 *
 * Not here: which events a watch gets, ordering, compaction (the store's WatchableStore).
 */

import type { ServiceDefinition } from '@grpc/proto-loader';
import type { Client, TsetcdNode } from '@tsetcd/core';
import type { Watcher, WatchFilter, WatchResponse } from '@tsetcd/mvcc';
import type { ServiceCall } from '../grpc-server/server-call.js';
import type { EtcdProtos } from '../proto.js';
import { clientFor } from './call.js';
import { bytes, eventOut, headerOut, num, type Pb } from './convert.js';
import { toWireError } from './errors.js';
import { WatchEventEncoder } from './watch-response.js';

/** etcd's watch ID for responses that belong to no watch (progress, failed creates). */
export const NO_WATCH_ID = -1;
/** etcd's cancel reason when the user may not read the watched range (rpctypes.ErrGRPCPermissionDenied.Error()). */
export const PERMISSION_DENIED_REASON =
  'rpc error: code = PermissionDenied desc = etcdserver: permission denied';
const DUPLICATE_ID_REASON = 'mvcc: duplicate watch ID provided on the WatchStream';
const EMPTY_RANGE_REASON = 'mvcc: watcher range is empty';

/**
 * etcd's cancel reason for a create that auth refused (its isWatchPermitted switch): the gRPC
 * error's text for an invalid token or a missing user name, permission denied for the rest.
 */
function authCancelReason(grpcCode: string, err: unknown): string {
  const { etcdName, message } = err as { etcdName?: string; message: string };
  if (etcdName !== undefined && REASON_AS_GRPC_TEXT.has(etcdName))
    return `rpc error: code = ${grpcCode} desc = ${message}`;
  return PERMISSION_DENIED_REASON;
}

/** The auth errors whose own gRPC text etcd gives as a refused create's reason. */
const REASON_AS_GRPC_TEXT: ReadonlySet<string> = new Set([
  'ErrInvalidAuthToken',
  'ErrUserEmpty',
  'ErrInvalidAuthMgmt',
]);

/** The Watch service's handlers. */
export function watchService(node: TsetcdNode, protos: EtcdProtos) {
  const serialize = (protos.Watch as ServiceDefinition).Watch!.responseSerialize as (v: Pb) => Buffer;
  // Shared by every stream: a put seen by watchers on many streams is encoded once.
  const encoder = new WatchEventEncoder();
  return {
    Watch: (call: ServiceCall) => {
      new WatchStream(node, call, clientFor(node, call.metadata), serialize, encoder).start();
    },
  };
}

/** One watch on a stream. */
interface StreamWatch {
  readonly id: number;
  readonly watcher: Watcher;
  readonly fragment: boolean;
  /** Set once the stream no longer writes for this watch. */
  done: boolean;
}

/** A StreamWatch that compaction cancelled: kept only to hold its ID until the client cancels it. */
function isHeldOnly(w: StreamWatch): boolean {
  return w.done;
}

/** A progress request waiting for every watch it covers to report its revision. */
interface PendingProgress {
  readonly waiting: Set<number>;
  revision: number;
}

/** The server side of one Watch stream; see the file comment. */
class WatchStream {
  // Invariant: a watch is in `watches` from its created response until its canceled one, or,
  // cancelled by compaction, until the client cancels it (isHeldOnly, done).
  private readonly watches = new Map<number, StreamWatch>();
  /** The lowest ID that may be free for the server to pick (etcd's watchStream.nextID). */
  private nextId = 0;
  private closed = false;
  /** Resolves when the stream drains (or closes); undefined while it is not backed up. */
  private drained: Promise<void> | undefined;
  private resolveDrained: (() => void) | undefined;
  private readonly progress: PendingProgress[] = [];

  constructor(
    private readonly node: TsetcdNode,
    private readonly call: ServiceCall,
    private readonly client: Client,
    private readonly serialize: (v: Pb) => Buffer,
    private readonly encoder: WatchEventEncoder,
  ) {}

  start(): void {
    this.call.on('data', (req: Pb) => this.onRequest(req));
    this.call.on('cancelled', () => this.close());
    this.call.on('error', () => this.close());
    this.call.on('close', () => this.close());
  }

  private onRequest(req: Pb): void {
    if (this.closed) return;
    switch (req.requestUnion) {
      case 'createRequest':
        this.create(req.createRequest as Pb);
        return;
      case 'cancelRequest': {
        // An ID beyond 2^53 cannot be one this stream handed out: unknown, so no answer.
        const id = Number((req.cancelRequest as Pb).watchId ?? 0);
        if (Number.isSafeInteger(id)) this.cancel(id);
        return;
      }
      case 'progressRequest':
        this.requestProgress();
        return;
      default:
        return; // etcd ignores an empty request
    }
  }

  // ---- create ----------------------------------------------------------------------------------

  private create(c: Pb): void {
    const key = bytes(c.key);
    const end = bytes(c.rangeEnd);
    let requested: number;
    let watcher: Watcher;
    try {
      // Inside the try: a watch ID beyond 2^53 fails this create, not the member (num throws).
      requested = num(c.watchId);
      const filters = ((c.filters as string[] | undefined) ?? []).filter(
        (f): f is WatchFilter => f === 'NOPUT' || f === 'NODELETE',
      );
      watcher = this.client.watch(key.length === 0 ? new Uint8Array([0]) : key, {
        ...(end.length > 0 ? { rangeEnd: end } : {}),
        ...(num(c.startRevision) !== 0 ? { startRevision: num(c.startRevision) } : {}),
        ...(c.prevKv === true ? { prevKv: true } : {}),
        ...(c.progressNotify === true ? { progressNotify: true } : {}),
        ...(filters.length > 0 ? { filters } : {}),
      });
    } catch (err) {
      const e = err as { code?: unknown; grpcCode?: unknown };
      if (typeof e?.grpcCode === 'string') this.fail(NO_WATCH_ID, authCancelReason(e.grpcCode, err));
      else if (e?.code === 'ErrEmptyWatcherRange') this.fail(NO_WATCH_ID, EMPTY_RANGE_REASON);
      else this.fail(NO_WATCH_ID, toWireError(err).details);
      return;
    }
    // After the permission and range checks (inside client.watch), as etcd's order has it.
    if (requested !== 0 && this.watches.has(requested)) {
      watcher.cancel();
      this.fail(NO_WATCH_ID, DUPLICATE_ID_REASON);
      return;
    }
    const id = requested !== 0 ? requested : this.pickId();
    const w: StreamWatch = { id, watcher, fragment: c.fragment === true, done: false };
    this.watches.set(id, w);
    void this.pump(w);
  }

  /** The lowest unused ID from nextId up (etcd's AutoWatchID handling). */
  private pickId(): number {
    while (this.watches.has(this.nextId)) this.nextId++;
    return this.nextId++;
  }

  /** A create that failed: `created` and `canceled` at once, with etcd's reason. */
  private fail(watchId: number, reason: string): void {
    this.write({
      header: this.header(this.node.parts.store.revision),
      watchId: String(watchId),
      created: true,
      canceled: true,
      cancelReason: reason,
    });
  }

  // ---- delivery --------------------------------------------------------------------------------

  /** Writes one watch's responses in order, one at a time, while the stream has room. */
  private async pump(w: StreamWatch): Promise<void> {
    const it = w.watcher[Symbol.asyncIterator]();
    for (;;) {
      if (this.drained !== undefined) await this.drained;
      if (w.done) return;
      const r = await it.next();
      if (r.done || w.done) return;
      this.deliver(w, r.value);
    }
  }

  private deliver(w: StreamWatch, r: WatchResponse): void {
    if (
      !r.created &&
      !r.canceled &&
      r.events.length > 0 &&
      !w.fragment &&
      this.call.writeFrame !== undefined
    ) {
      // The common case, encoded by hand (see watch-response.ts).
      this.writeFrame(this.encoder.frame(this.node.header(r.header.revision), w.id, r.events));
      return;
    }
    const out: Pb = { header: this.header(r.header.revision), watchId: String(w.id) };
    if (r.created) {
      out.created = true;
      this.write(out);
      return;
    }
    if (r.canceled) {
      // The store ended the watch (compaction, failure); the client need not cancel it. A
      // compacted one keeps its ID until the client does (see the file comment).
      w.done = true;
      if (r.compactRevision === 0) this.watches.delete(w.id);
      this.settleProgress(w.id, undefined);
      out.canceled = true;
      if (r.compactRevision !== 0) {
        // etcd 3.4 sends a compaction cancel without header revision or reason.
        const { revision: _omitted, ...header } = out.header as Pb;
        out.header = header;
        out.compactRevision = String(r.compactRevision);
      } else if (r.cancelReason !== '') out.cancelReason = r.cancelReason;
      this.write(out);
      return;
    }
    if (r.events.length === 0) {
      // A progress notification: the one a pending progress request asked for, or a periodic one.
      if (this.settleProgress(w.id, r.header.revision)) return;
      this.write(out);
      return;
    }
    out.events = r.events.map(eventOut);
    if (w.fragment) this.writeFragments(out);
    else this.write(out);
  }

  /**
   * etcd's sendFragments: a response of at least the request limit with two or more events goes
   * out in pieces, each as large as fits (at least one event), `fragment` set on all but the last.
   */
  private writeFragments(out: Pb): void {
    const limit = this.node.parts.config.maxRequestBytes;
    const events = out.events as Pb[];
    if (events.length < 2 || this.serialize(out).length < limit) {
      this.write(out);
      return;
    }
    const base = this.serialize({ ...out, events: [], fragment: true }).length;
    let cur: Pb[] = [];
    let size = base;
    for (const e of events) {
      const eventSize = this.serialize({ events: [e] }).length;
      if (cur.length > 0 && size + eventSize >= limit) {
        this.write({ ...out, events: cur, fragment: true });
        cur = [];
        size = base;
      }
      cur.push(e);
      size += eventSize;
    }
    this.write({ ...out, events: cur });
  }

  // ---- cancel and progress ---------------------------------------------------------------------

  private cancel(id: number): void {
    const w = this.watches.get(id);
    if (w === undefined) return; // etcd answers nothing for an unknown ID
    // A watch held only for its ID (compacted) is answered like a live one.
    w.done = true;
    this.watches.delete(id);
    w.watcher.cancel();
    this.settleProgress(id, undefined);
    this.write({
      header: this.header(this.node.parts.store.revision),
      watchId: String(id),
      canceled: true,
    });
  }

  /** etcd 3.4: one response with watch ID -1 and a revision every watch on the stream has reached. */
  private requestProgress(): void {
    const pending: PendingProgress = {
      waiting: new Set([...this.watches.values()].filter((w) => !isHeldOnly(w)).map((w) => w.id)),
      revision: this.node.parts.store.revision,
    };
    if (pending.waiting.size === 0) {
      this.writeProgress(pending.revision);
      return;
    }
    this.progress.push(pending);
    for (const w of this.watches.values()) if (!isHeldOnly(w)) w.watcher.requestProgress();
  }

  /**
   * Watch `id` reported progress at `revision` (or is gone: undefined). Returns whether a pending
   * request was waiting for it, so that its notification is not also sent on its own.
   */
  private settleProgress(id: number, revision: number | undefined): boolean {
    let claimed = false;
    for (const p of this.progress) {
      if (!p.waiting.delete(id)) continue;
      claimed = true;
      if (revision !== undefined) p.revision = Math.min(p.revision, revision);
    }
    // Answer in request order: a request waits for every one before it.
    while (this.progress.length > 0 && this.progress[0]!.waiting.size === 0) {
      this.writeProgress(this.progress.shift()!.revision);
    }
    return claimed && revision !== undefined;
  }

  private writeProgress(revision: number): void {
    this.write({ header: this.header(revision), watchId: String(NO_WATCH_ID) });
  }

  // ---- the stream ------------------------------------------------------------------------------

  private header(revision: number): Pb {
    return headerOut(this.node.header(revision));
  }

  private write(out: Pb): void {
    if (this.closed) return;
    this.backedUp(this.call.write(out));
  }

  private writeFrame(frame: Buffer): void {
    if (this.closed) return;
    this.backedUp(this.call.writeFrame!(frame));
  }

  /** After a write: if the stream is backed up, the pumps wait for 'drain'. */
  private backedUp(written: boolean): void {
    if (!written && this.drained === undefined) {
      this.drained = new Promise((resolve) => {
        this.resolveDrained = resolve;
      });
      this.call.once('drain', () => this.onDrain());
    }
  }

  private onDrain(): void {
    const resolve = this.resolveDrained;
    this.drained = undefined;
    this.resolveDrained = undefined;
    resolve?.();
  }

  /** The call is over: cancel every watch on it. */
  private close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const w of this.watches.values()) {
      w.done = true;
      w.watcher.cancel();
    }
    this.watches.clear();
    this.progress.length = 0;
    this.onDrain();
  }
}
