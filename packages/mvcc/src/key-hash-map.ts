/**
 * KeyHashMap: entries that carry their key as a binary string (see bytes.ts), found by the key's
 * bytes or by the string. A Map keyed by binary strings needs a fresh string per lookup of a
 * request's key (String.fromCharCode over its bytes) and then hashes it again; this one hashes
 * the bytes where they are and compares them with the stored string, so the point reads and
 * writes of single keys build no string at all.
 *
 * Open addressing with linear probing over a power-of-two table kept at most a quarter full;
 * deletion shifts the following entries back (no tombstones). Each entry holds its key's full
 * hash, so a probe compares keys only when the hashes match. The table holds nothing else: over
 * many keys a lookup is bound by memory touches (the slot, the entry, its key), and a separate
 * array of hashes was one more. Pure.
 */

/** An entry: anything that knows its key as a binary string and can hold the key's hash. */
export interface Keyed {
  readonly key: string;
  /** Set by the map when the entry is added (the hash of `key`). */
  keyHash: number;
}

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** Spreads FNV-1a's weak low bits over the whole word (murmur3's finalizer), for linear probing. */
function finish(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) | 0;
}

/** The hash of a key's bytes; equal to hashBinary of its binary string. */
export function hashBytes(b: Uint8Array): number {
  let h = FNV_OFFSET;
  for (let i = 0; i < b.length; i++) h = Math.imul(h ^ b[i]!, FNV_PRIME);
  return finish(h);
}

/** The hash of a binary string; equal to hashBytes of its bytes. */
export function hashBinary(s: string): number {
  let h = FNV_OFFSET;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), FNV_PRIME);
  return finish(h);
}

function sameKey(s: string, b: Uint8Array): boolean {
  if (s.length !== b.length) return false;
  for (let i = 0; i < b.length; i++) if (s.charCodeAt(i) !== b[i]) return false;
  return true;
}

const MIN_CAPACITY = 16;
/** The table is grown before it is more than 1/LOAD_INVERSE full (short probe runs). */
const LOAD_INVERSE = 4;

/** A hash table of Keyed entries, looked up by key bytes or binary string. */
export class KeyHashMap<V extends Keyed> {
  /** Invariant: an entry sits at its home slot or after it with no empty slot in between. */
  private entries: (V | undefined)[];
  private mask: number;
  private count = 0;

  constructor(capacity = MIN_CAPACITY) {
    let n = MIN_CAPACITY;
    while (n < capacity * LOAD_INVERSE) n *= 2;
    this.entries = new Array<V | undefined>(n).fill(undefined);
    this.mask = n - 1;
  }

  /** Number of entries. */
  get size(): number {
    return this.count;
  }

  /** The entry whose key has these bytes. */
  get(key: Uint8Array): V | undefined {
    const h = hashBytes(key);
    const { entries, mask } = this;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const e = entries[i];
      if (e === undefined) return undefined;
      if (e.keyHash === h && sameKey(e.key, key)) return e;
    }
  }

  /** The entry whose key is this binary string. */
  getBinary(key: string): V | undefined {
    const i = this.slotOf(key, hashBinary(key));
    return i < 0 ? undefined : this.entries[i];
  }

  /** Adds `entry`, replacing any entry with the same key. */
  set(entry: V): void {
    const h = hashBinary(entry.key);
    entry.keyHash = h;
    const { entries, mask } = this;
    let i = h & mask;
    for (; ; i = (i + 1) & mask) {
      const e = entries[i];
      if (e === undefined) break;
      if (e.keyHash === h && e.key === entry.key) {
        entries[i] = entry;
        return;
      }
    }
    entries[i] = entry;
    if (++this.count * LOAD_INVERSE > entries.length) this.grow();
  }

  /** Removes the entry with this key; false if there was none. */
  delete(key: string): boolean {
    let i = this.slotOf(key, hashBinary(key));
    if (i < 0) return false;
    const { entries, mask } = this;
    // Shift back every following entry whose home slot is not in (i, j]: it may then be found
    // without crossing the emptied slot.
    for (let j = (i + 1) & mask; entries[j] !== undefined; j = (j + 1) & mask) {
      const home = entries[j]!.keyHash & mask;
      const stays = i <= j ? i < home && home <= j : i < home || home <= j;
      if (stays) continue;
      entries[i] = entries[j];
      i = j;
    }
    entries[i] = undefined;
    this.count--;
    return true;
  }

  /** Every entry, in no particular order. */
  *values(): IterableIterator<V> {
    for (const e of this.entries) if (e !== undefined) yield e;
  }

  private slotOf(key: string, h: number): number {
    const { entries, mask } = this;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const e = entries[i];
      if (e === undefined) return -1;
      if (e.keyHash === h && e.key === key) return i;
    }
  }

  private grow(): void {
    const oldEntries = this.entries;
    const n = oldEntries.length * 2;
    this.entries = new Array<V | undefined>(n).fill(undefined);
    this.mask = n - 1;
    for (const e of oldEntries) {
      if (e === undefined) continue;
      let i = e.keyHash & this.mask;
      while (this.entries[i] !== undefined) i = (i + 1) & this.mask;
      this.entries[i] = e;
    }
  }
}
