/**
 * How a candidate or pre-candidate handles messages: count votes, and fall back to follower when
 * a leader of our term shows up (Raft §5.2).
 */

import { ProposalDroppedError } from './errors.js';
import type { Message } from './messages.js';
import type { Raft } from './raft.js';
import { handleAppendEntries, handleHeartbeat, handleSnapshot } from './step-follower.js';
import { NONE } from './types.js';

/** The (pre-)candidate's step function. */
export function stepCandidate(r: Raft, m: Message): ProposalDroppedError | undefined {
  // Only responses to our own kind of election count: a stale MsgVoteResp must not be taken as a
  // pre-vote, or vice versa.
  const myVoteResp = r.state === 'StatePreCandidate' ? 'MsgPreVoteResp' : 'MsgVoteResp';
  switch (m.type) {
    case 'MsgProp':
    case 'MsgReadIndex':
    case 'MsgTransferLeader':
      return new ProposalDroppedError('no leader');
    case 'MsgApp':
      r.becomeFollower(m.term, m.from);
      handleAppendEntries(r, m);
      return undefined;
    case 'MsgHeartbeat':
      r.becomeFollower(m.term, m.from);
      handleHeartbeat(r, m);
      return undefined;
    case 'MsgSnap':
      r.becomeFollower(m.term, m.from);
      handleSnapshot(r, m);
      return undefined;
    case 'MsgVoteResp':
    case 'MsgPreVoteResp': {
      if (m.type !== myVoteResp) return undefined;
      const { result } = r.poll(m.from, !m.reject);
      if (result === 'VoteWon') {
        if (r.state === 'StatePreCandidate') {
          r.campaign('CampaignElection');
        } else {
          r.becomeLeader();
          r.bcastAppend();
        }
      } else if (result === 'VoteLost') {
        // A pre-vote loss leaves our term untouched; a real loss keeps the new term we started.
        r.becomeFollower(r.term, NONE);
      }
      return undefined;
    }
    default:
      return undefined;
  }
}
