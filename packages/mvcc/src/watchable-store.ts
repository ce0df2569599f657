/**
 * WatchableStore: etcd's watch over a KVStore. Watch a key, a range, a prefix or every key from
 * a key, from a start revision (0 = the next write), with prev_kv, NOPUT / NODELETE filters,
 * progress notifications and cancel.
 *
 * etcd's guarantees (learning/api_guarantees): events arrive in revision order (ordered), never
 * twice (unique), without gaps (reliable), and a revision's events arrive in one response
 * (atomic). A watcher that falls below the compaction revision is canceled with
 * `compactRevision` set: the client must re-watch from a newer revision.
 *
 * Every watcher is in exactly one of three groups, as in etcd's watchable_store.go:
 *   - synced: caught up; gets each write's events from the store's subscribe callback, at once.
 *   - unsynced: behind; caught up from the store's history by background sync passes.
 *   - victims: a response found its buffer full; the response is held (never dropped) and offered
 *     again when the consumer makes room. A victim gets no new events meanwhile — it rejoins as
 *     unsynced and catches up from history — so it never sees them out of order.
 * A write never waits for a watcher, and a slow watcher costs at most its buffer plus one held
 * response of memory: the history it has not read yet stays in the backend.
 *
 * A snapshot restore replaces the KV store under the watchers (etcd's watchableStore.Restore):
 * `pause()` stops sync passes, `retarget(store)` switches to the new store and makes every synced
 * watcher unsynced, so each catches up from the new store's history from its next revision.
 *
 * Not here: the consumer side (watcher.ts), key indexing (watcher-group.ts), per-stream watch
 * IDs and fragmenting large responses (the server's concern).
 */

import { compareBytes, type KeyRange, keyRange } from './bytes.js';
import { CompactedError, StoreClosedError } from './errors.js';
import type { KVStore } from './kvstore.js';
import { asRevision, type Event, type KeyValue, type Revision } from './types.js';
import { defaultWatchScheduler, type WatchScheduler } from './watch-scheduler.js';
import {
  controlResponse,
  EmptyWatcherRangeError,
  Watcher,
  type WatchId,
  type WatchOptions,
  type WatchRequest,
  type WatchResponse,
} from './watcher.js';
import { type GroupMember, WatcherGroup } from './watcher-group.js';

/** Responses a watcher buffers before it becomes a victim (etcd's chanBufLen). */
export const DEFAULT_WATCH_BUFFER = 128;
/**
 * Revisions one sync pass reads at most, so a pass never holds the event loop long (etcd's
 * watchBatchMaxRevs). It bounds revisions, not events: a revision is never split.
 */
export const DEFAULT_SYNC_BATCH_REVISIONS = 1000;
/** Unsynced watchers one sync pass serves at most (etcd's maxWatchersPerSync). */
export const DEFAULT_MAX_WATCHERS_PER_SYNC = 512;
/** Period of progress notifications for watchers created with progressNotify (etcd's default: 10 min). */
export const DEFAULT_PROGRESS_NOTIFY_INTERVAL_MS = 10 * 60 * 1000;

/** Named points where tests and the simulator can act in the middle of the watch machinery. */
export interface WatchableStoreHooks {
  /**
   * After a sync pass read revisions [from, to] from history and before it delivers them:
   * writes, compactions and cancels made here land in the catch-up race window.
   */
  afterHistoryRead?(from: Revision, to: Revision): void | Promise<void>;
}

/** Options of a WatchableStore; every tunable defaults to the constant of the same name. */
export interface WatchableStoreOptions {
  readonly bufferSize?: number;
  readonly syncBatchRevisions?: number;
  readonly maxWatchersPerSync?: number;
  readonly progressNotifyIntervalMs?: number;
  readonly scheduler?: WatchScheduler;
  readonly hooks?: WatchableStoreHooks;
}

/** Watcher counts per group (etcd's watcher_total and slow_watcher_total gauges). */
export interface WatchStats {
  readonly synced: number;
  readonly unsynced: number;
  readonly victims: number;
}

