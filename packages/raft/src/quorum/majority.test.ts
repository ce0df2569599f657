/**
 * Majority quorums: worked examples, then property tests that compare the sort-and-pick
 * committed index and the counting vote result with dumb oracles over seeded random configs.
 */

import { describe, expect, it } from 'vitest';
import { seededRandom } from '../rand.js';
import type { Index, NodeId } from '../types.js';
import {
  type AckedIndexer,
  majorityCommittedIndex,
  majorityVoteResult,
  type VoteResult,
} from './majority.js';

const MAX = Number.MAX_SAFE_INTEGER;

function voters(...ids: number[]): Set<NodeId> {
  return new Set(ids.map(BigInt));
}

function acked(m: Record<number, number>): AckedIndexer {
  return (id) => m[Number(id)] as Index | undefined;
}

function votes(m: Record<number, boolean>): Map<NodeId, boolean> {
  return new Map(Object.entries(m).map(([k, v]) => [BigInt(k), v]));
}

/** Oracle: the largest candidate index that at least a strict majority of voters has acked. */
function oracleCommitted(vs: ReadonlySet<NodeId>, ack: AckedIndexer): number {
  if (vs.size === 0) return MAX;
  const candidates = new Set<number>([0]);
  for (const id of vs) candidates.add(ack(id) ?? 0);
  let best = -1;
  for (const c of candidates) {
    let n = 0;
    for (const id of vs) if ((ack(id) ?? 0) >= c) n++;
    if (2 * n > vs.size && c > best) best = c;
  }
  return best;
}

/**
 * Oracle: try every way the missing voters could still vote. Won if every completion wins,
 * lost if none does, pending otherwise. An empty config has nobody to ask: won.
 */
function oracleVote(vs: ReadonlySet<NodeId>, vm: ReadonlyMap<NodeId, boolean>): VoteResult {
  if (vs.size === 0) return 'VoteWon';
  const missing = [...vs].filter((id) => !vm.has(id));
  let wins = 0;
  const total = 2 ** missing.length;
  for (let mask = 0; mask < total; mask++) {
    let yes = 0;
    for (const id of vs) {
      const i = missing.indexOf(id);
      const v = i < 0 ? vm.get(id) === true : (mask & (1 << i)) !== 0;
      if (v) yes++;
    }
    if (2 * yes > vs.size) wins++;
  }
  if (wins === total) return 'VoteWon';
  if (wins === 0) return 'VoteLost';
  return 'VotePending';
}

describe('majorityCommittedIndex', () => {
  it('picks the largest index a majority has reached (worked example in majority.ts)', () => {
    expect(majorityCommittedIndex(voters(1, 2, 3), acked({ 1: 5, 2: 7, 3: 3 }))).toBe(5);
  });

  it('returns MAX_SAFE_INTEGER for an empty config, so the other half of a joint config decides', () => {
    expect(majorityCommittedIndex(voters(), acked({ 1: 5 }))).toBe(MAX);
  });

  it('counts a single voter alone', () => {
    expect(majorityCommittedIndex(voters(1), acked({ 1: 9 }))).toBe(9);
  });

  it('needs 3 of 4 in an even config', () => {
    expect(majorityCommittedIndex(voters(1, 2, 3, 4), acked({ 1: 1, 2: 2, 3: 3, 4: 4 }))).toBe(2);
    expect(majorityCommittedIndex(voters(1, 2), acked({ 1: 10, 2: 4 }))).toBe(4);
  });

  it('treats voters with no acked index as 0', () => {
    expect(majorityCommittedIndex(voters(1, 2, 3), acked({ 1: 12 }))).toBe(0);
    expect(majorityCommittedIndex(voters(1, 2, 3), acked({ 1: 12, 3: 8 }))).toBe(8);
  });

  it('ignores acked indexes of non-voters', () => {
    expect(majorityCommittedIndex(voters(1, 2, 3), acked({ 1: 1, 2: 1, 4: 100, 5: 100 }))).toBe(1);
  });

  it('matches the counting oracle on 5,000 seeded random configs', () => {
    const rand = seededRandom(20240601);
    for (let trial = 0; trial < 5000; trial++) {
      const n = rand(8); // 0..7 voters
      const vs = new Set<NodeId>();
      while (vs.size < n) vs.add(BigInt(1 + rand(10)));
      const m = new Map<NodeId, Index>();
      for (let id = 1n; id <= 10n; id++) {
        // Some voters have no entry at all; indexes collide often so ties are exercised.
        if (rand(5) !== 0) m.set(id, rand(12) as Index);
      }
      const ack: AckedIndexer = (id) => m.get(id);
      const got = majorityCommittedIndex(vs, ack);
      expect(got, `voters=${[...vs]} acked=${[...m]}`).toBe(oracleCommitted(vs, ack));
    }
  });
});

describe('majorityVoteResult', () => {
  it('wins an empty config', () => {
    expect(majorityVoteResult(voters(), votes({}))).toBe('VoteWon');
  });

  it('needs a strict majority to win, and loses once a majority is out of reach', () => {
    const c = voters(1, 2, 3);
    expect(majorityVoteResult(c, votes({}))).toBe('VotePending');
    expect(majorityVoteResult(c, votes({ 1: true }))).toBe('VotePending');
    expect(majorityVoteResult(c, votes({ 1: true, 2: true }))).toBe('VoteWon');
    expect(majorityVoteResult(c, votes({ 1: true, 2: false }))).toBe('VotePending');
    expect(majorityVoteResult(c, votes({ 1: false, 2: false }))).toBe('VoteLost');
    expect(majorityVoteResult(c, votes({ 1: true, 2: false, 3: false }))).toBe('VoteLost');
  });

  it('cannot win a 4-voter config with 2 votes', () => {
    const c = voters(1, 2, 3, 4);
    expect(majorityVoteResult(c, votes({ 1: true, 2: true }))).toBe('VotePending');
    expect(majorityVoteResult(c, votes({ 1: true, 2: true, 3: false, 4: false }))).toBe('VoteLost');
    expect(majorityVoteResult(c, votes({ 1: true, 2: true, 3: true }))).toBe('VoteWon');
  });

  it('ignores votes of non-voters', () => {
    expect(majorityVoteResult(voters(1, 2, 3), votes({ 1: true, 4: true, 5: true }))).toBe('VotePending');
  });

  it('matches the enumerate-all-outcomes oracle on 5,000 seeded random configs', () => {
    const rand = seededRandom(7);
    for (let trial = 0; trial < 5000; trial++) {
      const n = rand(8);
      const vs = new Set<NodeId>();
      while (vs.size < n) vs.add(BigInt(1 + rand(9)));
      const vm = new Map<NodeId, boolean>();
      for (let id = 1n; id <= 9n; id++) {
        const r = rand(3);
        if (r !== 2) vm.set(id, r === 0);
      }
      expect(majorityVoteResult(vs, vm), `voters=${[...vs]} votes=${[...vm]}`).toBe(oracleVote(vs, vm));
    }
  });
});
