/**
 * Mutex: a distributed lock on a Session, as etcd's concurrency.Mutex, with a fencing token.
 *
 * Each session that wants the lock owns one key, `<prefix>/<lease ID in hex>`, attached to its
 * lease; the key with the lowest create revision holds the lock. Acquiring:
 * 1. In one txn: if our key does not exist (CREATE == 0), put it; either way read the owner (the
 *    key under the prefix with the lowest create revision). Our create revision is our place in
 *    the queue — and, once we hold the lock, our fencing token.
 * 2. If the owner is us, we hold it. Otherwise wait until no key below ours is left: watch only
 *    the key just below ours (highest create revision < ours) for its deletion, then look again —
 *    so a release wakes one waiter, not all of them (no thundering herd).
 * 3. Read our key once more: if it is gone (our session expired while we waited), fail with
 *    SessionExpiredError rather than believe in a lock we no longer hold.
 *
 * A holder is told (LockGuard.signal) when the lock ends under it: its session ends (and the
 * Mutex emits `lost` if it was lost), or its key is deleted by anyone else.
 *
 * Fencing: a holder's token is its key's create revision, which only grows from one holder to the
 * next. `isOwner()` is the txn compare "my key still has that create revision": put it in the
 * compare of every write the lock protects, and a holder that was superseded (its session
 * expired while it was paused or cut off) cannot write any more.
 *
 * Also here: waitDeletes, shared with election.ts.
 */

import { type Compare, type KeyValue, prefixEnd } from '@tsetcd/mvcc';
import { EventEmitter } from 'eventemitter3';
import { CoreError } from '../errors.js';
import type { Client } from '../node/client.js';
import { toBytes } from '../node/kv-client.js';
import type { NodeResponseHeader } from '../node/node.js';
import { RequestCanceledError } from '../node-errors.js';
import { type Session, SessionExpiredError } from './session.js';
import { Tenure } from './tenure.js';

/** tryLock found the lock held by another session (etcd's ErrLocked). */
export class LockedError extends CoreError {
  readonly code = 'ErrLocked';
  constructor() {
    super('mutex: Locked by another session');
    this.name = 'LockedError';
  }
}

/** A watch waiting for a key's deletion ended without it (etcd's "lost watcher waiting for delete"). */
export class LostWatcherError extends CoreError {
  readonly code = 'ErrLostWatcher';
  override readonly retryable = true;
  constructor(reason: string) {
    super(`lost watcher waiting for delete${reason === '' ? '' : `: ${reason}`}`);
    this.name = 'LostWatcherError';
  }
}

/** Events of a Mutex. */
export interface MutexEvents {
  /** The session was lost while this mutex held the lock: it no longer does. */
  lost: (err: Error) => void;
}

/** Options of lock and tryLock. */
export interface LockOptions {
  /** Aborting it gives up waiting (and leaves the queue). */
  readonly signal?: AbortSignal;
}

/** A held lock: its fencing token, and what a holder needs to act under it. */
export class LockGuard implements AsyncDisposable {
  /** @internal Made by Mutex. */
  constructor(
    private readonly mutex: Mutex,
    /** The lock key. */
    readonly key: string,
    /** The lock key's create revision: larger for every later holder. */
    readonly fencingToken: number,
    /** The header of the read that confirmed the lock. */
    readonly header: NodeResponseHeader,
    /** Aborted once the lock is released: unlocked, its key deleted, or the session ended. */
    readonly signal: AbortSignal,
  ) {}

  /** The compare that holds only while this guard's lock is held; see Mutex.isOwner. */
  isOwner(): Compare {
    return ownerCompare(this.key, this.fencingToken);
  }

  /** Releases the lock (no-op if this guard's lock was already released). */
  async unlock(): Promise<void> {
    await this.mutex.release(this);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.unlock();
  }
}

/** A distributed lock on `prefix`, held through `session`; see the file comment. */
export class Mutex extends EventEmitter<MutexEvents> {
  /** This session's key in the queue (etcd's Mutex.Key). */
  readonly key: string;
  private readonly pfx: string;
  private readonly tenure: Tenure<LockGuard>;

