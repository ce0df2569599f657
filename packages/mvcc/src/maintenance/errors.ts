/**
 * Named errors of the maintenance features (snapshot, restore). The store's own errors, including
 * NoSpaceError and CorruptDataDirError, live in ../errors.ts.
 */

import { MvccError } from '../errors.js';

/** A snapshot stream failed verification: its SHA-256 trailer, framing or length is wrong. */
export class SnapshotIntegrityError extends MvccError {
  readonly code = 'ErrSnapshotIntegrity';
  constructor(detail: string) {
    super(`snapshot: integrity check failed: ${detail}`);
    this.name = 'SnapshotIntegrityError';
  }
}

/** restoreSnapshot was given a backend that already holds data; it never merges into one. */
export class RestoreTargetNotEmptyError extends MvccError {
  readonly code = 'ErrRestoreTargetNotEmpty';
  constructor(target: string) {
    super(`snapshot: restore target ${target} is not empty`);
    this.name = 'RestoreTargetNotEmptyError';
  }
}

/**
 * A write (or, while the store is being swapped, a read) reached MvccStore during a snapshot
 * restore (MvccStore.restore). Retryable: retry once the restore has resolved.
 */
export class RestoringError extends MvccError {
  readonly code = 'ErrRestoring';
  readonly retryable = true;
  constructor() {
    super('mvcc: store is being restored from a snapshot');
    this.name = 'RestoringError';
  }
}
