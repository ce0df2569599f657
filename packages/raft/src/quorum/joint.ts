/**
 * Joint quorums (thesis §4.3): during a membership change, every decision needs a majority of the
 * incoming AND of the outgoing voters, so no window exists where two disjoint majorities decide.
 * Pure functions.
 */

import type { Index, NodeId } from '../types.js';
import {
  type AckedIndexer,
  type MajorityConfig,
  majorityCommittedIndex,
  majorityVoteResult,
  type VoteResult,
} from './majority.js';

/** Incoming voters, and outgoing voters (empty when not in a joint configuration). */
export interface JointConfig {
  readonly incoming: MajorityConfig;
  readonly outgoing: MajorityConfig;
}

/** Every voter of either half. */
export function jointVoterIds(c: JointConfig): Set<NodeId> {
  const ids = new Set(c.incoming);
  for (const id of c.outgoing) ids.add(id);
  return ids;
}

/** The largest index committed by both halves: the smaller of the two majorities' indexes. */
export function jointCommittedIndex(c: JointConfig, acked: AckedIndexer): Index {
  const a = majorityCommittedIndex(c.incoming, acked);
  const b = majorityCommittedIndex(c.outgoing, acked);
  return Math.min(a, b) as Index;
}

/** Won only if both halves won; lost if either lost. */
export function jointVoteResult(c: JointConfig, votes: ReadonlyMap<NodeId, boolean>): VoteResult {
  const a = majorityVoteResult(c.incoming, votes);
  const b = majorityVoteResult(c.outgoing, votes);
  if (a === b) return a;
  if (a === 'VoteLost' || b === 'VoteLost') return 'VoteLost';
  return 'VotePending';
}
