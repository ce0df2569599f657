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
 * `get` returns a view of the ring, valid until the next `set`: callers decode it at once (into
 * fresh arrays, so a caller mutating a response cannot reach the cache). Pure.
 */

/** Bytes of encoded key-values a KVStore keeps in memory by revision (0 = none). */
export const DEFAULT_KV_CACHE_BYTES = 64 * 1024 * 1024;
/** Revisions a KVStore's key-value cache can hold (its slots). */
export const DEFAULT_KV_CACHE_ENTRIES = 1 << 18;
/** Bytes of one chunk of the ring (smaller if the whole cache is smaller). */
export const KV_CACHE_CHUNK_BYTES = 1024 * 1024;

/** A ring of encoded key-values by main revision, bounded in entries and bytes. */
export class KeyValueCache {
  /** Main revision in each slot (-1: empty). */
  private readonly mains: Float64Array;
  /** Where each slot's bytes start, counted in bytes ever appended to the ring. */
  private readonly starts: Float64Array;
  private readonly lengths: Int32Array;
  private readonly chunkBytes: number;
  private readonly chunkCount: number;
  /** Ring bytes: chunkCount * chunkBytes (<= maxBytes). */
  private readonly capacity: number;
  private readonly chunks: Uint8Array[] = [];
  /** Bytes ever appended (including chunk tails skipped). Invariant: an entry is intact iff start >= head - capacity. */
  private head = 0;

  constructor(maxBytes: number, entries = DEFAULT_KV_CACHE_ENTRIES) {
    this.chunkBytes = Math.max(1, Math.min(KV_CACHE_CHUNK_BYTES, maxBytes));
    this.chunkCount = maxBytes > 0 ? Math.floor(maxBytes / this.chunkBytes) : 0;
    this.capacity = this.chunkCount * this.chunkBytes;
    const slots = this.capacity > 0 ? entries : 0;
    this.mains = new Float64Array(slots).fill(-1);
    this.starts = new Float64Array(slots);
    this.lengths = new Int32Array(slots);
  }

  /** The encoded key-value written at (main, sub), if cached: a view valid until the next set. */
  get(main: number, sub: number): Uint8Array | undefined {
    const slots = this.mains.length;
    if (sub !== 0 || slots === 0) return undefined;
    const i = main % slots;
    if (this.mains[i] !== main) return undefined;
    const start = this.starts[i]!;
    if (start < this.head - this.capacity) return undefined;
    const chunk = this.chunks[Math.floor(start / this.chunkBytes) % this.chunkCount]!;
    const at = start % this.chunkBytes;
    return chunk.subarray(at, at + this.lengths[i]!);
  }

  /** Caches (a copy of) the encoded key-value written at (main, sub). */
  set(main: number, sub: number, encoded: Uint8Array): void {
    const slots = this.mains.length;
    const n = encoded.length;
    if (sub !== 0 || slots === 0 || n > this.chunkBytes) return;
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
    const i = main % slots;
    this.mains[i] = main;
    this.starts[i] = this.head;
    this.lengths[i] = n;
    this.head += n;
  }

  /** Drops every entry (the ring's memory stays allocated for reuse). */
  clear(): void {
    this.mains.fill(-1);
  }

  /** Number of cached revisions (counts them: for tests and diagnostics). */
  get size(): number {
    let n = 0;
    for (let i = 0; i < this.mains.length; i++) {
      if (this.mains[i]! >= 0 && this.starts[i]! >= this.head - this.capacity) n++;
    }
    return n;
  }
}
