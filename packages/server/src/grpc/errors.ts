/**
 * Errors on the wire: every error a member raises becomes the gRPC status code and message etcd's
 * server sends for it (etcd's api/v3rpc/rpctypes), because clients — etcdctl, clientv3, the etcd3
 * npm client — branch on both. Anything unknown is Unknown with its own message.
 */

import { Status } from '../grpc-server/status.js';

/** A gRPC status code and etcd's message. */
export interface WireError {
  readonly code: Status;
  readonly details: string;
}

/** etcd's gRPC error for each error code our packages raise, where it differs from a plain prefix. */
const BY_CODE: Readonly<Record<string, WireError>> = {
  // mvcc
  ErrEmptyKey: { code: Status.INVALID_ARGUMENT, details: 'etcdserver: key is not provided' },
  ErrKeyNotFound: { code: Status.INVALID_ARGUMENT, details: 'etcdserver: key not found' },
  ErrValueProvided: { code: Status.INVALID_ARGUMENT, details: 'etcdserver: value is provided' },
  ErrLeaseProvided: { code: Status.INVALID_ARGUMENT, details: 'etcdserver: lease is provided' },
  ErrTooManyOps: { code: Status.INVALID_ARGUMENT, details: 'etcdserver: too many operations in txn request' },
  ErrDuplicateKey: {
    code: Status.INVALID_ARGUMENT,
    details: 'etcdserver: duplicate key given in txn request',
  },
  ErrCompacted: {
    code: Status.OUT_OF_RANGE,
    details: 'etcdserver: mvcc: required revision has been compacted',
  },
  ErrFutureRev: {
    code: Status.OUT_OF_RANGE,
    details: 'etcdserver: mvcc: required revision is a future revision',
  },
  ErrNoSpace: { code: Status.RESOURCE_EXHAUSTED, details: 'etcdserver: mvcc: database space exceeded' },
  ErrLeaseNotFound: { code: Status.NOT_FOUND, details: 'etcdserver: requested lease not found' },
  ErrLeaseExists: { code: Status.FAILED_PRECONDITION, details: 'etcdserver: lease already exists' },
  ErrLeaseTTLTooLarge: { code: Status.OUT_OF_RANGE, details: 'etcdserver: too large lease TTL' },
  ErrCorrupt: { code: Status.DATA_LOSS, details: 'etcdserver: corrupt cluster' },
  // the node
  ErrRequestTooLarge: { code: Status.INVALID_ARGUMENT, details: 'etcdserver: request is too large' },
  ErrNoLeader: { code: Status.UNAVAILABLE, details: 'etcdserver: no leader' },
  ErrNotLeader: { code: Status.FAILED_PRECONDITION, details: 'etcdserver: not leader' },
  ErrStopped: { code: Status.UNAVAILABLE, details: 'etcdserver: server stopped' },
  ErrTimeout: { code: Status.UNAVAILABLE, details: 'etcdserver: request timed out' },
  ErrTimeoutDueToLeaderFail: {
    code: Status.UNAVAILABLE,
    details: 'etcdserver: request timed out, possibly due to previous leader failure',
  },
  ErrCanceled: { code: Status.CANCELLED, details: 'context canceled' },
  ErrUnhealthy: { code: Status.UNAVAILABLE, details: 'etcdserver: unhealthy cluster' },
  ErrBadLeaderTransferee: { code: Status.FAILED_PRECONDITION, details: 'etcdserver: bad leader transferee' },
  // membership
  ErrIDExists: { code: Status.FAILED_PRECONDITION, details: 'etcdserver: member ID already exist' },
  ErrPeerURLexists: { code: Status.FAILED_PRECONDITION, details: 'etcdserver: Peer URLs already exists' },
  ErrIDNotFound: { code: Status.NOT_FOUND, details: 'etcdserver: member not found' },
  ErrIDRemoved: { code: Status.NOT_FOUND, details: 'etcdserver: member not found' },
  ErrMemberNotLearner: {
    code: Status.FAILED_PRECONDITION,
    details: 'etcdserver: can only promote a learner member',
  },
  ErrLearnerNotReady: {
    code: Status.FAILED_PRECONDITION,
    details: 'etcdserver: can only promote a learner member which is in sync with leader',
  },
  ErrMemberBadURLs: { code: Status.INVALID_ARGUMENT, details: 'etcdserver: given member URLs are invalid' },
  ErrTooManyLearners: {
    code: Status.FAILED_PRECONDITION,
    details: 'etcdserver: too many learner members in cluster',
  },
};

const GRPC_CODE_BY_NAME: Readonly<Record<string, Status>> = {
  InvalidArgument: Status.INVALID_ARGUMENT,
  FailedPrecondition: Status.FAILED_PRECONDITION,
  PermissionDenied: Status.PERMISSION_DENIED,
  Unauthenticated: Status.UNAUTHENTICATED,
  NotFound: Status.NOT_FOUND,
  Unavailable: Status.UNAVAILABLE,
  Unknown: Status.UNKNOWN,
  OutOfRange: Status.OUT_OF_RANGE,
  ResourceExhausted: Status.RESOURCE_EXHAUSTED,
};

/** The status and message etcd would send for `err`. */
export function toWireError(err: unknown): WireError {
  const e = err as { code?: unknown; grpcCode?: unknown; message?: unknown } | null;
  const code = typeof e?.code === 'string' ? e.code : undefined;
  if (code !== undefined) {
    const known = BY_CODE[code];
    if (known !== undefined) return known;
    // Auth errors carry their gRPC code and etcd's message already.
    if (typeof e?.grpcCode === 'string' && GRPC_CODE_BY_NAME[e.grpcCode] !== undefined) {
      return { code: GRPC_CODE_BY_NAME[e.grpcCode]!, details: String(e.message) };
    }
  }
  if (err instanceof TypeError || err instanceof RangeError) {
    return { code: Status.INVALID_ARGUMENT, details: `etcdserver: ${err.message}` };
  }
  return { code: Status.UNKNOWN, details: err instanceof Error ? err.message : String(err) };
}
