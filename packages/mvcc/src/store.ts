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
 */

import { KVStore, type KVStoreOptions } from './kvstore.js';
import { Lessor, type LessorOptions } from './lease/lessor.js';
import { LevelBackend } from './level-backend.js';
import { Alarms } from './maintenance/alarm.js';
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
  /** LevelDB directory; omitted = in memory, nothing survives the process. */
  readonly dir?: string;
  /** fsync each commit (default true; a host whose raft log is fsynced may turn it off). */
  readonly sync?: boolean;
  readonly kv?: KVStoreOptions;
  readonly lease?: LessorOptions;
  readonly watch?: WatchableStoreOptions;
}

/** The KV store, lessor, alarms and watchers of one data dir, opened and closed together. */
export class MvccStore implements AsyncDisposable {
  private constructor(
    /** Range / put / delete / txn / compact and history. */
    readonly kv: KVStore,
    /** Leases: grant, revoke, renew, expiry. */
    readonly lessor: Lessor,
    /** NOSPACE and CORRUPT alarms. */
    readonly alarms: Alarms,
    /** Watchers. */
    readonly watchable: WatchableStore,
  ) {}

  /**
   * Opens a store: (1) the backend, (2) the KV store, rebuilding its index, (3) the lessor, which
   * restores leases and plugs itself into the KV store before any write, (4) alarms, which may
   * switch the store to NOSPACE, (5) watchers. Anything opened is closed again if a later step fails.
   */
  static async open(opts: MvccStoreOptions = {}): Promise<MvccStore> {
    const backend =
      opts.dir === undefined
        ? new MemoryBackend()
        : await LevelBackend.open(opts.dir, { sync: opts.sync ?? true });
    let kv: KVStore | undefined;
    try {
      kv = await KVStore.open(backend, opts.kv);
      const lessor = await Lessor.open(kv, opts.lease);
      const alarms = await Alarms.open(kv);
      return new MvccStore(kv, lessor, alarms, new WatchableStore(kv, opts.watch));
    } catch (e) {
      await (kv ?? backend).close().catch(() => undefined);
      throw e;
    }
  }

  /** The current store revision. */
  get revision(): Revision {
    return this.kv.revision;
  }

  /** etcd's Range. */
  range(req: RangeRequest): RangeResponse {
    return this.kv.range(req);
  }

  /** etcd's Put. */
  put(req: PutRequest): PutResponse {
    return this.kv.put(req);
  }

  /** etcd's DeleteRange. */
  deleteRange(req: DeleteRangeRequest): DeleteRangeResponse {
    return this.kv.deleteRange(req);
  }

  /** etcd's Txn. */
  txn(req: TxnRequest): TxnResponse {
    return this.kv.txn(req);
  }

  /**
   * etcd's Compact: history below `revision` is unreadable at once; with `physical` the promise
   * resolves only once it is removed from disk.
   */
  async compact(req: CompactionRequest): Promise<CompactionResponse> {
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
   * replicated-log index) if given, so that a restart resumes exactly after it.
   */
  commit(appliedIndex?: number): Promise<void> {
    if (appliedIndex !== undefined) this.kv.setConsistentIndex(appliedIndex);
    return this.kv.commit();
  }

  /** Cancels watchers, commits, and closes the backend. */
  async close(): Promise<void> {
    await this.watchable.close();
    await this.kv.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
