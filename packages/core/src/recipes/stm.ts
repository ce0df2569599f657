/**
 * STM: software transactional memory over the KV API, as etcd's `concurrency.NewSTM`
 * (client/v3/concurrency/stm.go). `apply` reads keys through the handle and buffers writes; the
 * attempt commits as ONE txn whose compares say "nothing I depended on changed", and on conflict
 * `apply` runs again from scratch — optimistic concurrency control on the store's revisions.
 *
 * What each isolation level compares at commit (read set = keys `apply` read, write set = keys
 * it put or deleted; "first" = the revision of the attempt's first read):
 *
 * | level                | reads come from                           | commit compares                         |
 * |----------------------|-------------------------------------------|-----------------------------------------|
 * | SerializableSnapshot | one snapshot, at `first`                  | read keys' modRevision unchanged, AND   |
 * |                      |                                           | write keys' modRevision <= first        |
 * | Serializable         | one snapshot, at `first`                  | read keys' modRevision unchanged        |
 * | RepeatableReads      | this member, each key when first read     | read keys' modRevision unchanged        |
 * | ReadCommitted        | this member, each key when first read     | none                                    |
 *
 * Guarantees (of committed transactions; an attempt that conflicts is thrown away):
 * - SerializableSnapshot (default): serializable, every attempt sees a consistent snapshot, and
 *   first-committer-wins on writes — a key written by another txn after the snapshot aborts
 *   this one even if it was never read (snapshot isolation + read validation).
 * - Serializable: serializable and every attempt sees a consistent snapshot; a blind write (a key
 *   put without being read) never conflicts, so it may overwrite a later write.
 * - RepeatableReads: a key read twice in one attempt reads the same; committed transactions are
 *   serializable (every read is validated), but an attempt can observe a mix of revisions (read
 *   skew) before it is thrown away, so `apply` must not act on what it reads outside the store.
 * - ReadCommitted: reads are of committed (possibly stale) data; nothing is validated, so lost
 *   updates and write skew happen. Only the write set's atomicity is guaranteed.
 *
 * Not here: side effects in `apply` are not undone on retry — keep `apply` pure. A commit that
 * fails with an error (timeout, no leader) is NOT retried: its outcome is unknown, and the error
 * is the caller's (as etcd's). Deliberately not etcd's multi-key `Get(keys...)`: use `prefetch`.
 */

import type {
  Compare,
  KeyValue,
  LeaseId,
  RangeResponse,
  RequestOp,
  TxnRequest,
  TxnResponse,
} from '@tsetcd/mvcc';
import { utf8 } from '@tsetcd/mvcc';
import { CoreError } from '../errors.js';
import type { Client } from '../node/client.js';
import type { CallOptions } from '../node/deadline.js';
import { type Bytes, toBytes, type WithHeader } from '../node/kv-client.js';
import { RequestCanceledError } from '../node-errors.js';

/** etcd's Isolation: how concurrent transactions may interfere; see the file comment. */
export type StmIsolation = 'SerializableSnapshot' | 'Serializable' | 'RepeatableReads' | 'ReadCommitted';

/** Attempts runStm makes before giving up with StmConflictError (etcd retries forever). */
export const DEFAULT_STM_MAX_RETRIES = 100;

/** Options of runStm. */
export interface StmOptions {
  /** Default 'SerializableSnapshot', as etcd's NewSTM. */
  readonly isolation?: StmIsolation;
  /** Keys read in one round trip before `apply` runs (etcd's WithPrefetch). */
  readonly prefetch?: readonly string[];
  /** Conflicting attempts tolerated before StmConflictError; default DEFAULT_STM_MAX_RETRIES. */
  readonly maxRetries?: number;
  /** Aborts between attempts and every request in flight (RequestCanceledError). */
  readonly signal?: AbortSignal;
  /** Per-request timeout, ms (default: the member's request timeout). */
  readonly timeoutMs?: number;
}

/** The handle `apply` reads and writes through (etcd's STM interface). */
export interface Stm {
  /** The key's value ('' when absent), adding it to the read set; a buffered write wins. */
  get(key: string): Promise<string>;
  /** As get, in bytes; undefined when absent (or deleted in this attempt). */
  getBytes(key: string): Promise<Uint8Array | undefined>;
  /** The key's mod revision as read (0 when absent), adding it to the read set. */
  rev(key: string): Promise<number>;
  /** Buffers a put, applied at commit. */
  put(key: string, value: Bytes, opts?: { readonly lease?: LeaseId }): void;
  /** Buffers a delete, applied at commit. */
  del(key: string): void;
}

