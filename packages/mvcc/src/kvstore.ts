/**
 * KVStore: etcd's multi-version key-value store. Every write request (put, delete that deletes
 * something, txn that writes) creates exactly one new store revision; the writes inside it get
 * sub-revisions 0, 1, 2… History is kept until compacted, so reads at past revisions are exact.
 *
 * Deterministic: the same requests in the same order give the same revisions, responses and
 * stored bytes on every replica. Applying is synchronous (the index is in memory and values are
 * read with synchronous LevelDB gets); durability is `commit()`, which writes everything applied so
 * far — data, current revision and the host's applied index — in one atomic batch.
 *
 * Not here: watch (watchable-store.ts), leases (lease/), hashing and snapshots (maintenance).
 */

import type { Backend, CloseOptions } from './backend.js';
import { fromBinary, inRange, type KeyRange, keyRange, toBinary } from './bytes.js';
import {
  Bucket,
  bucketBounds,
  bucketKey,
  decodeKeyValue,
  decodeU64,
  encodeU64,
  KeyValueEncoder,
  keyBucketKey,
  keyBucketKeyInto,
} from './codec.js';
import {
  CompactedError,
  EmptyKeyError,
  FutureRevError,
  KeyNotFoundError,
  LeaseNotFoundError,
  LeaseProvidedError,
  NoSpaceError,
  ValueProvidedError,
} from './errors.js';
import { type RevSet, revKey } from './key-index.js';
import { DEFAULT_KV_CACHE_BYTES, KeyValueCache } from './kv-cache.js';
import type { EventListener, KVStoreOptions, LeaseHooks } from './kvstore-contracts.js';
import { claimBackend, loadKeyIndex } from './kvstore-open.js';
import { applyLimit, filterByRevisions, readLimit, sortKeyValues } from './range.js';
import { decodeRev, REV_BYTES, type Rev } from './revision.js';
import { TreeIndex } from './tree-index.js';
import {
  DEFAULT_MAX_TXN_OPS,
  evaluateCompare,
  evaluateIndexedCompare,
  hasPut,
  isIndexedCompare,
  validateTxn,
} from './txn.js';
import {
  type DeleteRangeRequest,
  type DeleteRangeResponse,
  type Event,
  type KeyValue,
  type LeaseId,
  NO_LEASE,
  type PutRequest,
  type PutResponse,
  type RangeRequest,
  type RangeResponse,
  type RequestOp,
  type ResponseOp,
  type Revision,
  type TxnRequest,
  type TxnResponse,
} from './types.js';
import { WriteTxn } from './write-txn.js';

export type { EventListener, KVStoreOptions, LeaseHooks } from './kvstore-contracts.js';
export { SCHEMA } from './kvstore-open.js';
/** Deletions per batch during physical compaction, so writers are never stalled for long. */
export const DEFAULT_COMPACTION_BATCH = 1000;

const META_REV = bucketKey(Bucket.meta, 'currentRevision');
const META_CONSISTENT_INDEX = bucketKey(Bucket.meta, 'consistentIndex');
const META_SCHEDULED_COMPACT = bucketKey(Bucket.meta, 'scheduledCompactRevision');
const META_FINISHED_COMPACT = bucketKey(Bucket.meta, 'finishedCompactRevision');

/** etcd's MVCC key-value store over a Backend. Open with `KVStore.open(backend)`. */
export class KVStore {
  private readonly index = new TreeIndex();
  private currentRev = 1 as Revision;
  private compactMainRev = 0 as Revision;
  /** Whether any compaction was scheduled, even at revision 0 (etcd's compactMainRev != -1). */
  private everCompacted = false;
  private consistentIdx = 0;
  private leases: LeaseHooks | undefined;
  private readonly listeners = new Set<EventListener>();
  private compaction: Promise<void> = Promise.resolve();
  /**
   * Set while the NOSPACE alarm is raised (etcd's capped applier): puts and txns that write fail
   * with NoSpaceError; reads, DeleteRange and compaction still work.
   */
  spaceExhausted = false;
  private readonly maxTxnOps: number;
  private readonly compactionBatch: number;
  /** Encoded key-values by revision: what reads find before asking the backend. */
  private readonly kvCache: KeyValueCache;
  /**
   * The revision keys of puts and of deletes, rewritten for each write (see putRevision): a key
   * allocated per write cost a put more garbage than the rest of its bookkeeping.
   */
  private readonly putKey = new Uint8Array(1 + REV_BYTES);
  private readonly tombstoneKey = new Uint8Array(2 + REV_BYTES);
  /** Encodes the key-values of writes, likewise into one reused buffer. */
  private readonly encoder = new KeyValueEncoder();

