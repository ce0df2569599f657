/**
 * Lessor: etcd's lease manager. Grants and revokes leases, attaches keys to them (as the KV
 * store's LeaseHooks), renews them (keep-alive) and answers time-to-live and list requests.
 *
 * Replicated vs local state:
 *   - Leases, their TTLs and attached keys are replicated state: grant and revoke are applied
 *     from the raft log on every replica, deterministically, and persisted in the store's backend
 *     (lease bucket) so the KV store's `commit()` makes them durable in the same atomic batch as
 *     the keys they govern.
 *   - Expiry is local: only the primary lessor (the raft leader's) tracks it, in a min-heap by
 *     expiry. It never revokes on its own: `expired()` reports leases past their expiry, and the
 *     host proposes their revocation through raft, so every replica revokes at the same point in
 *     the log. Keep-alives are served by the primary only and are not replicated.
 *   - On every other lessor, and on a restarted one until `promote()`, leases never expire.
 *
 * Time comes from an injectable clock (ms), randomness for generated IDs from an injectable
 * source. No timers, no I/O beyond buffered backend writes.
 *
 * Not here: etcd's lease checkpoints (persisting remaining TTLs so a leader change does not
 * restart them from the full TTL) — a leader change resets every lease to its full TTL plus the
 * extension, as etcd does without checkpoints.
 */

import { getRandomValues } from 'node:crypto';
import { fromBinary, toBinary } from '../bytes.js';
import { Bucket, bucketBounds } from '../codec.js';
import { LeaseExistsError, LeaseNotFoundError, NoSpaceError } from '../errors.js';
import type { KVStore, LeaseHooks } from '../kvstore.js';
import { type LeaseId, NO_LEASE, type Revision } from '../types.js';
import { Lease } from './lease.js';
import { decodeLeaseEntry, encodeLeaseValue, type LeaseRecord, leaseBucketKey } from './lease-codec.js';
import { LeaseTtlTooLargeError, NotPrimaryError } from './lease-errors.js';
import { LeaseHeap } from './lease-heap.js';
import { spreadExpiries } from './promote-spread.js';

/**
 * Shortest TTL granted, in seconds; shorter requests are raised to it. etcd derives it from the
 * election timeout so a lease cannot expire during a leader election: ceil(1.5 × 1 s) = 2 s.
 */
export const DEFAULT_MIN_LEASE_TTL = 2;
/** Longest TTL accepted, in seconds (etcd's MaxLeaseTTL). */
export const MAX_LEASE_TTL = 9_000_000_000;
/**
 * Leases revoked per second at most (etcd's leaseRevokeRate). `expired()` reports at most half of
 * it per call (etcd checks every 500 ms) and `promote()` spreads expiries to three quarters of it.
 */
export const DEFAULT_LEASE_REVOKE_RATE = 1000;
/**
 * How long after reporting a lease expired `expired()` reports it again if it is still not
 * revoked (etcd's expiredLeaseRetryInterval): the revocation is in flight meanwhile.
 */
export const DEFAULT_EXPIRED_LEASES_RETRY_MS = 3000;
/** The largest lease ID: IDs are int64s, as etcd's (which takes a negative one too). */
export const MAX_LEASE_ID: LeaseId = (1n << 63n) - 1n;
/** The smallest lease ID a grant may give explicitly. Generated IDs are always positive. */
export const MIN_LEASE_ID: LeaseId = -(1n << 63n);

const MS_PER_SECOND = 1000;
/** Attempts at drawing an unused ID before concluding the random source is broken. */
const MAX_ID_ATTEMPTS = 100;

/** A source of uniformly random 64-bit values, for generated lease IDs. */
export type LeaseIdSource = () => bigint;

