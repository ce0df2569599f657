/**
 * What a KVStore is given and gives: its options, the lease hooks a Lessor plugs in, and the
 * listener that receives each write's events. Types only.
 */

import type { Event, LeaseId, Revision } from './types.js';

/** How leases take part in writes; supplied by the Lessor (the store knows nothing else of leases). */
export interface LeaseHooks {
  /** Whether a lease with this ID exists. */
  exists(id: LeaseId): boolean;
  /** Records that `key` (a binary string) is now attached to lease `id`. */
  attach(id: LeaseId, key: string): void;
  /** Records that `key` is no longer attached to lease `id`. */
  detach(id: LeaseId, key: string): void;
  /** The lease `key` (a live key, as a binary string) is attached to, or NO_LEASE. */
  leaseOf(key: string): LeaseId;
}

/** Receives the events of each write request, in revision order, synchronously as it is applied. */
export type EventListener = (events: readonly Event[], revision: Revision) => void;

/** Options of a KVStore. */
export interface KVStoreOptions {
  /** Max ops per txn branch (etcd's --max-txn-ops). */
  readonly maxTxnOps?: number;
  /** Deletions per batch during physical compaction. */
  readonly compactionBatch?: number;
  /** Bytes of encoded key-values kept in memory by revision (default DEFAULT_KV_CACHE_BYTES; 0 = none). */
  readonly kvCacheBytes?: number;
}
