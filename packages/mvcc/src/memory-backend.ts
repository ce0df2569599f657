/**
 * MemoryBackend: the Backend in memory (a B+ tree), for tests and the single-node in-memory mode.
 * Same semantics as LevelBackend except durability: flush resolves at once.
 */

import BTreeModule from 'sorted-btree';
import type { Backend, BackendEntry } from './backend.js';
import { compareBinary, fromBinary, toBinary } from './bytes.js';
import { ValueArena } from './value-arena.js';

// Node's ESM loader hands over module.exports (the class at .default); bundlers such as vitest's
// hand over the class itself.
const BTree = BTreeModule.default ?? (BTreeModule as unknown as typeof BTreeModule.default);

/** An in-memory, non-durable Backend. */
export class MemoryBackend implements Backend {
  private tree = new BTree<string, Uint8Array>(undefined, compareBinary);
  private bytes = 0;
  /** Where putFresh's copies live (see ValueArena: it bounds what its slabs pin). */
  private readonly arena = new ValueArena();

  /** An independent copy (copy-on-write, O(1)): what a simulated disk keeps across a crash. */
  clone(): MemoryBackend {
    const c = new MemoryBackend();
    c.tree = this.tree.clone();
    c.bytes = this.bytes;
    return c;
  }

  get(key: Uint8Array): Uint8Array | undefined {
    return this.tree.get(toBinary(key));
  }

  put(key: Uint8Array, value: Uint8Array): void {
    const k = toBinary(key);
    const old = this.tree.get(k);
    this.bytes += value.length - (old === undefined ? -k.length : old.length);
    this.tree.set(k, value);
    if (old !== undefined) this.released(old);
  }

  /**
   * Backend.putFresh: copies the store's reused value buffer into the arena (an ArrayBuffer per
   * revision cost a put more than the rest of it), and inserts the key without looking for an
   * older write of it first (the store's revision keys are new; a rewrite falls back to put).
   */
  putFresh(key: Uint8Array, value: Uint8Array): void {
    const v = this.arena.copy(value);
    const k = toBinary(key);
    if (this.tree.setIfNotPresent(k, v)) this.bytes += k.length + v.length;
    else this.put(key.slice(), v);
  }

  del(key: Uint8Array): void {
    const k = toBinary(key);
    const old = this.tree.get(k);
    if (old === undefined) return;
    this.bytes -= k.length + old.length;
    this.tree.delete(k);
    this.released(old);
  }

  /** Bytes of the arena's slabs: what stored values pin beyond their own length (diagnostics, tests). */
  get arenaSlabBytes(): number {
    return this.arena.slabBytes;
  }

  /** A stored value is gone: once the arena's slabs are mostly dead, copy the live values into fresh ones. */
  private released(old: Uint8Array): void {
    this.arena.release(old);
    if (!this.arena.wantsRepack) return;
    this.arena.reset();
    // editAll copies on write the nodes a clone() or an iteration's snapshot shares.
    this.tree.editAll((_k, v) => ({ value: this.arena.copy(v) }));
  }

  flush(): Promise<void> {
    return Promise.resolve();
  }

  async *iterate(gte: Uint8Array, lt: Uint8Array): AsyncIterable<BackendEntry> {
    // clone() is copy-on-write: a consistent snapshot for the whole iteration.
    const snap = this.tree.clone();
    const end = toBinary(lt);
    for (const [k, v] of snap.entries(toBinary(gte))) {
      if (k >= end) break;
      yield [fromBinary(k), v];
    }
  }

  isEmpty(): Promise<boolean> {
    return Promise.resolve(this.tree.size === 0);
  }

  sizeBytes(): Promise<number> {
    return Promise.resolve(this.bytes);
  }

  defragment(): Promise<void> {
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