/** The store's bookkeeping for one watcher (etcd's `watcher` struct). */
interface WatchEntry extends GroupMember {
  readonly watcher: Watcher;
  readonly range: KeyRange;
  readonly noPut: boolean;
  readonly noDelete: boolean;
  readonly prevKv: boolean;
  /**
   * The next revision this watcher needs. Invariant: every event in range with a revision below
   * minRev has been accepted by the watcher or is in `pending`. For a synced watcher it is only
   * kept exact for watchers that start in the future (the others follow the store).
   */
  minRev: number;
  where: 'synced' | 'unsynced' | 'victim' | 'gone';
  /** The response a victim could not send. Invariant: set iff where === 'victim'. */
  pending: WatchResponse | undefined;
  /** A progress notification is owed, to be sent once the watcher is synced and has room. */
  progressRequested: boolean;
  /** Events were sent since the last progress tick (then no notification is due). */
  sentSinceTick: boolean;
}

/** etcd's watchableStore: watches over a KVStore. Create with `new WatchableStore(store)`. */
export class WatchableStore implements AsyncDisposable {
  private readonly synced = new WatcherGroup<WatchEntry>();
  private readonly unsynced = new WatcherGroup<WatchEntry>();
  private readonly victims = new Set<WatchEntry>();
  private readonly progressNotified = new Set<WatchEntry>();
  private nextId = 0;
  /** The last sync pass; passes run one at a time. */
  private pass: Promise<void> = Promise.resolve();
  private loopQueued = false;
  private stopProgressTimer: (() => void) | undefined;
  private unsubscribe: () => void;
  private closed = false;
  /** The KV store watched; replaced by `retarget`. */
  private kv: KVStore;
  /** Set between `pause()` and `retarget()`: no sync pass runs. */
  private paused = false;
  /**
   * Bumped by `retarget`. Invariant: a sync pass delivers history only if the epoch is unchanged
   * since it started, so nothing read from a replaced store reaches a watcher after the switch.
   */
  private epoch = 0;

  private readonly bufferSize: number;
  private readonly syncBatchRevisions: number;
  private readonly maxWatchersPerSync: number;
  private readonly progressIntervalMs: number;
  private readonly scheduler: WatchScheduler;
  private readonly hooks: WatchableStoreHooks;

  constructor(store: KVStore, opts: WatchableStoreOptions = {}) {
    this.kv = store;
    this.bufferSize = positive('bufferSize', opts.bufferSize ?? DEFAULT_WATCH_BUFFER);
    this.syncBatchRevisions = positive(
      'syncBatchRevisions',
      opts.syncBatchRevisions ?? DEFAULT_SYNC_BATCH_REVISIONS,
    );
    this.maxWatchersPerSync = positive(
      'maxWatchersPerSync',
      opts.maxWatchersPerSync ?? DEFAULT_MAX_WATCHERS_PER_SYNC,
    );
    this.progressIntervalMs = positive(
      'progressNotifyIntervalMs',
      opts.progressNotifyIntervalMs ?? DEFAULT_PROGRESS_NOTIFY_INTERVAL_MS,
    );
    this.scheduler = opts.scheduler ?? defaultWatchScheduler;
    this.hooks = opts.hooks ?? {};
    this.unsubscribe = store.subscribe((events, rev) => this.notify(events, rev));
  }

  /** The KV store watched now (a restore replaces it: do not cache it across one). */
  get store(): KVStore {
    return this.kv;
  }

  /** Watcher counts per group. */
  stats(): WatchStats {
    return { synced: this.synced.size, unsynced: this.unsynced.size, victims: this.victims.size };
  }

