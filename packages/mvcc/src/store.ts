/**
 * MvccStore: the whole package wired together in the one right order — the KV store on LevelDB
 * (or memory), the lessor plugged into it, alarms restored before any write, and watchers on top —
 * behind one object that is closed once. What an application or the replicated node opens.
 *
 *   await using store = await MvccStore.open({ dir: './data' });
 *   store.put({ key: utf8('a'), value: utf8('1') });
 *   for await (const resp of store.watch({ key: utf8('a') })) { … }
 *
 * Applying is synchronous and deterministic; `commit(appliedIndex)` makes it durable.
 * `restore(snapshot)` replaces the whole state in place with a snapshot's (etcd's applySnapshot):
 * the object, and its watchers, stay; the KV store, lessor and alarms are new instances.
 */

import type { Backend, CloseOptions } from './backend.js';
import { fsyncTree, oldDirOf, recoverDataDir, removeDir, restoreDirOf, swapDataDir } from './data-dir.js';
import { StoreClosedError } from './errors.js';
import { KVStore, type KVStoreOptions } from './kvstore.js';
import { Lessor, type LessorOptions } from './lease/lessor.js';
import { LevelBackend } from './level-backend.js';
import { Alarms } from './maintenance/alarm.js';
import { RestoringError } from './maintenance/errors.js';
import { restoreSnapshot, type SnapshotStatus } from './maintenance/snapshot.js';
import { MemoryBackend } from './memory-backend.js';
import type {
  CompactionRequest,
  CompactionResponse,
  DeleteRangeRequest,
  DeleteRangeResponse,
  PutRequest,
  PutResponse,
  RangeRequest,
  RangeResponse,
  Revision,
  TxnRequest,
  TxnResponse,
} from './types.js';
import { WatchableStore, type WatchableStoreOptions } from './watchable-store.js';
import type { Watcher, WatchOptions, WatchRequest } from './watcher.js';

/** How to open an MvccStore. */
export interface MvccStoreOptions {
  /**
   * LevelDB directory; omitted = in memory (or `backend`), nothing survives the process. Opening
   * first recovers from a crash during a restore (see data-dir.ts).
   */
  readonly dir?: string;
  /**
   * A backend to open the store on instead, e.g. an instrumented one in tests; the store owns it
   * and closes it. Mutually exclusive with `dir`.
   */
  readonly backend?: Backend;
  /**
   * Makes the empty backend a `restore` builds into, for a store opened on `backend` (a
   * simulated disk gives out its own); default: RestoreOptions.backend must be given.
   */
  readonly newBackend?: () => Backend;
  /** fsync each commit (default true; a host whose raft log is fsynced may turn it off). */
  readonly sync?: boolean;
  readonly kv?: KVStoreOptions;
  readonly lease?: LessorOptions;
  readonly watch?: WatchableStoreOptions;
  readonly hooks?: MvccStoreHooks;
}

/** Named points of `restore` where tests and the simulator can fail or crash it. */
export interface MvccStoreHooks {
  /** The image is complete and durable in its new backend; the live store is untouched yet. */
  afterRestoreBuilt?(): void | Promise<void>;
  /** LevelDB only: the live dir was renamed to D.old (the commit point), D.restore not yet to D. */
  afterMoveAway?(): void | Promise<void>;
}

/** Options of one `MvccStore.restore`. */
export interface RestoreOptions {
  /**
   * When the lessor is primary, the new one is promoted with this `extendMs`; default: what the
   * current one was promoted with (Lessor.promotedExtendMs).
   */
  readonly extendMs?: number;
  /**
   * The EMPTY backend to restore into, for a store not opened with `dir`; default a new
   * MemoryBackend when the store's backend is one. The store owns it from then on.
   */
  readonly backend?: Backend;
}

/** The instances a restore replaces. */
interface Parts {
  readonly kv: KVStore;
  readonly lessor: Lessor;
  readonly alarms: Alarms;
}

