/**
 * Progress: the leader's per-follower flow control — probe/replicate/snapshot transitions,
 * acknowledgements (maybeUpdate), rejections (maybeDecrTo), pausing, and sentEntries.
 */

import { describe, expect, it } from 'vitest';
import type { Index } from '../types.js';
import { Inflights } from './inflights.js';
import { Progress, type ProgressStateType } from './progress.js';

const ix = (n: number) => n as Index;

function progress(
  o: { state?: ProgressStateType; match?: number; next?: number; inflight?: number; maxBytes?: number } = {},
): Progress {
  const pr = new Progress(ix(o.next ?? 1), new Inflights(o.inflight ?? 256, o.maxBytes ?? 0), false, true);
  pr.match = ix(o.match ?? 0);
  if (o.state === 'StateReplicate') {
    pr.becomeReplicate();
    pr.next = ix(o.next ?? pr.next); // keep an explicit next (pipelined appends may be ahead)
  } else if (o.state === 'StateSnapshot') {
    pr.becomeSnapshot(ix(o.next ?? 1));
  }
  return pr;
}

describe('Progress state transitions', () => {
  it('starts in probe, active, unpaused', () => {
    const pr = new Progress(ix(5), new Inflights(4, 0), true, true);
    expect(pr.state).toBe('StateProbe');
    expect(pr.match).toBe(0);
    expect(pr.next).toBe(5);
    expect(pr.isLearner).toBe(true);
    expect(pr.recentActive).toBe(true);
    expect(pr.isPaused()).toBe(false);
  });

  it('becomeReplicate probes from match+1 and clears the window', () => {
    const pr = progress({ match: 3, next: 9 });
    pr.msgAppFlowPaused = true;
    pr.becomeReplicate();
    expect(pr.state).toBe('StateReplicate');
    expect(pr.next).toBe(4);
    expect(pr.isPaused()).toBe(false);
    expect(pr.inflights.length).toBe(0);
  });

  it('becomeProbe from replicate restarts at match+1 and drops the inflights', () => {
    const pr = progress({ state: 'StateReplicate', match: 3, next: 4 });
    pr.sentEntries(2, 10);
    pr.sentEntries(3, 10);
    expect(pr.next).toBe(9);
    expect(pr.inflights.length).toBe(2);
    pr.becomeProbe();
    expect(pr.state).toBe('StateProbe');
    expect(pr.next).toBe(4);
    expect(pr.inflights.length).toBe(0);
  });

  it('becomeSnapshot pauses until the snapshot is applied', () => {
    const pr = progress({ match: 1, next: 2 });
    pr.becomeSnapshot(ix(10));
    expect(pr.state).toBe('StateSnapshot');
    expect(pr.pendingSnapshot).toBe(10);
    expect(pr.isPaused()).toBe(true);
  });

  it('becomeProbe from snapshot continues after the snapshot (or after match, if further)', () => {
    const a = progress({ match: 1 });
    a.becomeSnapshot(ix(10));
    a.becomeProbe();
    expect(a.state).toBe('StateProbe');
    expect(a.next).toBe(11);
    expect(a.pendingSnapshot).toBe(0);

    const b = progress({ match: 1 });
    b.becomeSnapshot(ix(10));
    b.maybeUpdate(ix(12)); // the follower got further by other means
    b.becomeProbe();
    expect(b.next).toBe(13);

    const c = progress({ match: 1 });
    c.becomeSnapshot(ix(10));
    c.pendingSnapshot = ix(0); // a failed snapshot is forgotten: probe from match+1
    c.becomeProbe();
    expect(c.next).toBe(2);
  });

  it('resetForTerm goes back to probing with the given next and match', () => {
    const pr = progress({ state: 'StateReplicate', match: 5, next: 6 });
    pr.sentEntries(3, 30);
    pr.sentCommit = ix(5);
    pr.resetForTerm(ix(20), ix(0));
    expect(pr.state).toBe('StateProbe');
    expect(pr.next).toBe(20);
    expect(pr.match).toBe(0);
    expect(pr.sentCommit).toBe(0);
    expect(pr.inflights.length).toBe(0);
    expect(pr.isPaused()).toBe(false);
  });
});

