/**
 * The watch checker against hand-made streams: a clean history passes, and each guarantee broken
 * on purpose (a gap, a duplicate, a split revision, watchers disagreeing, a wrong prev_kv or
 * version, a watcher that stopped early) is reported.
 */

import { describe, expect, it } from 'vitest';
import { checkWatches, type ObservedEvent, type WatchSegment } from './watch-check.js';

function put(
  key: string,
  value: string,
  rev: number,
  create: number,
  version: number,
  prev?: ObservedEvent,
): ObservedEvent {
  return {
    type: 'PUT',
    kv: { key, value, createRevision: create, modRevision: rev, version, lease: '0' },
    ...(prev !== undefined ? { prevKv: prev.kv } : {}),
  };
}
function del(key: string, rev: number, prev?: ObservedEvent): ObservedEvent {
  return {
    type: 'DELETE',
    kv: { key, value: '', createRevision: 0, modRevision: rev, version: 0, lease: '0' },
    ...(prev !== undefined ? { prevKv: prev.kv } : {}),
  };
}

// Revisions 2..5: a=1, b=1 (a txn: a=2 and b=1 in revision 3), delete a, b=2.
const e2 = put('a', '1', 2, 2, 1);
const e3a = put('a', '2', 3, 2, 2, e2);
const e3b = put('b', '1', 3, 3, 1);
const e4 = del('a', 4, e3a);
const e5 = put('b', '2', 5, 3, 2, e3b);
const open = { kind: 'open' } as const;
const seg = (
  startRevision: number,
  responses: ObservedEvent[][],
  end: WatchSegment['end'] = open,
): WatchSegment => ({
  member: 'n1',
  startRevision,
  responses,
  end,
});

describe('checkWatches', () => {
  it('passes watchers that resumed across members and agree, and replays the state', () => {
    const r = checkWatches(
      [
        [seg(2, [[e2], [e3a, e3b]], { kind: 'broken' }), seg(4, [[e4, e5]])],
        [seg(2, [[e2, e3a, e3b], [e4], [e5]])],
      ],
      5,
    );
    expect(r.violations).toEqual([]);
    expect(r.completeThrough).toBe(5);
    expect([...r.state.keys()]).toEqual(['b']);
    expect(r.state.get('b')?.value).toBe('2');
  });

  it('reports a gap', () => {
    const r = checkWatches([[seg(2, [[e2], [e4], [e5]])]], 5);
    expect(r.violations.join('\n')).toMatch(/a gap: got revision 4, expected 3/);
  });

  it('reports a duplicate revision', () => {
    const r = checkWatches([[seg(2, [[e2], [e2], [e3a, e3b], [e4], [e5]])]], 5);
    expect(r.violations.join('\n')).toMatch(/duplicate or out-of-order revision/);
  });

  it('reports a revision split over two responses', () => {
    const r = checkWatches(
      [
        [
          seg(2, [
            [e2, e3a],
            [e3b, e4, e5],
          ]),
        ],
      ],
      5,
    );
    expect(r.violations.join('\n')).toMatch(/got revision 3, expected 4/);
  });

  it('reports a resume from the wrong revision', () => {
    const r = checkWatches([[seg(2, [[e2]], { kind: 'broken' }), seg(4, [[e4], [e5]])]], 5);
    expect(r.violations.join('\n')).toMatch(/resumed from 4, not 3/);
  });

  it('accepts a jump over compacted revisions only when the watch was cancelled for compaction', () => {
    const r = checkWatches(
      [[seg(2, [[e2]], { kind: 'compacted', compactRevision: 4 }), seg(4, [[e4], [e5]])]],
      5,
    );
    expect(r.violations).toEqual([]);
  });

  it('reports watchers that disagree on a revision', () => {
    const other = put('b', 'X', 3, 3, 1);
    const r = checkWatches(
      [[seg(2, [[e2], [e3a, e3b], [e4], [e5]])], [seg(3, [[e3a, other], [e4], [e5]])]],
      5,
    );
    expect(r.violations.join('\n')).toMatch(/revision 3: .* received/);
  });

  it('reports a wrong prev_kv and a wrong version', () => {
    const badPrev = put('a', '2', 3, 2, 2, put('a', 'zzz', 2, 2, 1));
    const badVersion = put('b', '2', 5, 3, 7, e3b);
    const r = checkWatches([[seg(2, [[e2], [badPrev, e3b], [e4], [badVersion]])]], 5);
    const text = r.violations.join('\n');
    expect(text).toMatch(/revision 3 PUT a: prev_kv/);
    expect(text).toMatch(/revision 5 PUT b: create 3 version 7, expected create 3 version 2/);
  });

  it('reports a delete of a key that does not exist', () => {
    const r = checkWatches([[seg(2, [[e2], [e3a, e3b], [del('c', 4)], [e5]])]], 5);
    expect(r.violations.join('\n')).toMatch(/deletes a key that does not exist/);
  });

  it('reports an open watcher that stopped before the final revision', () => {
    const r = checkWatches([[seg(2, [[e2], [e3a, e3b]])]], 5);
    expect(r.violations.join('\n')).toMatch(/stopped at revision 3; the store is at 5/);
  });
});