/**
 * The KV store, lessor, alarms and watchers of one data dir, opened and closed together.
 *
 * `kv`, `lessor` and `alarms` are replaced by `restore`: read them from the store each time, never
 * keep them across a restore (a kept one is closed and no longer the store's state).
 */
export class MvccStore implements AsyncDisposable {
  private parts: Parts;
  /** Set from the start of a restore until it resolves: writes through this object are refused. */
  private restoring = false;
  /**
   * Set while the live store is closed and its successor not yet installed (LevelDB: the dir
   * swap): reads through this object are refused too.
   */
  private swapping = false;
  /** The last restore; restores run one at a time. */
  private lastRestore: Promise<unknown> = Promise.resolve();
  private closed = false;

  private constructor(
    parts: Parts,
    /** Watchers; the same instance for the store's whole life, retargeted by each restore. */
    readonly watchable: WatchableStore,
    private readonly opts: MvccStoreOptions,
  ) {
    this.parts = parts;
  }

  /**
   * Opens a store: (0) with `dir`, recovers from a crash during a restore, (1) the backend,
   * (2) the KV store, rebuilding its index, (3) the lessor, which restores leases and plugs itself
   * into the KV store before any write, (4) alarms, which may switch the store to NOSPACE,
   * (5) watchers. Anything opened is closed again if a later step fails.
   */
  static async open(opts: MvccStoreOptions = {}): Promise<MvccStore> {
    if (opts.dir !== undefined && opts.backend !== undefined) {
      throw new TypeError('mvcc: MvccStoreOptions.dir and .backend are mutually exclusive');
    }
    if (opts.dir !== undefined) await recoverDataDir(opts.dir);
    const parts = await openParts(await openBackend(opts), opts);
    try {
      return new MvccStore(parts, new WatchableStore(parts.kv, opts.watch), opts);
    } catch (e) {
      await parts.kv.close().catch(() => undefined);
      throw e;
    }
  }

  /** Range / put / delete / txn / compact and history. Replaced by `restore`: do not keep it. */
  get kv(): KVStore {
    return this.parts.kv;
  }

  /** Leases: grant, revoke, renew, expiry. Replaced by `restore`: do not keep it. */
  get lessor(): Lessor {
    return this.parts.lessor;
  }

  /** NOSPACE and CORRUPT alarms. Replaced by `restore`: do not keep it. */
  get alarms(): Alarms {
    return this.parts.alarms;
  }

  /** The current store revision. */
  get revision(): Revision {
    return this.kv.revision;
  }

  /** etcd's Range. */
  range(req: RangeRequest): RangeResponse {
    this.check(false);
    return this.kv.range(req);
  }

  /** etcd's Put. */
  put(req: PutRequest): PutResponse {
    this.check(true);
    return this.kv.put(req);
  }

  /** etcd's DeleteRange. */
  deleteRange(req: DeleteRangeRequest): DeleteRangeResponse {
    this.check(true);
    return this.kv.deleteRange(req);
  }

  /** etcd's Txn. */
  txn(req: TxnRequest): TxnResponse {
    this.check(true);
    return this.kv.txn(req);
  }

  /**
   * etcd's Compact: history below `revision` is unreadable at once; with `physical` the promise
   * resolves only once it is removed from disk.
   */
  async compact(req: CompactionRequest): Promise<CompactionResponse> {
    this.check(true);
    const done = this.kv.compact(req.revision);
    if (req.physical) await done;
    else done.catch(() => undefined);
    return { header: { revision: this.kv.revision } };
  }

  /** Watches a key or range (see WatchableStore.watch); iterate it or listen to its events. */
  watch(req: WatchRequest, opts?: WatchOptions): Watcher {
    return this.watchable.watch(req, opts);
  }

  /**
   * Makes everything applied so far durable in one atomic batch, with `appliedIndex` (the host's
   * replicated-log index) if given, so that a restart resumes exactly after it. Refused during a
   * restore (RestoringError): the restored store carries the snapshot's applied index.
   */
  commit(appliedIndex?: number): Promise<void> {
    try {
      this.check(true);
    } catch (e) {
      return Promise.reject(e);
    }
    if (appliedIndex !== undefined) this.kv.setConsistentIndex(appliedIndex);
    return this.kv.commit();
  }

