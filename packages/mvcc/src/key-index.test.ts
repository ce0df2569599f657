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
 *
 * Compaction rule (etcd#18274): a generation whose tombstone is exactly at the compaction revision
 * keeps that tombstone, in the index and in the set of revisions the backend keeps, so a watch
 * from that revision still sees the delete; the next compaction above it removes it.
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
    const revs = g.mains.map((m, i) => `${m}.${g.sub(i)}${gi !== last && i === g.length - 1 ? '(t)' : ''}`);
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
    expect(ki.retainsNothing()).toBe(false);
  });

  it('counts versions per generation (the tombstone counts too, as in etcd)', () => {
    const ki = pictured();
    expect(ki.generations.map((g) => g.ver)).toEqual([3, 2, 0]);
    expect(ki.generations.map((g) => g.created.main)).toEqual([1, 4, 0]);
  });

  it("is live with the current generation's creation and version, which a put reads in place", () => {
    const ki = new KeyIndex('foo');
    expect([ki.isLive, ki.ver, ki.createdRevision, ki.generations.length]).toEqual([false, 0, 0, 0]);
    ki.put(r(1), 0);
    ki.put(r(2), 0);
    expect([ki.isLive, ki.ver, ki.createdRevision]).toEqual([true, 2, 1]);
    ki.tombstone(r(3), 0);
    // The ended generation took the revisions; the current one is empty again, at version 0.
    expect([ki.isLive, ki.ver]).toEqual([false, 0]);
    expect(ki.generations.at(-1)).toBe(ki);
    ki.put(r(4), 1);
    expect([ki.isLive, ki.ver, ki.createdRevision]).toEqual([true, 1, 4]);
    expect(describeGenerations(ki)).toEqual(['{4.1}', '{1.0, 2.0, 3.0(t)}']);
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

  it('compact(3) keeps the tombstone 3.0(t) of the generation that ended at 3; nothing is live at 3', () => {
    const { ki, available } = compacted(3);
    expect(describeGenerations(ki)).toEqual(['{empty}', '{4.0, 5.0(t)}', '{3.0(t)}']);
    expect(available).toEqual([revKey(3, 0)]);
    expect(ki.get(3)).toBeUndefined();
    // A watch from 3 still sees the delete at 3 (etcd#18274).
    expect(ki.since(3)[0]).toEqual({ main: 3, sub: 0 });
  });

  it('compact(4) → {empty} {4.0, 5.0(t)}', () => {
    const { ki, available } = compacted(4);
    expect(describeGenerations(ki)).toEqual(['{empty}', '{4.0, 5.0(t)}']);
    expect(available).toEqual([revKey(4, 0)]);
  });

  it('compact(5) → {empty} {5.0(t)}: the tombstone at 5 is kept, so the key is not removed yet', () => {
    const { ki, available } = compacted(5);
    expect(describeGenerations(ki)).toEqual(['{empty}', '{5.0(t)}']);
    expect(available).toEqual([revKey(5, 0)]);
    expect(ki.retainsNothing()).toBe(false);
    expect(ki.get(5)).toBeUndefined();
    expect(ki.since(5)).toEqual([{ main: 5, sub: 0 }]);
  });

  it('compact(6) → {empty}: the key may be removed', () => {
    const { ki, available } = compacted(6);
    expect(describeGenerations(ki)).toEqual(['{empty}']);
    expect(available).toEqual([]);
    expect(ki.retainsNothing()).toBe(true);
  });

  it('compacting step by step ends where compacting at once does', () => {
    const ki = pictured();
    for (const at of [1, 2, 3, 4, 5, 6]) {
      const step = compacted(at, ki);
      expect(describeGenerations(step.ki)).toEqual(describeGenerations(compacted(at).ki));
      expect(step.available).toEqual(compacted(at).available);
      // The tombstone kept by compact(5) is removed only by the compaction above it.
      expect(ki.retainsNothing()).toBe(at === 6);
    }
  });

  it('walks the doc block: each compaction keeps a tombstone at its revision, the next one drops it', () => {
    const ki = pictured();
    const steps: [number, string[], string[]][] = [
      [2, ['{empty}', '{4.0, 5.0(t)}', '{2.0, 3.0(t)}'], [revKey(2, 0)]],
      [3, ['{empty}', '{4.0, 5.0(t)}', '{3.0(t)}'], [revKey(3, 0)]],
      // 3.0(t) is not in the set: the backend may now drop it.
      [4, ['{empty}', '{4.0, 5.0(t)}'], [revKey(4, 0)]],
      [5, ['{empty}', '{5.0(t)}'], [revKey(5, 0)]],
      [6, ['{empty}'], []],
    ];
    for (const [at, generations, available] of steps) {
      const step = compacted(at, ki);
      expect({ at, generations: describeGenerations(ki), available: step.available }).toEqual({
        at,
        generations,
        available,
      });
    }
    expect(ki.retainsNothing()).toBe(true);
    expect(ki.modified).toEqual({ main: 5, sub: 0 });
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
  // A tombstone exactly at atRev (3 and 5) is kept, as compact keeps it. etcd's keep leaves it
  // out so hashes match etcd <= 3.5.15; tsetcd's keep is exactly what compact keeps.
  it.each([
    [1, [revKey(1, 0)]],
    [2, [revKey(2, 0)]],
    [3, [revKey(3, 0)]],
    [4, [revKey(4, 0)]],
    [5, [revKey(5, 0)]],
    [6, []],
  ])('keep(%i) marks what compact would keep, changing nothing', (atRev, want) => {
    const ki = pictured();
    const available: RevSet = new Set();
    ki.keep(atRev, available);
    expect([...available].sort()).toEqual(want);
    expect(describeGenerations(ki)).toEqual(['{empty}', '{4.0, 5.0(t)}', '{1.0, 2.0, 3.0(t)}']);
    expect([...available].sort()).toEqual(compacted(atRev).available);
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

describe('KeyIndex.restoreTombstone', () => {
  /** The picture compacted at its last tombstone: what a replica that never restarted holds. */
  const original = () => compacted(5).ki;
  /** What a restarted replica rebuilds from the one revision left on disk, 5.0(t). */
  function restored(): KeyIndex {
    const ki = new KeyIndex('foo');
    ki.restoreTombstone({ main: r(5), sub: 0 });
    return ki;
  }

  it('rebuilds {empty} {5.0(t)}, as compact(5) left it', () => {
    expect(describeGenerations(restored())).toEqual(['{empty}', '{5.0(t)}']);
    expect(describeGenerations(restored())).toEqual(describeGenerations(original()));
    expect(restored().modified).toEqual(original().modified);
    expect(restored().retainsNothing()).toBe(false);
  });

  it('answers get and since as the original: never live, the delete still visible', () => {
    for (const atRev of [0, 4, 5, 6, 7]) {
      expect(restored().get(atRev)).toBeUndefined();
      expect(original().get(atRev)).toBeUndefined();
    }
    expect(restored().since(0)).toEqual([{ main: 5, sub: 0 }]);
    expect(restored().since(5)).toEqual(original().since(5));
    expect(restored().since(6)).toEqual([]);
  });

  it('keep and compact treat it as the original: kept at 5, gone at 6', () => {
    for (const atRev of [5, 6, 7]) {
      const want: RevSet = new Set();
      original().keep(atRev, want);
      const got: RevSet = new Set();
      restored().keep(atRev, got);
      expect(got).toEqual(want);
      expect([...got]).toEqual(atRev === 5 ? [revKey(5, 0)] : []);

      const o = compacted(atRev, original());
      const x = compacted(atRev, restored());
      expect(describeGenerations(x.ki)).toEqual(describeGenerations(o.ki));
      expect(x.available).toEqual(o.available);
      expect(x.ki.retainsNothing()).toBe(atRev > 5);
    }
  });

  it('is not live: a tombstone does nothing, a put starts a new generation at version 1', () => {
    const x = restored();
    const o = original();
    expect(x.tombstone(r(6), 0)).toBe(false);
    expect(o.tombstone(r(6), 0)).toBe(false);
    x.put(r(6), 0);
    o.put(r(6), 0);
    expect(describeGenerations(x)).toEqual(['{6.0}', '{5.0(t)}']);
    expect(describeGenerations(x)).toEqual(describeGenerations(o));
    expect(x.get(6)).toEqual({ modified: { main: 6, sub: 0 }, created: { main: 6, sub: 0 }, ver: 1 });
    expect(x.get(6)).toEqual(o.get(6));
    // Compacting at the put drops the old tombstone and keeps the put, as etcd's TestRestoreTombstone.
    expect(compacted(6, x).available).toEqual([revKey(6, 0)]);
    expect(describeGenerations(x)).toEqual(['{6.0}']);
  });
});
