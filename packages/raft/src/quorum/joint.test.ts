/**
 * Joint quorums: worked examples, then property tests against oracles that look at both halves
 * directly (count per candidate index; enumerate every way the missing votes could go).
 */

import { describe, expect, it } from 'vitest';
import { seededRandom } from '../rand.js';
import type { Index, NodeId } from '../types.js';
import { type JointConfig, jointCommittedIndex, jointVoteResult, jointVoterIds } from './joint.js';
import {
  type AckedIndexer,
  majorityCommittedIndex,
  majorityVoteResult,
  type VoteResult,
} from './majority.js';

const MAX = Number.MAX_SAFE_INTEGER;

function joint(incoming: number[], outgoing: number[]): JointConfig {
  return { incoming: new Set(incoming.map(BigInt)), outgoing: new Set(outgoing.map(BigInt)) };
}

function acked(m: Record<number, number>): AckedIndexer {
  return (id) => m[Number(id)] as Index | undefined;
}

function votes(m: Record<number, boolean>): Map<NodeId, boolean> {
  return new Map(Object.entries(m).map(([k, v]) => [BigInt(k), v]));
}

/** A strict majority of `half` has a value satisfying `ok`; an empty half is satisfied vacuously. */
function majorityOf(half: ReadonlySet<NodeId>, ok: (id: NodeId) => boolean): boolean {
  if (half.size === 0) return true;
  let n = 0;
  for (const id of half) if (ok(id)) n++;
  return 2 * n > half.size;
}

/** Oracle: for each candidate index, ask both halves; keep the largest both agree on. */
function oracleCommitted(c: JointConfig, ack: AckedIndexer): number {
  if (c.incoming.size === 0 && c.outgoing.size === 0) return MAX;
  const candidates = new Set<number>([0]);
  for (const id of jointVoterIds(c)) candidates.add(ack(id) ?? 0);
  let best = -1;
  for (const cand of candidates) {
    const reached = (id: NodeId) => (ack(id) ?? 0) >= cand;
    if (majorityOf(c.incoming, reached) && majorityOf(c.outgoing, reached) && cand > best) best = cand;
  }
  return best;
}

/** Oracle: enumerate every completion of the missing votes; won in all, none, or some. */
function oracleVote(c: JointConfig, vm: ReadonlyMap<NodeId, boolean>): VoteResult {
  const missing = [...jointVoterIds(c)].filter((id) => !vm.has(id));
  const total = 2 ** missing.length;
  let wins = 0;
  for (let mask = 0; mask < total; mask++) {
    const granted = (id: NodeId) => {
      const i = missing.indexOf(id);
      return i < 0 ? vm.get(id) === true : (mask & (1 << i)) !== 0;
    };
    if (majorityOf(c.incoming, granted) && majorityOf(c.outgoing, granted)) wins++;
  }
  if (wins === total) return 'VoteWon';
  if (wins === 0) return 'VoteLost';
  return 'VotePending';
}

function randomHalf(rand: (n: number) => number, maxSize: number, idSpace: number): Set<NodeId> {
  const n = rand(maxSize + 1);
  const s = new Set<NodeId>();
  while (s.size < n) s.add(BigInt(1 + rand(idSpace)));
  return s;
}

describe('jointVoterIds', () => {
  it('is the union of both halves', () => {
    expect([...jointVoterIds(joint([1, 2, 3], [3, 4]))].sort()).toEqual([1n, 2n, 3n, 4n]);
    expect(jointVoterIds(joint([], [])).size).toBe(0);
  });
});

