/**
 * @tsetcd/core — an embeddable replicated etcd node: `createNode(config)` gives a member with
 * etcd's client API (kv, watch, lease), durable raft storage (etcd's WAL and snapshots), and the
 * raft driving loop. `@tsetcd/core/testing` runs whole clusters in one process.
 */

export * from './auth/index.js';
export { type Clock, ManualClock, systemClock, type TimerHandle } from './clock.js';
export {
  type AutoCompactionConfig,
  type Compactor,
  CompactorMode,
  DEFAULT_AUTO_COMPACTION_MODE,
  DEFAULT_AUTO_COMPACTION_RETENTION,
  InvalidAutoCompactionError,
  parseAutoCompaction,
} from './compactor.js';
export {
  ConfigError,
  type ConfigIssue,
  DEFAULT_BACKEND_COMMIT_MS,
  DEFAULT_CLUSTER_TOKEN,
  DEFAULT_ELECTION_MS,
  DEFAULT_HEARTBEAT_MS,
  DEFAULT_MAX_LEARNERS,
  DEFAULT_MAX_REQUEST_BYTES,
  DEFAULT_SNAPSHOT_CATCH_UP_ENTRIES,
  DEFAULT_SNAPSHOT_COUNT,
  type NodeConfig,
  type NodeConfigInput,
  NodeConfigSchema,
  parseNodeConfig,
} from './config.js';

export { LOCK_FILE_NAME } from './data-dir-lock.js';
export {
  CoreError,
  CorruptSnapshotError,
  CorruptWalError,
  DataDirLockedError,
  StorageClosedError,
  StorageMismatchError,
  WalGapError,
} from './errors.js';
export type { StorageHooks, StorageLogger } from './fsutil.js';
export { type ClusterId, clusterIdFor, idToString, type MemberId, memberIdFor } from './ids.js';
export {
  Counter,
  Gauge,
  Histogram,
  type HistogramSnapshot,
  Metrics,
  type MetricsSnapshot,
  Registry,
} from './metrics/metrics.js';
export { PROMETHEUS_CONTENT_TYPE, renderPrometheus } from './metrics/prometheus.js';
export { Auth, type HeaderOnly } from './node/auth-client.js';
export { Client } from './node/client.js';
export {
  Cluster,
  LEARNER_READY_PERCENT,
  type MemberChangeResponse,
  type MemberListResponse,
} from './node/cluster-client.js';
export {
  createNode,
  DataDirMismatchError,
  type NodeRuntime,
  type TransportFactory,
} from './node/create-node.js';
export type { CallOptions } from './node/deadline.js';
export {
  etcdRequestBytes,
  type RequestAuthor,
  type SizedRequest,
} from './node/etcd-request-size.js';
export {
  type Bytes,
  type DeleteOptions,
  type GetOptions,
  type KeyRangeOptions,
  KV,
  type PutOptions,
  type WithHeader,
} from './node/kv-client.js';
export {
  type KeepAliveEvents,
  Lease,
  type LeaseGrantResponse,
  LeaseKeepAlive,
  type LeaseKeepAliveResponse,
  type LeaseTimeToLiveResponse,
} from './node/lease-client.js';
export {
  type AlarmResponse,
  ETCD_API_VERSION,
  Maintenance,
  type StatusResponse,
} from './node/maintenance-client.js';
export type { Member } from './node/membership.js';
export {
  LEASE_EXPIRY_CHECK_MS,
  type NodeEvents,
  type NodeLogger,
  type NodeResponseHeader,
  type NodeWatchOptions,
  TsetcdNode,
} from './node/node.js';
export { DataDirNotEmptyError, restoreDataDir } from './node/restore-data-dir.js';
export {
  BadLeaderTransfereeError,
  BadPeerUrlsError,
  CorruptClusterError,
  LeaderFailTimeoutError,
  LearnerNotReadyError,
  MalformedRequestError,
  MemberExistsError,
  MemberNotFoundError,
  MemberNotLearnerError,
  MemberRemovedError,
  NodeStoppedError,
  NoLeaderError,
  NotEnoughStartedMembersError,
  NotLeaderError,
  PeerUrlExistsError,
  RequestCanceledError,
  RequestTimeoutError,
  RequestTooLargeError,
  TooManyLearnersError,
  UnhealthyClusterError,
} from './node-errors.js';
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
export * from './recipes/index.js';
export { DEFAULT_SEGMENT_BYTES } from './wal/wal.js';
