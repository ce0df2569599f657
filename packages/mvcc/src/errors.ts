/**
 * Named errors of the mvcc package, with etcd's error names as `code` and etcd's message text
 * (the server adds the "etcdserver: " prefix where etcd's gRPC layer does).
 */

/** Base class: a stable `code` clients can branch on. */
export abstract class MvccError extends Error {
  abstract readonly code: string;
  /** The text etcd's gRPC API sends for this error: its message behind the "etcdserver: " prefix. */
  get wireMessage(): string {
    return this.message.startsWith('etcdserver: ') ? this.message : `etcdserver: ${this.message}`;
  }
}

/** A read or watch at a revision that compaction already removed. */
export class CompactedError extends MvccError {
  readonly code = 'ErrCompacted';
  constructor(readonly compactRevision: number) {
    super('mvcc: required revision has been compacted');
    this.name = 'CompactedError';
  }
}

/** A read at a revision the store has not reached. */
export class FutureRevError extends MvccError {
  readonly code = 'ErrFutureRev';
  constructor() {
    super('mvcc: required revision is a future revision');
    this.name = 'FutureRevError';
  }
}

/** ignore_value / ignore_lease on a key that does not exist. */
export class KeyNotFoundError extends MvccError {
  readonly code = 'ErrKeyNotFound';
  constructor() {
    super('etcdserver: key not found');
    this.name = 'KeyNotFoundError';
  }
}

/** A put or txn names a lease that does not exist. */
export class LeaseNotFoundError extends MvccError {
  readonly code = 'ErrLeaseNotFound';
  constructor() {
    super('lease not found');
    this.name = 'LeaseNotFoundError';
  }
  /** etcd's gRPC layer replaces the lease package's text rather than prefixing it. */
  override get wireMessage(): string {
    return 'etcdserver: requested lease not found';
  }
}

/** A lease grant reuses the ID of a live lease. */
export class LeaseExistsError extends MvccError {
  readonly code = 'ErrLeaseExists';
  constructor() {
    super('lease already exists');
    this.name = 'LeaseExistsError';
  }
}

/** A txn writes the same key twice (or deletes a range it also puts into). */
export class DuplicateKeyError extends MvccError {
  readonly code = 'ErrDuplicateKey';
  constructor() {
    super('etcdserver: duplicate key given in txn request');
    this.name = 'DuplicateKeyError';
  }
}

/** A txn has more operations than allowed (etcd's --max-txn-ops, default 128). */
export class TooManyOpsError extends MvccError {
  readonly code = 'ErrTooManyOps';
  constructor() {
    super('etcdserver: too many operations in txn request');
    this.name = 'TooManyOpsError';
  }
}

/** ignore_value set together with a value. */
export class ValueProvidedError extends MvccError {
  readonly code = 'ErrValueProvided';
  constructor() {
    super('etcdserver: value is provided');
    this.name = 'ValueProvidedError';
  }
}

/** ignore_lease set together with a lease. */
export class LeaseProvidedError extends MvccError {
  readonly code = 'ErrLeaseProvided';
  constructor() {
    super('etcdserver: lease is provided');
    this.name = 'LeaseProvidedError';
  }
}

/** A request without a key. */
export class EmptyKeyError extends MvccError {
  readonly code = 'ErrEmptyKey';
  constructor() {
    super('etcdserver: key is not provided');
    this.name = 'EmptyKeyError';
  }
}

/** The NOSPACE alarm is active: only reads, deletes and compaction are accepted. */
export class NoSpaceError extends MvccError {
  readonly code = 'ErrNoSpace';
  constructor() {
    super('etcdserver: mvcc: database space exceeded');
    this.name = 'NoSpaceError';
  }
}

/** The data dir is not a tsetcd mvcc store (another program's LevelDB, or a newer format). */
export class ForeignDataDirError extends MvccError {
  readonly code = 'ErrForeignDataDir';
  constructor(dir: string, detail: string) {
    super(`mvcc: ${dir} is not a tsetcd data dir: ${detail}`);
    this.name = 'ForeignDataDirError';
  }
}

/** The data dir is damaged; the store refuses to serve rather than serve wrong data. */
export class CorruptDataDirError extends MvccError {
  readonly code = 'ErrCorrupt';
  constructor(dir: string, detail: string) {
    super(`mvcc: data dir ${dir} is corrupt: ${detail}`);
    this.name = 'CorruptDataDirError';
  }
}

/** The store was closed. */
export class StoreClosedError extends MvccError {
  readonly code = 'ErrClosed';
  constructor() {
    super('mvcc: closed');
    this.name = 'StoreClosedError';
  }
}
