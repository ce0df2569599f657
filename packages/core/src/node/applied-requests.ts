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

function keyOf(prefix: number): Uint8Array {
  return bucketKey(Bucket.requests, Uint8Array.of(prefix >> 8, prefix & 0xff));
}

/** A counter (< 2^48) as the table stores it: a big-endian u64. */
function encodeCounter(counter: number): Uint8Array {
  // Byte by byte: a DataView over a small array's `.buffer` moves its bytes off V8's heap (an
  // ArrayBuffer per applied batch).
  const b = new Uint8Array(8);
  let rest = counter;
  for (let i = 7; i >= 0; i--) {
    b[i] = rest % 256;
    rest = Math.floor(rest / 256);
  }
  return b;
}

function decodeCounter(b: Uint8Array): number {
  const dv = new DataView(b.buffer, b.byteOffset, 8);
  return dv.getUint32(0) * 0x1_0000_0000 + dv.getUint32(4);
}

/** The per-proposer table; see the file comment. */
export class AppliedRequests {
  private readonly cache = new Map<number, number>();
  /** Prefixes admitted since the last persist(). */
  private readonly dirty = new Set<number>();

  /** `backend` is asked for each time: the store's backend changes when a snapshot is installed. */
  constructor(private readonly backend: () => Backend) {}

  /**
   * Whether the request with ID (prefix, counter) applies (and records it); false for a duplicate
   * or overtaken one. The ID 0 (no ID) always applies.
   */
  admit(prefix: number, counter: number): boolean {
    if (counter === 0 && prefix === 0) return true;
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
      backend.put(keyOf(prefix), encodeCounter(this.cache.get(prefix)!));
    }
    this.dirty.clear();
  }

  /** The highest counter applied for `prefix` (0 if none). */
  last(prefix: number): number {
    const cached = this.cache.get(prefix);
    if (cached !== undefined) return cached;
    const v = this.backend().get(keyOf(prefix));
    const last = v === undefined || v.length !== 8 ? 0 : decodeCounter(v);
    this.cache.set(prefix, last);
    return last;
  }

  /** Forgets cached values (the store was replaced by a snapshot). */
  reload(): void {
    this.cache.clear();
    this.dirty.clear();
  }
}