  /**
   * Starts a watch. Its first response has `created` set; a start revision below the compaction
   * revision is answered at once with a canceled response carrying `compactRevision`.
   */
  watch(req: WatchRequest, opts: WatchOptions = {}): Watcher {
    if (this.closed) throw new StoreClosedError();
    opts.signal?.throwIfAborted();
    const key = req.key.length === 0 ? new Uint8Array([0]) : req.key;
    const rangeEnd = req.rangeEnd === undefined || req.rangeEnd.length === 0 ? undefined : req.rangeEnd;
    const range = keyRange(key, rangeEnd);
    if (range.kind === 'range' && compareBytes(key, rangeEnd!) >= 0) throw new EmptyWatcherRangeError();
    const startRevision = asRevision(req.startRevision ?? 0);
    const filters = req.filters ?? [];
    const watcher = new Watcher(
      {
        id: this.nextId++,
        key,
        rangeEnd,
        startRevision,
        prevKv: req.prevKv ?? false,
        filters,
        progressNotify: req.progressNotify ?? false,
        fragment: req.fragment ?? false,
        bufferSize: positive('bufferSize', opts.bufferSize ?? this.bufferSize),
      },
      {
        // Called only after `watch` returns, once `entry` exists.
        consumed: () => this.consumed(entry),
        detach: () => this.remove(entry),
        requestProgress: () => this.requestProgressOf(entry),
        revision: () => this.store.revision,
      },
    );
    const entry: WatchEntry = {
      watcher,
      range,
      noPut: filters.includes('NOPUT'),
      noDelete: filters.includes('NODELETE'),
      prevKv: watcher.prevKv,
      minRev: startRevision,
      where: 'gone',
      pending: undefined,
      progressRequested: false,
      sentSinceTick: false,
    };

    const cur = this.store.revision;
    watcher.send(controlResponse(watcher.id, cur, { created: true }));
    if (startRevision !== 0 && startRevision < this.store.compactRevision) {
      this.cancelCompacted(entry, this.store.compactRevision);
      return watcher;
    }
    if (startRevision === 0 || startRevision > cur) {
      // etcd: a watch from now or from the future is synced at once.
      entry.minRev = Math.max(cur + 1, startRevision);
      this.toSynced(entry);
    } else {
      entry.where = 'unsynced';
      this.unsynced.add(entry);
      this.kick();
    }
    if (watcher.progressNotify) this.addProgressNotified(entry);
    if (opts.signal !== undefined) watcher.bindSignal(opts.signal);
    return watcher;
  }

  /**
   * etcd's RequestProgress: every watcher gets an empty response whose header revision it has
   * fully seen — at once if synced, otherwise as soon as it has caught up.
   */
  requestProgress(): void {
    for (const e of [...this.synced, ...this.unsynced, ...this.victims]) this.requestProgressOf(e);
  }

  /**
   * Runs one sync pass after any pass already running, and resolves when it is done. The
   * scheduler runs passes in the background; tests call this directly for determinism.
   */
  syncWatchers(): Promise<void> {
    const run = this.pass.then(() => this.runPass());
    this.pass = run.catch(() => undefined);
    return run;
  }

  /**
   * Stops sync passes and resolves once none is running, before the store is replaced. Watchers
   * stay where they are; live events of the current store still reach synced ones (the caller
   * makes no writes meanwhile). `retarget` resumes.
   */
  async pause(): Promise<void> {
    this.paused = true;
    let p: Promise<void>;
    do {
      p = this.pass;
      await p;
    } while (p !== this.pass);
  }

  /**
   * Switches to `store`, which replaces the one watched so far with the state of a snapshot, and
   * resumes sync passes (etcd's watchableStore.Restore):
   *   1. unsubscribe from the old store, subscribe to `store`; bump the epoch, so a pass still
   *      reading the old store's history delivers nothing of it;
   *   2. every synced watcher has been handed every event up to the old store's revision R: its
   *      next revision becomes max(minRev, R + 1) and it joins the unsynced group, after the
   *      watchers already there. Unsynced watchers and victims keep their exact minRev (and a
   *      victim its held response, which predates the switch);
   *   3. sync passes then serve them all from `store`'s history from their minRev: a watcher whose
   *      minRev is below `store`'s compaction revision is canceled with compactRevision; the
   *      others get every event of [minRev, store.revision] once, then become synced.
   * A watcher's revisions never go back: were `store` behind R (a raft snapshot never is), its
   * writes up to R would not be sent.
   */
  retarget(store: KVStore): void {
    if (this.closed) throw new StoreClosedError();
    // 1.
    const oldRev = this.kv.revision;
    this.unsubscribe();
    this.kv = store;
    this.unsubscribe = store.subscribe((events, rev) => this.notify(events, rev));
    this.epoch++;
    // 2.
    for (const e of [...this.synced]) {
      this.synced.delete(e);
      e.minRev = Math.max(e.minRev, oldRev + 1);
      e.where = 'unsynced';
      this.unsynced.add(e);
    }
    // 3.
    this.paused = false;
    if (this.unsynced.size > 0) this.kick();
  }