  constructor(
    /** The session whose lease the lock key is attached to. */
    readonly session: Session,
    prefix: string,
  ) {
    super();
    this.pfx = `${prefix}/`;
    this.key = `${this.pfx}${session.lease.toString(16)}`;
    this.tenure = new Tenure(session, this.key, (reason) => this.emit('lost', reason));
  }

  /** The held lock's fencing token, or undefined while not held. */
  get fencingToken(): number | undefined {
    return this.tenure.value?.fencingToken;
  }

  /** Whether this mutex believes it holds the lock (a lost session ends the belief). */
  get isLocked(): boolean {
    return this.tenure.value !== undefined;
  }

  /**
   * The txn compare "this mutex holds the lock": our key's create revision equals our fencing
   * token. Never holds while the lock is not held.
   */
  isOwner(): Compare {
    return ownerCompare(this.key, this.tenure.value?.fencingToken ?? -1);
  }

  /**
   * Waits for the lock, in create-revision order. Fails with SessionExpiredError if the session
   * ends first, or RequestCanceledError if `signal` aborts; either way this session leaves the
   * queue. After any other failure the key may remain: call lock() again or close the session.
   */
  async lock(opts: LockOptions = {}): Promise<LockGuard> {
    return this.acquire(opts, true);
  }

  /** Takes the lock if no one holds it, else fails at once with LockedError (etcd's TryLock). */
  async tryLock(opts: LockOptions = {}): Promise<LockGuard> {
    return this.acquire(opts, false);
  }

  /**
   * Releases the lock held by this mutex, if any (etcd's Unlock). The holder stops believing at
   * once; if the delete fails, the key (and so the lock) stays until the session ends.
   */
  async unlock(opts: LockOptions = {}): Promise<void> {
    const g = this.tenure.value;
    if (g !== undefined) await this.release(g, opts);
  }

  /** @internal Releases `guard`'s lock if it is the one held. */
  async release(guard: LockGuard, opts: LockOptions = {}): Promise<void> {
    if (this.tenure.value !== guard) return;
    this.tenure.end(new LockReleasedError());
    await deleteOwnKey(this.session.client, this.key, guard.fencingToken, opts.signal);
  }

  private async acquire(opts: LockOptions, wait: boolean): Promise<LockGuard> {
    const session = this.session;
    const client = session.client;
    throwIfEnded(session);
    const signal =
      opts.signal === undefined ? session.signal : AbortSignal.any([opts.signal, session.signal]);
    // 1.
    const key = toBytes(this.key);
    const ownerRange = {
      type: 'range',
      request: {
        key: toBytes(this.pfx),
        rangeEnd: prefixEnd(toBytes(this.pfx)),
        sortTarget: 'CREATE',
        sortOrder: 'ASCEND',
        limit: 1,
      },
    } as const;
    let resp: Awaited<ReturnType<Client['kv']['txn']>>;
    try {
      resp = await client.kv.txn(
        {
          compare: [{ target: 'CREATE', key, result: 'EQUAL', createRevision: 0 }],
          success: [
            { type: 'put', request: { key, value: new Uint8Array(), lease: session.lease } },
            ownerRange,
          ],
          failure: [{ type: 'range', request: { key } }, ownerRange],
        },
        { signal },
      );
    } catch (err) {
      throw endedError(session, err);
    }
    const myRev = resp.succeeded ? resp.header.revision : rangeKvs(resp.responses[0])[0]?.createRevision;
    if (myRev === undefined) throw new SessionExpiredError(); // our key vanished between compare and read
    const owner = rangeKvs(resp.responses[1])[0];
    if (owner === undefined || owner.createRevision === myRev) {
      throwIfEnded(session);
      return this.hold(myRev, resp.header);
    }
    if (!wait) {
      await leaveQueue(client, this.key, myRev);
      throw new LockedError();
    }
    try {
      // 2.
      await waitDeletes(client, this.pfx, myRev - 1, signal);
      // 3.
      const g = await client.kv.get(key, { signal });
      if (g.kvs[0]?.createRevision !== myRev) throw new SessionExpiredError();
      throwIfEnded(session);
      return this.hold(myRev, g.header);
    } catch (err) {
      await leaveQueue(client, this.key, myRev);
      throw endedError(session, err);
    }
  }

