/**
 * Membership and snapshots on a Raft node: installing a leader's snapshot, computing and
 * installing a new configuration, and deciding whether a conf change may be proposed now.
 * Split from raft.ts; these are Raft's own rules, written as functions over it. Pure.
 */

import { type ChangeResult, Changer } from './confchange/changer.js';
import { restoreConfig } from './confchange/restore.js';
import { ConfChangeError, ProposalDroppedError } from './errors.js';
import type { Raft } from './raft.js';
import type { Progress } from './tracker/progress.js';
import type { TrackerConfig } from './tracker/tracker.js';
import { type ConfChange, type ConfState, NONE, type NodeId, type Snapshot, type Term } from './types.js';

/**
 * Follower: replaces the log with snapshot `s` if it is newer than what we have. Returns false
 * when it was ignored (old, or our log already contains its last entry).
 */
export function restoreSnapshot(r: Raft, s: Snapshot): boolean {
  const meta = s.metadata;
  if (meta.index <= r.raftLog.committed) return false;
  if (r.raftLog.applying > r.raftLog.applied) {
    // Committed entries handed out in a Ready are still being applied; they may hold conf changes
    // the host will apply with applyConfChange. Restoring now would switch the membership under
    // them. Decline; the leader re-sends the snapshot after the next heartbeat round.
    return false;
  }
  if (r.state !== 'StateFollower') {
    // Only a leader of a higher term can send snapshots; be safe and follow.
    r.becomeFollower((r.term + 1) as Term, NONE);
    return false;
  }
  const cs = meta.confState;
  const member = [cs.voters, cs.learners, cs.votersOutgoing].some((ids) => ids.includes(r.id));
  if (!member) return false; // a snapshot from a config we are not part of must not be adopted
  if (r.raftLog.matchTerm(meta.index, meta.term)) {
    // We already have the entry: fast-forward the commit index instead of dropping the log.
    r.raftLog.commitTo(meta.index);
    return false;
  }
  r.raftLog.restore(s);
  const restored = restoreConfig(cs, r.raftLog.lastIndex(), r.cfg.maxInflightMsgs, r.cfg.maxInflightBytes);
  switchToConfig(r, restored.config, restored.progress);
  return true;
}

/** Computes the configuration `cc` leads to, without installing it; throws ConfChangeError. */
export function computeConfChange(r: Raft, cc: ConfChange): ChangeResult {
  const changer = new Changer({
    config: r.trk.config,
    progress: r.trk.progress,
    lastIndex: r.raftLog.lastIndex(),
    maxInflight: r.cfg.maxInflightMsgs,
    maxInflightBytes: r.cfg.maxInflightBytes,
  });
  if (cc.changes.length === 0) return changer.leaveJoint();
  const joint = cc.transition !== 'auto' || cc.changes.length > 1;
  if (!joint) return changer.simple(cc.changes);
  return changer.enterJoint(cc.transition !== 'explicit', cc.changes);
}

/** Installs a configuration and reacts: step down if removed, commit or replicate if leader. */
export function switchToConfig(r: Raft, config: TrackerConfig, progress: Map<NodeId, Progress>): ConfState {
  r.trk.setConfig(config, progress);
  const cs = r.trk.confState();
  const pr = r.trk.progress.get(r.id);
  r.isLearner = pr?.isLearner ?? false;
  if ((pr === undefined || r.isLearner) && r.state === 'StateLeader') {
    // A leader removed or demoted steps down; the others elect a new leader (thesis §4.2.2).
    r.becomeFollower(r.term, NONE);
    return cs;
  }
  if (r.state !== 'StateLeader' || cs.voters.length === 0) return cs;
  if (r.maybeCommit()) {
    r.onCommitAdvanced();
  } else {
    for (const id of r.trk.ids) if (id !== r.id) r.maybeSendAppend(id, false);
  }
  if (r.leadTransferee !== NONE && !r.trk.isVoter(r.leadTransferee)) r.abortLeaderTransfer();
  return cs;
}

/** Whether `cc` may be proposed now (one uncommitted change at a time, joint rules, validity). */
export function confChangeRefusal(r: Raft, cc: ConfChange): ProposalDroppedError | undefined {
  const alreadyPending = r.pendingConfIndex > r.raftLog.applied;
  if (alreadyPending) return new ProposalDroppedError('conf change pending');
  const alreadyJoint = r.trk.config.voters.outgoing.size > 0;
  const wantsLeaveJoint = cc.changes.length === 0;
  if (alreadyJoint !== wantsLeaveJoint) return new ProposalDroppedError('invalid conf change');
  try {
    computeConfChange(r, cc);
  } catch (e) {
    if (e instanceof ConfChangeError) return new ProposalDroppedError('invalid conf change');
    throw e;
  }
  return undefined;
}