  /** Cancels every watcher (cancelReason 'mvcc: closed') and stops. The KVStore stays open. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribe();
    const reason = new StoreClosedError().message;
    for (const e of [...this.synced, ...this.unsynced, ...this.victims]) {
      this.remove(e);
      e.watcher.end(
        controlResponse(e.watcher.id, this.store.revision, { canceled: true, cancelReason: reason }),
      );
    }
    await this.pass;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  // ---- live events -----------------------------------------------------------------------------

  /** The store's subscribe callback: hands one write's events to the synced watchers. Never blocks. */
  private notify(events: readonly Event[], rev: Revision): void {
    if (this.synced.size === 0) return;
    const prevKvs = new Map<Event, KeyValue | undefined>();
    for (const [e, evs] of this.synced.match(events)) {
      if (rev < e.minRev) continue; // a watch that starts at a future revision
      e.minRev = rev + 1;
      try {
        this.offer(e, this.eventResponse(e, evs, rev, prevKvs));
      } catch (err) {
        // Never let one watcher's failure escape into the write that is being applied.
        this.fail(e, err);
      }
    }
  }

  /**
   * The response carrying `events` (all at revisions <= headerRev) after the watcher's filters,
   * with prev_kv attached when asked; undefined when the filters leave nothing.
   */
  private eventResponse(
    e: WatchEntry,
    events: readonly Event[],
    headerRev: Revision,
    prevKvs: Map<Event, KeyValue | undefined>,
  ): WatchResponse | undefined {
    if (events.length === 0) return undefined;
    // `events` is this watcher's own array (made by match for it alone), so with nothing to drop or
    // attach it is the response's as it is: one put seen by many watchers costs each of them one
    // object, not a copy of the list and of a template response.
    if (!e.prevKv && !e.noPut && !e.noDelete) return eventsResponse(e.watcher.id, headerRev, events);
    const out: Event[] = [];
    for (const ev of events) {
      if (ev.type === 'PUT' ? e.noPut : e.noDelete) continue;
      if (!e.prevKv) {
        out.push(ev);
        continue;
      }
      let prev = prevKvs.get(ev);
      if (prev === undefined && !prevKvs.has(ev)) {
        prev = this.store.prevKeyValue(ev.kv.key, ev.kv.modRevision);
        prevKvs.set(ev, prev);
      }
      out.push(prev === undefined ? ev : { ...ev, prevKv: prev });
    }
    return out.length === 0 ? undefined : eventsResponse(e.watcher.id, headerRev, out);
  }

  /** Sends an event response, or makes the watcher a victim holding it. */
  private offer(e: WatchEntry, resp: WatchResponse | undefined): void {
    if (resp === undefined) return;
    if (e.watcher.send(resp)) {
      e.sentSinceTick = true;
      return;
    }
    this.synced.delete(e);
    this.unsynced.delete(e);
    e.where = 'victim';
    e.pending = resp;
    this.victims.add(e);
  }

  // ---- victims ---------------------------------------------------------------------------------

  /** The consumer made room: a victim's held response goes first; then any owed progress. */
  private consumed(e: WatchEntry): void {
    if (e.where === 'victim') this.retryVictim(e);
    else if (e.where === 'synced' && e.progressRequested) this.sendProgress(e);
  }

  /**
   * Offers a victim its held response again (etcd's moveVictims). Once sent, the watcher rejoins
   * as synced if nothing was written since, else as unsynced to catch up from history. Synchronous,
   * so no write can slip in between the check and the move.
   */
  private retryVictim(e: WatchEntry): void {
    if (!e.watcher.send(e.pending!)) return;
    e.sentSinceTick = true;
    e.pending = undefined;
    this.victims.delete(e);
    if (e.minRev > this.store.revision) {
      this.toSynced(e);
    } else {
      e.where = 'unsynced';
      this.unsynced.add(e);
      this.kick();
    }
  }

