/**
 * WriteOverlay: the writes a LevelBackend buffered and has not yet seen written to LevelDB.
 * Each key is written to LevelDB once per batch, with its last value (as a Map of the batch
 * would): a key rewritten many times per batch — the applied index, the store revision — must
 * not leave LevelDB a record per write.
 *
 * Two kinds of write. A `fresh` write is of a key written nowhere else in this overlay (the
 * store's revision keys: each revision is written once): it is appended as given, with no binary
 * string and no Map entry, which cost a put about as much as its encoding. Any other write is
 * indexed by its binary key at once, and replaces the earlier write of that key. The lookup that
 * reads need covers fresh writes only when a read asks, over those appended since the last one;
 * most are never looked up (reads of fresh revisions are answered by the store's own cache). A
 * caller breaking the fresh promise still reads and stores the newest write (LevelDB applies a
 * batch in order); the key just reaches LevelDB more than once. Pure.
 */

import { toBinary } from './bytes.js';

/** Marks a write replaced by a later write of its key (skipped by `forEach`). */
const REPLACED = new Uint8Array(0);

/** Buffered puts (value) and deletes (null) in write order, looked up by binary key on demand. */
export class WriteOverlay {
  /** The keys written, in order (REPLACED once rewritten); kept as given: callers must not mutate them. */
  private readonly keys: Uint8Array[] = [];
  /** values[i] is what keys[i] was set to: bytes, or null for a delete. */
  private readonly values: (Uint8Array | null)[] = [];
  /** Whether each write was fresh (indexed only on demand). */
  private readonly fresh: boolean[] = [];
  /** Binary key → index of its newest write: every non-fresh write, and fresh writes [0, indexed). */
  private readonly byKey = new Map<string, number>();
  private indexed = 0;

  /** Number of writes buffered (a key written twice counts twice). */
  get size(): number {
    return this.keys.length;
  }

  /** Buffers a put (`value`) or a delete (null) of `key`, replacing any earlier write of it. */
  add(key: Uint8Array, value: Uint8Array | null): void {
    const k = toBinary(key);
    const earlier = this.byKey.get(k);
    if (earlier !== undefined) this.keys[earlier] = REPLACED;
    this.byKey.set(k, this.keys.length);
    this.push(key, value, false);
  }

  /** Buffers a put of a key written nowhere else in this overlay (see the file comment). */
  addFresh(key: Uint8Array, value: Uint8Array): void {
    this.push(key, value, true);
  }

  /** The newest write of `key` (a binary string): its bytes, null if deleted, undefined if not written. */
  lookup(key: string): Uint8Array | null | undefined {
    if (this.keys.length === 0) return undefined;
    this.indexFresh();
    const i = this.byKey.get(key);
    return i === undefined ? undefined : this.values[i];
  }

  /** Calls `visit` with each key's newest write, in write order. */
  forEach(visit: (key: Uint8Array, value: Uint8Array | null) => void): void {
    const { keys, values } = this;
    for (let i = 0; i < keys.length; i++) if (keys[i] !== REPLACED) visit(keys[i]!, values[i]!);
  }

  private push(key: Uint8Array, value: Uint8Array | null, fresh: boolean): void {
    this.keys.push(key);
    this.values.push(value);
    this.fresh.push(fresh);
  }

  /** Indexes the fresh writes appended since the last call (an index never points to an older write). */
  private indexFresh(): void {
    for (; this.indexed < this.keys.length; this.indexed++) {
      if (!this.fresh[this.indexed]) continue;
      const k = toBinary(this.keys[this.indexed]!);
      if ((this.byKey.get(k) ?? -1) < this.indexed) this.byKey.set(k, this.indexed);
    }
  }
}