/** A committed transaction: its txn response and how many attempts it took. */
export interface StmCommit {
  readonly response: WithHeader<TxnResponse>;
  /** The revision the commit ran at (the response header's). */
  readonly revision: number;
  /** 1 when the first attempt committed. */
  readonly attempts: number;
}

/** Every one of `maxRetries` attempts conflicted with another writer; retryable later. */
export class StmConflictError extends CoreError {
  readonly code = 'ErrSTMConflict';
  override readonly retryable = true;
  constructor(readonly attempts: number) {
    super(`stm: transaction conflicted on each of ${attempts} attempts`);
    this.name = 'StmConflictError';
  }
}

/** What a read saw: the key-value (undefined = absent) and the revision it was read at. */
interface ReadEntry {
  readonly kv: KeyValue | undefined;
  readonly revision: number;
}

/** A buffered write: the op for the commit and the value `get` returns meanwhile. */
interface WriteEntry {
  readonly value: Uint8Array | undefined;
  readonly op: RequestOp;
}

/**
 * Runs `apply` as a transaction with the given isolation, retrying it on conflict (etcd's
 * NewSTM). Resolves once an attempt commits; rejects with apply's own error, a request error,
 * RequestCanceledError, or StmConflictError after `maxRetries` conflicting attempts.
 */
export async function runStm(
  client: Client,
  apply: (stm: Stm) => void | Promise<void>,
  opts: StmOptions = {},
): Promise<StmCommit> {
  const maxRetries = opts.maxRetries ?? DEFAULT_STM_MAX_RETRIES;
  if (!Number.isSafeInteger(maxRetries) || maxRetries < 1)
    throw new RangeError(`stm: maxRetries must be a positive integer, got ${maxRetries}`);
  const attempt = new StmAttempt(client, opts.isolation ?? 'SerializableSnapshot', opts);
  for (let n = 1; n <= maxRetries; n++) {
    if (opts.signal?.aborted) throw new RequestCanceledError(opts.signal.reason);
    attempt.reset();
    if (opts.prefetch !== undefined && opts.prefetch.length > 0) await attempt.fetch(opts.prefetch);
    await apply(attempt);
    const response = await attempt.commit();
    if (response !== undefined) return { response, revision: response.header.revision, attempts: n };
  }
  throw new StmConflictError(maxRetries);
}

/** One STM's read and write sets, reset before every attempt (etcd's stm / stmSerializable). */
class StmAttempt implements Stm {
  private rset = new Map<string, ReadEntry>();
  private wset = new Map<string, WriteEntry>();
  /** Reads carried over from the failed commit's else branch (snapshot levels only). */
  private prefetched = new Map<string, ReadEntry>();
  /** The snapshot revision, fixed by the first read of an attempt (snapshot levels only). */
  private snapshot: number | undefined;
  private readonly call: CallOptions;

  constructor(
    private readonly client: Client,
    private readonly isolation: StmIsolation,
    opts: StmOptions,
  ) {
    this.call = {
      ...(opts.signal !== undefined ? { signal: opts.signal } : {}),
      ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
    };
  }

  private get snapshotLevel(): boolean {
    return this.isolation === 'SerializableSnapshot' || this.isolation === 'Serializable';
  }

  reset(): void {
    this.rset = new Map();
    this.wset = new Map();
    this.snapshot = undefined;
  }

  async get(key: string): Promise<string> {
    const v = await this.getBytes(key);
    return v === undefined ? '' : new TextDecoder().decode(v);
  }

  async getBytes(key: string): Promise<Uint8Array | undefined> {
    const w = this.wset.get(key);
    if (w !== undefined) return w.value;
    return (await this.read(key)).kv?.value;
  }

  async rev(key: string): Promise<number> {
    return (await this.read(key)).kv?.modRevision ?? 0;
  }

  put(key: string, value: Bytes, opts: { readonly lease?: LeaseId } = {}): void {
    const v = toBytes(value);
    const lease = opts.lease !== undefined && opts.lease !== 0n ? { lease: opts.lease } : {};
    this.wset.set(key, { value: v, op: { type: 'put', request: { key: utf8(key), value: v, ...lease } } });
  }

  del(key: string): void {
    this.wset.set(key, { value: undefined, op: { type: 'deleteRange', request: { key: utf8(key) } } });
  }

