/**
 * @tsetcd/core — an embeddable replicated etcd node. So far: durable raft storage (etcd's WAL,
 * snapshotter and MemoryStorage recovery). The node, apply loop and client API come later.
 */

export {
  CoreError,
  CorruptSnapshotError,
  CorruptWalError,
  StorageClosedError,
  WalGapError,
} from './errors.js';
export type { StorageHooks } from './fsutil.js';
export {
  memberDir,
  type PersistBatch,
  RaftStorage,
  type RaftStorageOptions,
  type RecoveredState,
} from './raft-storage.js';
export { DEFAULT_SEGMENT_BYTES } from './wal/wal.js';
