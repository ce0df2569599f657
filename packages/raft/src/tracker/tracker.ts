/**
 * ProgressTracker: the membership configuration together with every member's Progress and the
 * votes of the current election. Answers "what is committed", "who won", "is a quorum active".
 */

import { type JointConfig, jointCommittedIndex, jointVoteResult } from '../quorum/joint.js';
import type { VoteResult } from '../quorum/majority.js';
import type { ConfState, Index, NodeId } from '../types.js';
import type { Progress } from './progress.js';

/** The membership configuration, as sets (ConfState is its serialized form). */
export interface TrackerConfig {
  readonly voters: JointConfig;
  readonly learners: ReadonlySet<NodeId>;
  /** Outgoing voters that become learners when the joint config is left. */
  readonly learnersNext: ReadonlySet<NodeId>;
  readonly autoLeave: boolean;
}

/** A configuration with no members. */
export const EMPTY_TRACKER_CONFIG: TrackerConfig = {
  voters: { incoming: new Set(), outgoing: new Set() },
  learners: new Set(),
  learnersNext: new Set(),
  autoLeave: false,
};

const byId = (a: NodeId, b: NodeId): number => (a < b ? -1 : a > b ? 1 : 0);

/** Sorted IDs, so messages and descriptions come out in a deterministic order. */
export function sortedIds(ids: Iterable<NodeId>): NodeId[] {
  return [...ids].sort(byId);
}

/** Serializes a TrackerConfig as a ConfState (sorted IDs). */
export function toConfState(c: TrackerConfig): ConfState {
  return {
    voters: sortedIds(c.voters.incoming),
    learners: sortedIds(c.learners),
    votersOutgoing: sortedIds(c.voters.outgoing),
    learnersNext: sortedIds(c.learnersNext),
    autoLeave: c.autoLeave,
  };
}

/** Membership, progress of every member, and election votes. */
export class ProgressTracker {
  config: TrackerConfig = EMPTY_TRACKER_CONFIG;
  /** Invariant: has an entry for every voter (either half), learner and learnerNext. */
  progress: Map<NodeId, Progress> = new Map();
  /** Sorted member IDs, refreshed whenever the configuration changes. */
  ids: NodeId[] = [];
  readonly votes: Map<NodeId, boolean> = new Map();

  /** Installs a new configuration and its progress map. */
  setConfig(config: TrackerConfig, progress: Map<NodeId, Progress>): void {
    this.config = config;
    this.progress = progress;
    this.ids = sortedIds(progress.keys());
  }

  /** The configuration as a ConfState. */
  confState(): ConfState {
    return toConfState(this.config);
  }

  /** True when there is exactly one voter and no joint config: it alone decides. */
  isSingleton(): boolean {
    return this.config.voters.incoming.size === 1 && this.config.voters.outgoing.size === 0;
  }

  /** Whether `id` is a voter in either half of the configuration. */
  isVoter(id: NodeId): boolean {
    return this.config.voters.incoming.has(id) || this.config.voters.outgoing.has(id);
  }

  /** The largest index replicated on a quorum, from every voter's `match`. */
  committed(): Index {
    return jointCommittedIndex(this.config.voters, this.matchOf);
  }

  /** `match` of a member, as an AckedIndexer (one closure for the tracker's life, not per call). */
  private readonly matchOf = (id: NodeId): Index | undefined => this.progress.get(id)?.match;

  /** Whether a quorum of voters was recently heard from (check-quorum, thesis §6.2). */
  quorumActive(): boolean {
    const active = new Map<NodeId, boolean>();
    for (const [id, pr] of this.progress) {
      if (!pr.isLearner) active.set(id, pr.recentActive);
    }
    return jointVoteResult(this.config.voters, active) === 'VoteWon';
  }

  /** Clears the votes of the previous election. */
  resetVotes(): void {
    this.votes.clear();
  }

  /** Records `id`'s vote unless it already voted. */
  recordVote(id: NodeId, granted: boolean): void {
    if (!this.votes.has(id)) this.votes.set(id, granted);
  }

  /** Counts the votes of voters: granted, rejected, and the outcome. */
  tallyVotes(): { granted: number; rejected: number; result: VoteResult } {
    let granted = 0;
    let rejected = 0;
    for (const [id, pr] of this.progress) {
      if (pr.isLearner) continue;
      const v = this.votes.get(id);
      if (v === undefined) continue;
      if (v) granted++;
      else rejected++;
    }
    return { granted, rejected, result: jointVoteResult(this.config.voters, this.votes) };
  }
}
