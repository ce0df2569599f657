/**
 * MemoryStorage: the in-memory Storage — reads (entries, term, first/last index), compaction,
 * snapshots, and appends that overwrite a tail — with etcd's error for each out-of-range case.
 */

import { describe, expect, it } from 'vitest';
import { CompactedError, SnapOutOfDateError, UnavailableError } from './errors.js';
import { MemoryStorage } from './memory-storage.js';
import {
  type ConfState,
  EMPTY_CONF_STATE,
  EMPTY_HARD_STATE,
  ENTRY_OVERHEAD_BYTES,
  type Entry,
  type Index,
  type Snapshot,
  type Term,
} from './types.js';

const ix = (n: number) => n as Index;
const tm = (n: number) => n as Term;
const NO_LIMIT = Number.MAX_SAFE_INTEGER;

function ent(index: number, term: number): Entry {
  return { type: 'EntryNormal', index: ix(index), term: tm(term), data: new Uint8Array(0) };
}

const cs: ConfState = { ...EMPTY_CONF_STATE, voters: [1n, 2n, 3n] };

function snap(index: number, term: number): Snapshot {
  return { metadata: { index: ix(index), term: tm(term), confState: cs }, data: new Uint8Array([1]) };
}

/** Storage with a snapshot at (3, 3) and entries 4/4, 5/5 — etcd's storage_test fixture. */
function fixture(): MemoryStorage {
  const s = new MemoryStorage();
  s.applySnapshot(snap(3, 3));
  s.append([ent(4, 4), ent(5, 5)]);
  return s;
}

const show = (es: readonly Entry[]) => es.map((e) => `${e.term}/${e.index}`);

describe('MemoryStorage reads', () => {
  it('an empty storage has first 1, last 0, term(0) = 0', () => {
    const s = new MemoryStorage();
    expect(s.firstIndex()).toBe(1);
    expect(s.lastIndex()).toBe(0);
    expect(s.term(ix(0))).toBe(0);
    expect(s.entries(ix(1), ix(1), NO_LIMIT)).toEqual([]);
    expect(s.initialState()).toEqual({ hardState: EMPTY_HARD_STATE, confState: EMPTY_CONF_STATE });
  });

  it('an initial membership is reported as the initial conf state', () => {
    const s = new MemoryStorage({ voters: [1n, 2n], learners: [3n] });
    expect(s.initialState().confState).toEqual({ ...EMPTY_CONF_STATE, voters: [1n, 2n], learners: [3n] });
    expect(s.lastIndex()).toBe(0);
    s.setHardState({ term: tm(2), vote: 1n, commit: ix(0) });
    expect(s.initialState().hardState).toEqual({ term: 2, vote: 1n, commit: 0 });
  });

  it('first and last index follow the snapshot', () => {
    const s = fixture();
    expect(s.firstIndex()).toBe(4);
    expect(s.lastIndex()).toBe(5);
  });

  it('term: compacted below the snapshot, the snapshot term at its index, unavailable past the end', () => {
    const s = fixture();
    expect(() => s.term(ix(2))).toThrow(CompactedError);
    expect(s.term(ix(3))).toBe(3);
    expect(s.term(ix(4))).toBe(4);
    expect(s.term(ix(5))).toBe(5);
    expect(() => s.term(ix(6))).toThrow(UnavailableError);
  });

  it('entries: compacted at or below the snapshot, unavailable past the end, size-limited', () => {
    const s = fixture();
    s.append([ent(6, 6)]);
    expect(() => s.entries(ix(2), ix(6), NO_LIMIT)).toThrow(CompactedError);
    expect(() => s.entries(ix(3), ix(4), NO_LIMIT)).toThrow(CompactedError);
    expect(show(s.entries(ix(4), ix(5), NO_LIMIT))).toEqual(['4/4']);
    expect(show(s.entries(ix(4), ix(7), NO_LIMIT))).toEqual(['4/4', '5/5', '6/6']);
    expect(() => s.entries(ix(4), ix(8), NO_LIMIT)).toThrow(UnavailableError);
    // Size limits: always at least one entry.
    expect(show(s.entries(ix(4), ix(7), 0))).toEqual(['4/4']);
    expect(show(s.entries(ix(4), ix(7), 2 * ENTRY_OVERHEAD_BYTES))).toEqual(['4/4', '5/5']);
    expect(show(s.entries(ix(4), ix(7), 3 * ENTRY_OVERHEAD_BYTES - 1))).toEqual(['4/4', '5/5']);
    expect(show(s.entries(ix(4), ix(7), 3 * ENTRY_OVERHEAD_BYTES))).toEqual(['4/4', '5/5', '6/6']);
  });

  it('entries returns a copy the caller may not use to corrupt the log', () => {
    const s = fixture();
    const got = s.entries(ix(4), ix(6), NO_LIMIT);
    got.pop();
    expect(s.lastIndex()).toBe(5);
  });

  it('errors carry etcd codes', () => {
    expect(new CompactedError().code).toBe('ErrCompacted');
    expect(new UnavailableError().code).toBe('ErrUnavailable');
    expect(new SnapOutOfDateError().code).toBe('ErrSnapOutOfDate');
  });
});