  private async read(key: string): Promise<ReadEntry> {
    const r = this.rset.get(key);
    if (r !== undefined) return r;
    await this.fetch([key]);
    return this.rset.get(key)!;
  }

  /**
   * Reads the keys not yet in the read set, in one read-only txn, and adds them to it:
   * 1. snapshot levels: the attempt's first read fixes the snapshot. If what the last failed
   *    commit prefetched covers it, the snapshot is that commit's revision and no request is
   *    made; otherwise the prefetch is dropped (so an attempt never mixes two revisions) and
   *    the read is linearizable. Later reads come from the prefetch, or from this member at the
   *    snapshot revision;
   * 2. RepeatableReads and ReadCommitted read this member's state as it is (serializable), as
   *    etcd does — a stale read is caught by the commit's compares (RepeatableReads).
   */
  async fetch(keys: readonly string[]): Promise<void> {
    const wanted = [...new Set(keys)].filter((k) => !this.rset.has(k));
    if (this.snapshotLevel) {
      if (this.snapshot === undefined && !wanted.every((k) => this.prefetched.has(k))) {
        this.prefetched = new Map();
      }
      for (const k of wanted) {
        const p = this.prefetched.get(k);
        if (p === undefined) continue;
        this.prefetched.delete(k);
        this.rset.set(k, p);
      }
    }
    const missing = wanted.filter((k) => !this.rset.has(k));
    if (missing.length > 0) {
      const atSnapshot = this.snapshotLevel && this.snapshot !== undefined;
      const serializable = !this.snapshotLevel || atSnapshot;
      const revision = atSnapshot ? { revision: this.snapshot as number } : {};
      const resp = await this.client.kv.txn(
        {
          compare: [],
          success: missing.map((k) => ({ type: 'range', request: { key: utf8(k), ...revision } })),
          failure: [],
        },
        { ...this.call, ...(serializable ? { serializable: true } : {}) },
      );
      this.addReads(missing, resp.responses as { response: RangeResponse }[]);
    }
    if (this.snapshotLevel && this.snapshot === undefined && this.rset.size > 0) {
      this.snapshot = this.firstRevision();
    }
  }

  private addReads(keys: readonly string[], responses: readonly { response: RangeResponse }[]): void {
    keys.forEach((k, i) => {
      const r = responses[i]!.response;
      this.rset.set(k, { kv: r.kvs[0], revision: r.header.revision });
    });
  }

  /** etcd's readSet.first: the lowest revision any read of this attempt was made at. */
  private firstRevision(): number {
    let first = Number.MAX_SAFE_INTEGER - 1;
    for (const r of this.rset.values()) first = Math.min(first, r.revision);
    return first;
  }

  /** The compares that encode the isolation level; see the file comment. */
  private conflicts(): Compare[] {
    if (this.isolation === 'ReadCommitted') return [];
    const cmps: Compare[] = [];
    // Every level but ReadCommitted: each read key still has the mod revision it was read with.
    for (const [k, r] of this.rset) {
      cmps.push({ target: 'MOD', key: utf8(k), result: 'EQUAL', modRevision: r.kv?.modRevision ?? 0 });
    }
    if (this.isolation === 'SerializableSnapshot') {
      // …and no key it writes was written after the snapshot (first-committer-wins).
      const after = this.firstRevision() + 1;
      for (const k of this.wset.keys()) {
        cmps.push({ target: 'MOD', key: utf8(k), result: 'LESS', modRevision: after });
      }
    }
    return cmps;
  }

  /**
   * Commits the write set if the compares hold. On conflict the snapshot levels re-read the read
   * set in the same txn's else branch (saving a round trip, as etcd) for the next attempt.
   * Resolves undefined on conflict.
   */
  async commit(): Promise<WithHeader<TxnResponse> | undefined> {
    const keys = [...this.rset.keys()];
    const req: TxnRequest = {
      compare: this.conflicts(),
      success: [...this.wset.values()].map((w) => w.op),
      failure: this.snapshotLevel ? keys.map((k) => ({ type: 'range', request: { key: utf8(k) } })) : [],
    };
    const resp = await this.client.kv.txn(req, this.call);
    if (resp.succeeded) return resp;
    if (this.snapshotLevel) {
      this.rset = new Map();
      this.addReads(keys, resp.responses as { response: RangeResponse }[]);
      this.prefetched = this.rset;
    }
    return undefined;
  }
}
