/**
 * RaftLog: stable entries (Storage) followed by unstable ones, with the commit and apply
 * cursors — the follower's append rule (Raft §5.3), conflict search, commit bounds, slicing
 * across the stable/unstable boundary under size limits, and what may be applied.
 */

import { describe, expect, it } from 'vitest';
import { CompactedError } from './errors.js';
import { MemoryStorage } from './memory-storage.js';
import { RaftLog } from './raft-log.js';
import {
  EMPTY_CONF_STATE,
  ENTRY_OVERHEAD_BYTES,
  type Entry,
  type Index,
  type Snapshot,
  type Term,
} from './types.js';

const ix = (n: number) => n as Index;
const tm = (n: number) => n as Term;
const NO_LIMIT = Number.MAX_SAFE_INTEGER;

function ent(index: number, term: number, data = ''): Entry {
  return { type: 'EntryNormal', index: ix(index), term: tm(term), data: new TextEncoder().encode(data) };
}

/** Entries with the given terms, starting at index `from`. */
function ents(from: number, ...terms: number[]): Entry[] {
  return terms.map((t, i) => ent(from + i, t));
}

function snap(index: number, term: number): Snapshot {
  return {
    metadata: { index: ix(index), term: tm(term), confState: EMPTY_CONF_STATE },
    data: new Uint8Array(0),
  };
}

/** A log whose storage holds `stable` (after an optional snapshot) and whose unstable part holds `uns`. */
function log(
  o: { snap?: Snapshot; stable?: Entry[]; unstable?: Entry[]; maxApplying?: number } = {},
): RaftLog {
  const s = new MemoryStorage();
  if (o.snap !== undefined) s.applySnapshot(o.snap);
  s.append(o.stable ?? []);
  const l = new RaftLog(s, o.maxApplying ?? NO_LIMIT);
  if (o.unstable !== undefined && o.unstable.length > 0) l.append(o.unstable);
  return l;
}

const show = (es: readonly Entry[]) => es.map((e) => `${e.term}/${e.index}`);

describe('RaftLog basics', () => {
  it('starts with commit and applied just before the first index', () => {
    const l = log({ snap: snap(10, 2), stable: ents(11, 2, 3) });
    expect(l.firstIndex()).toBe(11);
    expect(l.lastIndex()).toBe(12);
    expect(l.lastTerm()).toBe(3);
    expect(l.committed).toBe(10);
    expect(l.applied).toBe(10);
    expect(l.applying).toBe(10);
  });

  it('knows terms from the snapshot index to the last index, stable or not', () => {
    const l = log({ snap: snap(10, 2), stable: ents(11, 2), unstable: ents(12, 3) });
    expect(l.term(ix(9))).toBeUndefined();
    expect(l.term(ix(10))).toBe(2);
    expect(l.term(ix(11))).toBe(2);
    expect(l.term(ix(12))).toBe(3);
    expect(l.term(ix(13))).toBeUndefined();
    expect(l.matchTerm(ix(12), tm(3))).toBe(true);
    expect(l.matchTerm(ix(12), tm(2))).toBe(false);
  });

  it('isUpToDate compares last term first, then last index (Raft §5.4.1)', () => {
    const l = log({ stable: ents(1, 1, 2, 3) });
    expect(l.isUpToDate(ix(1), tm(4))).toBe(true); // higher term, shorter log
    expect(l.isUpToDate(ix(2), tm(3))).toBe(false); // same term, shorter
    expect(l.isUpToDate(ix(3), tm(3))).toBe(true);
    expect(l.isUpToDate(ix(9), tm(3))).toBe(true);
    expect(l.isUpToDate(ix(9), tm(2))).toBe(false); // lower term, longer log
  });
});

describe('RaftLog.findConflict', () => {
  const l = log({ stable: ents(1, 1, 2, 3) });
  const cases: [string, Entry[], number][] = [
    ['no entries', [], 0],
    ['all match', ents(1, 1, 2, 3), 0],
    ['a matching suffix', ents(2, 2, 3), 0],
    ['matching then new', ents(2, 2, 3, 4, 4), 4],
    ['only new', ents(4, 4, 4), 4],
    ['conflict at the first', ents(1, 4, 4), 1],
    ['conflict in the middle', ents(2, 1, 4, 4), 2],
    ['conflict at the last', ents(3, 1, 2, 4), 3],
  ];
  for (const [name, es, want] of cases) {
    it(`${name} → ${want}`, () => expect(l.findConflict(es)).toBe(want));
  }
});