  /** Whether META_REV in the backend lags currentRev (it is written lazily: see `backend`). */
  private revDirty = false;

  private constructor(
    private readonly be: Backend,
    opts: KVStoreOptions,
  ) {
    this.maxTxnOps = opts.maxTxnOps ?? DEFAULT_MAX_TXN_OPS;
    this.compactionBatch = opts.compactionBatch ?? DEFAULT_COMPACTION_BATCH;
    this.kvCache = new KeyValueCache(opts.kvCacheBytes ?? DEFAULT_KV_CACHE_BYTES);
  }

  /**
   * Opens a store on `backend`, rebuilding the key index from stored history. An empty backend
   * becomes a new store; a backend holding anything else than a tsetcd store is refused.
   */
  static async open(backend: Backend, opts: KVStoreOptions = {}): Promise<KVStore> {
    const s = new KVStore(backend, opts);
    await s.restore();
    return s;
  }

  // ---- state ---------------------------------------------------------------------------------

  /**
   * The backend, with the current revision written to it. The store writes its revision to the
   * backend lazily (once per commit, not once per request): whoever looks at the backend through
   * this getter, or anything the store flushes, sees it up to date.
   */
  get backend(): Backend {
    this.syncRevision();
    return this.be;
  }

  /** Writes the current revision to the backend if it changed since it was last written. */
  private syncRevision(): void {
    if (!this.revDirty) return;
    this.revDirty = false;
    this.be.put(META_REV, encodeU64(this.currentRev));
  }

  /** The store revision: 1 on an empty store, +1 per write request. */
  get revision(): Revision {
    return this.currentRev;
  }

  /** The revision the store was last compacted at (0 if never). */
  get compactRevision(): Revision {
    return this.compactMainRev;
  }

  /** Whether the store was ever compacted (compactRevision 0 may be a compaction at 0). */
  get compacted(): boolean {
    return this.everCompacted;
  }

  /**
   * etcd's compactMainRev, which starts at -1: what a compaction must exceed and what a txn's
   * read revision is held to. So a fresh store takes one Compact(0), and a txn's range at a
   * negative revision fails as compacted once the store was compacted (or below -1 before).
   */
  private get compactFloor(): number {
    return this.everCompacted ? this.compactMainRev : -1;
  }

  /** Keys in the index, live or deleted but not yet compacted (etcd_debugging_mvcc_keys_total). */
  get indexedKeys(): number {
    return this.index.size;
  }

  /** The host's applied index saved with the data (etcd's consistent index). */
  get consistentIndex(): number {
    return this.consistentIdx;
  }

  /** Records the host's applied index; it is written atomically with the data on the next commit. */
  setConsistentIndex(index: number): void {
    this.consistentIdx = index;
    this.backend.put(META_CONSISTENT_INDEX, encodeU64(index));
  }

  /** Plugs in the Lessor. */
  setLeaseHooks(hooks: LeaseHooks): void {
    this.leases = hooks;
  }