  private hold(token: number, header: NodeResponseHeader): LockGuard {
    // A previous guard of this mutex is superseded (the same key, re-acquired).
    return this.tenure.begin(
      (signal) => new LockGuard(this, this.key, token, header, signal),
      header.revision,
      () => new LockReleasedError(),
      () => new LockReleasedError(),
    );
  }
}

/** A LockGuard's signal reason after unlock(). */
export class LockReleasedError extends CoreError {
  readonly code = 'ErrLockReleased';
  constructor() {
    super('mutex: lock released');
    this.name = 'LockReleasedError';
  }
}

/** The compare "key `key` exists with create revision `rev`" (etcd's IsOwner). */
export function ownerCompare(key: string, rev: number): Compare {
  return { target: 'CREATE', key: toBytes(key), result: 'EQUAL', createRevision: rev };
}

/**
 * Waits until no key under `prefix` has a create revision <= `maxCreateRev` (etcd's waitDeletes):
 * watch the newest such key for its deletion, then look again. Resolves with the revision at
 * which none was left.
 */
export async function waitDeletes(
  client: Client,
  prefix: string,
  maxCreateRev: number,
  signal: AbortSignal,
): Promise<number> {
  for (;;) {
    const r = await client.kv.get(prefix, {
      prefix: true,
      sortTarget: 'CREATE',
      sortOrder: 'DESCEND',
      limit: 1,
      maxCreateRevision: maxCreateRev,
      keysOnly: true,
      signal,
    });
    const last = r.kvs[0];
    if (last === undefined) return r.header.revision;
    await waitDelete(client, last.key, r.header.revision + 1, signal);
  }
}

/** Waits for `key` to be deleted at or after `fromRev`; returns early if the watch was compacted. */
async function waitDelete(
  client: Client,
  key: Uint8Array,
  fromRev: number,
  signal: AbortSignal,
): Promise<void> {
  if (signal.aborted) throw new RequestCanceledError(signal.reason);
  const w = client.watch(key, { startRevision: fromRev, filters: ['NOPUT'], signal });
  for await (const resp of w) {
    if (resp.events.some((e) => e.type === 'DELETE')) {
      w.cancel();
      return;
    }
    if (resp.canceled) {
      if (signal.aborted) throw new RequestCanceledError(signal.reason);
      if (resp.compactRevision > 0) return; // the caller looks again at the current revision
      throw new LostWatcherError(resp.cancelReason);
    }
  }
  if (signal.aborted) throw new RequestCanceledError(signal.reason);
  throw new LostWatcherError('');
}

/** Deletes `key` if it is still the generation created at `rev`. */
export async function deleteOwnKey(
  client: Client,
  key: string,
  rev: number,
  signal: AbortSignal | undefined,
): Promise<void> {
  await client.kv.txn(
    {
      compare: [ownerCompare(key, rev)],
      success: [{ type: 'deleteRange', request: { key: toBytes(key) } }],
      failure: [],
    },
    signal !== undefined ? { signal } : {},
  );
}

/** deleteOwnKey where failure does not matter: the key goes with the session's lease anyway. */
export async function leaveQueue(client: Client, key: string, rev: number): Promise<void> {
  await deleteOwnKey(client, key, rev, undefined).catch(() => undefined);
}

/** The kvs of a txn's range response. */
export function rangeKvs(op: { readonly type: string; readonly response: unknown } | undefined): KeyValue[] {
  return op?.type === 'range' ? (op.response as { kvs: KeyValue[] }).kvs : [];
}

/** Throws the session's end reason if it has ended. */
export function throwIfEnded(session: Session): void {
  if (session.signal.aborted) throw session.signal.reason as Error;
}

/** The error to report: the session's end reason if it ended, else `err`. */
export function endedError(session: Session, err: unknown): unknown {
  return session.signal.aborted ? session.signal.reason : err;
}
