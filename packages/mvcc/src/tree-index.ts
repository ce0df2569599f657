/**
 * TreeIndex: every key's KeyIndex in key order (a B+ tree keyed by binary strings), answering
 * "which revision of which keys were live at revision R" for ranges, and compacting history.
 * In memory only; rebuilt from the backend on open. Pure.
 */

import BTreeModule from 'sorted-btree';
import { compareBinary, type KeyRange, keyRange, toBinary } from './bytes.js';
import { KeyHashMap } from './key-hash-map.js';
import { KeyIndex, type KeyIndexGet, type RevSet } from './key-index.js';
import type { Rev } from './revision.js';
import type { Revision } from './types.js';

// Node's ESM loader hands over module.exports (the class at .default); bundlers such as vitest's
// hand over the class itself.
const BTree = BTreeModule.default ?? (BTreeModule as unknown as typeof BTreeModule.default);
type BTreeOf<K, V> = InstanceType<typeof BTree<K, V>>;

/** A key live at the revision asked about, with its index facts. */
export interface IndexedKey extends KeyIndexGet {
  /** The key as a binary string. */
  readonly key: string;
}

/** All keys' histories, ordered by key. */
export class TreeIndex {
  private readonly tree: BTreeOf<string, KeyIndex> = new BTree<string, KeyIndex>(undefined, compareBinary);
  /**
   * Invariant: the same entries as `tree`; answers point lookups in O(1) instead of O(log n),
   * by a request's key bytes without building its binary string.
   */
  private readonly byKey = new KeyHashMap<KeyIndex>();

  /** Number of keys with any retained history. */
  get size(): number {
    return this.tree.size;
  }

  /** The KeyIndex of `key`, creating it if absent (one lookup for a read-then-write). */
  indexOf(key: string): KeyIndex {
    return this.byKey.getBinary(key) ?? this.add(key);
  }

  /** indexOf by the key's bytes: builds the key's binary string only for a new key. */
  indexOfBytes(key: Uint8Array): KeyIndex {
    return this.byKey.get(key) ?? this.add(toBinary(key));
  }

  private add(key: string): KeyIndex {
    const ki = new KeyIndex(key);
    this.tree.set(key, ki);
    this.byKey.set(ki);
    return ki;
  }

  /** Records a put of `key` at rev. */
  put(key: string, rev: Rev): void {
    this.indexOf(key).put(rev.main, rev.sub);
  }

  /** Restores a key from its stored latest KeyValue (see KeyIndex.restore). */
  restore(key: string, created: Rev, modified: Rev, ver: number): void {
    this.indexOf(key).restore(created, modified, ver);
  }

  /** Restores a key whose first retained revision is a tombstone (see KeyIndex.restoreTombstone). */
  restoreTombstone(key: string, rev: Rev): void {
    this.indexOf(key).restoreTombstone(rev);
  }

  /** Records a delete of `key` at rev; returns false if it was not live. */
  tombstone(key: string, rev: Rev): boolean {
    const ki = this.byKey.getBinary(key);
    return ki?.tombstone(rev.main, rev.sub) ?? false;
  }

  /** The state of one key at atRev. */
  get(key: string, atRev: number): KeyIndexGet | undefined {
    return this.byKey.getBinary(key)?.get(atRev);
  }

  /** The KeyIndex of a key, if any history of it is retained. */
  keyIndex(key: string): KeyIndex | undefined {
    return this.byKey.getBinary(key);
  }

  /** keyIndex by the key's bytes (no binary string built). */
  keyIndexOf(key: Uint8Array): KeyIndex | undefined {
    return this.byKey.get(key);
  }

  /**
   * Calls `visit` for each key in `range` live at atRev, in key order, until it returns false.
   * Returns how many keys were visited.
   */
  forEachLive(range: KeyRange, atRev: number, visit: (k: IndexedKey) => boolean): number {
    let n = 0;
    if (range.kind === 'single') {
      const got = this.byKey.getBinary(range.key)?.get(atRev);
      if (got !== undefined) {
        n++;
        // A literal, not `{ key, ...got }`: spreading costs an object clone per key.
        visit({ key: range.key, modified: got.modified, created: got.created, ver: got.ver });
      }
      return n;
    }
    if (range.kind === 'range' && range.end <= range.key) return 0;
    for (const [k, ki] of this.tree.entries(range.key)) {
      if (range.kind === 'range' && k >= range.end) break;
      const got = ki.get(atRev);
      if (got === undefined) continue;
      n++;
      if (!visit({ key: k, modified: got.modified, created: got.created, ver: got.ver })) break;
    }
    return n;
  }

  /** The keys in [key, rangeEnd) live at atRev (etcd's range semantics for rangeEnd). */
  range(key: Uint8Array, rangeEnd: Uint8Array | undefined, atRev: number): IndexedKey[] {
    const out: IndexedKey[] = [];
    this.forEachLive(keyRange(key, rangeEnd), atRev, (k) => {
      out.push(k);
      return true;
    });
    return out;
  }

  /** Calls `visit` with every KeyIndex in `range` (live or not), in key order. */
  forEachIndex(range: KeyRange, visit: (ki: KeyIndex) => void): void {
    if (range.kind === 'single') {
      const ki = this.byKey.getBinary(range.key);
      if (ki !== undefined) visit(ki);
      return;
    }
    if (range.kind === 'range' && range.end <= range.key) return;
    for (const [k, ki] of this.tree.entries(range.key)) {
      if (range.kind === 'range' && k >= range.end) break;
      visit(ki);
    }
  }

  /**
   * Compacts every key's history at atRev and drops keys left with no history. Returns the
   * revisions <= atRev that must stay in the backend (every other revision <= atRev may go).
   */
  compact(atRev: Revision): RevSet {
    const available: RevSet = new Set();
    const empty: string[] = [];
    for (const [k, ki] of this.tree.entries()) {
      ki.compact(atRev, available);
      if (ki.retainsNothing()) empty.push(k);
    }
    for (const k of empty) {
      this.tree.delete(k);
      this.byKey.delete(k);
    }
    return available;
  }

  /** What compact(atRev) would keep, without changing anything (for hashKV). */
  keep(atRev: number): RevSet {
    const available: RevSet = new Set();
    for (const [, ki] of this.tree.entries()) ki.keep(atRev, available);
    return available;
  }
}
