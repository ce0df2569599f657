/**
 * One server under the lock/election differential test (the real etcd or a tsetcd member),
 * driven through grpc-js clients built from our .proto files — the same code for both. It sends
 * the operations of the test's script, keeps Lock and Campaign calls that may block (answered
 * later, or canceled by the test) and Observe streams (every response they yield), and turns
 * answers into comparable plain values.
 *
 * Comparable means: bytes as text; the header's cluster_id, member_id and raft_term as set or
 * zero; lease IDs as logical names (a lease granted with ID 0, or granted by the server for a
 * Lock or Campaign without one, has a different ID on each server), in decimal fields and in the
 * `<name>/<lease hex>` keys of locks and candidates alike. Revisions are kept as they are.
 *
 * Does not: compare two servers or decide what is right (the test does), or pick operations
 * (test/lock-election-gen.ts does, for the seeded runs).
 */

import {
  type Client,
  type ClientReadableStream,
  type ClientUnaryCall,
  credentials,
  makeClientConstructor,
  type ServiceDefinition,
  type ServiceError,
  status,
} from '@grpc/grpc-js';
import { loadEtcdProtos } from '../proto.js';
import type { Decoded } from './harness.js';
import { showBytes } from './kv-ops.js';

/** A unary call taking longer than this counts as a hang. */
const CALL_DEADLINE_MS = 10_000;
/** How long a canceled call's server may take to remove the key it made. */
const CANCEL_CLEANUP_MS = 1_000;

/**
 * A lease: the logical name of one granted in the run (`L1`), `0` for none (the server grants
 * one with its default TTL), or a literal decimal ID no server granted (`12345`).
 */
export type LeaseRef = string;

/** A key: one a call was answered with, a literal, or `<name>/<lease hex>` on each server. */
export type KeyRef =
  | { readonly of: string }
  | { readonly raw: string }
  | { readonly name: string; readonly lease: LeaseRef };

/**
 * A LeaderKey: the one a Campaign call was answered with (fields optionally replaced, `rev`
 * absolute since revisions agree), or none at all (`missing`).
 */
export type LeaderRef =
  | { readonly of: string; readonly rev?: number; readonly lease?: LeaseRef; readonly name?: string }
  | { readonly missing: true };

/** One step of a script. Lock and Campaign start a call named `call` that may block. */
export type Op =
  | { readonly kind: 'grant'; readonly lease: string; readonly ttl: number }
  | { readonly kind: 'revoke'; readonly lease: LeaseRef }
  | { readonly kind: 'lock'; readonly call: string; readonly name: string; readonly lease: LeaseRef }
  | { readonly kind: 'unlock'; readonly key: KeyRef }
  | {
      readonly kind: 'campaign';
      readonly call: string;
      readonly name: string;
      readonly lease: LeaseRef;
      readonly value: string;
    }
  | { readonly kind: 'proclaim'; readonly leader: LeaderRef; readonly value: string }
  | { readonly kind: 'resign'; readonly leader: LeaderRef }
  | { readonly kind: 'leader'; readonly name: string }
  | { readonly kind: 'observe'; readonly stream: string; readonly name: string }
  | { readonly kind: 'stopObserve'; readonly stream: string }
  /** The client cancels call `call` (if still waiting), then the key it may have left is read. */
  | { readonly kind: 'cancel'; readonly call: string }
  | { readonly kind: 'put'; readonly key: string; readonly value: string; readonly lease?: LeaseRef }
  | { readonly kind: 'delete'; readonly key: string; readonly prefix: boolean }
  | { readonly kind: 'range' }
  | { readonly kind: 'leases' }
  | { readonly kind: 'timeToLive'; readonly lease: LeaseRef };

/** An answer: the response, or the gRPC status code's name and message. */
export type Answer = { readonly ok: Decoded } | { readonly error: { code: string; details: string } };