describe('MemoryStorage.compact', () => {
  it('drops entries before the compact index; that entry becomes the dummy', () => {
    const s = fixture();
    s.append([ent(6, 6)]);
    s.compact(ix(5));
    expect(s.firstIndex()).toBe(6);
    expect(s.lastIndex()).toBe(6);
    expect(s.term(ix(5))).toBe(5);
    expect(() => s.term(ix(4))).toThrow(CompactedError);
    expect(show(s.entries(ix(6), ix(7), NO_LIMIT))).toEqual(['6/6']);
  });

  it('compacting up to the last index leaves an empty log after it', () => {
    const s = fixture();
    s.compact(ix(5));
    expect(s.firstIndex()).toBe(6);
    expect(s.lastIndex()).toBe(5);
  });

  it('refuses to compact what is already compacted, or past the end', () => {
    const s = fixture();
    expect(() => s.compact(ix(2))).toThrow(CompactedError);
    expect(() => s.compact(ix(3))).toThrow(CompactedError);
    expect(() => s.compact(ix(6))).toThrow(RangeError);
    expect(s.firstIndex()).toBe(4);
  });
});

describe('MemoryStorage snapshots', () => {
  it('createSnapshot records index, term, membership and data', () => {
    const s = fixture();
    const data = new Uint8Array([7, 8]);
    const got = s.createSnapshot(ix(4), cs, data);
    expect(got.metadata).toEqual({ index: 4, term: 4, confState: cs });
    expect(got.data).toBe(data);
    expect(s.snapshot()).toBe(got);
    // A snapshot does not compact by itself.
    expect(s.firstIndex()).toBe(4);
  });

  it('createSnapshot refuses an older-or-equal index and an index past the end', () => {
    const s = fixture();
    expect(() => s.createSnapshot(ix(3), cs, new Uint8Array())).toThrow(SnapOutOfDateError);
    expect(() => s.createSnapshot(ix(2), cs, new Uint8Array())).toThrow(SnapOutOfDateError);
    expect(() => s.createSnapshot(ix(6), cs, new Uint8Array())).toThrow(RangeError);
  });

  it('applySnapshot replaces the whole log', () => {
    const s = fixture();
    s.applySnapshot(snap(10, 7));
    expect(s.firstIndex()).toBe(11);
    expect(s.lastIndex()).toBe(10);
    expect(s.term(ix(10))).toBe(7);
    expect(s.initialState().confState).toEqual(cs);
    expect(() => s.entries(ix(10), ix(11), NO_LIMIT)).toThrow(CompactedError);
  });

  it('applySnapshot refuses an older-or-equal snapshot', () => {
    const s = fixture();
    expect(() => s.applySnapshot(snap(3, 3))).toThrow(SnapOutOfDateError);
    expect(() => s.applySnapshot(snap(2, 9))).toThrow(SnapOutOfDateError);
    expect(s.lastIndex()).toBe(5);
  });
});

describe('MemoryStorage.append', () => {
  const cases: [string, Entry[], string[]][] = [
    ['the same entries (no change)', [ent(4, 4), ent(5, 5)], ['4/4', '5/5']],
    ['overwrite from the first index', [ent(4, 6), ent(5, 6)], ['6/4', '6/5']],
    ['overwrite and extend', [ent(4, 4), ent(5, 6), ent(6, 6)], ['4/4', '6/5', '6/6']],
    ['skip the compacted prefix', [ent(2, 3), ent(3, 3), ent(4, 5)], ['5/4']],
    ['skip a prefix and keep the rest', [ent(3, 3), ent(4, 4), ent(5, 5), ent(6, 5)], ['4/4', '5/5', '5/6']],
    ['truncate a suffix', [ent(5, 6)], ['4/4', '6/5']],
    ['extend directly', [ent(6, 5)], ['4/4', '5/5', '5/6']],
    ['everything compacted: no-op', [ent(1, 1), ent(2, 2)], ['4/4', '5/5']],
  ];
  for (const [name, input, want] of cases) {
    it(name, () => {
      const s = fixture();
      s.append(input);
      expect(show(s.entries(s.firstIndex(), (s.lastIndex() + 1) as Index, NO_LIMIT))).toEqual(want);
    });
  }

  it('refuses a gap after the last index', () => {
    const s = fixture();
    expect(() => s.append([ent(7, 5)])).toThrow(/missing log entry/);
    expect(s.lastIndex()).toBe(5);
  });

  it('an empty append is a no-op', () => {
    const s = fixture();
    s.append([]);
    expect(s.lastIndex()).toBe(5);
  });

  it('previously returned entries are not changed by a later overwrite', () => {
    const s = fixture();
    const before = s.entries(ix(4), ix(6), NO_LIMIT);
    s.append([ent(5, 9)]);
    expect(show(before)).toEqual(['4/4', '5/5']);
    expect(s.term(ix(5))).toBe(9);
  });
});
