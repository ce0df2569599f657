import type { Entry, Index, Term } from '@tsetcd/raft';
import { describe, expect, it } from 'vitest';
import { WalGapError } from '../errors.js';
import { latestSnapshotMarker, replay } from './replay.js';
import type { WalRecord } from './wal-record.js';

function ent(index: number, term: number): Entry {
  return { type: 'EntryNormal', index: index as Index, term: term as Term, data: new Uint8Array([index]) };
}
function state(...entries: Entry[]): WalRecord {
  return { type: 'state', entries };
}
function marker(index: number, term: number): WalRecord {
  return { type: 'snapshot', index: index as Index, term: term as Term };
}
const positions = (es: readonly Entry[]) => es.map((e) => `${e.index}@${e.term}`);

describe('replay', () => {
  it('lets a later entry at index i replace everything from i on', () => {
    const r = replay([state(ent(1, 1), ent(2, 1), ent(3, 1)), state(ent(2, 2)), state(ent(3, 2))], {
      index: 0,
      term: 0,
    });
    expect(positions(r.entries)).toEqual(['1@1', '2@2', '3@2']);
  });

  it('keeps the suffix after a local snapshot whose entry matches', () => {
    const records = [state(ent(1, 1), ent(2, 1), ent(3, 1)), marker(2, 1), state(ent(4, 1))];
    expect(positions(replay(records, { index: 2, term: 1 }).entries)).toEqual(['3@1', '4@1']);
  });

  it('drops a conflicting log at the marker of a snapshot received from the leader', () => {
    const records = [state(ent(1, 1), ent(2, 1), ent(3, 1)), marker(2, 5), state(ent(3, 5))];
    expect(positions(replay(records, { index: 2, term: 5 }).entries)).toEqual(['3@5']);
  });

  it('restarts after a snapshot from the leader followed by a local snapshot (found by the simulator)', () => {
    // Entries 1–3, then the leader sent a snapshot at 6 (the log jumps), then entries 7–9 and a
    // local snapshot at 8. Restoring from 8 must not see 7 as following 3.
    const records = [
      state(ent(1, 1), ent(2, 1), ent(3, 1)),
      marker(6, 2),
      state(ent(7, 2), ent(8, 2), ent(9, 2)),
      marker(8, 2),
      state(ent(10, 2)),
    ];
    expect(positions(replay(records, { index: 8, term: 2 }).entries)).toEqual(['9@2', '10@2']);
  });

  it("raises the commit index to the snapshot's when the hard state after the marker was lost", () => {
    const hs = { term: 2 as Term, vote: 1n, commit: 3 as Index };
    const records: WalRecord[] = [
      { type: 'state', entries: [ent(1, 1), ent(2, 1), ent(3, 2)], hardState: hs },
      marker(8, 2),
    ];
    const r = replay(records, { index: 8, term: 2 });
    expect(r.hardState.commit).toBe(8);
    expect(r.hardState.term).toBe(2);
    expect(r.entries).toEqual([]);
  });

  it('keeps the last hard state and the newest marker', () => {
    const hs = (term: number) => ({ term: term as Term, vote: 1n, commit: 0 as Index });
    const records: WalRecord[] = [
      { type: 'state', entries: [], hardState: hs(1) },
      marker(1, 1),
      marker(3, 1),
      { type: 'state', entries: [], hardState: hs(2) },
    ];
    expect(replay(records, { index: 0, term: 0 }).hardState).toEqual(hs(2));
    expect(latestSnapshotMarker(records)).toEqual(marker(3, 1));
  });

  it('refuses a log with a hole', () => {
    expect(() => replay([state(ent(1, 1)), state(ent(3, 1))], { index: 0, term: 0 })).toThrow(WalGapError);
    expect(() => replay([state(ent(5, 1))], { index: 2, term: 1 })).toThrow(WalGapError);
  });
});