  /**
   * Replaces the store's whole state with a snapshot's (etcd's applySnapshot: backend swap,
   * kv.Restore, lessor.Recover, watchers kept), in place: this object, and every watcher, stay.
   *   1. restore the image into a FRESH backend — LevelDB: D.restore, then closed and fsynced
   *      (data-dir.ts); memory: a new MemoryBackend (or `opts.backend`) with its KV store, lessor
   *      and alarms opened on it. A damaged stream (SnapshotIntegrityError) or any failure here
   *      deletes the new backend and leaves the live store untouched and usable;
   *   2. pause the watchers' sync passes (a running one finishes on the old store);
   *   3. LevelDB: close the live store, swap the dirs (D → D.old, D.restore → D), open the KV
   *      store (rebuilding its index), lessor and alarms on D;
   *   4. if the old lessor was primary, promote the new one (`opts.extendMs`, default the old
   *      one's); install the new instances; retarget the watchers: each catches up from the new
   *      store from its next revision, or is canceled with compactRevision if that revision is
   *      compacted there (see WatchableStore.retarget);
   *   5. close the old store (memory) or delete D.old (LevelDB).
   * If step 3 fails, the store reopens whichever whole store D's crash recovery yields (the old
   * one before the commit point, the new one after) and rethrows; if even that fails, the store is
   * closed and its watchers canceled.
   *
   * Meanwhile: writes through this object (put, delete, txn, compact, commit) fail with
   * RestoringError — the caller (the raft apply loop) applies nothing during a restore, and writes
   * to `kv` or `lessor` directly would be lost with the old state. Reads see the old state until
   * the swap; during step 3 they fail with RestoringError. `revision` and new watches keep
   * working throughout (a new watch is carried over like the others). Listeners subscribed to
   * the old `kv` are not carried over. Restores run one at a time.
   */
  restore(source: AsyncIterable<Uint8Array>, opts: RestoreOptions = {}): Promise<SnapshotStatus> {
    const run = this.lastRestore.then(() => this.restoreNow(source, opts));
    this.lastRestore = run.catch(() => undefined);
    return run;
  }

  private async restoreNow(source: AsyncIterable<Uint8Array>, opts: RestoreOptions): Promise<SnapshotStatus> {
    if (this.closed) throw new StoreClosedError();
    if (opts.extendMs !== undefined && !(Number.isFinite(opts.extendMs) && opts.extendMs >= 0)) {
      throw new RangeError(`mvcc: extendMs must be a non-negative number, got ${opts.extendMs}`);
    }
    this.restoring = true;
    try {
      if (this.opts.dir === undefined) return await this.restoreBackend(source, opts);
      if (opts.backend !== undefined) {
        throw new TypeError('mvcc: RestoreOptions.backend is for stores not opened with dir');
      }
      return await this.restoreDir(this.opts.dir, source, opts);
    } finally {
      this.restoring = false;
      this.swapping = false;
    }
  }

  /** `restore` for a store in memory or on a given backend. */
  private async restoreBackend(
    source: AsyncIterable<Uint8Array>,
    opts: RestoreOptions,
  ): Promise<SnapshotStatus> {
    const made = opts.backend ?? this.opts.newBackend?.();
    if (made === undefined && !(this.kv.backend instanceof MemoryBackend)) {
      throw new TypeError(
        'mvcc: restoring a store opened on a given backend needs RestoreOptions.backend, an empty backend',
      );
    }
    // 1.
    const target = made ?? new MemoryBackend();
    let parts: Parts | undefined;
    let status: SnapshotStatus;
    try {
      status = await restoreSnapshot(source, target);
      parts = await openParts(target, this.opts);
      await this.opts.hooks?.afterRestoreBuilt?.();
    } catch (e) {
      await (parts?.kv ?? target).close().catch(() => undefined);
      throw e;
    }
    // 2.
    await this.watchable.pause();
    // 4.
    const old = this.parts;
    this.install(parts, this.extendMsFor(opts));
    // 5. The old state is discarded: a failure to close it (a failed compaction) concerns no one.
    await old.kv.close().catch(() => undefined);
    return status;
  }