/** Options of `Lessor.open`. */
export interface LessorOptions {
  /** Milliseconds from a monotonic clock; default `performance.now`. */
  readonly clock?: () => number;
  /** Minimum TTL in seconds; default DEFAULT_MIN_LEASE_TTL. */
  readonly minTtl?: number;
  /** Random 64-bit values for generated IDs; default crypto.getRandomValues. */
  readonly rand?: LeaseIdSource;
  /** Leases revoked per second at most; default DEFAULT_LEASE_REVOKE_RATE. */
  readonly revokeRate?: number;
  /** Delay before an expired, unrevoked lease is reported again; default DEFAULT_EXPIRED_LEASES_RETRY_MS. */
  readonly expiredLeasesRetryMs?: number;
}

/** What a grant answers (etcd's LeaseGrantResponse without the header). */
export interface LeaseGrant {
  readonly id: LeaseId;
  /** The TTL actually granted, in seconds (raised to the minimum). */
  readonly ttl: number;
}

/** What a time-to-live request answers (etcd's LeaseTimeToLiveResponse without the header). */
export interface LeaseTimeToLive {
  readonly id: LeaseId;
  /**
   * Whole seconds left; -1 once expired (etcd's API answers -1 for a lease that is gone, which an
   * expired lease is about to be). A non-primary lessor does not track expiry and answers the
   * granted TTL; etcd serves this request on the leader.
   */
  readonly ttl: number;
  /** The TTL granted, in seconds. */
  readonly grantedTtl: number;
  /** Attached keys in byte order, when asked for; otherwise empty. */
  readonly keys: readonly Uint8Array[];
}

/** etcd's lessor over a KVStore; plugs itself in as the store's LeaseHooks. Open with `Lessor.open`. */
export class Lessor implements LeaseHooks {
  private readonly leaseMap = new Map<LeaseId, Lease>();
  /** Live key (binary string) → the lease it is attached to (etcd's itemMap). */
  private readonly itemMap = new Map<string, LeaseId>();
  // Invariant: while primary, the heap holds exactly the leases of leaseMap; otherwise it is empty.
  private readonly heap = new LeaseHeap();
  private primary = false;
  /** The extendMs of the last promote(); what a restored lessor is promoted with again. */
  private extendMs = 0;
  private readonly clock: () => number;
  private readonly rand: LeaseIdSource;
  /** Minimum TTL in seconds. */
  readonly minTtl: number;
  private readonly revokeRate: number;
  private readonly retryMs: number;

  private constructor(
    private readonly store: KVStore,
    opts: LessorOptions,
  ) {
    this.clock = opts.clock ?? (() => performance.now());
    this.rand = opts.rand ?? randomU64;
    this.minTtl = opts.minTtl ?? DEFAULT_MIN_LEASE_TTL;
    this.revokeRate = opts.revokeRate ?? DEFAULT_LEASE_REVOKE_RATE;
    this.retryMs = opts.expiredLeasesRetryMs ?? DEFAULT_EXPIRED_LEASES_RETRY_MS;
    checkPositiveInteger('minTtl', this.minTtl);
    checkPositiveInteger('revokeRate', this.revokeRate);
    if (!(this.retryMs > 0))
      throw new RangeError(`lease: expiredLeasesRetryMs must be > 0, got ${this.retryMs}`);
  }

  /**
   * Opens the lessor of `store`, before anything is applied to it:
   *   1. reads every lease from the lease bucket of the store's backend (TTLs raised to minTtl);
   *   2. plugs itself into the store (`store.setLeaseHooks`);
   *   3. re-attaches keys by scanning the store's live keys for a non-zero lease field.
   * Steps 2 and 3 run synchronously, so no write slips between them. Restored leases start
   * demoted (they never expire) until `promote()`, as in etcd: expiry is not persisted.
   */
  static async open(store: KVStore, opts: LessorOptions = {}): Promise<Lessor> {
    const lessor = new Lessor(store, opts);
    const records: LeaseRecord[] = [];
    const { gte, lt } = bucketBounds(Bucket.lease);
    for await (const [k, v] of store.backend.iterate(gte, lt)) records.push(decodeLeaseEntry(k, v));
    lessor.restore(records);
    return lessor;
  }