/** A Lock or Campaign call that may block. */
interface CallRec {
  readonly op: Extract<Op, { kind: 'lock' | 'campaign' }>;
  readonly call: ClientUnaryCall;
  /** The raw answer, once there is one. */
  answer?: Answer;
  /** Whether the test already collected the answer. */
  reported: boolean;
}

/** An Observe stream and everything it yielded. */
interface ObserveRec {
  readonly stream: ClientReadableStream<Decoded>;
  readonly got: Answer[];
  reported: number;
  stopped: boolean;
}

/** What a target has finished so far: compared between servers to know both are done. */
export interface Progress {
  readonly done: readonly string[];
  readonly observed: Readonly<Record<string, number>>;
}

/** What happened since the last collection: calls answered and Observe responses, normalised. */
export interface Arrivals {
  readonly answered: Readonly<Record<string, unknown>>;
  readonly observed: Readonly<Record<string, readonly unknown[]>>;
}

const asAnswer = (err: ServiceError | null, res: Decoded): Answer =>
  err ? { error: { code: status[err.code] ?? String(err.code), details: err.details } } : { ok: res };

/** Go's `%x` of an int64 lease ID (as etcd's recipes write it into keys). */
export const leaseHex = (id: string): string => BigInt(id).toString(16);

/** A server under test. */
export class LockElectionTarget {
  private readonly kv: Client;
  private readonly lease: Client;
  private readonly lock: Client;
  private readonly election: Client;
  /** Logical lease name → this server's ID (decimal). */
  private readonly leaseIds = new Map<string, string>();
  /** This server's lease ID → logical name. */
  private readonly leaseNames = new Map<string, string>();
  private autoLeases = 0;
  private readonly calls = new Map<string, CallRec>();
  private readonly observers = new Map<string, ObserveRec>();

  constructor(
    readonly name: 'etcd' | 'tsetcd',
    endpoint: string,
  ) {
    const protos = loadEtcdProtos();
    const make = (svc: 'KV' | 'Lease' | 'Lock' | 'Election') =>
      new (makeClientConstructor(protos[svc] as ServiceDefinition, svc))(
        endpoint,
        credentials.createInsecure(),
      );
    this.kv = make('KV');
    this.lease = make('Lease');
    this.lock = make('Lock');
    this.election = make('Election');
  }

  /** Cancels whatever is still waiting or streaming and closes the clients. */
  close(): void {
    for (const c of this.calls.values()) if (c.answer === undefined) c.call.cancel();
    for (const o of this.observers.values()) o.stream.cancel();
    for (const c of [this.kv, this.lease, this.lock, this.election]) c.close();
  }

  // ---- sending ---------------------------------------------------------------------------------

  private start(
    client: Client,
    method: string,
    req: object,
    deadline: boolean,
    done: (a: Answer) => void,
  ): ClientUnaryCall {
    const fn = (client as unknown as Record<string, (...a: unknown[]) => ClientUnaryCall>)[method]!;
    const options = deadline ? { deadline: Date.now() + CALL_DEADLINE_MS } : {};
    return fn.call(client, req, options, (err: ServiceError | null, res: Decoded) =>
      done(asAnswer(err, res)),
    );
  }

  private unary(client: Client, method: string, req: object): Promise<Answer> {
    return new Promise((resolve) => this.start(client, method, req, true, resolve));
  }

  /** The ID to send for a lease reference. */
  private leaseId(ref: LeaseRef): string {
    if (/^-?\d+$/.test(ref)) return ref;
    // A lease this server failed to grant (a mismatch already reported): an ID nobody granted.
    return this.leaseIds.get(ref) ?? '987654321';
  }

  private key(ref: KeyRef): Buffer {
    if ('raw' in ref) return Buffer.from(ref.raw);
    if ('name' in ref) return Buffer.from(`${ref.name}/${leaseHex(this.leaseId(ref.lease))}`);
    const a = this.calls.get(ref.of)?.answer;
    if (a === undefined || !('ok' in a)) return Buffer.from(`<no key from ${ref.of}>`);
    return (a.ok.key ?? a.ok.leader.key) as Buffer;
  }

