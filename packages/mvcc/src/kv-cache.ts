/**
 * KeyValueCache: encoded key-values (as stored in the key bucket) by revision, so that hot reads
 * skip building the revision key, the backend's overlay and cache lookups and LevelDB. Filled by
 * writes (the store encodes each KeyValue anyway) and by reads. Revisions are immutable, so
 * nothing is ever invalidated: compaction only clears it to free memory (reads below the
 * compaction revision fail before they get here).
 *
 * The bytes are copied into a ring of byte chunks (allocated as the ring first fills), not kept
 * as arrays: holding one array per revision made every put leave a long-lived object to the
 * garbage collector — tenured, then dropped on eviction — which cost a put about a third of its
 * time. Entries are appended in write order; an entry whose bytes the ring has since written
 * over is gone. Slots are indexed by main revision (no Map: hashing and growing one cost puts
 * more than the cache saved); only sub-revision 0 is cached (every plain put; a txn's later
 * writes are read from the backend).
 *
 * `decode` decodes an entry straight from the ring into fresh arrays (so a caller mutating a
 * response cannot reach the cache); `get` returns a view of the ring, valid until the next `set`.
 * Pure.
 */

import { decodeKeyValue } from './codec.js';
import type { KeyValue } from './types.js';

/** Bytes of encoded key-values a KVStore keeps in memory by revision (0 = none). */
export const DEFAULT_KV_CACHE_BYTES = 64 * 1024 * 1024;
/** Revisions a KVStore's key-value cache can hold (its slots). */
export const DEFAULT_KV_CACHE_ENTRIES = 1 << 18;
/** Bytes of one chunk of the ring (smaller if the whole cache is smaller). */
export const KV_CACHE_CHUNK_BYTES = 1024 * 1024;

/** Numbers per slot: main revision, start, length. */
const SLOT_FIELDS = 3;

/** A ring of encoded key-values by main revision, bounded in entries and bytes. */
export class KeyValueCache {
  /**
   * Per slot, side by side so a lookup reads one cache line: the main revision (-1: empty), where
   * its bytes start (counted in bytes ever appended to the ring), and their length.
   */
  private readonly slots: Float64Array;
  private readonly slotCount: number;
  private readonly chunkBytes: number;
  private readonly chunkCount: number;
  /** Ring bytes: chunkCount * chunkBytes (<= maxBytes). */
  private readonly capacity: number;
  private readonly chunks: Uint8Array[] = [];
  /** Bytes ever appended (including chunk tails skipped). Invariant: an entry is intact iff start >= head - capacity. */
  private head = 0;
  /** Where the entry find() located starts and ends in its chunk. */
  private foundAt = 0;
  private foundEnd = 0;

  constructor(maxBytes: number, entries = DEFAULT_KV_CACHE_ENTRIES) {
    this.chunkBytes = Math.max(1, Math.min(KV_CACHE_CHUNK_BYTES, maxBytes));
    this.chunkCount = maxBytes > 0 ? Math.floor(maxBytes / this.chunkBytes) : 0;
    this.capacity = this.chunkCount * this.chunkBytes;
    this.slotCount = this.capacity > 0 ? entries : 0;
    this.slots = new Float64Array(this.slotCount * SLOT_FIELDS);
    this.clear();
  }

  /** The encoded key-value written at (main, sub), if cached: a view valid until the next set. */
  get(main: number, sub: number): Uint8Array | undefined {
    const chunk = this.find(main, sub);
    return chunk === undefined ? undefined : chunk.subarray(this.foundAt, this.foundEnd);
  }

  /** The key-value written at (main, sub), decoded into fresh arrays, if cached. */
  decode(main: number, sub: number): KeyValue | undefined {
    const chunk = this.find(main, sub);
    return chunk === undefined ? undefined : decodeKeyValue(chunk, this.foundAt, this.foundEnd);
  }

  /**
   * The chunk holding the entry at (main, sub), its bounds left in foundAt / foundEnd (fields,
   * not a returned object: this is every cached read's path).
   */
  private find(main: number, sub: number): Uint8Array | undefined {
    if (sub !== 0 || this.slotCount === 0) return undefined;
    const i = (main % this.slotCount) * SLOT_FIELDS;
    const slots = this.slots;
    if (slots[i] !== main) return undefined;
    const start = slots[i + 1]!;
    if (start < this.head - this.capacity) return undefined;
    this.foundAt = start % this.chunkBytes;
    this.foundEnd = this.foundAt + slots[i + 2]!;
    return this.chunks[Math.floor(start / this.chunkBytes) % this.chunkCount]!;
  }

  /** Caches (a copy of) the encoded key-value written at (main, sub). */
  set(main: number, sub: number, encoded: Uint8Array): void {
    const n = encoded.length;
    if (sub !== 0 || this.slotCount === 0 || n > this.chunkBytes) return;
    let at = this.head % this.chunkBytes;
    if (at + n > this.chunkBytes) {
      // Entries never straddle chunks: skip the rest of this one.
      this.head += this.chunkBytes - at;
      at = 0;
    }
    const c = Math.floor(this.head / this.chunkBytes) % this.chunkCount;
    let chunk = this.chunks[c];
    if (chunk === undefined) {
      chunk = new Uint8Array(this.chunkBytes);
      this.chunks[c] = chunk;
    }
    chunk.set(encoded, at);
    const i = (main % this.slotCount) * SLOT_FIELDS;
    this.slots[i] = main;
    this.slots[i + 1] = this.head;
    this.slots[i + 2] = n;
    this.head += n;
  }

  /** Drops every entry (the ring's memory stays allocated for reuse). */
  clear(): void {
    for (let i = 0; i < this.slots.length; i += SLOT_FIELDS) this.slots[i] = -1;
  }

  /** Number of cached revisions (counts them: for tests and diagnostics). */
  get size(): number {
    let n = 0;
    for (let i = 0; i < this.slots.length; i += SLOT_FIELDS) {
      if (this.slots[i]! >= 0 && this.slots[i + 1]! >= this.head - this.capacity) n++;
    }
    return n;
  }
}