  // ---- sync passes -----------------------------------------------------------------------------

  /** Asks the scheduler for passes until no watcher is unsynced. */
  private kick(): void {
    if (this.loopQueued || this.closed || this.paused) return;
    this.loopQueued = true;
    this.scheduler.defer(() => {
      this.loopQueued = false;
      void this.syncWatchers()
        .catch(() => undefined)
        .then(() => {
          if (this.unsynced.size > 0) this.kick();
        });
    });
  }

  /**
   * One sync pass (etcd's syncWatchers). Writes may happen at every await; they reach only synced
   * watchers, so an unsynced watcher must fetch them from history itself:
   *   1. Offer every victim its held response again (a consumer may have made room).
   *   2. Choose up to maxWatchersPerSync unsynced watchers, oldest turn first; cancel those whose
   *      minRev is below the compaction revision (their history is gone).
   *   3. Note curRev, the store revision now, and read history [from, to]: from = the least
   *      minRev chosen, to = min(curRev, from + syncBatchRevisions - 1). Everything <= curRev is
   *      in the backend already, so the read sees every revision it asks for. (await)
   *   4. If the store was replaced during the read (retarget), stop: deliver nothing, touch no
   *      watcher. If the read failed, deliver nothing: cancel watchers now below compaction and
   *      leave the rest unsynced (a compaction raced the read) or cancel them (anything else failed).
   *   5. Compaction may have run during the read and removed part of it: cancel every chosen
   *      watcher whose minRev is below the compaction revision now.
   *   6. For each chosen watcher still unsynced with minRev <= to: send it the events of
   *      revisions [minRev, to] in its range, in order, as one response with header `to`; set
   *      minRev = to + 1. A full buffer makes it a victim holding that response. Nothing below
   *      minRev is sent again (unique), nothing in [minRev, to] is skipped (reliable).
   *   7. Writes made during the read (revisions > curRev) were not delivered to these watchers.
   *      So a watcher moves to synced only if minRev > store.revision, checked now, synchronously,
   *      with no write in between; otherwise it stays unsynced, at the back of the line, and the
   *      next pass reads from its minRev — those writes included.
   */
  private async runPass(): Promise<void> {
    if (this.closed || this.paused) return;
    const epoch = this.epoch;
    // 1.
    for (const e of [...this.victims]) this.retryVictim(e);
    // 2.
    const compactRev = this.store.compactRevision;
    const chosen: WatchEntry[] = [];
    for (const e of [...this.unsynced]) {
      if (chosen.length >= this.maxWatchersPerSync) break;
      if (e.minRev < compactRev) this.cancelCompacted(e, compactRev);
      else chosen.push(e);
    }
    if (chosen.length === 0) return;
    // 3.
    const curRev = this.store.revision;
    const from = Math.min(...chosen.map((e) => e.minRev));
    const to = Math.min(curRev, from + this.syncBatchRevisions - 1) as Revision;
    const history: { revision: Revision; events: Event[] }[] = [];
    let failure: unknown;
    if (from <= to) {
      try {
        for await (const batch of this.store.history(from, to)) history.push(batch);
      } catch (err) {
        failure = err;
      }
      await this.hooks.afterHistoryRead?.(from as Revision, to);
      // The store was replaced during the read: what was read is not the watched store's any
      // more. The chosen watchers are unsynced still, with their minRev, and caught up by the
      // next pass (retarget kicked one).
      if (epoch !== this.epoch) return;
    }
    // 4. and 5.
    const compactNow = this.store.compactRevision;
    const serving = new WatcherGroup<WatchEntry>();
    for (const e of chosen) {
      if (e.where !== 'unsynced') continue; // canceled during the read
      if (e.minRev < compactNow) this.cancelCompacted(e, compactNow);
      else if (failure !== undefined && !(failure instanceof CompactedError)) this.fail(e, failure);
      else if (failure === undefined && e.minRev <= to) serving.add(e);
    }
    // 6.
    const found = new Map<WatchEntry, Event[]>();
    for (const { revision, events } of history) {
      for (const [e, evs] of serving.match(events)) {
        if (revision < e.minRev) continue;
        const acc = found.get(e);
        if (acc === undefined) found.set(e, evs);
        else acc.push(...evs);
      }
    }
    const prevKvs = new Map<Event, KeyValue | undefined>();
    for (const e of serving) {
      e.minRev = to + 1;
      try {
        this.offer(e, this.eventResponse(e, found.get(e) ?? [], to, prevKvs));
      } catch (err) {
        this.fail(e, err);
      }
    }
    // 7.
    for (const e of chosen) {
      if (e.where !== 'unsynced') continue;
      this.unsynced.delete(e);
      if (e.minRev > this.store.revision) this.toSynced(e);
      else this.unsynced.add(e);
    }
  }

