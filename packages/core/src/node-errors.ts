/**
 * Errors a node's client API raises, named and worded as etcd's server errors
 * (etcdserver/errors.go, membership/errors.go) so callers and the gRPC layer can map them 1:1.
 * `code` is etcd's Go error name; the message is etcd's wire text.
 */

import { CoreError } from './errors.js';

/**
 * A CORRUPT alarm is raised: etcd's corrupt applier refuses every write (put, delete, a txn that
 * writes, compaction, lease grant and revoke) until the alarm is disarmed (ErrCorrupt).
 */
export class CorruptClusterError extends CoreError {
  readonly code = 'ErrCorrupt';
  constructor() {
    super('etcdserver: corrupt cluster');
    this.name = 'CorruptClusterError';
  }
}

/** A request did not complete within its timeout (etcd's ErrTimeout). */
export class RequestTimeoutError extends CoreError {
  readonly code = 'ErrTimeout';
  override readonly retryable = true;
  constructor() {
    super('etcdserver: request timed out');
    this.name = 'RequestTimeoutError';
  }
}

/** The leader changed while a request was in flight, so its outcome is unknown (ErrTimeoutDueToLeaderFail). */
export class LeaderFailTimeoutError extends CoreError {
  readonly code = 'ErrTimeoutDueToLeaderFail';
  override readonly retryable = true;
  constructor() {
    super('etcdserver: request timed out, possibly due to previous leader failure');
    this.name = 'LeaderFailTimeoutError';
  }
}

/** No leader was known for the whole timeout (ErrNoLeader). */
export class NoLeaderError extends CoreError {
  readonly code = 'ErrNoLeader';
  override readonly retryable = true;
  constructor() {
    super('etcdserver: no leader');
    this.name = 'NoLeaderError';
  }
}

/** The node was closed (ErrStopped). */
export class NodeStoppedError extends CoreError {
  readonly code = 'ErrStopped';
  constructor() {
    super('etcdserver: server stopped');
    this.name = 'NodeStoppedError';
  }
}

/** The caller's AbortSignal fired (gRPC's "context canceled"). */
export class RequestCanceledError extends CoreError {
  readonly code = 'ErrCanceled';
  constructor(reason?: unknown) {
    super('context canceled', reason === undefined ? undefined : { cause: reason });
    this.name = 'RequestCanceledError';
  }
}

/** An encoded request exceeds the configured maximum (ErrRequestTooLarge). */
export class RequestTooLargeError extends CoreError {
  readonly code = 'ErrRequestTooLarge';
  constructor() {
    super('etcdserver: request is too large');
    this.name = 'RequestTooLargeError';
  }
}

/** Leader transfer target is not a voting member, or a transfer is refused (ErrBadLeaderTransferee). */
export class BadLeaderTransfereeError extends CoreError {
  readonly code = 'ErrBadLeaderTransferee';
  constructor() {
    super('etcdserver: bad leader transferee');
    this.name = 'BadLeaderTransfereeError';
  }
}

/** Only the leader can do this (ErrNotLeader). */
export class NotLeaderError extends CoreError {
  readonly code = 'ErrNotLeader';
  override readonly retryable = true;
  constructor() {
    super('etcdserver: not leader');
    this.name = 'NotLeaderError';
  }
}

/** The cluster has no quorum of healthy members for a membership change (ErrUnhealthy). */
export class UnhealthyClusterError extends CoreError {
  readonly code = 'ErrUnhealthy';
  constructor() {
    super('etcdserver: unhealthy cluster');
    this.name = 'UnhealthyClusterError';
  }
}

/**
 * A membership change would leave fewer started members (members that have published their name)
 * than a quorum of the voters after it (ErrNotEnoughStartedMembers, under the strict check).
 */
export class NotEnoughStartedMembersError extends CoreError {
  readonly code = 'ErrNotEnoughStartedMembers';
  constructor() {
    super('etcdserver: re-configuration failed due to not enough started members');
    this.name = 'NotEnoughStartedMembersError';
  }
}

/**
 * MemberAdd's peer URLs are not a member's URLs: none given, another scheme, no host:port, or a
 * path (ErrMemberBadURLs). The message says which; on the wire it is etcd's.
 */
export class BadPeerUrlsError extends CoreError {
  readonly code = 'ErrMemberBadURLs';
  constructor(detail: string) {
    super(`member add: ${detail}`);
    this.name = 'BadPeerUrlsError';
  }
}

/** Membership errors (etcd's membership package): the member ID is unknown. */
export class MemberNotFoundError extends CoreError {
  readonly code = 'ErrIDNotFound';
  constructor() {
    super('membership: ID not found');
    this.name = 'MemberNotFoundError';
  }
}

/** A member with this ID already exists. */
export class MemberExistsError extends CoreError {
  readonly code = 'ErrIDExists';
  constructor() {
    super('membership: ID exists');
    this.name = 'MemberExistsError';
  }
}

/** The member was removed from the cluster; a removed ID cannot come back. */
export class MemberRemovedError extends CoreError {
  readonly code = 'ErrIDRemoved';
  constructor() {
    super('membership: ID removed');
    this.name = 'MemberRemovedError';
  }
}

/** Another member already uses one of these peer URLs. */
export class PeerUrlExistsError extends CoreError {
  readonly code = 'ErrPeerURLexists';
  constructor() {
    super('membership: peerURL exists');
    this.name = 'PeerUrlExistsError';
  }
}

/** Promote names a voting member (ErrMemberNotLearner). */
export class MemberNotLearnerError extends CoreError {
  readonly code = 'ErrMemberNotLearner';
  constructor() {
    super('etcdserver: can only promote a learner member');
    this.name = 'MemberNotLearnerError';
  }
}

/** Promote names a learner that has not caught up with the leader (ErrLearnerNotReady). */
export class LearnerNotReadyError extends CoreError {
  readonly code = 'ErrLearnerNotReady';
  override readonly retryable = true;
  constructor() {
    super('etcdserver: can only promote a learner member which is in sync with leader');
    this.name = 'LearnerNotReadyError';
  }
}

/** The cluster already has the maximum number of learners (ErrTooManyLearners). */
export class TooManyLearnersError extends CoreError {
  readonly code = 'ErrTooManyLearners';
  constructor() {
    super('etcdserver: too many learner members in cluster');
    this.name = 'TooManyLearnersError';
  }
}

/** A request could not be decoded; it was refused on every member alike. */
export class MalformedRequestError extends CoreError {
  readonly code = 'ErrMalformedRequest';
  constructor(detail: string) {
    super(`etcdserver: malformed request: ${detail}`);
    this.name = 'MalformedRequestError';
  }
}
