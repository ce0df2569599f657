/**
 * TreeIndex: every key's keyIndex in key order — ranges at a revision (single key, from-key,
 * [key, end)), early stop, compaction across keys (dropping keys with no history left) and keep.
 *
 * Fixture (revision: write):
 *   1: put a      2: put b      3: put c      4: put a      5: del b      6: put ba     7: del a
 */

import { describe, expect, it } from 'vitest';
import { keyRange, utf8 } from './bytes.js';
import { revKey } from './key-index.js';
import type { Rev } from './revision.js';
import { TreeIndex } from './tree-index.js';
import type { Revision } from './types.js';

const rev = (main: number, sub = 0): Rev => ({ main: main as Revision, sub });
const NUL = new Uint8Array([0]);

function fixture(): TreeIndex {
  const ti = new TreeIndex();
  ti.put('a', rev(1));
  ti.put('b', rev(2));
  ti.put('c', rev(3));
  ti.put('a', rev(4));
  ti.tombstone('b', rev(5));
  ti.put('ba', rev(6));
  ti.tombstone('a', rev(7));
  return ti;
}

/** `key@modRevision` of every key live in the range at atRev. */
function live(ti: TreeIndex, key: string, end: Uint8Array | string | undefined, atRev: number): string[] {
  const e = typeof end === 'string' ? utf8(end) : end;
  return ti.range(utf8(key), e, atRev).map((k) => `${k.key}@${k.modified.main}`);
}

describe('TreeIndex.get / range', () => {
  it('answers a single key at each revision', () => {
    const ti = fixture();
    expect(ti.get('a', 0)).toBeUndefined();
    expect(ti.get('a', 3)).toEqual({ modified: rev(1), created: rev(1), ver: 1 });
    expect(ti.get('a', 6)).toEqual({ modified: rev(4), created: rev(1), ver: 2 });
    expect(ti.get('a', 7)).toBeUndefined();
    expect(ti.get('zz', 7)).toBeUndefined();
    expect(live(ti, 'c', undefined, 7)).toEqual(['c@3']);
  });

  it('ranges [key, end) in key order at a past revision', () => {
    const ti = fixture();
    expect(live(ti, 'a', 'c', 4)).toEqual(['a@4', 'b@2']);
    expect(live(ti, 'a', 'c', 6)).toEqual(['a@4', 'ba@6']);
    expect(live(ti, 'a', 'c', 7)).toEqual(['ba@6']);
    expect(live(ti, 'b', 'bb', 6)).toEqual(['ba@6']);
  });

  it('ranges from a key to the end of the keyspace with rangeEnd \\0', () => {
    const ti = fixture();
    expect(live(ti, 'b', NUL, 4)).toEqual(['b@2', 'c@3']);
    expect(live(ti, '\x00', NUL, 6)).toEqual(['a@4', 'ba@6', 'c@3']);
  });

  it('returns nothing for an empty or inverted range', () => {
    const ti = fixture();
    expect(live(ti, 'b', 'b', 4)).toEqual([]);
    expect(live(ti, 'c', 'a', 4)).toEqual([]);
    expect(live(ti, 'd', NUL, 7)).toEqual([]);
  });

  it('forEachLive stops when the visitor returns false and counts the keys visited', () => {
    const ti = fixture();
    const seen: string[] = [];
    const n = ti.forEachLive(keyRange(utf8('a'), NUL), 4, (k) => {
      seen.push(k.key);
      return seen.length < 2;
    });
    expect(seen).toEqual(['a', 'b']);
    expect(n).toBe(2);
    expect(ti.forEachLive(keyRange(utf8('a'), NUL), 4, () => true)).toBe(3);
  });

  it('forEachIndex visits every key with history, live or not', () => {
    const ti = fixture();
    const seen: string[] = [];
    ti.forEachIndex(keyRange(utf8('a'), utf8('c')), (ki) => seen.push(ki.key));
    expect(seen).toEqual(['a', 'b', 'ba']);
    expect(ti.keyIndex('b')?.generations.length).toBe(2);
  });
});

