/**
 * The read side of the host's durable log, as Raft needs it (etcd-io/raft's `Storage`).
 *
 * Raft only reads through this interface; the host writes to its own storage when it handles a
 * Ready (append entries, set hard state, apply snapshot) and compacts it after snapshotting.
 * Calls are synchronous: hosts keep the retained log in memory and make it durable on the side,
 * as etcd does with MemoryStorage + WAL.
 */

import type { ConfState, Entry, HardState, Index, Snapshot, Term } from './types.js';

/** What a restarted node resumes from. */
export interface InitialState {
  readonly hardState: HardState;
  readonly confState: ConfState;
}

/** Read access to the persisted log. */
export interface Storage {
  /** The hard state and membership persisted last. */
  initialState(): InitialState;
  /**
   * Entries in [lo, hi), at most `maxSize` bytes but always at least one if any is in range.
   * Throws CompactedError if lo <= the snapshot index, UnavailableError if hi > lastIndex()+1.
   */
  entries(lo: Index, hi: Index, maxSize: number): Entry[];
  /**
   * The term of entry `i`, for i in [firstIndex()-1, lastIndex()] (the entry before the first
   * retained one is the snapshot's). Throws CompactedError below, UnavailableError above.
   */
  term(i: Index): Term;
  /** The index of the first retained entry (snapshot index + 1). */
  firstIndex(): Index;
  /** The index of the last entry (the snapshot index if no entry follows it). */
  lastIndex(): Index;
  /** The latest snapshot; throws SnapshotTemporarilyUnavailableError while one is being made. */
  snapshot(): Snapshot;
}