  /** `restore` for a store on LevelDB in `dir`, by the dir swap of data-dir.ts. */
  private async restoreDir(
    dir: string,
    source: AsyncIterable<Uint8Array>,
    opts: RestoreOptions,
  ): Promise<SnapshotStatus> {
    // 1.
    const restoreDir = restoreDirOf(dir);
    await removeDir(restoreDir);
    const target = await LevelBackend.open(restoreDir, { sync: true });
    let status: SnapshotStatus;
    try {
      status = await restoreSnapshot(source, target);
      await target.close();
      await fsyncTree(restoreDir);
      await this.opts.hooks?.afterRestoreBuilt?.();
    } catch (e) {
      await target.close().catch(() => undefined);
      await removeDir(restoreDir).catch(() => undefined);
      throw e;
    }
    // 2.
    await this.watchable.pause();
    this.swapping = true;
    const extendMs = this.extendMsFor(opts);
    try {
      // 3.
      await this.kv.close();
      await swapDataDir(dir, this.opts.hooks);
      const parts = await openParts(await openBackend(this.opts), this.opts);
      // 4.
      this.install(parts, extendMs);
    } catch (e) {
      await this.reload(dir, extendMs);
      throw e;
    }
    // 5. Left over, it is deleted by the next open's recovery.
    await removeDir(oldDirOf(dir)).catch(() => undefined);
    return status;
  }

  /** The extendMs to promote the new lessor with, or undefined if the current one is not primary. */
  private extendMsFor(opts: RestoreOptions): number | undefined {
    const current = this.lessor.promotedExtendMs;
    return current === undefined ? undefined : (opts.extendMs ?? current);
  }

  /** Step 4 of `restore`: the new instances become the store's. Synchronous: nothing slips in. */
  private install(parts: Parts, extendMs: number | undefined): void {
    if (extendMs !== undefined) parts.lessor.promote(extendMs);
    this.parts = parts;
    this.watchable.retarget(parts.kv);
  }

  /**
   * After a failed dir swap: opens whichever whole store D's recovery yields and installs it; if
   * that fails too, nothing is left to serve and the store is closed.
   */
  private async reload(dir: string, extendMs: number | undefined): Promise<void> {
    try {
      await this.kv.close().catch(() => undefined);
      await recoverDataDir(dir);
      this.install(await openParts(await openBackend(this.opts), this.opts), extendMs);
    } catch {
      this.closed = true;
      await this.watchable.close().catch(() => undefined);
    }
  }

  /** Refuses what a restore in progress does not allow (see `restore`). */
  private check(write: boolean): void {
    if (this.swapping || (write && this.restoring)) throw new RestoringError();
  }

  /** Waits for a running restore, cancels watchers, commits (unless `discard`: a crash), and closes the backend. */
  async close(opts: CloseOptions = {}): Promise<void> {
    this.closed = true;
    await this.lastRestore;
    await this.watchable.close();
    await this.kv.close(opts);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** The backend `opts` describe: the LevelDB in `dir`, the given one, or a new memory one. */
async function openBackend(opts: MvccStoreOptions): Promise<Backend> {
  if (opts.backend !== undefined) return opts.backend;
  if (opts.dir === undefined) return new MemoryBackend();
  return LevelBackend.open(opts.dir, { sync: opts.sync ?? true });
}

/** Opens the KV store, lessor and alarms on `backend`; closes it again if any of them fails. */
async function openParts(backend: Backend, opts: MvccStoreOptions): Promise<Parts> {
  let kv: KVStore | undefined;
  try {
    kv = await KVStore.open(backend, opts.kv);
    const lessor = await Lessor.open(kv, opts.lease);
    const alarms = await Alarms.open(kv);
    return { kv, lessor, alarms };
  } catch (e) {
    await (kv ?? backend).close().catch(() => undefined);
    throw e;
  }
}