describe('TreeIndex.compact / keep', () => {
  it('returns the revisions <= atRev each key needs, a tombstone at atRev included (etcd#18274)', () => {
    const ti = fixture();
    expect(ti.size).toBe(4);
    const kept = ti.compact(5 as Revision);
    // a: 4.0 live at 5; b: deleted exactly at 5, its tombstone kept; c: 3.0; ba: only written after 5.
    expect([...kept].sort()).toEqual([revKey(3, 0), revKey(4, 0), revKey(5, 0)]);
    expect(ti.keyIndex('b')?.generations.map((g) => g.mains)).toEqual([[5], []]);
    expect(ti.size).toBe(4);
    expect(live(ti, 'a', NUL, 5)).toEqual(['a@4', 'c@3']);
    expect(live(ti, 'a', NUL, 7)).toEqual(['ba@6', 'c@3']);
  });

  it('drops a key once a compaction above its kept tombstone leaves it no history', () => {
    const ti = fixture();
    ti.compact(5 as Revision);
    const kept = ti.compact(6 as Revision);
    // a: 4.0 still live at 6; b: tombstone 5 is below 6, gone with the key; ba: 6.0; c: 3.0.
    expect([...kept].sort()).toEqual([revKey(3, 0), revKey(4, 0), revKey(6, 0)]);
    expect(ti.keyIndex('b')).toBeUndefined();
    expect(ti.size).toBe(3);
    expect(live(ti, '\x00', NUL, 6)).toEqual(['a@4', 'ba@6', 'c@3']);
  });

  it('compacting at the latest revision leaves what is live and the tombstones written at it', () => {
    const ti = fixture();
    const kept = ti.compact(7 as Revision);
    // a: deleted at 7, its tombstone kept; b: deleted at 5, gone; ba: 6.0; c: 3.0.
    expect([...kept].sort()).toEqual([revKey(3, 0), revKey(6, 0), revKey(7, 0)]);
    expect(ti.keyIndex('a')?.generations.map((g) => g.mains)).toEqual([[7], []]);
    expect(ti.keyIndex('b')).toBeUndefined();
    expect(ti.size).toBe(3);
    expect(live(ti, '\x00', NUL, 7)).toEqual(['ba@6', 'c@3']);
  });

  it('keep reports what compact would keep without changing the index', () => {
    for (const at of [1, 2, 3, 4, 5, 6, 7]) {
      const ti = fixture();
      const k = [...ti.keep(at)].sort();
      expect(live(ti, '\x00', NUL, 1)).toEqual(['a@1']);
      expect(k).toEqual([...fixture().compact(at as Revision)].sort());
    }
  });

  it('restoreTombstone seeds a key whose only retained revision is its tombstone', () => {
    const restored = new TreeIndex();
    restored.put('c', rev(3));
    restored.restoreTombstone('b', rev(5));
    const original = new TreeIndex();
    original.put('b', rev(2));
    original.put('c', rev(3));
    original.tombstone('b', rev(5));
    expect([...original.compact(5 as Revision)].sort()).toEqual([revKey(3, 0), revKey(5, 0)]);
    expect([...restored.keep(5)].sort()).toEqual([...original.keep(5)].sort());
    expect(restored.get('b', 5)).toBeUndefined();
    expect(restored.tombstone('b', rev(6))).toBe(false);
    expect([...restored.compact(6 as Revision)]).toEqual([revKey(3, 0)]);
    expect(restored.keyIndex('b')).toBeUndefined();
  });

  it('restore seeds a key from its stored state', () => {
    const ti = new TreeIndex();
    ti.restore('k', rev(2), rev(5, 1), 3);
    expect(ti.get('k', 5)).toEqual({ modified: rev(5, 1), created: rev(2), ver: 3 });
    expect(ti.tombstone('k', rev(6))).toBe(true);
    expect(ti.tombstone('k', rev(7))).toBe(false);
    expect(ti.tombstone('nokey', rev(7))).toBe(false);
  });
});