describe('jointCommittedIndex', () => {
  it('equals the majority index when not joint', () => {
    expect(jointCommittedIndex(joint([1, 2, 3], []), acked({ 1: 5, 2: 7, 3: 3 }))).toBe(5);
  });

  it('takes the smaller of the two halves', () => {
    // incoming (1 2 3) has 7 on a majority; outgoing (3 4 5) only 4.
    const a = acked({ 1: 7, 2: 8, 3: 4, 4: 4, 5: 1 });
    expect(jointCommittedIndex(joint([1, 2, 3], [3, 4, 5]), a)).toBe(4);
    expect(jointCommittedIndex(joint([3, 4, 5], [1, 2, 3]), a)).toBe(4);
  });

  it('is not fooled by a majority of the union that is not a majority of each half', () => {
    // 1, 2, 4 (3 of 5 in the union) have 10, but outgoing (3 4 5) has only one of them.
    const a = acked({ 1: 10, 2: 10, 3: 2, 4: 10, 5: 2 });
    expect(jointCommittedIndex(joint([1, 2, 3], [3, 4, 5]), a)).toBe(2);
  });

  it('returns MAX_SAFE_INTEGER only when both halves are empty', () => {
    expect(jointCommittedIndex(joint([], []), acked({}))).toBe(MAX);
    expect(jointCommittedIndex(joint([], [1]), acked({ 1: 3 }))).toBe(3);
  });

  it('matches the per-candidate oracle on 5,000 seeded random joint configs', () => {
    const rand = seededRandom(99);
    for (let trial = 0; trial < 5000; trial++) {
      const c: JointConfig = { incoming: randomHalf(rand, 6, 9), outgoing: randomHalf(rand, 6, 9) };
      const m = new Map<NodeId, Index>();
      for (let id = 1n; id <= 9n; id++) if (rand(6) !== 0) m.set(id, rand(10) as Index);
      const ack: AckedIndexer = (id) => m.get(id);
      const msg = `incoming=${[...c.incoming]} outgoing=${[...c.outgoing]} acked=${[...m]}`;
      expect(jointCommittedIndex(c, ack), msg).toBe(oracleCommitted(c, ack));
    }
  });

  it('agrees with the plain majority when both halves are the same set', () => {
    const rand = seededRandom(3);
    for (let trial = 0; trial < 1000; trial++) {
      const half = randomHalf(rand, 7, 9);
      const m = new Map<NodeId, Index>();
      for (const id of half) m.set(id, rand(20) as Index);
      const ack: AckedIndexer = (id) => m.get(id);
      expect(jointCommittedIndex({ incoming: half, outgoing: new Set(half) }, ack)).toBe(
        majorityCommittedIndex(half, ack),
      );
    }
  });
});

describe('jointVoteResult', () => {
  it('needs both halves to win', () => {
    const c = joint([1, 2, 3], [3, 4, 5]);
    expect(jointVoteResult(c, votes({ 1: true, 2: true }))).toBe('VotePending');
    expect(jointVoteResult(c, votes({ 1: true, 2: true, 3: true }))).toBe('VotePending');
    expect(jointVoteResult(c, votes({ 1: true, 2: true, 3: true, 4: true }))).toBe('VoteWon');
    expect(jointVoteResult(c, votes({ 1: true, 2: true, 4: false, 5: false }))).toBe('VoteLost');
    expect(jointVoteResult(c, votes({ 1: false, 2: false, 4: true, 5: true }))).toBe('VoteLost');
  });

  it('is the majority result when not joint', () => {
    expect(jointVoteResult(joint([1, 2, 3], []), votes({ 1: true, 2: true }))).toBe('VoteWon');
    expect(jointVoteResult(joint([1], []), votes({ 1: false }))).toBe('VoteLost');
  });

  it('matches the enumerate-all-outcomes oracle on 5,000 seeded random joint configs', () => {
    const rand = seededRandom(1234);
    for (let trial = 0; trial < 5000; trial++) {
      const c: JointConfig = { incoming: randomHalf(rand, 5, 8), outgoing: randomHalf(rand, 5, 8) };
      const vm = new Map<NodeId, boolean>();
      for (let id = 1n; id <= 8n; id++) {
        const r = rand(3);
        if (r !== 2) vm.set(id, r === 0);
      }
      const msg = `incoming=${[...c.incoming]} outgoing=${[...c.outgoing]} votes=${[...vm]}`;
      expect(jointVoteResult(c, vm), msg).toBe(oracleVote(c, vm));
      // And it is never more optimistic than either half alone.
      if (jointVoteResult(c, vm) === 'VoteWon') {
        expect(majorityVoteResult(c.incoming, vm)).toBe('VoteWon');
        expect(majorityVoteResult(c.outgoing, vm)).toBe('VoteWon');
      }
    }
  });
});
