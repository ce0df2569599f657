/**
 * The lease errors that are not also KV-store errors (those — LeaseNotFoundError,
 * LeaseExistsError, NoSpaceError — live in ../errors.ts because puts raise them too). Same
 * convention: etcd's error name as `code`, etcd's message text.
 */

import { MvccError } from '../errors.js';

/** A grant asked for more than MAX_LEASE_TTL seconds (etcd's ErrLeaseTTLTooLarge). */
export class LeaseTtlTooLargeError extends MvccError {
  readonly code = 'ErrLeaseTTLTooLarge';
  constructor() {
    super('etcdserver: too large lease TTL');
    this.name = 'LeaseTtlTooLargeError';
  }
}

/**
 * A keep-alive reached a lessor that does not manage expiry (etcd's ErrNotPrimary): only the raft
 * leader's lessor is primary. Retryable: the host forwards the request to the leader.
 */
export class NotPrimaryError extends MvccError {
  readonly code = 'ErrNotPrimary';
  /** Retrying on the current leader may succeed. */
  readonly retryable = true;
  constructor() {
    super('not a primary lessor');
    this.name = 'NotPrimaryError';
  }
}
