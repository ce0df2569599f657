/**
 * WriteOverlay: the writes a LevelBackend buffered and has not yet seen written to LevelDB, in
 * the order they were made (LevelDB applies a batch in order: a later write of a key wins).
 *
 * Writes are appended as given — no binary string and no Map entry per write, which cost a put
 * about as much as its encoding. The key → newest write lookup that reads need is built only when
 * a read asks, over the writes appended since the last one; most writes are never looked up
 * (reads of fresh revisions are answered by the store's own cache). Pure.
 */

import { toBinary } from './bytes.js';

/** Buffered puts (value) and deletes (null) in write order, looked up by binary key on demand. */
export class WriteOverlay {
  /** The keys written, in order; keys and values are kept, never copied: callers must not mutate them. */
  readonly keys: Uint8Array[] = [];
  /** values[i] is what keys[i] was set to: bytes, or null for a delete. */
  readonly values: (Uint8Array | null)[] = [];
  /** Binary key → index of its newest write, for writes [0, indexed). */
  private readonly byKey = new Map<string, number>();
  private indexed = 0;

  /** Number of writes buffered (a key written twice counts twice). */
  get size(): number {
    return this.keys.length;
  }

  /** Buffers a put (`value`) or a delete (null) of `key`. */
  add(key: Uint8Array, value: Uint8Array | null): void {
    this.keys.push(key);
    this.values.push(value);
  }

  /** The newest write of `key` (a binary string): its bytes, null if deleted, undefined if not written. */
  lookup(key: string): Uint8Array | null | undefined {
    const n = this.keys.length;
    if (n === 0) return undefined;
    for (; this.indexed < n; this.indexed++) this.byKey.set(toBinary(this.keys[this.indexed]!), this.indexed);
    const i = this.byKey.get(key);
    return i === undefined ? undefined : this.values[i];
  }
}
