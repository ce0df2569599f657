/**
 * One server under the watch/lease differential test (the real etcd or a tsetcd member), driven
 * through grpc-js clients built from our .proto files — the same code for both. It applies the
 * generator's operations, keeps every response of every Watch and LeaseKeepAlive stream, assigns
 * watch responses to the logical watches they belong to, and turns answers into comparable
 * plain values.
 *
 * Comparable means: bytes as text, header without cluster_id / member_id / raft_term, lease IDs
 * replaced by their logical names (a lease granted with ID 0 gets a different ID on each server),
 * lists the server keeps in a Go map (TimeToLive keys, Leases) sorted, and a lease's remaining
 * TTL reduced to whether it lies in [0, granted TTL]. Nothing else is normalised.
 *
 * Does not: compare two servers, or decide what is right (the test does).
 */

import {
  type Client,
  type ClientDuplexStream,
  credentials,
  makeClientConstructor,
  type ServiceDefinition,
  type ServiceError,
} from '@grpc/grpc-js';
import { loadEtcdProtos } from '../proto.js';
import type { Decoded } from './harness.js';
import {
  type CompareSpec,
  type HistoryEvent,
  inRange,
  type LeaseRef,
  type Op,
  type TxnOpSpec,
  UNKNOWN_WATCH_ID,
} from './watch-lease-gen.js';

/** How long a single RPC may take before the run fails. */
const CALL_DEADLINE_MS = 10_000;
/** How long to wait for a stream to deliver what is expected (only a failing run waits this long). */
export const DELIVERY_TIMEOUT_MS = 5_000;

/** Sent for a lease this server never granted. */
const NEVER_GRANTED_LEASE_ID = '987654321';

/** A unary call's outcome: the response or the gRPC error, comparable. */
export type Outcome = { readonly ok: unknown } | { readonly error: { code: number; details: string } };

/** A logical watch on this server. */
export interface WatchRec {
  readonly op: Extract<Op, { kind: 'watch' }>;
  /** Opened after every write (phase B): its replay happens with no write in flight. */
  readonly phaseB: boolean;
  created?: Decoded;
  /** Responses with events (or a progress notification), in arrival order. */
  readonly responses: Decoded[];
  /** The response that ended it (our cancel or a compaction). */
  canceled?: Decoded;
  /** Whether we asked to cancel it (nothing more is expected of it then). */
  cancelRequested: boolean;
  /** The compaction revision when it was created. */
  readonly compactRev: number;
}

/** One Watch stream and everything it received. */
interface StreamRec {
  readonly call: ClientDuplexStream<object, Decoded>;
  readonly pendingCreates: WatchRec[];
  readonly open: Map<string, WatchRec>;
  readonly progress: Decoded[];
  /** Responses no watch claims (should stay empty). */
  readonly stray: Decoded[];
  errored?: string;
}

/** A server under test. */
export class Target {
  private readonly kv: Client;
  private readonly lease: Client;
  private readonly watchClient: Client;
  private readonly streams = new Map<string, StreamRec>();
  private keepAlive: { call: ClientDuplexStream<object, Decoded>; got: Decoded[] } | undefined;
  /** Logical lease name → this server's ID. */
  readonly leaseIds = new Map<string, string>();
  /** This server's lease ID → logical name. */
  private readonly leaseNames = new Map<string, string>();
  readonly watches: WatchRec[] = [];
  /** The all-keys watch every expectation is derived from. */
  oracle: WatchRec | undefined;
  private wakers: (() => void)[] = [];

  constructor(
    readonly name: 'etcd' | 'tsetcd',
    endpoint: string,
  ) {
    const protos = loadEtcdProtos();
    const make = (svc: 'KV' | 'Lease' | 'Watch') =>
      new (makeClientConstructor(protos[svc] as ServiceDefinition, svc))(
        endpoint,
        credentials.createInsecure(),
      );
    this.kv = make('KV');
    this.lease = make('Lease');
    this.watchClient = make('Watch');
  }

  close(): void {
    for (const s of this.streams.values()) s.call.cancel();
    this.keepAlive?.call.cancel();
    this.kv.close();
    this.lease.close();
    this.watchClient.close();
  }

  // ---- waiting ---------------------------------------------------------------------------------

  private wake(): void {
    for (const w of this.wakers.splice(0)) w();
  }