describe('RaftLog.findConflictByTerm', () => {
  // Log terms: index 1..6 = 1 1 2 2 5 5 (after a snapshot at 0).
  const l = log({ stable: ents(1, 1, 1, 2, 2, 5, 5) });
  const cases: [number, number, number, number][] = [
    // [index, term] → [index, term]
    [6, 5, 6, 5], // matches outright
    [6, 4, 4, 2], // skip the whole term-5 suffix
    [6, 2, 4, 2],
    [6, 1, 2, 1],
    [6, 0, 0, 0], // back to the dummy entry
    [3, 9, 3, 2], // our term is lower: a possible match
    [9, 5, 9, 0], // beyond our log: unknown term
  ];
  for (const [i, t, wi, wt] of cases) {
    it(`(${i}, ${t}) → (${wi}, ${wt})`, () => {
      expect(l.findConflictByTerm(ix(i), tm(t))).toEqual({ index: wi, term: wt });
    });
  }

  it('stops at a compacted index with an unknown term', () => {
    const c = log({ snap: snap(4, 2), stable: ents(5, 5, 5) });
    expect(c.findConflictByTerm(ix(6), tm(3))).toEqual({ index: 4, term: 2 });
    expect(c.findConflictByTerm(ix(6), tm(1))).toEqual({ index: 3, term: 0 });
  });
});

describe('RaftLog.maybeAppend', () => {
  // Log 1/1 2/2 3/3, committed 1.
  const base = () => {
    const l = log({ stable: ents(1, 1, 2, 3) });
    l.commitTo(ix(1));
    return l;
  };

  it('rejects when the previous entry does not match', () => {
    const l = base();
    expect(l.maybeAppend(ix(3), tm(2), ix(3), ents(4, 4))).toBeUndefined();
    expect(l.maybeAppend(ix(4), tm(3), ix(3), ents(5, 4))).toBeUndefined();
    expect(l.lastIndex()).toBe(3);
    expect(l.committed).toBe(1);
  });

  it('appends new entries and commits up to min(leader commit, last new index)', () => {
    const l = base();
    expect(l.maybeAppend(ix(3), tm(3), ix(10), ents(4, 4, 4))).toBe(5);
    expect(l.lastIndex()).toBe(5);
    expect(l.committed).toBe(5);
    const m = base();
    expect(m.maybeAppend(ix(3), tm(3), ix(4), ents(4, 4, 4))).toBe(5);
    expect(m.committed).toBe(4);
  });

  it('an empty append only moves the commit index, never past its own last new index', () => {
    const l = base();
    expect(l.maybeAppend(ix(2), tm(2), ix(3), [])).toBe(2);
    expect(l.committed).toBe(2);
    expect(l.lastIndex()).toBe(3);
  });

  it('never lowers the commit index', () => {
    const l = base();
    l.commitTo(ix(3));
    expect(l.maybeAppend(ix(1), tm(1), ix(1), ents(2, 2))).toBe(2);
    expect(l.committed).toBe(3);
  });

  it('keeps an already-present prefix and does not truncate on a duplicate (stale) append', () => {
    const l = base();
    expect(l.maybeAppend(ix(1), tm(1), ix(1), ents(2, 2))).toBe(2);
    expect(l.lastIndex()).toBe(3); // entry 3 is not dropped
    expect(l.unstableEntries()).toEqual([]); // nothing was rewritten
  });

  it('replaces a conflicting uncommitted suffix', () => {
    const l = base();
    expect(l.maybeAppend(ix(1), tm(1), ix(1), ents(2, 4, 4, 4))).toBe(4);
    expect(show(l.entries(ix(1), NO_LIMIT))).toEqual(['1/1', '4/2', '4/3', '4/4']);
    expect(show(l.unstableEntries())).toEqual(['4/2', '4/3', '4/4']);
  });

  it('throws on a conflict with a committed entry (a safety violation, not a message to ignore)', () => {
    const l = base();
    l.commitTo(ix(2));
    expect(() => l.maybeAppend(ix(1), tm(1), ix(3), ents(2, 4))).toThrow(/conflicts with committed entry/);
  });
});

