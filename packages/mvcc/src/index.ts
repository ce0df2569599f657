/**
 * @tsetcd/mvcc — etcd's data model: revisions, key index, range, put, delete, txn, compaction,
 * watch and lease, persisted in LevelDB (or kept in memory). Deterministic given the applied
 * requests; knows nothing of raft.
 */

export type { Backend, BackendEntry, CloseOptions } from './backend.js';
export { bytesEqual, compareBytes, prefixEnd, utf8 } from './bytes.js';
export { Bucket, bucketBounds, bucketKey } from './codec.js';
export {
  type DataDirRecovery,
  OLD_DIR_SUFFIX,
  RESTORE_DIR_SUFFIX,
  recoverDataDir,
} from './data-dir.js';
export {
  CompactedError,
  CorruptDataDirError,
  DuplicateKeyError,
  EmptyKeyError,
  ForeignDataDirError,
  FutureRevError,
  KeyNotFoundError,
  LeaseExistsError,
  LeaseNotFoundError,
  LeaseProvidedError,
  MvccError,
  NoSpaceError,
  StoreClosedError,
  TooManyOpsError,
  ValueProvidedError,
} from './errors.js';
export { DEFAULT_KV_CACHE_BYTES } from './kv-cache.js';
export {
  DEFAULT_COMPACTION_BATCH,
  type EventListener,
  KVStore,
  type KVStoreOptions,
  type LeaseHooks,
  SCHEMA,
} from './kvstore.js';
export { LeaseTtlTooLargeError, NotPrimaryError } from './lease/lease-errors.js';
export {
  DEFAULT_EXPIRED_LEASES_RETRY_MS,
  DEFAULT_LEASE_REVOKE_RATE,
  DEFAULT_MIN_LEASE_TTL,
  type LeaseGrant,
  type LeaseIdSource,
  type LeaseTimeToLive,
  Lessor,
  type LessorOptions,
  MAX_LEASE_ID,
  MAX_LEASE_TTL,
  MIN_LEASE_ID,
} from './lease/lessor.js';
export { LevelBackend, type LevelBackendOptions } from './level-backend.js';
export { type AlarmMember, Alarms, type AlarmType } from './maintenance/alarm.js';
export { type DefragmentResult, defragment } from './maintenance/defrag.js';
export {
  RestoreTargetNotEmptyError,
  RestoringError,
  SnapshotIntegrityError,
} from './maintenance/errors.js';
export { type HashKVResult, hashKV, type StoreHashResult, storeHash } from './maintenance/hash.js';
export {
  DEFAULT_QUOTA_BACKEND_BYTES,
  KV_OVERHEAD,
  LEASE_OVERHEAD,
  putCost,
  Quota,
  type QuotaOptions,
  txnCost,
} from './maintenance/quota.js';
export {
  RESTORE_INCOMPLETE_SCHEMA,
  restoreSnapshot,
  type SnapshotStatus,
  snapshot,
  snapshotStatus,
} from './maintenance/snapshot.js';
export { SNAPSHOT_FORMAT_VERSION } from './maintenance/snapshot-format.js';
export { MemoryBackend } from './memory-backend.js';
export { allocBytes } from './slab.js';
export { MvccStore, type MvccStoreHooks, type MvccStoreOptions, type RestoreOptions } from './store.js';
export { DEFAULT_MAX_TXN_OPS, type IsEmptyOp, validateTxn } from './txn.js';
export * from './types.js';
export { defaultWatchScheduler, ManualWatchScheduler, type WatchScheduler } from './watch-scheduler.js';
export {
  DEFAULT_MAX_WATCHERS_PER_SYNC,
  DEFAULT_PROGRESS_NOTIFY_INTERVAL_MS,
  DEFAULT_SYNC_BATCH_REVISIONS,
  DEFAULT_WATCH_BUFFER,
  WatchableStore,
  type WatchableStoreHooks,
  type WatchableStoreOptions,
  type WatchStats,
} from './watchable-store.js';
export {
  EmptyWatcherRangeError,
  Watcher,
  type WatcherEvents,
  type WatchFilter,
  type WatchId,
  type WatchOptions,
  type WatchRequest,
  type WatchResponse,
} from './watcher.js';
