/**
 * Recipes on the public client API, usable against any member: etcd's client/v3/concurrency
 * (a Session — a lease kept alive —, a Mutex and an Election with fencing tokens, STM) and
 * experimental recipes (queues, barriers), plus a service registry, a watch that survives
 * compaction, paged range streams at one revision, and typed keyspaces.
 */

export {
  Barrier,
  DEFAULT_BARRIER_TTL,
  DoubleBarrier,
  type DoubleBarrierOptions,
  KeyExistsError,
  TooManyClientsError,
} from './barrier.js';
export {
  Election,
  type ElectionCallOptions,
  type ElectionEvents,
  ElectionNotLeaderError,
  type LeaderInfo,
  Leadership,
  NoLeaderElectedError,
  ResignedError,
} from './election.js';
export {
  Keyspace,
  type KeyspaceCodec,
  type KeyspaceIssue,
  type KeyspaceListOptions,
  type KeyspaceOptions,
  KeyspaceTxn,
  KeyspaceValidationError,
  type KeyspaceWatchItem,
  type KeyspaceWatchOptions,
  keyspace,
  type TypedKeyValue,
} from './keyspace.js';
export {
  LockedError,
  LockGuard,
  type LockOptions,
  LockReleasedError,
  LostWatcherError,
  Mutex,
  type MutexEvents,
} from './mutex.js';
export { MAX_PRIORITY, MIN_PRIORITY, PriorityQueue, Queue, type RecipeKey } from './queue.js';
export {
  DEFAULT_RANGE_PAGE_BYTES,
  DEFAULT_RANGE_PAGE_SIZE,
  RangeStream,
  type RangeStreamOptions,
  rangeStream,
} from './range-stream.js';
export {
  DEFAULT_REGISTRY_PREFIX,
  type RegisterOptions,
  type ServiceInstance,
  ServiceRegistry,
  type ServiceRegistryEvents,
  type ServiceRegistryOptions,
  ServiceView,
  type ServiceViewEvents,
} from './registry.js';
export {
  type ClientSource,
  clientOf,
  DEFAULT_WATCH_RETRY_MS,
  type ResilientWatchItem,
  type ResilientWatchOptions,
  watchResilient,
} from './resilient-watch.js';
export {
  DEFAULT_SESSION_TTL,
  SESSION_RETRY_MS,
  Session,
  SessionClosedError,
  type SessionEvents,
  SessionExpiredError,
  type SessionOptions,
} from './session.js';
export {
  DEFAULT_STM_MAX_RETRIES,
  runStm,
  type Stm,
  type StmCommit,
  StmConflictError,
  type StmIsolation,
  type StmOptions,
} from './stm.js';