describe('RaftLog.commitTo and append bounds', () => {
  it('commitTo never lowers and refuses to go past the last index', () => {
    const l = log({ stable: ents(1, 1, 1, 1) });
    l.commitTo(ix(2));
    expect(l.committed).toBe(2);
    l.commitTo(ix(1));
    expect(l.committed).toBe(2);
    l.commitTo(ix(3));
    expect(l.committed).toBe(3);
    expect(() => l.commitTo(ix(4))).toThrow(/out of range/);
  });

  it('append refuses to overwrite committed entries', () => {
    const l = log({ stable: ents(1, 1, 1, 1) });
    l.commitTo(ix(2));
    expect(() => l.append(ents(2, 2))).toThrow(/out of range/);
    expect(l.append(ents(3, 2))).toBe(3);
    expect(l.append([])).toBe(3);
  });

  it('maybeCommit commits only entries of the given term (Raft §5.4.2)', () => {
    const l = log({ stable: ents(1, 1, 1, 2) });
    expect(l.maybeCommit(ix(2), tm(2))).toBe(false);
    expect(l.committed).toBe(0);
    expect(l.maybeCommit(ix(3), tm(2))).toBe(true);
    expect(l.committed).toBe(3);
    expect(l.maybeCommit(ix(3), tm(2))).toBe(false);
  });

  it('appliedTo stays within [applied, committed]', () => {
    const l = log({ stable: ents(1, 1, 1, 1) });
    l.commitTo(ix(2));
    l.appliedTo(ix(0)); // no-op
    l.appliedTo(ix(2));
    expect(l.applied).toBe(2);
    expect(l.applying).toBe(2);
    expect(() => l.appliedTo(ix(3))).toThrow(/out of range/);
    expect(() => l.appliedTo(ix(1))).toThrow(/out of range/);
  });
});

describe('RaftLog.slice', () => {
  const size = (data: string) => data.length + ENTRY_OVERHEAD_BYTES;
  // Snapshot at 2; storage holds 3..5, unstable 6..8; every entry carries 4 bytes of data.
  const l = () =>
    log({
      snap: snap(2, 1),
      stable: [ent(3, 1, 'aaaa'), ent(4, 1, 'bbbb'), ent(5, 2, 'cccc')],
      unstable: [ent(6, 2, 'dddd'), ent(7, 3, 'eeee'), ent(8, 3, 'ffff')],
    });
  const one = size('aaaa');

  it('reads across the stable/unstable boundary', () => {
    expect(show(l().slice(ix(3), ix(9), NO_LIMIT))).toEqual(['1/3', '1/4', '2/5', '2/6', '3/7', '3/8']);
    expect(show(l().slice(ix(4), ix(7), NO_LIMIT))).toEqual(['1/4', '2/5', '2/6']);
    expect(show(l().slice(ix(6), ix(8), NO_LIMIT))).toEqual(['2/6', '3/7']);
    expect(show(l().slice(ix(3), ix(5), NO_LIMIT))).toEqual(['1/3', '1/4']);
    expect(l().slice(ix(5), ix(5), NO_LIMIT)).toEqual([]);
  });

  it('applies the size limit across both parts, but always returns at least one entry', () => {
    expect(show(l().slice(ix(3), ix(9), 0))).toEqual(['1/3']);
    expect(show(l().slice(ix(3), ix(9), one * 2))).toEqual(['1/3', '1/4']);
    expect(show(l().slice(ix(3), ix(9), one * 2 + 1))).toEqual(['1/3', '1/4']);
    expect(show(l().slice(ix(3), ix(9), one * 4))).toEqual(['1/3', '1/4', '2/5', '2/6']);
    expect(show(l().slice(ix(4), ix(9), one * 3))).toEqual(['1/4', '2/5', '2/6']);
    expect(show(l().slice(ix(6), ix(9), one * 2))).toEqual(['2/6', '3/7']);
    expect(show(l().slice(ix(7), ix(9), 1))).toEqual(['3/7']);
  });

  it('throws CompactedError below the first index and RangeError beyond the last', () => {
    expect(() => l().slice(ix(2), ix(4), NO_LIMIT)).toThrow(CompactedError);
    expect(() => l().slice(ix(3), ix(10), NO_LIMIT)).toThrow(RangeError);
  });

  it('entries(i) reads from i to the end, empty past the end', () => {
    expect(show(l().entries(ix(7), NO_LIMIT))).toEqual(['3/7', '3/8']);
    expect(l().entries(ix(9), NO_LIMIT)).toEqual([]);
  });
});

