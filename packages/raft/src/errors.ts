/**
 * Named errors of the raft package, each with etcd-io/raft's error name as a stable `code` and
 * its message text. `TypeError`/`RangeError` are reserved for programming mistakes.
 */

/** Base class: every raft error carries a stable `code` clients can branch on. */
export abstract class RaftError extends Error {
  abstract readonly code: string;
  /** Whether retrying the same call later may succeed. */
  readonly retryable: boolean = false;
}

/** Storage: the requested index is older than the first retained entry. */
export class CompactedError extends RaftError {
  readonly code = 'ErrCompacted';
  constructor() {
    super('requested index is unavailable due to compaction');
    this.name = 'CompactedError';
  }
}

/** Storage: a snapshot older than the one already held was offered. */
export class SnapOutOfDateError extends RaftError {
  readonly code = 'ErrSnapOutOfDate';
  constructor() {
    super('requested index is older than the existing snapshot');
    this.name = 'SnapOutOfDateError';
  }
}

/** Storage: the requested entry is beyond the last one held. */
export class UnavailableError extends RaftError {
  readonly code = 'ErrUnavailable';
  constructor() {
    super('requested entry at index is unavailable');
    this.name = 'UnavailableError';
  }
}

/** Storage: a snapshot is being made; the leader retries on a later heartbeat. */
export class SnapshotTemporarilyUnavailableError extends RaftError {
  readonly code = 'ErrSnapshotTemporarilyUnavailable';
  override readonly retryable = true;
  constructor() {
    super('snapshot is temporarily unavailable');
    this.name = 'SnapshotTemporarilyUnavailableError';
  }
}

/** Why a proposal was refused, so callers can tell "retry elsewhere" from "retry later". */
export type ProposalDropReason =
  | 'no leader'
  | 'leader transfer in progress'
  | 'not a member'
  | 'proposal forwarding disabled'
  | 'uncommitted log too large'
  | 'conf change pending'
  | 'invalid conf change';

/** A proposal was not appended; it will never commit and may be retried. */
export class ProposalDroppedError extends RaftError {
  readonly code = 'ErrProposalDropped';
  override readonly retryable: boolean;
  constructor(readonly reason: ProposalDropReason) {
    super(`raft proposal dropped: ${reason}`);
    this.name = 'ProposalDroppedError';
    this.retryable = reason !== 'invalid conf change';
  }
}

/** A configuration value is missing or out of range. */
export class InvalidConfigError extends RaftError {
  readonly code = 'ErrInvalidConfig';
  constructor(detail: string) {
    super(`raft: invalid config: ${detail}`);
    this.name = 'InvalidConfigError';
  }
}

/** A membership change cannot be applied to the current configuration. */
export class ConfChangeError extends RaftError {
  readonly code = 'ErrConfChange';
  constructor(detail: string) {
    super(`raft: invalid conf change: ${detail}`);
    this.name = 'ConfChangeError';
  }
}

/** The host broke the Ready/advance protocol (e.g. called advance without a Ready). */
export class ReadyProtocolError extends RaftError {
  readonly code = 'ErrReadyProtocol';
  constructor(detail: string) {
    super(`raft: ${detail}`);
    this.name = 'ReadyProtocolError';
  }
}
