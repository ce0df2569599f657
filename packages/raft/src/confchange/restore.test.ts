/**
 * restoreConfig: a ConfState (from storage or a snapshot) becomes a tracker configuration that
 * serializes back (toConfState) to the same ConfState — checked on seeded random valid
 * configurations and on configurations reached through random Changer histories. Invalid
 * ConfStates are refused.
 */

import { describe, expect, it } from 'vitest';
import { describeConfState } from '../describe.js';
import { ConfChangeError } from '../errors.js';
import { type RandomSource, seededRandom } from '../rand.js';
import { sortedIds, toConfState } from '../tracker/tracker.js';
import type { ConfChangeSingle, ConfChangeType, ConfState, Index, NodeId } from '../types.js';
import { type ChangeResult, Changer } from './changer.js';
import { restoreConfig } from './restore.js';

const cs = (o: Partial<{ [K in keyof ConfState]: ConfState[K] }>): ConfState => ({
  voters: [],
  learners: [],
  votersOutgoing: [],
  learnersNext: [],
  autoLeave: false,
  ...o,
});

function pick(rand: RandomSource, from: readonly NodeId[], p: number): NodeId[] {
  return from.filter(() => rand(100) < p);
}

/** A random valid ConfState over IDs 1..8, sorted as toConfState produces it. */
function randomConfState(rand: RandomSource): ConfState {
  const ids = [1n, 2n, 3n, 4n, 5n, 6n, 7n, 8n];
  const voters = pick(rand, ids, 40);
  const joint = rand(2) === 0;
  const votersOutgoing = joint ? pick(rand, ids, 40) : [];
  // learnersNext: outgoing voters that are not incoming voters.
  const learnersNext = pick(
    rand,
    votersOutgoing.filter((id) => !voters.includes(id)),
    50,
  );
  const voting = new Set([...voters, ...votersOutgoing]);
  const learners = pick(
    rand,
    ids.filter((id) => !voting.has(id)),
    40,
  );
  return {
    voters,
    learners,
    votersOutgoing,
    learnersNext,
    autoLeave: votersOutgoing.length > 0 && rand(2) === 0,
  };
}

function expectConsistent(r: ChangeResult, want: ConfState): void {
  const members = new Set([...want.voters, ...want.votersOutgoing, ...want.learners]);
  expect(sortedIds(r.progress.keys())).toEqual(sortedIds(members));
  for (const [id, pr] of r.progress) expect(pr.isLearner).toBe(want.learners.includes(id));
}

describe('restoreConfig', () => {
  it('restores a plain config with fresh progress probing after the last index', () => {
    const r = restoreConfig(cs({ voters: [1n, 2n, 3n], learners: [4n] }), 20 as Index, 8, 1024);
    expect(describeConfState(toConfState(r.config))).toBe('voters=(1 2 3) learners=(4)');
    for (const pr of r.progress.values()) {
      expect(pr.next).toBe(21);
      expect(pr.match).toBe(0);
      expect(pr.state).toBe('StateProbe');
      expect(pr.inflights.size).toBe(8);
      expect(pr.inflights.maxBytes).toBe(1024);
    }
    expect(r.progress.get(4n)!.isLearner).toBe(true);
  });

  it('restores a joint config with learnersNext and autoLeave', () => {
    const want = cs({
      voters: [1n, 2n, 4n],
      votersOutgoing: [1n, 2n, 3n],
      learnersNext: [3n],
      learners: [5n],
      autoLeave: true,
    });
    const r = restoreConfig(want, 0 as Index, 8, 0);
    expect(describeConfState(toConfState(r.config))).toBe(
      'voters=(1 2 4)&&(1 2 3) learners=(5) learners_next=(3) autoleave',
    );
    expect(r.progress.get(3n)!.isLearner).toBe(false);
  });

  it('restores an empty config (a node that will learn membership from a snapshot)', () => {
    const r = restoreConfig(cs({}), 0 as Index, 8, 0);
    expect(r.progress.size).toBe(0);
    expect(toConfState(r.config)).toEqual(cs({}));
  });

  it('round-trips 2,000 seeded random valid ConfStates', () => {
    const rand = seededRandom(5);
    for (let i = 0; i < 2000; i++) {
      const want = randomConfState(rand);
      const r = restoreConfig(want, 7 as Index, 4, 0);
      expect(toConfState(r.config), describeConfState(want)).toEqual(want);
      expectConsistent(r, want);
    }
  });

  it('round-trips every configuration reached by random Changer histories', () => {
    const rand = seededRandom(11);
    const types: ConfChangeType[] = ['ConfChangeAddNode', 'ConfChangeAddLearnerNode', 'ConfChangeRemoveNode'];
    let applied = 0;
    for (let run = 0; run < 60; run++) {
      let cur = restoreConfig(cs({ voters: [1n] }), 1 as Index, 4, 0);
      for (let step = 0; step < 30; step++) {
        const n = 1 + rand(3);
        const changes: ConfChangeSingle[] = [];
        for (let k = 0; k < n; k++) changes.push({ type: types[rand(3)]!, nodeId: BigInt(1 + rand(6)) });
        const c = new Changer({
          config: cur.config,
          progress: cur.progress,
          lastIndex: 5 as Index,
          maxInflight: 4,
          maxInflightBytes: 0,
        });
        let next: ChangeResult;
        try {
          if (cur.config.voters.outgoing.size > 0) next = c.leaveJoint();
          else if (rand(2) === 0) next = c.simple(changes);
          else next = c.enterJoint(rand(2) === 0, changes);
        } catch (e) {
          expect(e).toBeInstanceOf(ConfChangeError);
          continue;
        }
        applied++;
        const state = toConfState(next.config);
        const restored = restoreConfig(state, 5 as Index, 4, 0);
        expect(toConfState(restored.config), describeConfState(state)).toEqual(state);
        expectConsistent(restored, state);
        expectConsistent(next, state);
        cur = next;
      }
    }
    // The walk did exercise the changer, not just its refusals.
    expect(applied).toBeGreaterThan(600);
  });

  it('refuses learnersNext or autoLeave outside a joint config', () => {
    expect(() => restoreConfig(cs({ voters: [1n], autoLeave: true }), 0 as Index, 8, 0)).toThrow(
      ConfChangeError,
    );
    expect(() => restoreConfig(cs({ voters: [1n, 2n], learnersNext: [2n] }), 0 as Index, 8, 0)).toThrow(
      /require a joint config/,
    );
  });

  it('refuses a node that is both learner and voter', () => {
    expect(() => restoreConfig(cs({ voters: [1n, 2n], learners: [2n] }), 0 as Index, 8, 0)).toThrow(
      /both a learner and a voter/,
    );
    expect(() =>
      restoreConfig(cs({ voters: [1n], votersOutgoing: [1n, 2n], learners: [2n] }), 0 as Index, 8, 0),
    ).toThrow(/both a learner and a voter/);
  });

  it('refuses learnersNext that are not outgoing voters', () => {
    expect(() =>
      restoreConfig(cs({ voters: [1n], votersOutgoing: [1n], learnersNext: [3n] }), 0 as Index, 8, 0),
    ).toThrow(/not outgoing/);
  });
});
