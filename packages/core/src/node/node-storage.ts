/**
 * NodeStorage: where a member keeps its raft log and its store when it is not a data dir — the
 * seam through which the whole-node simulator gives each member a simulated disk (one that loses
 * what was not fsynced when the member crashes). A data dir (RaftStorage + LevelDB) and memory
 * are the two built-in places; this interface is the third, for tests.
 */

import type { Backend } from '@tsetcd/mvcc';
import type { Index, MemoryStorage, Snapshot } from '@tsetcd/raft';
import type { DurableLog } from '../raft-loop.js';

/** The durable raft log a member writes: Readys, its own snapshots, and WAL release. */
export interface RaftLogStore extends DurableLog {
  /** Persists a snapshot the member made itself (after MemoryStorage.createSnapshot). */
  saveSnapshot(snapshot: Snapshot): Promise<void>;
  /** Lets go of log records a durable snapshot at `index` or later covers. */
  releaseTo(index: Index): Promise<void>;
  /** Waits for pending saves and releases the log. */
  close(): Promise<void>;
}

/** A raft log as reopened: raft's view of it, and the store to keep writing it to. */
export interface OpenedRaftLog {
  readonly raftStorage: RaftLogStore;
  /** Snapshot, entries after it and hard state, ready for a RawNode. */
  readonly storage: MemoryStorage;
  readonly snapshot?: Snapshot;
  readonly lastIndex: number;
  /** The metadata written when the log was created (member and cluster IDs). */
  readonly metadata?: Uint8Array;
}

/** A member's storage other than a data dir; see the file comment. */
export interface NodeStorage {
  /** Opens the raft log, creating it with `metadata` if it does not exist yet. */
  openRaftLog(metadata: Uint8Array): Promise<OpenedRaftLog>;
  /** Opens the store's backend as the last run left it. */
  openBackend(): Promise<Backend>;
  /** An empty backend that a snapshot from the leader is restored into. */
  newBackend(): Backend;
}
