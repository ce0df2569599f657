/**
 * @tsetcd/core — an embeddable replicated etcd node. So far: durable raft storage (etcd's WAL,
 * snapshotter and MemoryStorage recovery) and the raft driving loop. The node and its client API
 * come later.
 */

export { LOCK_FILE_NAME } from './data-dir-lock.js';
export {
  CoreError,
  CorruptSnapshotError,
  CorruptWalError,
  DataDirLockedError,
  StorageClosedError,
  WalGapError,
} from './errors.js';
export type { StorageHooks, StorageLogger } from './fsutil.js';
export {
  type DurableLog,
  IN_MEMORY_LOG,
  RaftLoop,
  type RaftLoopHost,
  type RaftLoopStats,
} from './raft-loop.js';
export {
  DEFAULT_SNAPSHOTS_TO_KEEP,
  memberDir,
  type PersistBatch,
  RaftStorage,
  type RaftStorageOptions,
  type RecoveredState,
} from './raft-storage.js';
export { DEFAULT_SEGMENT_BYTES } from './wal/wal.js';
