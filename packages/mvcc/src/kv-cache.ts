/**
 * KeyValueCache: encoded key-values (as stored in the key bucket) by revision, so that hot reads
 * skip building the revision key, the backend's overlay and cache lookups and LevelDB. Filled by
 * writes (the store encodes each KeyValue anyway) and by reads. Revisions are immutable, so
 * nothing is ever invalidated: compaction only clears it to free memory (reads below the
 * compaction revision fail before they get here).
 *
 * A ring of `entries` slots indexed by main revision (no Map: hashing and growing one cost puts
 * more than the cache saved). Writes come in revision order, so a new revision overwrites the
 * oldest one; over the byte bound, the slots after the new one (the oldest) are emptied first.
 * Only sub-revision 0 is cached (every plain put; a txn's later writes are read from the backend).
 *
 * Entries are the encoded bytes, never decoded objects: every read decodes into fresh arrays, so a
 * caller mutating a response cannot reach the cache. The stored bytes are never mutated. Pure.
 */

/** Bytes of encoded key-values a KVStore keeps in memory by revision (0 = none). */
export const DEFAULT_KV_CACHE_BYTES = 64 * 1024 * 1024;
/** Revisions a KVStore's key-value cache can hold (its ring's slots). */
export const DEFAULT_KV_CACHE_ENTRIES = 1 << 18;
/** Bytes an entry costs beyond its encoded key-value (array header, slot). */
const ENTRY_OVERHEAD = 64;

/** A ring of encoded key-values by main revision, bounded in entries and bytes. */
export class KeyValueCache {
  /** Invariant: values[i] is undefined or the encoded key-value of revision (mains[i], 0). */
  private readonly values: (Uint8Array | undefined)[];
  private readonly mains: Float64Array;
  /** Invariant: bytes <= maxBytes. */
  private bytes = 0;
  private count = 0;
  /**
   * Where eviction last stopped (-1: not yet evicting). Eviction resumes here rather than just
   * after the new slot: restarting there walked every empty slot between the newest revision and
   * the oldest cached one on every set, once the ring was only partly filled but over its bytes.
   */
  private evictAt = -1;

  constructor(
    private readonly maxBytes: number,
    entries = DEFAULT_KV_CACHE_ENTRIES,
  ) {
    const slots = maxBytes > 0 ? entries : 0;
    this.values = new Array<Uint8Array | undefined>(slots).fill(undefined);
    this.mains = new Float64Array(slots);
  }

  /** The encoded key-value written at (main, sub), if cached. */
  get(main: number, sub: number): Uint8Array | undefined {
    if (sub !== 0 || this.values.length === 0) return undefined;
    const i = main % this.values.length;
    return this.mains[i] === main ? this.values[i] : undefined;
  }

  /** Caches the encoded key-value written at (main, sub); `encoded` must never be mutated. */
  set(main: number, sub: number, encoded: Uint8Array): void {
    const n = this.values.length;
    const size = encoded.length + ENTRY_OVERHEAD;
    if (sub !== 0 || n === 0 || size > this.maxBytes) return;
    const i = main % n;
    this.empty(i);
    this.values[i] = encoded;
    this.mains[i] = main;
    this.bytes += size;
    this.count++;
    if (this.bytes <= this.maxBytes) return;
    // Empties the slots after the new one (the oldest revisions) first, never the new one: it fits
    // alone, so this ends within one turn of the ring.
    let j = this.evictAt < 0 ? i : this.evictAt;
    while (this.bytes > this.maxBytes) {
      j = (j + 1) % n;
      if (j !== i) this.empty(j);
    }
    this.evictAt = j;
  }

  /** Drops every entry. */
  clear(): void {
    this.values.fill(undefined);
    this.bytes = 0;
    this.count = 0;
    this.evictAt = -1;
  }

  /** Number of cached revisions. */
  get size(): number {
    return this.count;
  }

  private empty(i: number): void {
    const old = this.values[i];
    if (old === undefined) return;
    this.values[i] = undefined;
    this.bytes -= old.length + ENTRY_OVERHEAD;
    this.count--;
  }
}
