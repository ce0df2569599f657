/**
 * How a leader handles messages: append proposals, answer reads, drive replication from
 * follower acknowledgements, and run leader transfers.
 */

import { ProposalDroppedError } from './errors.js';
import type {
  Message,
  MsgAppResp,
  MsgHeartbeatResp,
  MsgProp,
  MsgReadIndex,
  MsgTransferLeader,
} from './messages.js';
import { jointVoteResult } from './quorum/joint.js';
import type { Raft } from './raft.js';
import { confChangeRefusal } from './raft-membership.js';
import type { Index, NodeId } from './types.js';
import { NONE } from './types.js';

/** The leader's step function. */
export function stepLeader(r: Raft, m: Message): ProposalDroppedError | undefined {
  switch (m.type) {
    case 'MsgProp':
      return handlePropose(r, m);
    case 'MsgReadIndex':
      handleReadIndex(r, m);
      return undefined;
    case 'MsgTransferLeader':
      handleTransferLeader(r, m);
      return undefined;
    case 'MsgAppResp':
      handleAppendResponse(r, m);
      return undefined;
    case 'MsgHeartbeatResp':
      handleHeartbeatResponse(r, m);
      return undefined;
    default:
      return undefined;
  }
}

/** Appends proposals (Raft §5.3), refusing them during a transfer or past the size limit. */
function handlePropose(r: Raft, m: MsgProp): ProposalDroppedError | undefined {
  if (m.entries.length === 0) throw new RangeError('raft: stepped an empty MsgProp');
  if (!r.trk.progress.has(r.id)) return new ProposalDroppedError('not a member');
  if (r.leadTransferee !== NONE) return new ProposalDroppedError('leader transfer in progress');
  let confIndex: Index | undefined;
  for (let i = 0; i < m.entries.length; i++) {
    const e = m.entries[i]!;
    if (e.type !== 'EntryConfChange') continue;
    const refusal = confChangeRefusal(r, e.change);
    if (refusal !== undefined) return refusal;
    if (confIndex !== undefined) return new ProposalDroppedError('conf change pending');
    confIndex = (r.raftLog.lastIndex() + i + 1) as Index;
  }
  if (!r.appendEntries(m.entries)) return new ProposalDroppedError('uncommitted log too large');
  if (confIndex !== undefined) r.pendingConfIndex = confIndex;
  // Coalesced: the appends go out once, when the host next asks for a Ready (see flushAppends).
  r.appendsPending = true;
  return undefined;
}

/**
 * ReadIndex (thesis §6.4): remember the commit index, then confirm leadership with a heartbeat
 * round (ReadOnlySafe) or trust the check-quorum lease (ReadOnlyLeaseBased). A new leader first
 * waits for an entry of its own term to commit, since until then its commit index may be stale.
 */
function handleReadIndex(r: Raft, m: MsgReadIndex): void {
  if (!r.committedEntryInCurrentTerm()) {
    r.pendingReadIndexMessages.push(m);
    return;
  }
  const req = { context: m.context, from: m.from };
  if (r.trk.isSingleton()) {
    r.respondToReadIndex(req, r.raftLog.committed);
    return;
  }
  if (r.cfg.readOnlyOption === 'ReadOnlyLeaseBased' || forwarderCompletesQuorum(r, m.from)) {
    r.respondToReadIndex(req, r.raftLog.committed);
    return;
  }
  r.readOnly.addRequest(r.raftLog.committed, req);
  // The leader acknowledges its own heartbeat.
  r.readOnly.recvAck(r.id, m.context);
  r.bcastHeartbeat();
}

/**
 * Config.forwarderAcksReadIndex: whether the follower `from` that forwarded a ReadIndex request,
 * with this leader, makes a quorum, so that the request needs no heartbeat round.
 *
 * Why that confirms leadership as the round would: a follower forwards a read only to its `lead`,
 * which it learns from messages the leader sends in its term, so it sent the request — after the
 * client asked — in a term no later than ours. A leader of a newer term needs a quorum of votes;
 * we gave none (we are still in our term) and neither had the follower when it sent, so at that
 * moment no newer leader existed, and our commit index then held every write acknowledged before
 * the client asked. A newer leader chosen since commits only after that moment, i.e. concurrently
 * with the read. Only this request is answered: one queued earlier may have arrived after the
 * follower sent, and still needs its round.
 */
function forwarderCompletesQuorum(r: Raft, from: NodeId): boolean {
  if (!r.cfg.forwarderAcksReadIndex || from === NONE || from === r.id) return false;
  const votes = new Map<NodeId, boolean>([
    [r.id, true],
    [from, true],
  ]);
  return jointVoteResult(r.trk.config.voters, votes) === 'VoteWon';
}

