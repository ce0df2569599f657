/**
 * AppliedRequests: makes applying a committed request idempotent. A proposal can reach the log
 * twice — the network duplicated the MsgProp a follower forwarded, or a deposed leader forwarded
 * it again to the new one — and raft does not care (Raft thesis §6.3 leaves this to the state
 * machine). Every request ID is its proposer's 16-bit prefix and a counter that only grows, so
 * the applier keeps, per prefix, the highest counter applied, and skips a request at or below it:
 * a duplicate, or a proposal overtaken by a later one from the same member (then it was never
 * acknowledged, and its caller times out as for any lost proposal).
 *
 * The table lives in the store's backend (the `requests` bucket), written once per applied batch
 * together with the applied index (`persist`) and carried by snapshots, so every member and every
 * restart decides alike.
 */

import { type Backend, Bucket, bucketKey } from '@tsetcd/mvcc';
import { requestCounter, requestPrefix } from './request.js';

function keyOf(prefix: number): Uint8Array {
  return bucketKey(Bucket.requests, Uint8Array.of(prefix >> 8, prefix & 0xff));
}

/** The per-proposer table; see the file comment. */
export class AppliedRequests {
  private readonly cache = new Map<number, bigint>();
  /** Prefixes admitted since the last persist(). */
  private readonly dirty = new Set<number>();

  /** `backend` is asked for each time: the store's backend changes when a snapshot is installed. */
  constructor(private readonly backend: () => Backend) {}

  /** Whether the request `id` applies (and records it); false for a duplicate or overtaken one. */
  admit(id: bigint): boolean {
    if (id === 0n) return true;
    const prefix = requestPrefix(id);
    const counter = requestCounter(id);
    if (counter <= this.last(prefix)) return false;
    this.cache.set(prefix, counter);
    this.dirty.add(prefix);
    return true;
  }

  /** Buffers the counters admitted since the last call into the backend (once per applied batch). */
  persist(): void {
    if (this.dirty.size === 0) return;
    const backend = this.backend();
    for (const prefix of this.dirty) {
      const b = new Uint8Array(8);
      new DataView(b.buffer).setBigUint64(0, this.cache.get(prefix)!);
      backend.put(keyOf(prefix), b);
    }
    this.dirty.clear();
  }

  /** The highest counter applied for `prefix` (0 if none). */
  last(prefix: number): bigint {
    const cached = this.cache.get(prefix);
    if (cached !== undefined) return cached;
    const v = this.backend().get(keyOf(prefix));
    const last =
      v === undefined || v.length !== 8 ? 0n : new DataView(v.buffer, v.byteOffset, 8).getBigUint64(0);
    this.cache.set(prefix, last);
    return last;
  }

  /** Forgets cached values (the store was replaced by a snapshot). */
  reload(): void {
    this.cache.clear();
    this.dirty.clear();
  }
}