  // ---- progress --------------------------------------------------------------------------------

  private requestProgressOf(e: WatchEntry): void {
    if (e.where === 'gone') return;
    e.progressRequested = true;
    if (e.where === 'synced') this.sendProgress(e);
  }

  /**
   * Sends a synced watcher an empty response at the store revision: it has been handed every
   * event up to there (a synced watcher gets each write as it happens, into a FIFO buffer).
   */
  private sendProgress(e: WatchEntry): boolean {
    const ok = e.watcher.send(controlResponse(e.watcher.id, this.store.revision));
    if (ok) e.progressRequested = false;
    return ok;
  }

  /** A progress tick: progressNotify watchers that are synced and got no events since the last tick. */
  private progressTick(): void {
    for (const e of this.progressNotified) {
      if (e.where === 'synced' && !e.sentSinceTick) this.sendProgress(e);
      e.sentSinceTick = false;
    }
  }

  private addProgressNotified(e: WatchEntry): void {
    this.progressNotified.add(e);
    this.stopProgressTimer ??= this.scheduler.every(this.progressIntervalMs, () => this.progressTick());
  }

  // ---- membership ------------------------------------------------------------------------------

  private toSynced(e: WatchEntry): void {
    e.where = 'synced';
    this.synced.add(e);
    if (e.progressRequested) this.sendProgress(e);
  }

  /** Removes a watcher from every group and drops what the store holds for it. */
  private remove(e: WatchEntry): void {
    this.synced.delete(e);
    this.unsynced.delete(e);
    this.victims.delete(e);
    e.where = 'gone';
    e.pending = undefined;
    if (this.progressNotified.delete(e) && this.progressNotified.size === 0) {
      this.stopProgressTimer?.();
      this.stopProgressTimer = undefined;
    }
  }

  /** etcd: a watcher behind the compaction revision is canceled; the client must re-watch. */
  private cancelCompacted(e: WatchEntry, compactRev: Revision): void {
    this.remove(e);
    e.watcher.end(
      controlResponse(e.watcher.id, this.store.revision, {
        canceled: true,
        compactRevision: compactRev,
        cancelReason: new CompactedError(compactRev).message,
      }),
    );
  }

  /** Cancels a watcher the store failed to serve (e.g. the backend failed), with the reason. */
  private fail(e: WatchEntry, err: unknown): void {
    this.remove(e);
    const reason = err instanceof Error ? err.message : String(err);
    e.watcher.end(
      controlResponse(e.watcher.id, this.store.revision, { canceled: true, cancelReason: reason }),
    );
  }
}

function positive(name: string, n: number): number {
  if (!Number.isSafeInteger(n) || n < 1)
    throw new RangeError(`mvcc: ${name} must be a positive integer, got ${n}`);
  return n;
}

/** A response carrying events (no control fields set). */
function eventsResponse(watchId: WatchId, revision: Revision, events: readonly Event[]): WatchResponse {
  return {
    header: { revision },
    watchId,
    created: false,
    canceled: false,
    compactRevision: 0 as Revision,
    cancelReason: '',
    events,
  };
}
