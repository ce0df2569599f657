/**
 * Unstable: the in-memory tail of the log (and a pending snapshot) not yet reported persisted.
 */

import { describe, expect, it } from 'vitest';
import { Unstable } from './log-unstable.js';
import { EMPTY_CONF_STATE, type Entry, type Index, type Snapshot, type Term } from './types.js';

const ix = (n: number) => n as Index;
const tm = (n: number) => n as Term;

function ent(index: number, term: number): Entry {
  return { type: 'EntryNormal', index: ix(index), term: tm(term), data: new Uint8Array(0) };
}

function snap(index: number, term: number): Snapshot {
  return {
    metadata: { index: ix(index), term: tm(term), confState: EMPTY_CONF_STATE },
    data: new Uint8Array(0),
  };
}

function unstable(offset: number, ents: [number, number][], s?: Snapshot): Unstable {
  const u = new Unstable(ix(offset));
  u.entries = ents.map(([i, t]) => ent(i, t));
  if (s !== undefined) u.snapshot = s;
  return u;
}

const ids = (u: Unstable) => u.entries.map((e) => `${e.term}/${e.index}`);

describe('Unstable first/last/term', () => {
  it('knows a first index only from a pending snapshot', () => {
    expect(unstable(5, [[5, 1]]).maybeFirstIndex()).toBeUndefined();
    expect(unstable(5, [], snap(4, 1)).maybeFirstIndex()).toBe(5);
    expect(unstable(5, [[5, 1]], snap(4, 1)).maybeFirstIndex()).toBe(5);
  });

  it('knows a last index from entries, else from the snapshot', () => {
    expect(unstable(0, []).maybeLastIndex()).toBeUndefined();
    expect(unstable(5, [[5, 1]]).maybeLastIndex()).toBe(5);
    expect(unstable(5, [[5, 1]], snap(4, 1)).maybeLastIndex()).toBe(5);
    expect(unstable(5, [], snap(4, 1)).maybeLastIndex()).toBe(4);
  });

  it('knows the terms of its entries and of the snapshot index only', () => {
    const u = unstable(5, [[5, 1]], snap(4, 1));
    expect(u.maybeTerm(ix(5))).toBe(1);
    expect(u.maybeTerm(ix(4))).toBe(1);
    expect(u.maybeTerm(ix(6))).toBeUndefined();
    expect(u.maybeTerm(ix(3))).toBeUndefined();
    const v = unstable(5, [[5, 1]]);
    expect(v.maybeTerm(ix(4))).toBeUndefined();
    expect(v.maybeTerm(ix(5))).toBe(1);
    expect(unstable(5, [], snap(4, 2)).maybeTerm(ix(5))).toBeUndefined();
  });
});

describe('Unstable.stableTo', () => {
  it('drops entries up to i when the term matches', () => {
    const u = unstable(5, [
      [5, 1],
      [6, 1],
      [7, 2],
    ]);
    u.stableTo(ix(6), tm(1));
    expect(u.offset).toBe(7);
    expect(ids(u)).toEqual(['2/7']);
    u.stableTo(ix(7), tm(2));
    expect(u.offset).toBe(8);
    expect(u.entries).toEqual([]);
  });

  it('ignores a term mismatch (the entry was overwritten since it was handed out)', () => {
    const u = unstable(5, [
      [5, 1],
      [6, 1],
    ]);
    u.truncateAndAppend([ent(6, 2)]); // a new leader overwrote index 6
    u.stableTo(ix(6), tm(1)); // the old Ready's (6, 1) persisted: not this entry
    expect(u.offset).toBe(5);
    expect(ids(u)).toEqual(['1/5', '2/6']);
    u.stableTo(ix(6), tm(2));
    expect(u.entries).toEqual([]);
    expect(u.offset).toBe(7);
  });

  it('ignores indexes below the offset, beyond the entries, and the snapshot index', () => {
    const u = unstable(5, [[5, 1]], snap(4, 1));
    u.stableTo(ix(4), tm(1));
    u.stableTo(ix(3), tm(1));
    u.stableTo(ix(6), tm(1));
    expect(u.offset).toBe(5);
    expect(ids(u)).toEqual(['1/5']);
    expect(u.snapshot).toBeDefined();
  });
});

describe('Unstable.stableSnapTo / restore', () => {
  it('forgets the snapshot only for its own index', () => {
    const u = unstable(5, [], snap(4, 1));
    u.stableSnapTo(ix(3));
    expect(u.snapshot).toBeDefined();
    u.stableSnapTo(ix(4));
    expect(u.snapshot).toBeUndefined();
    u.stableSnapTo(ix(4)); // no snapshot: no-op
  });

  it('restore replaces entries with the snapshot', () => {
    const u = unstable(5, [
      [5, 1],
      [6, 1],
    ]);
    const s = snap(10, 3);
    u.restore(s);
    expect(u.offset).toBe(11);
    expect(u.entries).toEqual([]);
    expect(u.snapshot).toBe(s);
    expect(u.maybeLastIndex()).toBe(10);
    expect(u.maybeFirstIndex()).toBe(11);
    expect(u.maybeTerm(ix(10))).toBe(3);
  });
});

describe('Unstable.truncateAndAppend', () => {
  it('appends right after the last entry', () => {
    const u = unstable(5, [[5, 1]]);
    u.truncateAndAppend([ent(6, 1), ent(7, 1)]);
    expect(u.offset).toBe(5);
    expect(ids(u)).toEqual(['1/5', '1/6', '1/7']);
  });

  it('replaces everything when the new entries start at or before the offset', () => {
    const a = unstable(5, [[5, 1]]);
    a.truncateAndAppend([ent(5, 2), ent(6, 2)]);
    expect(a.offset).toBe(5);
    expect(ids(a)).toEqual(['2/5', '2/6']);
    const b = unstable(5, [[5, 1]]);
    b.truncateAndAppend([ent(4, 2), ent(5, 2), ent(6, 2)]);
    expect(b.offset).toBe(4);
    expect(ids(b)).toEqual(['2/4', '2/5', '2/6']);
  });

  it('truncates a conflicting suffix then appends', () => {
    const u = unstable(5, [
      [5, 1],
      [6, 1],
      [7, 1],
    ]);
    u.truncateAndAppend([ent(6, 2)]);
    expect(u.offset).toBe(5);
    expect(ids(u)).toEqual(['1/5', '2/6']);
  });

  it('does not alias the caller array', () => {
    const u = unstable(5, []);
    const ents = [ent(5, 1)];
    u.truncateAndAppend(ents);
    ents.push(ent(6, 1));
    expect(ids(u)).toEqual(['1/5']);
  });

  it('slices by absolute index', () => {
    const u = unstable(5, [
      [5, 1],
      [6, 1],
      [7, 2],
    ]);
    expect(u.slice(ix(6), ix(8)).map((e) => e.index)).toEqual([6, 7]);
    expect(u.slice(ix(5), ix(5))).toEqual([]);
  });
});