  private restore(records: readonly LeaseRecord[]): void {
    for (const r of records) this.leaseMap.set(r.id, new Lease(r.id, Math.max(r.ttl, this.minTtl)));
    this.store.setLeaseHooks(this);
    const all = new Uint8Array([0]);
    for (const kv of this.store.range({ key: all, rangeEnd: all, keysOnly: true }).kvs) {
      if (kv.lease === NO_LEASE) continue;
      // A key naming a missing lease cannot arise (revoke deletes the lease and its keys in one
      // batch); etcd logs it and moves on, and so do we, minus the log.
      const lease = this.leaseMap.get(kv.lease);
      if (lease === undefined) continue;
      const key = toBinary(kv.key);
      lease.keys.add(key);
      this.itemMap.set(key, kv.lease);
    }
  }

  // ---- role ------------------------------------------------------------------------------------

  /** Whether this lessor manages expiry and keep-alives (the raft leader's lessor is primary). */
  get isPrimary(): boolean {
    return this.primary;
  }

  /**
   * Makes this lessor primary; the host calls it when its raft node becomes leader, with the
   * election timeout as `extendMs`. Every lease restarts from its full TTL plus `extendMs`: the
   * old leader may have renewed it just before losing leadership, and this node never saw that
   * keep-alive. Expiries are then spread so no more than 3/4 of the revoke rate fall in any
   * one-second window (see promote-spread.ts).
   */
  promote(extendMs = 0): void {
    if (!Number.isFinite(extendMs) || extendMs < 0) {
      throw new RangeError(`lease: extendMs must be a non-negative number, got ${extendMs}`);
    }
    this.primary = true;
    this.extendMs = extendMs;
    const now = this.clock();
    const leases = [...this.leaseMap.values()];
    for (const l of leases) l.refresh(now, extendMs);
    leases.sort(byExpiryThenId);
    const spread = spreadExpiries(
      leases.map((l) => l.expiry),
      Math.max(1, Math.floor((3 * this.revokeRate) / 4)),
    );
    this.heap.clear();
    leases.forEach((l, i) => {
      l.expiry = spread[i]!;
      this.heap.set(l.id, l.expiry);
    });
  }

  /**
   * The `extendMs` this lessor was promoted with, or undefined when it is not primary. A store
   * restored from a snapshot promotes its new lessor with it (MvccStore.restore).
   */
  get promotedExtendMs(): number | undefined {
    return this.primary ? this.extendMs : undefined;
  }

  /** Stops managing expiry (the host's raft node lost leadership): no lease expires here any more. */
  demote(): void {
    this.primary = false;
    for (const l of this.leaseMap.values()) l.forever();
    this.heap.clear();
  }

  // ---- replicated requests (applied from the log on every replica) -------------------------------

  /**
   * etcd's LeaseGrant. `id` 0 draws a fresh ID from `newId()` — fine on a single node, but a
   * replicated host must draw the ID on the leader BEFORE proposing (as etcd's leader does) so that
   * every replica applies the same ID. A TTL below minTtl is raised to it.
   */
  grant(id: LeaseId, ttl: number): LeaseGrant {
    if (this.store.spaceExhausted) throw new NoSpaceError(); // etcd's capped applier
    if (ttl > MAX_LEASE_TTL) throw new LeaseTtlTooLargeError();
    if (!Number.isSafeInteger(ttl)) throw new RangeError(`lease: TTL must be an integer, got ${ttl}`);
    if (id === NO_LEASE) id = this.newId();
    else if (id < MIN_LEASE_ID || id > MAX_LEASE_ID) {
      throw new RangeError(`lease: ID must be a non-zero int64, got ${id}`);
    }
    if (this.leaseMap.has(id)) throw new LeaseExistsError();
    const lease = new Lease(id, Math.max(ttl, this.minTtl));
    if (this.primary) {
      lease.refresh(this.clock());
      this.heap.set(id, lease.expiry);
    }
    this.leaseMap.set(id, lease);
    this.store.backend.put(leaseBucketKey(id), encodeLeaseValue(lease));
    return { id, ttl: lease.ttl };
  }