  private leaderKey(ref: LeaderRef): object {
    if ('missing' in ref) return {};
    const a = this.calls.get(ref.of)?.answer;
    const l: Decoded =
      a !== undefined && 'ok' in a && a.ok.leader !== null
        ? { ...a.ok.leader }
        : // A call this server did not answer (a mismatch already reported): a key nobody holds.
          { name: Buffer.from(''), key: Buffer.from(`<no leader from ${ref.of}>`), rev: '-1', lease: '0' };
    if (ref.rev !== undefined) l.rev = String(ref.rev);
    if (ref.lease !== undefined) l.lease = this.leaseId(ref.lease);
    if (ref.name !== undefined) l.name = Buffer.from(ref.name);
    return { leader: l };
  }

  /**
   * Sends `op`. A Lock or Campaign only starts (its answer arrives with collect()); anything
   * else returns its normalised answer, or undefined when it has none (stopObserve).
   */
  async apply(op: Op): Promise<unknown> {
    const b = Buffer.from;
    switch (op.kind) {
      case 'grant': {
        const out = await this.unary(this.lease, 'LeaseGrant', { TTL: String(op.ttl), ID: '0' });
        if ('ok' in out) this.nameLease(op.lease, out.ok.ID);
        return this.norm(out);
      }
      case 'revoke':
        return this.norm(await this.unary(this.lease, 'LeaseRevoke', { ID: this.leaseId(op.lease) }));
      case 'lock':
      case 'campaign': {
        const req =
          op.kind === 'lock'
            ? { name: b(op.name), lease: this.leaseId(op.lease) }
            : { name: b(op.name), lease: this.leaseId(op.lease), value: b(op.value) };
        const client = op.kind === 'lock' ? this.lock : this.election;
        const method = op.kind === 'lock' ? 'Lock' : 'Campaign';
        const rec: CallRec = {
          op,
          reported: false,
          call: this.start(client, method, req, false, (a) => {
            rec.answer = a;
          }),
        };
        this.calls.set(op.call, rec);
        return undefined;
      }
      case 'unlock':
        return this.norm(await this.unary(this.lock, 'Unlock', { key: this.key(op.key) }));
      case 'proclaim':
        return this.norm(
          await this.unary(this.election, 'Proclaim', { ...this.leaderKey(op.leader), value: b(op.value) }),
        );
      case 'resign':
        return this.norm(await this.unary(this.election, 'Resign', this.leaderKey(op.leader)));
      case 'leader':
        return this.norm(await this.unary(this.election, 'Leader', { name: b(op.name) }));
      case 'observe': {
        const stream = (
          this.election as unknown as { Observe(req: object): ClientReadableStream<Decoded> }
        ).Observe({ name: b(op.name) });
        const rec: ObserveRec = { stream, got: [], reported: 0, stopped: false };
        stream.on('data', (r: Decoded) => rec.got.push({ ok: r }));
        stream.on('error', (e: ServiceError) => {
          if (!rec.stopped) rec.got.push(asAnswer(e, {}));
        });
        stream.on('end', () => {
          if (!rec.stopped) rec.got.push({ ok: 'stream ended' });
        });
        this.observers.set(op.stream, rec);
        return undefined;
      }
      case 'stopObserve': {
        const rec = this.observers.get(op.stream);
        if (rec !== undefined) {
          rec.stopped = true;
          rec.stream.cancel();
        }
        return undefined;
      }
      case 'cancel':
        return this.cancel(op.call);
      case 'put':
        return this.norm(
          await this.unary(this.kv, 'Put', {
            key: b(op.key),
            value: b(op.value),
            ...(op.lease !== undefined ? { lease: this.leaseId(op.lease) } : {}),
          }),
        );
      case 'delete':
        return this.norm(
          await this.unary(this.kv, 'DeleteRange', {
            key: b(op.key),
            ...(op.prefix ? { rangeEnd: prefixEnd(b(op.key)) } : {}),
          }),
        );
      case 'range':
        return this.rangeAll();
      case 'leases':
        return this.leases();
      case 'timeToLive':
        return this.timeToLive(op.lease);
    }
  }

