/**
 * How a follower handles messages: accept appends, heartbeats and snapshots from the leader,
 * forward proposals, reads and transfer requests to it, and campaign on MsgTimeoutNow.
 * Also the append/heartbeat/snapshot handlers a candidate shares when it discovers a leader.
 */

import { ProposalDroppedError } from './errors.js';
import { forwardProposal } from './forward-proposals.js';
import type { Message, MsgApp, MsgHeartbeat, MsgSnap } from './messages.js';
import type { Raft } from './raft.js';
import { type Index, NONE } from './types.js';

/** The follower's step function. */
export function stepFollower(r: Raft, m: Message): ProposalDroppedError | undefined {
  switch (m.type) {
    case 'MsgProp':
      if (r.lead === NONE) return new ProposalDroppedError('no leader');
      if (r.cfg.disableProposalForwarding) return new ProposalDroppedError('proposal forwarding disabled');
      forwardProposal(r, m.entries);
      return undefined;
    case 'MsgApp':
    case 'MsgHeartbeat':
    case 'MsgSnap':
      // Any of these comes from the leader of our term: it resets the election timer.
      r.electionElapsed = 0;
      r.lead = m.from;
      if (m.type === 'MsgApp') handleAppendEntries(r, m);
      else if (m.type === 'MsgHeartbeat') handleHeartbeat(r, m);
      else handleSnapshot(r, m);
      return undefined;
    case 'MsgTransferLeader':
      if (r.lead === NONE) return new ProposalDroppedError('no leader');
      r.send({ ...m, from: r.id, to: r.lead, term: r.term });
      return undefined;
    case 'MsgTimeoutNow':
      // The leader asked us to take over (thesis §3.10): campaign at once, ignoring leases.
      r.hup('CampaignTransfer');
      return undefined;
    case 'MsgReadIndex':
      if (r.lead === NONE) return new ProposalDroppedError('no leader');
      r.send({ ...m, from: r.id, to: r.lead, term: 0 as typeof m.term });
      return undefined;
    case 'MsgReadIndexResp':
      r.readStates.push({ index: m.index, requestCtx: m.context });
      return undefined;
    default:
      return undefined;
  }
}

/**
 * Raft §5.3: append if our log matches at (m.index, m.logTerm); otherwise reject with a hint —
 * the last index that may match given the leader's term there — so the leader can skip a whole
 * term per round trip.
 */
export function handleAppendEntries(r: Raft, m: MsgApp): void {
  if (m.index < r.raftLog.committed) {
    r.send(r.appResp(m.from, r.raftLog.committed, false));
    return;
  }
  const lastnewi = r.raftLog.maybeAppend(m.index, m.logTerm, m.commit, m.entries);
  if (lastnewi !== undefined) {
    r.send(r.appResp(m.from, lastnewi, false));
    return;
  }
  const last = r.raftLog.lastIndex();
  const probe = Math.min(m.index, last) as Index;
  const hint = r.raftLog.findConflictByTerm(probe, m.logTerm);
  r.send(r.appResp(m.from, m.index, true, hint.index, hint.term));
}

/** A heartbeat carries a commit index we are known to hold; echo its ReadIndex context. */
export function handleHeartbeat(r: Raft, m: MsgHeartbeat): void {
  r.raftLog.commitTo(m.commit);
  r.send({ type: 'MsgHeartbeatResp', from: r.id, to: m.from, term: r.term, context: m.context });
}

/** Installs a snapshot from the leader (§7) and reports how far our log now reaches. */
export function handleSnapshot(r: Raft, m: MsgSnap): void {
  if (r.restore(m.snapshot)) {
    r.send(r.appResp(m.from, r.raftLog.lastIndex(), false));
  } else {
    r.send(r.appResp(m.from, r.raftLog.committed, false));
  }
}