  /**
   * etcd's LeaseRevoke: deletes every attached key in ONE store revision (none if no key is
   * attached) and forgets the lease, in the same backend batch. Returns the store revision after.
   */
  revoke(id: LeaseId): Revision {
    const lease = this.leaseMap.get(id);
    if (lease === undefined) throw new LeaseNotFoundError();
    // Sorted, so every replica deletes in the same order and stores the same bytes (hashKV).
    // A copy: each deletion detaches its key from `lease.keys` through the hooks.
    const rev = this.store.deleteKeys([...lease.keys].sort());
    // Invariant: every attached key was live with this lease, so deleting them detached them all.
    if (lease.keys.size !== 0)
      throw new Error(`lease: ${lease.keys.size} key(s) still attached after revoke`);
    this.leaseMap.delete(id);
    this.heap.remove(id);
    this.store.backend.del(leaseBucketKey(id));
    return rev;
  }

  // ---- local requests (served by the primary, never replicated) ----------------------------------

  /**
   * etcd's LeaseKeepAlive: restarts the lease's TTL and returns it (seconds). Only the primary
   * renews. An expired lease is not renewed: its revocation is already due, so the caller is told
   * what it will see once that is applied (etcd makes the caller wait for it, then says so).
   */
  renew(id: LeaseId): number {
    if (!this.primary) throw new NotPrimaryError();
    const lease = this.leaseMap.get(id);
    if (lease === undefined) throw new LeaseNotFoundError();
    const now = this.clock();
    if (lease.expired(now)) throw new LeaseNotFoundError();
    lease.refresh(now);
    this.heap.set(id, lease.expiry);
    return lease.ttl;
  }

  /**
   * A keep-alive that reached this replica through the replicated log (a host that replicates
   * keep-alives instead of forwarding them to the leader). Its outcome is the same on every
   * replica, because the replica that proposed it answers the client from its own apply: a lease
   * that exists is renewed — the primary restarts its TTL even if its clock already counted it
   * expired (its revocation is the host's to void, see the host's expiry check) — and another
   * replica notes when the lease would now expire, for timeToLive. Unknown lease →
   * LeaseNotFoundError on every replica alike.
   */
  observeRenew(id: LeaseId): number {
    const lease = this.leaseMap.get(id);
    if (lease === undefined) throw new LeaseNotFoundError();
    if (this.primary) {
      lease.refresh(this.clock());
      this.heap.set(id, lease.expiry);
      return lease.ttl;
    }
    lease.observedExpiry = this.clock() + lease.ttl * MS_PER_SECOND;
    return lease.ttl;
  }

  /**
   * A leader's lease checkpoint: the leases its primary lessor renewed locally (`renew`) since its
   * last one. Another replica notes when each would now expire, for timeToLive. The primary
   * changes nothing: it did those renewals, and a checkpoint is nobody's keep-alive, so it must
   * never restart a TTL the primary has let run out. Leases revoked since are skipped.
   */
  observeCheckpoint(ids: readonly LeaseId[]): void {
    if (this.primary) return;
    const now = this.clock();
    for (const id of ids) {
      const lease = this.leaseMap.get(id);
      if (lease !== undefined) lease.observedExpiry = now + lease.ttl * MS_PER_SECOND;
    }
  }

  /** etcd's LeaseTimeToLive; `keys` asks for the attached keys. Unknown lease → LeaseNotFoundError. */
  timeToLive(id: LeaseId, opts: { readonly keys?: boolean } = {}): LeaseTimeToLive {
    const lease = this.leaseMap.get(id);
    if (lease === undefined) throw new LeaseNotFoundError();
    let ttl = lease.ttl;
    const expiry = lease.demoted ? lease.observedExpiry : lease.expiry;
    if (expiry !== undefined) {
      const remaining = expiry - this.clock();
      ttl = remaining <= 0 ? -1 : Math.floor(remaining / MS_PER_SECOND);
    }
    const keys = opts.keys ? [...lease.keys].sort().map(fromBinary) : [];
    return { id, ttl, grantedTtl: lease.ttl, keys };
  }

