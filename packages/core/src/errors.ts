/**
 * Named errors of the core package's durable storage, each with a stable `code`. None is
 * retryable: they mean the data directory needs an operator (or a snapshot from the leader).
 * `TypeError`/`RangeError` stay reserved for programming mistakes.
 */

/** Base class: every core error carries a stable `code` callers can branch on. */
export abstract class CoreError extends Error {
  abstract readonly code: string;
  /** Whether retrying the same call later may succeed. */
  readonly retryable: boolean = false;
}

/** A WAL record failed its CRC or did not decode, somewhere other than a torn tail. */
export class CorruptWalError extends CoreError {
  readonly code = 'ErrCorruptWal';
  /** The segment file holding the bad record. */
  readonly file: string;
  /** Byte offset of the bad record in `file`. */
  readonly offset: number;
  constructor(file: string, offset: number, detail: string) {
    super(`wal: corrupt record in ${file} at offset ${offset}: ${detail}`);
    this.name = 'CorruptWalError';
    this.file = file;
    this.offset = offset;
  }
}

/** A snapshot file failed its CRC or did not decode, and no older snapshot can replace it. */
export class CorruptSnapshotError extends CoreError {
  readonly code = 'ErrCorruptSnapshot';
  /** The snapshot file that is damaged. */
  readonly file: string;
  constructor(file: string, detail: string) {
    super(`snap: corrupt snapshot ${file}: ${detail}`);
    this.name = 'CorruptSnapshotError';
    this.file = file;
  }
}

/**
 * The raft log and the store disagree in a way no crash can cause (each is durable before the
 * other moves past it): one of them lost data, e.g. a WAL truncated by hand or a LevelDB repaired
 * with loss. The member refuses to start rather than serve or acknowledge on top of the gap.
 */
export class StorageMismatchError extends CoreError {
  readonly code = 'ErrStorageMismatch';
  /** The file or directory found short. */
  readonly file: string;
  constructor(file: string, detail: string) {
    super(`data dir: ${file}: ${detail}`);
    this.name = 'StorageMismatchError';
    this.file = file;
  }
}

/** The WAL does not hold the entries that follow the snapshot it is replayed from. */
export class WalGapError extends CoreError {
  readonly code = 'ErrWalGap';
  constructor(detail: string) {
    super(`wal: missing entries: ${detail}`);
    this.name = 'WalGapError';
  }
}

/** The storage was used after `close()`. */
export class StorageClosedError extends CoreError {
  readonly code = 'ErrStorageClosed';
  constructor() {
    super('raft storage: closed');
    this.name = 'StorageClosedError';
  }
}

/** Another process (or another open RaftStorage in this one) holds the data dir's lock. */
export class DataDirLockedError extends CoreError {
  readonly code = 'ErrDataDirLocked';
  /** The member directory that is locked. */
  readonly dir: string;
  /** The pid written in the lock file (0 if it names none). */
  readonly pid: number;
  constructor(dir: string, pid: number) {
    super(`data dir ${dir} is in use by process ${pid}`);
    this.name = 'DataDirLockedError';
    this.dir = dir;
    this.pid = pid;
  }
}