  /** Waits until `pred` holds (re-checked on every response); false after `ms`. */
  async until(pred: () => boolean, ms = DELIVERY_TIMEOUT_MS): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (!pred()) {
      if (Date.now() > deadline) return false;
      await new Promise<void>((resolve) => {
        this.wakers.push(resolve);
        setTimeout(resolve, 50);
      });
    }
    return true;
  }

  // ---- unary calls -----------------------------------------------------------------------------

  private unary(client: Client, method: string, req: object): Promise<Outcome> {
    const fn = (client as unknown as Record<string, (...a: unknown[]) => void>)[method]!;
    return new Promise((resolve) => {
      fn.call(
        client,
        req,
        { deadline: Date.now() + CALL_DEADLINE_MS },
        (err: ServiceError | null, res: Decoded) =>
          resolve(err ? { error: { code: err.code, details: err.details } } : { ok: res }),
      );
    });
  }

  /** The ID to send for a lease reference. */
  leaseId(ref: LeaseRef): string {
    if (ref.startsWith('raw:')) return ref.slice(4);
    // A lease this server failed to grant (after a mismatch, with DIFF_CONTINUE): an unknown ID.
    return this.leaseIds.get(ref) ?? NEVER_GRANTED_LEASE_ID;
  }

  private txnOp(o: TxnOpSpec): object {
    const b = Buffer.from;
    if (o.op === 'put') {
      return {
        requestPut: {
          key: b(o.key),
          value: b(o.value),
          ...(o.lease !== undefined ? { lease: this.leaseId(o.lease) } : {}),
        },
      };
    }
    if (o.op === 'delete') {
      return {
        requestDeleteRange: {
          key: b(o.key),
          ...(o.rangeEnd !== undefined ? { rangeEnd: b(o.rangeEnd) } : {}),
          prevKv: o.prevKv,
        },
      };
    }
    return {
      requestRange: { key: b(o.key), ...(o.rangeEnd !== undefined ? { rangeEnd: b(o.rangeEnd) } : {}) },
    };
  }

  private compare(c: CompareSpec): object {
    const base = { key: Buffer.from(c.key), target: c.target, result: c.result };
    if (c.target === 'VERSION') return { ...base, version: String(c.version) };
    if (c.target === 'VALUE') return { ...base, value: Buffer.from(c.value ?? '') };
    return { ...base, lease: this.leaseId(c.lease!) };
  }

  /** Applies one non-watch operation and returns its comparable outcome. */
  async apply(op: Op): Promise<unknown> {
    const b = Buffer.from;
    switch (op.kind) {
      case 'put':
        return this.norm(
          await this.unary(this.kv, 'Put', {
            key: b(op.key),
            value: b(op.value),
            prevKv: op.prevKv,
            ...(op.lease !== undefined ? { lease: this.leaseId(op.lease) } : {}),
            ...(op.ignoreLease === true ? { ignoreLease: true } : {}),
          }),
        );
      case 'delete':
        return this.norm(
          await this.unary(this.kv, 'DeleteRange', {
            key: b(op.key),
            ...(op.rangeEnd !== undefined ? { rangeEnd: b(op.rangeEnd) } : {}),
            prevKv: op.prevKv,
          }),
        );
      case 'txn':
        return this.norm(
          await this.unary(this.kv, 'Txn', {
            compare: op.compare.map((c) => this.compare(c)),
            success: op.success.map((o) => this.txnOp(o)),
            failure: op.failure.map((o) => this.txnOp(o)),
          }),
        );
      case 'compact':
        return this.norm(
          await this.unary(this.kv, 'Compact', { revision: String(op.revision), physical: op.physical }),
        );
      case 'grant': {
        const out = await this.unary(this.lease, 'LeaseGrant', { TTL: op.ttl, ID: op.id ?? '0' });
        if ('ok' in out) this.nameLease(op.lease, (out.ok as Decoded).ID);
        return this.norm(out);
      }
      case 'regrant':
        return this.norm(
          await this.unary(this.lease, 'LeaseGrant', { TTL: op.ttl, ID: this.leaseId(op.lease) }),
        );
      case 'revoke':
        return this.norm(await this.unary(this.lease, 'LeaseRevoke', { ID: this.leaseId(op.lease) }));
      case 'timeToLive': {
        const out = await this.unary(this.lease, 'LeaseTimeToLive', {
          ID: this.leaseId(op.lease),
          keys: op.keys,
        });
        if ('ok' in out) {
          const r = out.ok as Decoded;
          r.keys = (r.keys as Buffer[]).map((k) => k.toString('latin1')).sort();
          if (r.TTL !== '-1') {
            const inRangeTtl = Number(r.TTL) >= 0 && Number(r.TTL) <= Number(r.grantedTTL);
            r.TTL = inRangeTtl ? 'in [0, grantedTTL]' : `OUT OF [0, grantedTTL]: ${r.TTL}`;
          }
        }
        return this.norm(out);
      }
      case 'leases':
        return this.norm(await this.unary(this.lease, 'LeaseLeases', {}));
      case 'keepAlive':
        return this.norm(await this.keepAliveOnce(this.leaseId(op.lease)));
      case 'watch':
        throw new TypeError('watch creates go through watch()');
      case 'cancel':
        return this.cancel(op);
      case 'progress':
        return this.progress(op.stream);
    }
  }

  /** Reads every key (the final state check). */
  async rangeAll(): Promise<unknown> {
    return this.norm(
      await this.unary(this.kv, 'Range', { key: Buffer.from([0]), rangeEnd: Buffer.from([0]) }),
    );
  }

  private nameLease(name: string, id: string): void {
    this.leaseIds.set(name, id);
    this.leaseNames.set(id, name);
  }

  private async keepAliveOnce(id: string): Promise<Outcome> {
    if (this.keepAlive === undefined) {
      const call = (
        this.lease as unknown as { LeaseKeepAlive(): ClientDuplexStream<object, Decoded> }
      ).LeaseKeepAlive();
      const got: Decoded[] = [];
      call.on('data', (r: Decoded) => {
        got.push(r);
        this.wake();
      });
      call.on('error', (err: ServiceError) => {
        got.push({ streamError: { code: err.code, details: err.details } });
        this.wake();
      });
      this.keepAlive = { call, got };
    }
    const ka = this.keepAlive;
    const before = ka.got.length;
    ka.call.write({ ID: id });
    if (!(await this.until(() => ka.got.length > before)))
      return { error: { code: -1, details: 'no keep-alive answer' } };
    const r = ka.got[before];
    return 'streamError' in r ? { error: r.streamError } : { ok: r };
  }

  // ---- watch streams ---------------------------------------------------------------------------

  private stream(name: string): StreamRec {
    const existing = this.streams.get(name);
    if (existing !== undefined) return existing;
    const call = (this.watchClient as unknown as { Watch(): ClientDuplexStream<object, Decoded> }).Watch();
    const s: StreamRec = { call, pendingCreates: [], open: new Map(), progress: [], stray: [] };
    call.on('data', (r: Decoded) => {
      this.onWatchResponse(s, r);
      this.wake();
    });
    call.on('error', (err: ServiceError) => {
      if (err.code !== 1) s.errored = `${err.code} ${err.details}`;
      this.wake();
    });
    this.streams.set(name, s);
    return s;
  }

  /** Assigns a response to its watch: creates are answered in request order, the rest by watch ID. */
  private onWatchResponse(s: StreamRec, r: Decoded): void {
    if (r.created === true) {
      const w = s.pendingCreates.shift();
      if (w === undefined) {
        s.stray.push(r);
        return;
      }
      w.created = r;
      if (r.canceled !== true) s.open.set(r.watchId, w);
      return;
    }
    if (r.watchId === '-1') {
      s.progress.push(r);
      return;
    }
    const w = s.open.get(r.watchId);
    if (w === undefined) {
      s.stray.push(r);
      return;
    }
    if (r.canceled === true) {
      w.canceled = r;
      s.open.delete(r.watchId);
      return;
    }
    w.responses.push(r);
  }

  /** Opens the all-keys watch (prev_kv on) that the expectations are derived from. */
  async openOracle(): Promise<unknown> {
    const op: Extract<Op, { kind: 'watch' }> = {
      kind: 'watch',
      watch: -1,
      stream: 'oracle',
      key: '\0',
      rangeEnd: '\0',
      startRevision: 0,
      prevKv: true,
      filters: [],
      progressNotify: false,
    };
    const out = await this.watch(op, false, 0);
    this.oracle = this.watches.pop();
    return out;
  }

  /** Creates a watch and waits for its created response (so later writes reach it live). */
  async watch(op: Extract<Op, { kind: 'watch' }>, phaseB: boolean, compactRev: number): Promise<unknown> {
    const s = this.stream(op.stream);
    const w: WatchRec = { op, phaseB, responses: [], cancelRequested: false, compactRev };
    this.watches.push(w);
    s.pendingCreates.push(w);
    s.call.write({
      createRequest: {
        key: Buffer.from(op.key, 'latin1'),
        ...(op.rangeEnd !== undefined ? { rangeEnd: Buffer.from(op.rangeEnd, 'latin1') } : {}),
        startRevision: String(op.startRevision),
        prevKv: op.prevKv,
        filters: [...op.filters],
        progressNotify: op.progressNotify,
        ...(op.watchId !== undefined ? { watchId: String(op.watchId) } : {}),
      },
    });
    if (!(await this.until(() => w.created !== undefined))) return { error: 'no created response' };
    return this.norm({ ok: w.created });
  }

  /**
   * Cancels a watch, or an unknown ID. A known one is answered `canceled`; an unknown one is not
   * answered at all, which a progress request sent right after shows (both go through the
   * stream's control queue in order, in etcd).
   */
  private async cancel(op: Extract<Op, { kind: 'cancel' }>): Promise<unknown> {
    const s = this.stream(op.stream);
    const w = op.watch !== undefined ? this.watches[op.watch] : undefined;
    const id = w !== undefined ? (w.created?.watchId ?? String(UNKNOWN_WATCH_ID)) : String(op.watchId);
    const target = s.open.get(id);
    if (target !== undefined) target.cancelRequested = true;
    const progressBefore = s.progress.length;
    const strayBefore = s.stray.length;
    s.call.write({ cancelRequest: { watchId: id } });
    if (target !== undefined) {
      if (!(await this.until(() => target.canceled !== undefined))) return { error: 'no canceled response' };
      return this.norm({ ok: target.canceled });
    }
    s.call.write({ progressRequest: {} });
    if (!(await this.until(() => s.progress.length > progressBefore)))
      return { error: 'no progress response' };
    return this.norm({
      ok: {
        unknownId: id,
        answeredBeforeProgress: s.stray.slice(strayBefore),
        progress: s.progress[progressBefore],
      },
    });
  }

  private async progress(stream: string): Promise<unknown> {
    const s = this.stream(stream);
    const before = s.progress.length;
    s.call.write({ progressRequest: {} });
    if (!(await this.until(() => s.progress.length > before))) return { error: 'no progress response' };
    return this.norm({ ok: s.progress[before] });
  }

  // ---- expectations and summaries ----------------------------------------------------------------

  /** The events the oracle has delivered: this server's whole history so far. */
  history(): HistoryEvent[] {
    return (this.oracle?.responses ?? []).flatMap((r: Decoded) =>
      (r.events as Decoded[]).map((e) => ({
        type: e.type,
        key: (e.kv.key as Buffer).toString('latin1'),
        modRevision: Number(e.kv.modRevision),
      })),
    );
  }

  /** Where watch `w` starts (its created response says the revision a start of 0 means). */
  static start(w: WatchRec): number {
    return w.op.startRevision === 0 ? Number(w.created.header.revision) + 1 : w.op.startRevision;
  }

  /** The number of events watch `w` must deliver, given this server's history. */
  static expectedCount(w: WatchRec, history: readonly HistoryEvent[]): number {
    const start = Target.start(w);
    return history.filter(
      (e) =>
        e.modRevision >= start &&
        inRange(e.key, w.op.key, w.op.rangeEnd) &&
        !w.op.filters.includes(e.type === 'PUT' ? 'NOPUT' : 'NODELETE') &&
        // etcd's compaction removes a tombstone at the compaction revision itself: a replay from
        // there misses that delete (this only decides how long to wait; the servers are compared).
        !(e.type === 'DELETE' && e.modRevision === w.compactRev && start === w.compactRev),
    ).length;
  }

  /**
   * Waits until the oracle has seen revision `rev` and every open watch has delivered all it
   * must (or its compaction cancel). Returns what did not arrive within `ms` per wait.
   */
  async settle(rev: number, ms: number): Promise<string[]> {
    const problems: string[] = [];
    const oracleRev = () => {
      const h = this.history();
      return h.length === 0 ? 1 : h[h.length - 1]!.modRevision;
    };
    if (!(await this.until(() => oracleRev() >= rev, ms))) {
      problems.push(`all-keys watch reached revision ${oracleRev()}, not ${rev}`);
    }
    const history = this.history();
    for (const [i, w] of this.watches.entries()) {
      if (w.created === undefined || w.created.canceled === true || w.cancelRequested) continue;
      if (Target.start(w) < w.compactRev) {
        if (!(await this.until(() => w.canceled !== undefined, ms)))
          problems.push(`watch ${i}: no compaction cancel`);
        continue;
      }
      const want = Target.expectedCount(w, history);
      if (!(await this.until(() => w.canceled !== undefined || Target.delivered(w) >= want, ms))) {
        problems.push(`watch ${i}: ${Target.delivered(w)} of ${want} events`);
      }
    }
    return problems;
  }

  /** Events delivered by `w` so far. */
  static delivered(w: WatchRec): number {
    return w.responses.reduce((n: number, r: Decoded) => n + r.events.length, 0);
  }

  /** Stream-level problems: errors, responses no watch claimed. */
  streamProblems(): unknown {
    const out: Record<string, unknown> = {};
    for (const [name, s] of this.streams) {
      if (s.errored !== undefined || s.stray.length > 0) {
        out[name] = this.norm({ ok: { errored: s.errored, stray: s.stray } });
      }
    }
    return out;
  }

  /** A comparable summary of watch `w`. */
  summary(w: WatchRec, exactGrouping: boolean): unknown {
    const events = w.responses.flatMap((r: Decoded) => r.events);
    const progress = w.responses.filter((r: Decoded) => r.events.length === 0);
    return this.norm({
      ok: {
        created: w.created,
        events,
        ...(exactGrouping
          ? {
              grouping: w.responses
                .filter((r: Decoded) => r.events.length > 0)
                .map((r: Decoded) => ({ header: r.header, n: r.events.length, fragment: r.fragment })),
            }
          : {}),
        progressNotifications: progress.length,
        canceled: w.canceled,
      },
    });
  }

  /**
   * What must hold of any server's grouping, whatever it batches: one revision never split over
   * two responses, revisions ascending, a header revision no older than its events.
   */
  groupingProblems(w: WatchRec): string[] {
    const problems: string[] = [];
    let last = 0;
    for (const r of w.responses as Decoded[]) {
      if (r.events.length === 0) continue;
      const revs = (r.events as Decoded[]).map((e) => Number(e.kv.modRevision));
      if (revs[0]! <= last) problems.push(`revision ${revs[0]} split over responses or out of order`);
      for (let i = 1; i < revs.length; i++)
        if (revs[i]! < revs[i - 1]!) problems.push(`revisions out of order: ${revs}`);
      const max = Math.max(...revs);
      if (Number(r.header.revision) < max)
        problems.push(`header revision ${r.header.revision} < event revision ${max}`);
      last = max;
    }
    return problems;
  }

  // ---- comparable values -----------------------------------------------------------------------

  /** See the file comment. */
  norm(v: unknown, key?: string): unknown {
    if (Buffer.isBuffer(v)) return showBytes(v);
    if (Array.isArray(v)) {
      const xs = v.map((x) => this.norm(x));
      // LeaseLeases is a Go map walk in etcd.
      return key === 'leases'
        ? xs.sort((a, b) => String((a as Decoded).ID).localeCompare(String((b as Decoded).ID)))
        : xs;
    }
    if (v !== null && typeof v === 'object') {
      const out: Record<string, unknown> = {};
      for (const k of Object.keys(v).sort()) {
        const x = (v as Record<string, unknown>)[k];
        if (k === 'header' && x !== null && typeof x === 'object') {
          const { clusterId: _c, memberId: _m, raftTerm: _t, ...rest } = x as Record<string, unknown>;
          out[k] = rest;
        } else out[k] = this.norm(x, k);
      }
      return out;
    }
    if ((key === 'ID' || key === 'lease') && typeof v === 'string') return this.leaseNames.get(v) ?? v;
    return v;
  }
}

/** Printable bytes as text, others as hex. */
function showBytes(b: Buffer): string {
  return [...b].every((c) => c >= 0x20 && c < 0x7f) ? b.toString('latin1') : `0x${b.toString('hex')}`;
}