  /**
   * etcd's LeaseLeases: every lease ID, the soonest to expire first, as etcd's lessor sorts them.
   * Leases that expire together — every lease of a lessor that is not primary, where none expires
   * — keep the order they were granted in (restored ones: their stored order).
   */
  leases(): LeaseId[] {
    // Array.prototype.sort is stable: ties stay in the map's insertion (grant) order.
    return [...this.leaseMap.values()].sort(byExpiry).map((l) => l.id);
  }

  /**
   * Leases past their expiry, earliest first, at most `limit` (the host proposes their revocation;
   * nothing is revoked here). Always empty unless primary. A reported lease is not reported again
   * for `expiredLeasesRetryMs` (the revocation is in flight), so the host may call this as often
   * as it likes; if the revocation was lost (say, leadership changed) it comes back.
   */
  expired(limit = Math.max(1, Math.floor(this.revokeRate / 2))): LeaseId[] {
    checkPositiveInteger('limit', limit);
    const now = this.clock();
    const out: LeaseId[] = [];
    while (out.length < limit) {
      const top = this.heap.peek();
      if (top === undefined || top.time > now) break;
      const lease = this.leaseMap.get(top.id)!;
      if (lease.expired(now)) {
        out.push(lease.id);
        this.heap.set(lease.id, now + this.retryMs);
      } else {
        this.heap.set(lease.id, lease.expiry);
      }
    }
    return out;
  }

  /**
   * A fresh random lease ID: positive int64, not in use. Not deterministic: a replicated host
   * calls it on the leader before proposing a grant, never while applying.
   */
  newId(): LeaseId {
    for (let i = 0; i < MAX_ID_ATTEMPTS; i++) {
      const id = BigInt.asUintN(63, this.rand());
      if (id !== NO_LEASE && !this.leaseMap.has(id)) return id;
    }
    throw new Error(`lease: no unused lease ID in ${MAX_ID_ATTEMPTS} draws; is the random source broken?`);
  }

  // ---- LeaseHooks (called by the KV store while it applies writes) --------------------------------

  /** Whether lease `id` exists (the store checks before a put names it). */
  exists(id: LeaseId): boolean {
    return this.leaseMap.has(id);
  }

  /** Attaches `key` (binary string) to lease `id`. */
  attach(id: LeaseId, key: string): void {
    const lease = this.leaseMap.get(id);
    // Invariant: the store checked exists(id) earlier in the same synchronous write.
    if (lease === undefined) throw new Error(`lease: attach to unknown lease ${id}`);
    lease.keys.add(key);
    this.itemMap.set(key, id);
  }

  /** Detaches `key` from lease `id`; a missing lease is ignored (a key may outlive an orphaned ID). */
  detach(id: LeaseId, key: string): void {
    this.leaseMap.get(id)?.keys.delete(key);
    if (this.itemMap.get(key) === id) this.itemMap.delete(key);
  }

  /** The lease `key` is attached to, or NO_LEASE. */
  leaseOf(key: string): LeaseId {
    return this.itemMap.get(key) ?? NO_LEASE;
  }
}

function byExpiry(a: Lease, b: Lease): number {
  // Compared, not subtracted: FOREVER - FOREVER is NaN.
  return a.expiry < b.expiry ? -1 : a.expiry > b.expiry ? 1 : 0;
}

function byExpiryThenId(a: Lease, b: Lease): number {
  return a.expiry !== b.expiry ? a.expiry - b.expiry : compareIds(a.id, b.id);
}

function compareIds(a: LeaseId, b: LeaseId): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function checkPositiveInteger(name: string, n: number): void {
  if (!Number.isSafeInteger(n) || n < 1)
    throw new RangeError(`lease: ${name} must be a positive integer, got ${n}`);
}

function randomU64(): bigint {
  return getRandomValues(new BigUint64Array(1))[0]!;
}
