/**
 * Recipes on the public client API, as etcd's client/v3/concurrency: a Session (a lease kept
 * alive), a Mutex and an Election with fencing tokens. Usable against any member.
 */

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
  LockedError,
  LockGuard,
  type LockOptions,
  LockReleasedError,
  LostWatcherError,
  Mutex,
  type MutexEvents,
} from './mutex.js';
export {
  DEFAULT_SESSION_TTL,
  SESSION_RETRY_MS,
  Session,
  SessionClosedError,
  type SessionEvents,
  SessionExpiredError,
  type SessionOptions,
} from './session.js';
