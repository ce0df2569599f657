/**
 * keyIndex, on the picture in key-index.ts (etcd's key_index.go example):
 *
 *     put(1.0); put(2.0); tombstone(3.0); put(4.0); tombstone(5.0)
 *
 *     generations:
 *       {empty}
 *       {4.0, 5.0(t)}
 *       {1.0, 2.0, 3.0(t)}
 *
 * `describeGenerations` prints a keyIndex in that notation (newest generation first), so every
 * expectation below reads like the doc block.
 */

import { describe, expect, it } from 'vitest';
import { KeyIndex, type RevSet, revKey } from './key-index.js';
import type { Revision } from './types.js';

const r = (n: number) => n as Revision;

/** The doc block's notation: generations newest first; the last revision of an ended one is (t). */
function describeGenerations(ki: KeyIndex): string[] {
  const out: string[] = [];
  const last = ki.generations.length - 1;
  ki.generations.forEach((g, gi) => {
    if (g.isEmpty()) {
      out.unshift('{empty}');
      return;
    }
    const revs = g.mains.map((m, i) => `${m}.${g.subs[i]}${gi !== last && i === g.length - 1 ? '(t)' : ''}`);
    out.unshift(`{${revs.join(', ')}}`);
  });
  return out;
}

/** put(1.0); put(2.0); tombstone(3.0); put(4.0); tombstone(5.0) on "foo". */
function pictured(): KeyIndex {
  const ki = new KeyIndex('foo');
  ki.put(r(1), 0);
  ki.put(r(2), 0);
  ki.tombstone(r(3), 0);
  ki.put(r(4), 0);
  ki.tombstone(r(5), 0);
  return ki;
}

function compacted(atRev: number, ki = pictured()): { ki: KeyIndex; available: string[] } {
  const available: RevSet = new Set();
  ki.compact(atRev, available);
  return { ki, available: [...available].sort() };
}

describe('KeyIndex: building the picture', () => {
  it('put(1.0) put(2.0) tombstone(3.0) put(4.0) tombstone(5.0) gives the three generations', () => {
    const ki = pictured();
    expect(describeGenerations(ki)).toEqual(['{empty}', '{4.0, 5.0(t)}', '{1.0, 2.0, 3.0(t)}']);
    expect(ki.modified).toEqual({ main: 5, sub: 0 });
    expect(ki.isEmpty()).toBe(false);
  });

  it('counts versions per generation (the tombstone counts too, as in etcd)', () => {
    const ki = pictured();
    expect(ki.generations.map((g) => g.ver)).toEqual([3, 2, 0]);
    expect(ki.generations.map((g) => g.created.main)).toEqual([1, 4, 0]);
  });

  it('refuses a put at or below the last revision', () => {
    const ki = pictured();
    expect(() => ki.put(r(5), 0)).toThrow(/smaller revision/);
    expect(() => ki.put(r(4), 9)).toThrow(/smaller revision/);
    ki.put(r(5), 1); // a later sub-revision of the same main is fine
    expect(ki.modified).toEqual({ main: 5, sub: 1 });
  });

  it('tombstone of a key that is not live does nothing and says so', () => {
    const ki = pictured();
    expect(ki.tombstone(r(6), 0)).toBe(false);
    expect(describeGenerations(ki)).toEqual(['{empty}', '{4.0, 5.0(t)}', '{1.0, 2.0, 3.0(t)}']);
    expect(new KeyIndex('never').tombstone(r(1), 0)).toBe(false);
  });
});

describe('KeyIndex.get: the live revision at each point of the picture', () => {
  it.each([
    // atRev, expected (modified, created, version) or undefined when the key did not exist
    [0, undefined],
    [1, { modified: { main: 1, sub: 0 }, created: { main: 1, sub: 0 }, ver: 1 }],
    [2, { modified: { main: 2, sub: 0 }, created: { main: 1, sub: 0 }, ver: 2 }],
    [3, undefined],
    [4, { modified: { main: 4, sub: 0 }, created: { main: 4, sub: 0 }, ver: 1 }],
    [5, undefined],
    [6, undefined],
  ])('get(%i)', (atRev, want) => {
    expect(pictured().get(atRev)).toEqual(want);
  });

  it('findGeneration returns the generation live at the revision', () => {
    const ki = pictured();
    expect(ki.findGeneration(2)).toBe(ki.generations[0]);
    expect(ki.findGeneration(4)).toBe(ki.generations[1]);
    expect(ki.findGeneration(3)).toBeUndefined();
    expect(ki.findGeneration(0)).toBeUndefined();
  });

  it('a new generation restarts the version at 1 and the creation at its first put', () => {
    const ki = pictured();
    ki.put(r(6), 0);
    ki.put(r(7), 0);
    expect(ki.get(7)).toEqual({ modified: { main: 7, sub: 0 }, created: { main: 6, sub: 0 }, ver: 2 });
  });
});