/** Thesis §3.10: bring the transferee up to date, then tell it to campaign at once. */
function handleTransferLeader(r: Raft, m: MsgTransferLeader): void {
  const transferee = m.transferee;
  const pr = r.trk.progress.get(transferee);
  if (pr === undefined || pr.isLearner) return;
  if (r.leadTransferee !== NONE) {
    if (r.leadTransferee === transferee) return; // the same transfer is already under way
    r.abortLeaderTransfer();
  }
  if (transferee === r.id) return; // already leader
  // The transfer must finish within an election timeout (checked in tickHeartbeat).
  r.electionElapsed = 0;
  r.leadTransferee = transferee;
  if (pr.match === r.raftLog.lastIndex()) {
    r.sendTimeoutNow(transferee);
  } else {
    r.sendAppend(transferee);
  }
}

function handleAppendResponse(r: Raft, m: MsgAppResp): void {
  const pr = r.trk.progress.get(m.from);
  if (pr === undefined) return;
  pr.recentActive = true;
  if (m.reject) {
    // Fast backtracking: jump to where the follower's hint can first match our log.
    let nextProbe = m.rejectHint;
    if (m.logTerm > 0) nextProbe = r.raftLog.findConflictByTerm(m.rejectHint, m.logTerm).index;
    if (pr.maybeDecrTo(m.index, nextProbe)) {
      if (pr.state === 'StateReplicate') pr.becomeProbe();
      r.sendAppend(m.from);
    }
    return;
  }
  const wasPaused = pr.isPaused();
  if (pr.maybeUpdate(m.index) || (pr.match === m.index && pr.state === 'StateProbe')) {
    if (pr.state === 'StateProbe') {
      pr.becomeReplicate();
    } else if (pr.state === 'StateSnapshot' && pr.match + 1 >= r.raftLog.firstIndex()) {
      // The snapshot (or a later append) caught the follower up to entries we still have.
      pr.becomeProbe();
      pr.becomeReplicate();
    } else if (pr.state === 'StateReplicate') {
      pr.inflights.freeLE(m.index);
    }
    if (r.maybeCommit()) {
      r.onCommitAdvanced();
    } else if (wasPaused) {
      // The window reopened: the follower may be owed entries or the commit index.
      r.sendAppend(m.from);
    }
    // Pipelining: keep the window full.
    while (r.maybeSendAppend(m.from, false)) {
      if (pr.state !== 'StateReplicate') break;
    }
    if (m.from === r.leadTransferee && pr.match === r.raftLog.lastIndex()) r.sendTimeoutNow(m.from);
  }
}

function handleHeartbeatResponse(r: Raft, m: MsgHeartbeatResp): void {
  const pr = r.trk.progress.get(m.from);
  if (pr === undefined) return;
  pr.recentActive = true;
  pr.msgAppFlowPaused = false;
  if (pr.match < r.raftLog.lastIndex() || pr.state === 'StateProbe') r.sendAppend(m.from);
  if (r.cfg.readOnlyOption !== 'ReadOnlySafe' || m.context.length === 0) return;
  const acks = r.readOnly.recvAck(m.from, m.context);
  if (acks === undefined) return;
  if (jointVoteResult(r.trk.config.voters, asVotes(acks)) !== 'VoteWon') return;
  for (const rs of r.readOnly.advance(m.context)) r.respondToReadIndex(rs.req, rs.index);
}

function asVotes(acks: ReadonlySet<NodeId>): Map<NodeId, boolean> {
  const votes = new Map<NodeId, boolean>();
  for (const id of acks) votes.set(id, true);
  return votes;
}

/** Leader: handle the host's report that a snapshot send finished or failed. */
export function reportSnapshot(r: Raft, id: NodeId, failed: boolean): void {
  const pr = r.trk.progress.get(id);
  if (r.state !== 'StateLeader' || pr === undefined || pr.state !== 'StateSnapshot') return;
  // On failure, forget the snapshot so probing restarts from match+1 (a new snapshot if needed).
  if (failed) pr.pendingSnapshot = 0 as Index;
  pr.becomeProbe();
  // Wait for a heartbeat response before probing, so a lost snapshot is not resent in a tight loop.
  pr.msgAppFlowPaused = true;
}

/** Leader: the host could not reach `id`; stop pipelining to it and probe instead. */
export function reportUnreachable(r: Raft, id: NodeId): void {
  const pr = r.trk.progress.get(id);
  if (r.state !== 'StateLeader' || pr === undefined) return;
  if (pr.state === 'StateReplicate') pr.becomeProbe();
}
