/**
 * Majority quorums: which index a majority has acknowledged, and how a vote stands.
 * Pure functions over sets and maps. No state machine code.
 */

import type { Index, NodeId } from '../types.js';

/** Looks up the index a voter has acknowledged (its `match`), or undefined if unknown. */
export type AckedIndexer = (id: NodeId) => Index | undefined;

/** Outcome of counting votes: won, lost, or still waiting for answers. */
export type VoteResult = 'VoteWon' | 'VoteLost' | 'VotePending';

/** A set of voters, any majority of which decides. */
export type MajorityConfig = ReadonlySet<NodeId>;

/**
 * The largest index acknowledged by a majority of `voters`. An empty config returns
 * Number.MAX_SAFE_INTEGER so that, in a joint config, only the other half decides.
 *
 * Example: voters {1,2,3} with acked {1: 5, 2: 7, 3: 3} → sorted [3,5,7] → a majority (2) has ≥ 5.
 */
export function majorityCommittedIndex(voters: MajorityConfig, acked: AckedIndexer): Index {
  const n = voters.size;
  if (n === 0) return Number.MAX_SAFE_INTEGER as Index;
  // Insertion sort: configs have a handful of voters, and Array#sort with a comparator costs more
  // than the whole rest of this function (etcd-io/raft does the same for n <= 7).
  const indexes: number[] = new Array(n);
  let k = 0;
  for (const id of voters) {
    const v = acked(id) ?? 0;
    let j = k++;
    for (; j > 0 && indexes[j - 1]! > v; j--) indexes[j] = indexes[j - 1]!;
    indexes[j] = v;
  }
  // The (n - (n/2+1))-th smallest is the largest index that n/2+1 voters have reached.
  return indexes[n - (Math.floor(n / 2) + 1)]! as Index;
}

/**
 * Counts `votes` (true = granted) of `voters`. Won once a majority granted, lost once a majority
 * can no longer be reached. An empty config wins, so joint configs defer to the other half.
 */
export function majorityVoteResult(voters: MajorityConfig, votes: ReadonlyMap<NodeId, boolean>): VoteResult {
  if (voters.size === 0) return 'VoteWon';
  let granted = 0;
  let missing = 0;
  for (const id of voters) {
    const v = votes.get(id);
    if (v === undefined) missing++;
    else if (v) granted++;
  }
  const q = Math.floor(voters.size / 2) + 1;
  if (granted >= q) return 'VoteWon';
  if (granted + missing >= q) return 'VotePending';
  return 'VoteLost';
}