  /**
   * Cancels a waiting call; then, as the server may remove the key the call wrote (etcd's
   * recipes clean up after a canceled wait), waits for that key to go and reads it.
   */
  private async cancel(name: string): Promise<unknown> {
    const rec = this.calls.get(name);
    if (rec === undefined) return { noSuchCall: name };
    if (rec.answer !== undefined) return { alreadyAnswered: true };
    rec.call.cancel();
    const leaseId = this.leaseId(rec.op.lease);
    if (leaseId === '0') {
      await sleep(200);
      return { canceled: true };
    }
    const key = Buffer.from(`${rec.op.name}/${leaseHex(leaseId)}`);
    const deadline = Date.now() + CANCEL_CLEANUP_MS;
    for (;;) {
      const r = await this.unary(this.kv, 'Range', { key });
      const gone = 'ok' in r && r.ok.kvs.length === 0;
      if (gone || Date.now() > deadline) return { canceled: true, keyAfter: this.norm(r) };
      await sleep(20);
    }
  }

  /**
   * Every key, with revisions, in the order of the keys as normalised (a server returns them in
   * the order of its own lease IDs where a key embeds one).
   */
  async rangeAll(): Promise<unknown> {
    const raw = await this.unary(this.kv, 'Range', { key: Buffer.from([0]), rangeEnd: Buffer.from([0]) });
    // Leases first seen here are named in the order of their keys' creation, the same on both
    // servers (not in key order, which follows each server's own lease IDs).
    if ('ok' in raw) {
      const rev = (kv: { createRevision: string }) => Number(kv.createRevision);
      (raw.ok.kvs as { createRevision: string }[]).sort((x, y) => rev(x) - rev(y));
    }
    const out = this.norm(raw) as { ok?: { kvs: { key: string }[] } };
    out.ok?.kvs.sort((x, y) => (x.key < y.key ? -1 : x.key > y.key ? 1 : 0));
    return out;
  }

  /**
   * The leases, by name, sorted (etcd lists them in Go map order). A lease no answer has named
   * yet (one a server granted for a call and never showed) is `unnamed`.
   */
  async leases(): Promise<unknown> {
    const out = await this.unary(this.lease, 'LeaseLeases', {});
    if (!('ok' in out)) return this.norm(out);
    const names = (out.ok.leases as { ID: string }[])
      .map((l) => this.leaseNames.get(l.ID) ?? 'unnamed')
      .sort();
    return { ok: { header: header(out.ok.header), leases: names } };
  }

  /** A lease's granted TTL and keys; its remaining TTL only as live (> 0) or -1. */
  async timeToLive(lease: LeaseRef): Promise<unknown> {
    const out = await this.unary(this.lease, 'LeaseTimeToLive', { ID: this.leaseId(lease), keys: true });
    if ('ok' in out) out.ok.TTL = Number(out.ok.TTL) > 0 ? 'live' : out.ok.TTL;
    const normed = this.norm(out) as { ok?: { keys?: string[] } };
    // From a Go map in etcd (random order), and holding each server's own lease IDs in hex:
    // compared as a set once the IDs are named.
    normed.ok?.keys?.sort();
    return normed;
  }

  // ---- arrivals --------------------------------------------------------------------------------

  /** Calls answered and responses observed so far (the settle loop compares these). */
  progress(): Progress {
    const done = [...this.calls].filter(([, c]) => c.answer !== undefined).map(([n]) => n);
    const observed: Record<string, number> = {};
    for (const [n, o] of this.observers) observed[n] = o.got.length;
    return { done: done.sort(), observed };
  }