describe('KeyIndex.compact: each step of the doc block', () => {
  it('compact(1) keeps 1.0, the revision live at 1', () => {
    const { ki, available } = compacted(1);
    expect(describeGenerations(ki)).toEqual(['{empty}', '{4.0, 5.0(t)}', '{1.0, 2.0, 3.0(t)}']);
    expect(available).toEqual([revKey(1, 0)]);
  });

  it('compact(2) → {empty} {4.0, 5.0(t)} {2.0, 3.0(t)}', () => {
    const { ki, available } = compacted(2);
    expect(describeGenerations(ki)).toEqual(['{empty}', '{4.0, 5.0(t)}', '{2.0, 3.0(t)}']);
    expect(available).toEqual([revKey(2, 0)]);
    // Reads at or after the compaction revision are unchanged.
    expect(ki.get(2)?.ver).toBe(2);
    expect(ki.get(4)?.ver).toBe(1);
  });

  it('compact(3) drops the generation that ended at 3; nothing is live at 3', () => {
    const { ki, available } = compacted(3);
    expect(describeGenerations(ki)).toEqual(['{empty}', '{4.0, 5.0(t)}']);
    expect(available).toEqual([]);
  });

  it('compact(4) → {empty} {4.0, 5.0(t)}', () => {
    const { ki, available } = compacted(4);
    expect(describeGenerations(ki)).toEqual(['{empty}', '{4.0, 5.0(t)}']);
    expect(available).toEqual([revKey(4, 0)]);
  });

  it('compact(5) → {empty}: the key may be removed', () => {
    const { ki, available } = compacted(5);
    expect(describeGenerations(ki)).toEqual(['{empty}']);
    expect(available).toEqual([]);
    expect(ki.isEmpty()).toBe(true);
  });

  it('compact(6) → {empty}: the key may be removed', () => {
    const { ki, available } = compacted(6);
    expect(describeGenerations(ki)).toEqual(['{empty}']);
    expect(available).toEqual([]);
    expect(ki.isEmpty()).toBe(true);
  });

  it('compacting step by step ends where compacting at once does', () => {
    const ki = pictured();
    for (const at of [1, 2, 3, 4]) {
      const step = compacted(at, ki);
      expect(describeGenerations(step.ki)).toEqual(describeGenerations(compacted(at).ki));
      expect(step.available).toEqual(compacted(at).available);
    }
    compacted(5, ki);
    expect(ki.isEmpty()).toBe(true);
  });

  it('keeps the newest write of a compacted main revision (sub-revisions)', () => {
    const ki = new KeyIndex('k');
    ki.put(r(2), 0);
    ki.put(r(2), 3);
    ki.put(r(4), 1);
    const { available } = compacted(3, ki);
    expect(available).toEqual([revKey(2, 3)]);
    expect(describeGenerations(ki)).toEqual(['{2.3, 4.1}']);
  });

  it('a compacted live generation still reports its creation and version', () => {
    const ki = new KeyIndex('k');
    for (const m of [1, 2, 3, 4]) ki.put(r(m), 0);
    compacted(3, ki);
    expect(describeGenerations(ki)).toEqual(['{3.0, 4.0}']);
    expect(ki.get(3)).toEqual({ modified: { main: 3, sub: 0 }, created: { main: 1, sub: 0 }, ver: 3 });
    expect(ki.get(4)?.ver).toBe(4);
  });
});

describe('KeyIndex.keep', () => {
  it.each([
    [1, [revKey(1, 0)]],
    [2, [revKey(2, 0)]],
    [3, []],
    [4, [revKey(4, 0)]],
    [5, []],
    [6, []],
  ])('keep(%i) marks what compact would keep, changing nothing', (atRev, want) => {
    const ki = pictured();
    const available: RevSet = new Set();
    ki.keep(atRev, available);
    expect([...available].sort()).toEqual(want);
    expect(describeGenerations(ki)).toEqual(['{empty}', '{4.0, 5.0(t)}', '{1.0, 2.0, 3.0(t)}']);
  });
});

describe('KeyIndex.since', () => {
  it('lists every revision from `since` on, across generations, tombstones included', () => {
    const ki = pictured();
    expect(ki.since(2)).toEqual([
      { main: 2, sub: 0 },
      { main: 3, sub: 0 },
      { main: 4, sub: 0 },
      { main: 5, sub: 0 },
    ]);
    expect(ki.since(6)).toEqual([]);
  });

  it('keeps only the last write of each main revision', () => {
    const ki = new KeyIndex('k');
    ki.put(r(1), 0);
    ki.put(r(1), 2);
    ki.put(r(2), 0);
    expect(ki.since(1)).toEqual([
      { main: 1, sub: 2 },
      { main: 2, sub: 0 },
    ]);
  });
});

describe('KeyIndex.restore', () => {
  it('rebuilds a generation from its latest stored KeyValue, earlier history unknown', () => {
    const ki = new KeyIndex('k');
    ki.restore({ main: r(3), sub: 0 }, { main: r(7), sub: 1 }, 4);
    expect(describeGenerations(ki)).toEqual(['{7.1}']);
    expect(ki.get(7)).toEqual({ modified: { main: 7, sub: 1 }, created: { main: 3, sub: 0 }, ver: 4 });
    expect(ki.get(6)).toBeUndefined();
    ki.put(r(8), 0);
    expect(ki.get(8)?.ver).toBe(5);
    ki.tombstone(r(9), 0);
    expect(describeGenerations(ki)).toEqual(['{empty}', '{7.1, 8.0, 9.0(t)}']);
  });
});
