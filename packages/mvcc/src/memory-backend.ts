/**
 * MemoryBackend: the Backend in memory (a B+ tree), for tests and the single-node in-memory mode.
 * Same semantics as LevelBackend except durability: flush resolves at once.
 */

import BTreeModule from 'sorted-btree';
import type { Backend, BackendEntry } from './backend.js';
import { compareBinary, fromBinary, toBinary } from './bytes.js';
import { copyBytes } from './slab.js';

// Node's ESM loader hands over module.exports (the class at .default); bundlers such as vitest's
// hand over the class itself.
const BTree = BTreeModule.default ?? (BTreeModule as unknown as typeof BTreeModule.default);

/** An in-memory, non-durable Backend. */
export class MemoryBackend implements Backend {
  private tree = new BTree<string, Uint8Array>(undefined, compareBinary);
  private bytes = 0;

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
  }

  /**
   * Backend.putFresh: copies the store's reused buffers into a shared slab (an ArrayBuffer per
   * revision, as `put(key.slice(), value.slice())` made, cost a put more than the rest of it).
   */
  putFresh(key: Uint8Array, value: Uint8Array): void {
    const v = copyBytes(value, 0, value.length);
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