describe('RaftLog.stableTo after an overwrite', () => {
  it('does not mark a rewritten entry persisted when the old one is reported', () => {
    const l = log({ stable: ents(1, 1) });
    l.append(ents(2, 1, 1)); // unstable 2, 3 at term 1 — handed out in a Ready
    l.append(ents(3, 2)); // a new leader overwrites index 3 before advance()
    l.stableTo(ix(3), tm(1)); // the old Ready reports (3, 1) persisted
    expect(show(l.unstableEntries())).toEqual(['1/2', '2/3']);
    expect(l.persistedLastIndex()).toBe(1);
    l.stableTo(ix(3), tm(2));
    expect(l.unstableEntries()).toEqual([]);
  });
});

describe('RaftLog.restore', () => {
  it('replaces the log with a pending snapshot that is committed', () => {
    const l = log({ stable: ents(1, 1, 1) });
    l.append(ents(3, 2));
    l.restore(snap(10, 3));
    expect(l.firstIndex()).toBe(11);
    expect(l.lastIndex()).toBe(10);
    expect(l.lastTerm()).toBe(3);
    expect(l.committed).toBe(10);
    expect(l.hasPendingSnapshot()).toBe(true);
    expect(l.snapshot().metadata.index).toBe(10);
    expect(l.unstableEntries()).toEqual([]);
    // Nothing is applied out of a snapshot not yet persisted.
    expect(l.hasNextCommittedEnts()).toBe(false);
    expect(l.nextCommittedEnts()).toEqual([]);
    expect(l.persistedLastIndex()).toBe(0);
    l.stableSnapTo(ix(10));
    expect(l.hasPendingSnapshot()).toBe(false);
  });
});

describe('RaftLog committed entries to apply', () => {
  it('hands out only committed entries that are also persisted here', () => {
    const l = log({ stable: ents(1, 1, 1) });
    l.append(ents(3, 1, 1, 1)); // 3..5 unstable
    l.commitTo(ix(4));
    expect(l.persistedLastIndex()).toBe(2);
    expect(show(l.nextCommittedEnts())).toEqual(['1/1', '1/2']);
    expect(l.hasNextCommittedEnts()).toBe(true);
    l.acceptApplying(ix(2));
    expect(l.hasNextCommittedEnts()).toBe(false);
    expect(l.nextCommittedEnts()).toEqual([]);
    // The host persists 3..5: entries up to the commit index become appliable, no further.
    (l.storage as MemoryStorage).append(l.unstableEntries());
    l.stableTo(ix(5), tm(1));
    expect(l.persistedLastIndex()).toBe(5);
    expect(show(l.nextCommittedEnts())).toEqual(['1/3', '1/4']);
    l.acceptApplying(ix(4));
    l.appliedTo(ix(4));
    expect(l.applied).toBe(4);
    expect(l.hasNextCommittedEnts()).toBe(false);
  });

  it('bounds a batch by maxApplyingSize (at least one entry)', () => {
    const l = log({ stable: ents(1, 1, 1, 1), maxApplying: 1 });
    l.commitTo(ix(3));
    expect(show(l.nextCommittedEnts())).toEqual(['1/1']);
    l.acceptApplying(ix(1));
    expect(show(l.nextCommittedEnts())).toEqual(['1/2']);
  });

  it('persistedLastIndex is the last index once nothing is unstable', () => {
    const l = log({ snap: snap(5, 1), stable: ents(6, 1) });
    expect(l.persistedLastIndex()).toBe(6);
    const e = log({ snap: snap(5, 1) });
    expect(e.persistedLastIndex()).toBe(5);
  });
});
