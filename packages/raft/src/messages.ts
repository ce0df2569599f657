/**
 * The messages Raft nodes exchange, as a discriminated union keyed by `type`, with etcd's names.
 *
 * Only network messages are here: local events (tick, campaign, propose, transfer) are RawNode
 * methods, so a message off the wire can never impersonate one. Pure. No I/O.
 */

import type { Entry, Index, NodeId, Snapshot, Term } from './types.js';

interface Envelope {
  readonly from: NodeId;
  readonly to: NodeId;
  /** The sender's term; 0 for messages that are not part of the term protocol (MsgProp, …). */
  readonly term: Term;
}

/** Leader → follower: append `entries` after (index, logTerm) and learn `commit` (Raft §5.3). */
export interface MsgApp extends Envelope {
  readonly type: 'MsgApp';
  /** Index of the entry immediately preceding `entries`. */
  readonly index: Index;
  /** Term of the entry at `index`. */
  readonly logTerm: Term;
  readonly entries: readonly Entry[];
  readonly commit: Index;
}

/** Follower → leader: the outcome of a MsgApp or MsgSnap. */
export interface MsgAppResp extends Envelope {
  readonly type: 'MsgAppResp';
  /** Accepted: the follower's log now matches the leader's up to `index`. Rejected: the probed index. */
  readonly index: Index;
  readonly reject: boolean;
  /** On reject: the follower's guess of the last index that may match (fast backtracking). */
  readonly rejectHint: Index;
  /** On reject: the term of the follower's entry at `rejectHint`. */
  readonly logTerm: Term;
}

/** Candidate → voters: request a vote (Raft §5.2) or a pre-vote (thesis §9.6). */
export interface MsgVote extends Envelope {
  readonly type: 'MsgVote' | 'MsgPreVote';
  /** Index of the candidate's last log entry. */
  readonly index: Index;
  /** Term of the candidate's last log entry. */
  readonly logTerm: Term;
  /** Set when the election follows a leader transfer: voters ignore their leader lease. */
  readonly transfer: boolean;
}

/** Voter → candidate: the vote or pre-vote. */
export interface MsgVoteResp extends Envelope {
  readonly type: 'MsgVoteResp' | 'MsgPreVoteResp';
  readonly reject: boolean;
}

/** Leader → follower: keep leadership alive, share the commit index, confirm ReadIndex rounds. */
export interface MsgHeartbeat extends Envelope {
  readonly type: 'MsgHeartbeat';
  /** min(leader commit, follower match): never more than the follower is known to have. */
  readonly commit: Index;
  /** The ReadIndex context this heartbeat confirms, or empty. */
  readonly context: Uint8Array;
}

/** Follower → leader: answer to a heartbeat, echoing its context. */
export interface MsgHeartbeatResp extends Envelope {
  readonly type: 'MsgHeartbeatResp';
  readonly context: Uint8Array;
}

/** Leader → follower: install a snapshot because the entries it needs were compacted. */
export interface MsgSnap extends Envelope {
  readonly type: 'MsgSnap';
  readonly snapshot: Snapshot;
}

/** Leader → transferee: start an election now, ignoring leases (thesis §3.10). */
export interface MsgTimeoutNow extends Envelope {
  readonly type: 'MsgTimeoutNow';
}

/** Follower → leader: proposals forwarded because only the leader appends. */
export interface MsgProp extends Envelope {
  readonly type: 'MsgProp';
  readonly entries: readonly Entry[];
}

/** Follower → leader: a ReadIndex request forwarded to the leader. */
export interface MsgReadIndex extends Envelope {
  readonly type: 'MsgReadIndex';
  readonly context: Uint8Array;
}

/** Leader → follower: the read index for a forwarded ReadIndex request. */
export interface MsgReadIndexResp extends Envelope {
  readonly type: 'MsgReadIndexResp';
  readonly index: Index;
  readonly context: Uint8Array;
}

/** Follower → leader: a leader transfer request forwarded to the leader. */
export interface MsgTransferLeader extends Envelope {
  readonly type: 'MsgTransferLeader';
  readonly transferee: NodeId;
}

/** Any message a Raft node sends to another. */
export type Message =
  | MsgApp
  | MsgAppResp
  | MsgVote
  | MsgVoteResp
  | MsgHeartbeat
  | MsgHeartbeatResp
  | MsgSnap
  | MsgTimeoutNow
  | MsgProp
  | MsgReadIndex
  | MsgReadIndexResp
  | MsgTransferLeader;

/** The `type` tag of any message. */
export type MessageType = Message['type'];

/** Every message type, for validators and exhaustive tests. */
export const MESSAGE_TYPES: readonly MessageType[] = [
  'MsgApp',
  'MsgAppResp',
  'MsgVote',
  'MsgPreVote',
  'MsgVoteResp',
  'MsgPreVoteResp',
  'MsgHeartbeat',
  'MsgHeartbeatResp',
  'MsgSnap',
  'MsgTimeoutNow',
  'MsgProp',
  'MsgReadIndex',
  'MsgReadIndexResp',
  'MsgTransferLeader',
];

/** Responses carry the term they answer, so a stale one must never change our term. */
export function isResponse(m: Message): boolean {
  return (
    m.type === 'MsgAppResp' ||
    m.type === 'MsgVoteResp' ||
    m.type === 'MsgPreVoteResp' ||
    m.type === 'MsgHeartbeatResp' ||
    m.type === 'MsgReadIndexResp'
  );
}