describe('Progress.maybeUpdate', () => {
  it('raises match (and next, keeping match < next) and unpauses', () => {
    const pr = progress({ match: 3, next: 5 });
    pr.msgAppFlowPaused = true;
    expect(pr.maybeUpdate(ix(4))).toBe(true);
    expect(pr.match).toBe(4);
    expect(pr.next).toBe(5);
    expect(pr.isPaused()).toBe(false);
    expect(pr.maybeUpdate(ix(8))).toBe(true);
    expect(pr.match).toBe(8);
    expect(pr.next).toBe(9);
  });

  it('ignores stale or duplicate acknowledgements', () => {
    const pr = progress({ match: 3, next: 5 });
    pr.msgAppFlowPaused = true;
    expect(pr.maybeUpdate(ix(2))).toBe(false);
    expect(pr.maybeUpdate(ix(3))).toBe(false);
    expect(pr.match).toBe(3);
    expect(pr.next).toBe(5);
    expect(pr.isPaused()).toBe(true);
  });
});

describe('Progress.maybeDecrTo', () => {
  // [state, match, next, rejected, hint] → [accepted, next after]
  const cases: [ProgressStateType, number, number, number, number, boolean, number][] = [
    // Replicate: a rejection of something at or below match is stale.
    ['StateReplicate', 5, 10, 5, 5, false, 10],
    ['StateReplicate', 5, 10, 4, 4, false, 10],
    // Replicate: a real rejection restarts right after match.
    ['StateReplicate', 5, 10, 9, 9, true, 6],
    // Probe: only the rejection of the last probe (next-1) counts.
    ['StateProbe', 0, 0, 0, 0, false, 0],
    ['StateProbe', 0, 10, 5, 5, false, 10],
    // Probe: go to min(rejected, hint+1), never below match+1.
    ['StateProbe', 0, 10, 9, 9, true, 9],
    ['StateProbe', 0, 2, 1, 1, true, 1],
    ['StateProbe', 0, 1, 0, 0, true, 1],
    ['StateProbe', 0, 10, 9, 2, true, 3],
    ['StateProbe', 0, 10, 9, 0, true, 1],
    ['StateProbe', 3, 10, 9, 1, true, 4],
  ];
  for (const [state, match, next, rejected, hint, ok, wantNext] of cases) {
    it(`${state} match=${match} next=${next}: reject ${rejected} hint ${hint} → ${ok} next=${wantNext}`, () => {
      const pr = progress({ state, match, next });
      if (state === 'StateProbe') pr.msgAppFlowPaused = true;
      expect(pr.maybeDecrTo(ix(rejected), ix(hint))).toBe(ok);
      expect(pr.match).toBe(match);
      expect(pr.next).toBe(wantNext);
      // An accepted rejection of a probe lets the next probe go out.
      if (state === 'StateProbe') expect(pr.isPaused()).toBe(!ok);
    });
  }
});

describe('Progress.isPaused and sentEntries', () => {
  it('probe: one non-empty append at a time; empty appends (commit/heartbeat) do not pause', () => {
    const pr = progress({ match: 0, next: 1 });
    pr.sentEntries(0, 0);
    expect(pr.isPaused()).toBe(false);
    expect(pr.next).toBe(1); // probing does not move next optimistically
    pr.sentEntries(3, 30);
    expect(pr.isPaused()).toBe(true);
    expect(pr.next).toBe(1);
    expect(pr.inflights.length).toBe(0);
    pr.maybeUpdate(ix(3));
    expect(pr.isPaused()).toBe(false);
  });

  it('replicate: next advances optimistically and the window fills by count', () => {
    const pr = progress({ state: 'StateReplicate', match: 4, next: 5, inflight: 2 });
    pr.sentEntries(2, 20);
    expect(pr.next).toBe(7);
    expect(pr.isPaused()).toBe(false);
    pr.sentEntries(0, 0); // an empty append adds nothing to the window
    expect(pr.inflights.length).toBe(1);
    pr.sentEntries(1, 10);
    expect(pr.next).toBe(8);
    expect(pr.isPaused()).toBe(true);
    // The ack frees the window; the leader clears the flag when it handles the response.
    expect(pr.maybeUpdate(ix(6))).toBe(true);
    pr.inflights.freeLE(ix(6));
    expect(pr.isPaused()).toBe(false);
    expect(pr.inflights.length).toBe(1);
  });

  it('replicate: the window fills by bytes', () => {
    const pr = progress({ state: 'StateReplicate', match: 0, next: 1, maxBytes: 100 });
    pr.sentEntries(1, 60);
    expect(pr.isPaused()).toBe(false);
    pr.sentEntries(1, 60);
    expect(pr.isPaused()).toBe(true);
    expect(pr.next).toBe(3);
  });

  it('snapshot: always paused and sentEntries changes nothing', () => {
    const pr = progress({ state: 'StateSnapshot', match: 0, next: 5 });
    pr.sentEntries(3, 30);
    expect(pr.isPaused()).toBe(true);
    expect(pr.next).toBe(5);
    expect(pr.inflights.length).toBe(0);
  });
});