  /** Whether any call waits or any Observe stream is open (a step must then settle). */
  busy(): boolean {
    return (
      [...this.calls.values()].some((c) => c.answer === undefined) ||
      [...this.observers.values()].some((o) => !o.stopped)
    );
  }

  /** Whether call `name` got an answer, and whether that was a success. */
  callOutcome(name: string): 'waiting' | 'ok' | 'error' {
    const a = this.calls.get(name)?.answer;
    return a === undefined ? 'waiting' : 'ok' in a ? 'ok' : 'error';
  }

  /** What arrived since the last collect(), in a fixed order (calls and streams by name). */
  collect(): Arrivals {
    const answered: Record<string, unknown> = {};
    for (const [n, c] of [...this.calls].sort(byName)) {
      if (c.answer === undefined || c.reported) continue;
      c.reported = true;
      answered[n] = this.norm(c.answer);
    }
    const observed: Record<string, unknown[]> = {};
    for (const [n, o] of [...this.observers].sort(byName)) {
      if (o.got.length === o.reported) continue;
      observed[n] = o.got.slice(o.reported).map((a) => this.norm(a));
      o.reported = o.got.length;
    }
    return { answered, observed };
  }

  // ---- normalising -----------------------------------------------------------------------------

  private nameLease(name: string, id: string): void {
    this.leaseIds.set(name, id);
    this.leaseNames.set(id, name);
  }

  /**
   * The logical name of lease `id`; an ID first seen here (a lease the server granted for a Lock
   * or Campaign without one) is named `auto<n>` in order of appearance.
   */
  private leaseName(id: string): string {
    if (id === '0') return '0';
    let n = this.leaseNames.get(id);
    if (n === undefined) {
      n = `auto${++this.autoLeases}`;
      this.nameLease(n, id);
    }
    return n;
  }

  /** An answer as compared and printed. */
  norm(a: Answer): unknown {
    if ('error' in a) return a;
    return { ok: this.value(a.ok, '') };
  }

  private value(x: unknown, field: string): unknown {
    if (Buffer.isBuffer(x)) return field === 'key' ? this.keyText(x) : showBytes(x);
    if (Array.isArray(x))
      return x.map((v) => this.value(v, field === 'kvs' || field === 'keys' ? 'key' : ''));
    if (x === null || typeof x !== 'object') {
      if ((field === 'lease' || field === 'ID') && typeof x === 'string') return this.leaseName(x);
      return x;
    }
    const o = x as Record<string, unknown>;
    if (field === 'header') return header(o);
    // A KeyValue's lease names the lease before its key shows the lease's hex.
    if (typeof o.lease === 'string') this.leaseName(o.lease);
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(o)) out[k] = this.value(v, k);
    return out;
  }

  /**
   * A key as text, a trailing `/<hex>` that is a lease's ID as `/<lease name>`. A Lock's answer
   * carries no lease field: a long hex tail no lease is known by is a lease seen for the first time.
   */
  private keyText(k: Buffer): string {
    const text = showBytes(k);
    const m = /^(.*\/)([0-9a-f]+)$/.exec(text);
    if (m === null) return text;
    const id = BigInt(`0x${m[2]}`).toString();
    if (!this.leaseNames.has(id) && m[2]!.length < 8) return text;
    return `${m[1]}<${this.leaseName(id)}>`;
  }
}

/** The header with each server's own IDs and term as set or zero; the revision as it is. */
function header(h: Record<string, unknown>): unknown {
  const own = (v: unknown) => (v === '0' ? '0' : '<set>');
  return { ...h, clusterId: own(h.clusterId), memberId: own(h.memberId), raftTerm: own(h.raftTerm) };
}

/** The end of the range of keys with prefix `p` (etcd's GetPrefixRangeEnd). */
function prefixEnd(p: Buffer): Buffer {
  const end = Buffer.from(p);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i] = end[i]! + 1;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]);
}

const byName = <T>(x: [string, T], y: [string, T]) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0);

/** Resolves after `ms`. */
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