  /** Subscribes to the events of every write request; returns the unsubscribe function. */
  subscribe(listener: EventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Makes everything applied so far durable in one atomic batch. */
  commit(): Promise<void> {
    return this.backend.flush();
  }

  /** Waits for physical compaction and closes the backend; `discard` drops unflushed writes (a crash). */
  async close(opts: CloseOptions = {}): Promise<void> {
    if (opts.discard) this.compaction.catch(() => undefined);
    else await this.compaction;
    await this.backend.close(opts);
  }

  // ---- reads -----------------------------------------------------------------------------------

  /** etcd's Range, with etcd's limit / sort / filter / count semantics. */
  range(req: RangeRequest): RangeResponse {
    if (req.key.length === 0) throw new EmptyKeyError();
    return this.rangeAt(req, this.currentRev);
  }

  /** Range as seen from a view whose current revision is `curRev` (a write request sees its own writes). */
  private rangeAt(req: RangeRequest, curRev: Revision): RangeResponse {
    const atRev = this.checkReadRevision(req.revision ?? 0, curRev);
    const header = { revision: curRev };
    const countOnly = req.countOnly === true;
    if (req.rangeEnd === undefined || req.rangeEnd.length === 0) {
      // One key (the common case): no walk, no visitor, no index result object; nothing to sort
      // or limit (a limit is 0 or at least 1).
      const modified = this.index.keyIndexOf(req.key)?.modifiedAt(atRev);
      const count = modified === undefined ? 0 : 1;
      if (countOnly || modified === undefined) return { header, kvs: [], more: false, count };
      const kvs = filterByRevisions(req, [this.readKeyValue(modified)]);
      if (req.keysOnly && kvs.length > 0) kvs[0] = { ...kvs[0]!, value: new Uint8Array(0) };
      return { header, kvs, more: false, count };
    }
    const limit = readLimit(req);
    // Values are read as the index is walked: no intermediate list of revisions.
    let kvs: KeyValue[] = [];
    const count = this.index.forEachLive(keyRange(req.key, req.rangeEnd), atRev, (k) => {
      if (!countOnly && (limit === 0 || kvs.length < limit)) kvs.push(this.readKeyValue(k.modified));
      return true;
    });
    if (countOnly) return { header, kvs: [], more: false, count };
    kvs = sortKeyValues(req, filterByRevisions(req, kvs));
    const limited = applyLimit(req, kvs);
    if (req.keysOnly) limited.kvs = limited.kvs.map((kv) => ({ ...kv, value: new Uint8Array(0) }));
    return { header, kvs: limited.kvs, more: limited.more, count };
  }

  /** etcd's rule for a read revision: 0 = current; future and compacted revisions fail. */
  private checkReadRevision(rev: number, curRev: Revision): Revision {
    if (rev > curRev) throw new FutureRevError();
    const atRev = (rev <= 0 ? curRev : rev) as Revision;
    if (atRev < this.compactMainRev) throw new CompactedError(this.compactMainRev);
    return atRev;
  }

  /** The stored key-value written at `rev`, decoded into fresh arrays (the caller may mutate it). */
  private readKeyValue(rev: Rev): KeyValue {
    const cached = this.kvCache.decode(rev.main, rev.sub);
    if (cached !== undefined) return cached;
    const raw = this.be.get(keyBucketKey(rev, false));
    if (raw === undefined) throw new Error(`mvcc: revision ${rev.main}.${rev.sub} missing from the backend`);
    this.kvCache.set(rev.main, rev.sub, raw);
    return decodeKeyValue(raw);
  }

  /** The live key-value of `key` (binary string) as of `atRev`, if any. */
  private liveKeyValue(key: string, atRev: number): KeyValue | undefined {
    const got = this.index.get(key, atRev);
    return got === undefined ? undefined : this.readKeyValue(got.modified);
  }

  // ---- writes ----------------------------------------------------------------------------------

  /** etcd's Put. */
  put(req: PutRequest): PutResponse {
    if (req.key.length === 0) throw new EmptyKeyError();
    if (this.spaceExhausted) throw new NoSpaceError();
    this.checkPut(req, this.currentRev, true);
    const tw = new WriteTxn(this.currentRev);
    const resp = this.putIn(tw, req);
    this.end(tw);
    return resp;
  }

  /** etcd's DeleteRange. */
  deleteRange(req: DeleteRangeRequest): DeleteRangeResponse {
    if (req.key.length === 0) throw new EmptyKeyError();
    const tw = new WriteTxn(this.currentRev);
    const resp = this.deleteRangeIn(tw, req);
    this.end(tw);
    return resp;
  }

  /** Deletes the given keys (binary strings) in one revision; used to revoke a lease. */
  deleteKeys(keys: Iterable<string>): Revision {
    const tw = new WriteTxn(this.currentRev);
    for (const k of keys) this.deleteKey(tw, k);
    this.end(tw);
    return this.currentRev;
  }

  /**
   * etcd's Txn, in etcd's order:
   *   1. validate (op counts, duplicate keys);
   *   2. evaluate every compare on the path the txn will take — nested txns' compares included —
   *      against the state before the txn (etcd's compareToPath), so a nested compare never sees
   *      the outer txn's own writes;
   *   3. check only the ops on that path (leases exist, ignore_* keys exist, read revisions valid);
   *   4. run the path as one revision. Nothing is written if any check fails.
   * Only the outermost response carries a header revision; nested txn headers stay empty (0).
   */
  txn(req: TxnRequest): TxnResponse {
    validateTxn(req, this.maxTxnOps);
    // etcd's capped applier refuses a txn whose quota cost is > 0, i.e. one that puts (etcd counts
    // only top-level puts; nested ones are counted here too). A delete-only txn runs.
    if (this.spaceExhausted && hasPut(req)) throw new NoSpaceError();
    const path: boolean[] = [];
    this.comparePath(req, this.currentRev, path);
    this.checkPath(req, path, this.currentRev);
    const tw = new WriteTxn(this.currentRev);
    const resp = this.txnIn(tw, req, { path, at: 0 });
    this.end(tw);
    return { ...resp, header: { revision: tw.readRev } };
  }

  /** Appends, depth first, the outcome of each compare set on the path the txn takes. */
  private comparePath(req: TxnRequest, atRev: Revision, path: boolean[]): void {
    const succeeded = req.compare.every((c) =>
      // A version or revision compare on one key reads the index only: no key-value decoded.
      isIndexedCompare(c)
        ? evaluateIndexedCompare(c, this.index.keyIndexOf(c.key)?.get(atRev))
        : evaluateCompare(
            c,
            this.rangeAt({ key: c.key, ...(c.rangeEnd ? { rangeEnd: c.rangeEnd } : {}) }, atRev).kvs,
          ),
    );
    path.push(succeeded);
    for (const op of succeeded ? req.success : req.failure) {
      if (op.type === 'txn') this.comparePath(op.request, atRev, path);
    }
  }

  /** Checks the ops on the txn's path before running any of it. */
  private checkPath(req: TxnRequest, path: boolean[], atRev: Revision): void {
    // etcd checks every put on the path first (only in a txn that writes, which is the same
    // thing: a txn that does not write has no put), then every range, whatever the ops' order.
    this.checkOpsOnPath(req, { path, at: 0, deleted: [] }, 'put', atRev);
    this.checkOpsOnPath(req, { path, at: 0, deleted: [] }, 'range', atRev);
  }

  /**
   * The checks of one kind of op along the path, in the order the ops will run. `deleted`
   * gathers the ranges deleted so far: a put with ignore_value or ignore_lease of a key an
   * earlier delete of the txn removes finds no key to take its value or lease from. etcd 3.4
   * panics there, mid-txn (its checks look at the store before the txn only), and crashes again
   * on every restart as it replays the entry; we refuse it with that put's own error, "key not
   * found", before anything is written. (Only a from-key delete gets this far: any other range
   * covering a put of the same txn is a duplicate key.)
   */
  private checkOpsOnPath(
    req: TxnRequest,
    cursor: { path: boolean[]; at: number; deleted: KeyRange[] },
    type: 'put' | 'range',
    atRev: Revision,
  ): void {
    const ops = cursor.path[cursor.at++] ? req.success : req.failure;
    for (const op of ops) {
      if (op.type === 'txn') {
        this.checkOpsOnPath(op.request, cursor, type, atRev);
      } else if (type === 'put' && op.type === 'deleteRange') {
        cursor.deleted.push(keyRange(op.request.key, op.request.rangeEnd));
      } else if (op.type === 'put' && type === 'put') {
        const p = op.request;
        if ((p.ignoreValue || p.ignoreLease) && cursor.deleted.length > 0) {
          const k = toBinary(p.key);
          if (cursor.deleted.some((r) => inRange(r, k))) throw new KeyNotFoundError();
        }
        this.checkPut(p, atRev);
      } else if (op.type === 'range' && type === 'range') {
        this.checkTxnReadRevision(op.request.revision ?? 0, atRev);
      }
    }
  }

  /**
   * etcd's checkRequestRange: a txn's read revision, other than 0, is held to the raw compaction
   * floor. Unlike a plain Range (checkReadRevision), a negative one is not read as "current"
   * here: it fails as compacted once it is below the floor.
   */
  private checkTxnReadRevision(rev: number, curRev: Revision): void {
    if (rev === 0) return;
    if (rev > curRev) throw new FutureRevError();
    if (rev < this.compactFloor) throw new CompactedError(this.compactMainRev);
  }

  private txnIn(tw: WriteTxn, req: TxnRequest, cursor: { path: boolean[]; at: number }): TxnResponse {
    const succeeded = cursor.path[cursor.at++]!;
    const responses: ResponseOp[] = [];
    for (const op of succeeded ? req.success : req.failure) responses.push(this.runOp(tw, op, cursor));
    return { header: { revision: 0 as Revision }, succeeded, responses };
  }

  private runOp(tw: WriteTxn, op: RequestOp, cursor: { path: boolean[]; at: number }): ResponseOp {
    switch (op.type) {
      case 'range':
        return { type: 'range', response: this.rangeAt(op.request, tw.readRev) };
      case 'put':
        return { type: 'put', response: this.putIn(tw, op.request) };
      case 'deleteRange':
        return { type: 'deleteRange', response: this.deleteRangeIn(tw, op.request) };
      case 'txn':
        return { type: 'txn', response: this.txnIn(tw, op.request, cursor) };
    }
  }

  /** etcd's checkPutRequest and checkRequestPut, in etcd's order. */
  private checkPut(req: PutRequest, curRev: Revision, leaseFirst = false): void {
    if (req.ignoreValue && req.value !== undefined && req.value.length > 0) throw new ValueProvidedError();
    if (req.ignoreLease && (req.lease ?? NO_LEASE) !== NO_LEASE) throw new LeaseProvidedError();
    // etcd's plain Put looks the lease up first (txn.Put); a txn's checkPut checks the key first.
    if (leaseFirst) this.checkLease(req.lease);
    if ((req.ignoreValue || req.ignoreLease) && this.index.get(toBinary(req.key), curRev) === undefined) {
      throw new KeyNotFoundError();
    }
    if (!leaseFirst) this.checkLease(req.lease);
  }

  /** LeaseNotFoundError unless `lease` is none or exists (a method, not a closure per put). */
  private checkLease(lease: LeaseId | undefined): void {
    if (lease !== undefined && lease !== NO_LEASE && !(this.leases?.exists(lease) ?? false)) {
      throw new LeaseNotFoundError();
    }
  }

  private putIn(tw: WriteTxn, req: PutRequest): PutResponse {
    const rev: Rev = { main: tw.rev, sub: tw.writes };
    // One index lookup for the read and the write (the checks that may fail ran before).
    const ki = this.index.indexOfBytes(req.key);
    const key = ki.key;
    // The key's state now is its state before this write (a txn writes a key at most once); read
    // from the KeyIndex's own fields, which allocates nothing and touches no other object.
    const existed = ki.isLive;
    // The old lease comes from the lessor's key → lease map, so a plain overwrite reads nothing.
    const needPrev = existed && (req.prevKv || req.ignoreValue || req.ignoreLease);
    const prev = needPrev ? this.readKeyValue(ki.modified) : undefined;
    const value = req.ignoreValue ? prev!.value : (req.value ?? new Uint8Array(0));
    const lease = req.ignoreLease ? prev!.lease : (req.lease ?? NO_LEASE);
    const kv: KeyValue = {
      key: req.key,
      value,
      createRevision: (existed ? ki.createdRevision : rev.main) as Revision,
      modRevision: rev.main,
      version: existed ? ki.ver + 1 : 1,
      lease,
    };
    const encoded = this.encoder.encode(kv);
    this.putRevision(keyBucketKeyInto(this.putKey, rev), encoded);
    this.kvCache.set(rev.main, rev.sub, encoded);
    ki.put(rev.main, rev.sub);
    tw.writes++;
    if (this.listeners.size > 0) tw.events.push({ type: 'PUT', kv });
    if (this.leases !== undefined) {
      const oldLease = existed ? this.leases.leaseOf(key) : NO_LEASE;
      if (oldLease !== NO_LEASE) this.leases.detach(oldLease, key);
      if (lease !== NO_LEASE) this.leases.attach(lease, key);
    }
    const header = { revision: tw.rev };
    return req.prevKv && prev !== undefined ? { header, prevKv: prev } : { header };
  }

  private deleteRangeIn(tw: WriteTxn, req: DeleteRangeRequest): DeleteRangeResponse {
    const keys: string[] = [];
    const prevKvs: KeyValue[] = [];
    this.index.forEachLive(keyRange(req.key, req.rangeEnd), tw.readRev, (k) => {
      keys.push(k.key);
      if (req.prevKv) prevKvs.push(this.readKeyValue(k.modified));
      return true;
    });
    for (const k of keys) this.deleteKey(tw, k);
    return { header: { revision: tw.readRev }, deleted: keys.length, prevKvs };
  }

  /** Writes a tombstone for a live key; detaches its lease. */
  private deleteKey(tw: WriteTxn, key: string): void {
    const live = this.index.get(key, tw.readRev);
    if (live === undefined) return;
    const prevLease = this.leases !== undefined ? this.leases.leaseOf(key) : NO_LEASE;
    const rev: Rev = { main: tw.rev, sub: tw.writes };
    const keyBytes = fromBinary(key);
    const kv: KeyValue = {
      key: keyBytes,
      value: new Uint8Array(0),
      createRevision: 0 as Revision,
      modRevision: rev.main,
      version: 0,
      lease: NO_LEASE,
    };
    this.putRevision(keyBucketKeyInto(this.tombstoneKey, rev), this.encoder.encode(kv));
    this.index.tombstone(key, rev);
    tw.writes++;
    if (this.listeners.size > 0) tw.events.push({ type: 'DELETE', kv });
    if (prevLease !== NO_LEASE) this.leases!.detach(prevLease, key);
  }

  /**
   * Writes a revision's entry: a key written once ever, so `putFresh` where the backend has it.
   * `key` and `value` are the store's reused buffers: putFresh copies what it keeps, put gets copies.
   */
  private putRevision(key: Uint8Array, value: Uint8Array): void {
    if (this.be.putFresh !== undefined) this.be.putFresh(key, value);
    else this.be.put(key.slice(), value.slice());
  }

  /** Ends a write request: a new revision if it wrote anything, and its events to listeners. */
  private end(tw: WriteTxn): void {
    if (tw.writes === 0) return;
    this.currentRev = tw.rev;
    this.revDirty = true;
    if (this.listeners.size === 0) return;
    for (const l of this.listeners) l(tw.events, this.currentRev);
  }

  // ---- history (for watchers) ----------------------------------------------------------------

  /**
   * Every event of revisions [from, to], in revision order, read from the backend (which is
   * flushed first). Throws CompactedError if `from` is below the compaction revision.
   */
  async *history(
    from: number,
    to: number,
  ): AsyncIterable<{ readonly revision: Revision; readonly events: Event[] }> {
    if (from < this.compactMainRev) throw new CompactedError(this.compactMainRev);
    const gte = keyBucketKey({ main: from as Revision, sub: 0 }, false);
    const lt = keyBucketKey({ main: (to + 1) as Revision, sub: 0 }, false);
    let cur: { revision: Revision; events: Event[] } | undefined;
    for await (const [k, v] of this.backend.iterate(gte, lt)) {
      const { rev, tombstone } = decodeRev(k, 1);
      const kv = decodeKeyValue(v);
      if (cur !== undefined && cur.revision !== rev.main) {
        yield cur;
        cur = undefined;
      }
      cur ??= { revision: rev.main, events: [] };
      cur.events.push({ type: tombstone ? 'DELETE' : 'PUT', kv });
    }
    if (cur !== undefined) yield cur;
  }

  /**
   * The key-value `key` had just before revision `rev` (for a watch event's prev_kv), or
   * undefined if it did not exist or that history was compacted.
   */
  prevKeyValue(key: Uint8Array, rev: number): KeyValue | undefined {
    if (rev - 1 < this.compactMainRev) return undefined;
    return this.liveKeyValue(toBinary(key), rev - 1);
  }

  /** The revisions <= rev that survive compact(rev) (for hashKV: what every replica keeps). */
  keep(rev: number): RevSet {
    return this.index.keep(rev);
  }

  /** The revision of every key live at `rev` (etcd 3.4's kvindex.Keep(rev), which HashKV uses). */
  liveRevisions(rev: number): RevSet {
    const live: RevSet = new Set();
    this.index.forEachLive({ kind: 'fromKey', key: '' }, rev, (k) => {
      live.add(revKey(k.modified.main, k.modified.sub));
      return true;
    });
    return live;
  }

  // ---- compaction --------------------------------------------------------------------------

  /**
   * etcd's Compact: history before `rev` becomes unreadable at once (reads below it fail with
   * CompactedError); the old revisions are removed from the backend in the background, in
   * batches. Returns a promise that resolves once they are physically gone.
   */
  compact(rev: number): Promise<void> {
    if (rev <= this.compactFloor) throw new CompactedError(this.compactMainRev);
    if (rev > this.currentRev) throw new FutureRevError();
    const at = rev as Revision;
    this.compactMainRev = at;
    this.everCompacted = true;
    this.backend.put(META_SCHEDULED_COMPACT, encodeU64(at));
    const keep = this.index.compact(at);
    // Only frees memory: reads below `at` fail before reaching the cache.
    this.kvCache.clear();
    this.compaction = this.compaction.then(() => this.removeHistory(at, keep));
    return this.compaction;
  }

  /**
   * Physical compaction, resumable after a crash (the scheduled revision is persisted first):
   *   1. flush, so every revision <= at is in the backend;
   *   2. scan the key bucket up to `at`, deleting every revision not in `keep`, committing every
   *      `compactionBatch` deletions so concurrent writes interleave;
   *   3. record `at` as finished.
   */
  private async removeHistory(at: Revision, keep: RevSet): Promise<void> {
    await this.backend.flush();
    const { gte } = bucketBounds(Bucket.key);
    const lt = keyBucketKey({ main: (at + 1) as Revision, sub: 0 }, false);
    let inBatch = 0;
    for await (const [k] of this.backend.iterate(gte, lt)) {
      const { rev } = decodeRev(k, 1);
      if (keep.has(revKey(rev.main, rev.sub))) continue;
      this.backend.del(k);
      if (++inBatch >= this.compactionBatch) {
        inBatch = 0;
        await this.backend.flush();
      }
    }
    this.backend.put(META_FINISHED_COMPACT, encodeU64(at));
    await this.backend.flush();
  }

  // ---- restore -----------------------------------------------------------------------------

  /** Rebuilds the in-memory state from the backend (see `open`). */
  private async restore(): Promise<void> {
    if ((await claimBackend(this.backend)) === 'new') return;
    const u64 = (k: Uint8Array) => {
      const v = this.backend.get(k);
      return v === undefined ? 0 : decodeU64(v);
    };
    this.consistentIdx = u64(META_CONSISTENT_INDEX);
    const scheduled = u64(META_SCHEDULED_COMPACT);
    const finished = u64(META_FINISHED_COMPACT);
    const lastMain = await loadKeyIndex(this.backend, this.index);
    // Never go back in time: the persisted revision covers deletes whose tombstones were compacted.
    this.currentRev = Math.max(1, u64(META_REV), lastMain, scheduled) as Revision;
    if (this.backend.get(META_SCHEDULED_COMPACT) !== undefined) {
      this.everCompacted = true;
      this.compactMainRev = scheduled as Revision;
      const keep = this.index.compact(this.compactMainRev);
      if (finished < scheduled) this.compaction = this.removeHistory(this.compactMainRev, keep);
    }
  }
}
