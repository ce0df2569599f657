/**
 * watchResilient: a watch that survives compaction and cancellation — the answer to etcd users'
 * "my watch went silent after a compaction". A plain watch whose start revision (or, for a slow
 * consumer, whose position) has been compacted is cancelled with `compactRevision`, and every
 * event between that position and now is gone. This helper turns that into an explicit `resync`:
 *
 *   1. Open a watch from `next`, the first revision not yet delivered (0 = from the next write).
 *   2. Yield each response's events as `{ type: 'events' }`, then advance `next` past the
 *      response's header revision (every event up to it has been delivered).
 *   3. If the watch is cancelled with `compactRevision` set, read the range at the current
 *      revision R and yield `{ type: 'resync', kvs, revision: R }` — the consumer replaces its
 *      whole view of the range with `kvs` — then go back to 1 with `next = R + 1`.
 *   4. If the watch is cancelled for any other reason (member closed or restarted, store
 *      closed), wait `retryMs` and go back to 1 with the same `next`: nothing is skipped, and
 *      the member's history fills the gap. With a client source function, the reopened watch may
 *      be on another member.
 *
 * So the consumer sees, per key, either every change or a resync that states the key's value at
 * a revision — never a silent gap. Not here: deciding which member to use (pass a function that
 * returns a live client) and noticing that a member is partitioned (its watch is merely quiet
 * until the partition heals, then catches up).
 */

import type { Event, KeyValue, WatchFilter } from '@tsetcd/mvcc';
import { type Clock, systemClock } from '../clock.js';
import { CoreError } from '../errors.js';
import type { Client } from '../node/client.js';
import type { Bytes, KeyRangeOptions } from '../node/kv-client.js';
import { NodeStoppedError } from '../node-errors.js';

/** Pause before reopening a watch or retrying a resync read that failed, ms. */
export const DEFAULT_WATCH_RETRY_MS = 100;

/**
 * Where a recipe gets its client: a fixed one (its member closing ends the recipe), or a function
 * asked again after each failure, so the recipe can move to another member.
 */
export type ClientSource = Client | (() => Client);

/** The client a source gives now. */
export function clientOf(source: ClientSource): Client {
  return typeof source === 'function' ? source() : source;
}

/** What watchResilient yields. */
export type ResilientWatchItem =
  /** The events of one watch response; every event of the range up to `revision` has been seen. */
  | { readonly type: 'events'; readonly events: readonly Event[]; readonly revision: number }
  /** The whole range as it is at `revision`: replace your view with it; events follow from revision+1. */
  | { readonly type: 'resync'; readonly kvs: readonly KeyValue[]; readonly revision: number };

/** Options of watchResilient. */
export interface ResilientWatchOptions extends KeyRangeOptions {
  /** First revision to deliver; 0 (default) = the next write. A compacted one starts with a resync. */
  readonly startRevision?: number;
  /** Start with a resync of the range (a consistent initial read), then watch from its revision+1. */
  readonly initialResync?: boolean;
  readonly prevKv?: boolean;
  readonly filters?: readonly WatchFilter[];
  /** Responses each underlying watcher buffers before it falls behind (see NodeWatchOptions). */
  readonly bufferSize?: number;
  /** Aborting it ends the iteration. */
  readonly signal?: AbortSignal;
  /** The clock retries wait on (default the system clock; a test cluster passes its own). */
  readonly clock?: Clock;
  /** Default DEFAULT_WATCH_RETRY_MS. */
  readonly retryMs?: number;
}

/**
 * Watches `key` (or a range) across compactions and cancellations; see the file comment.
 * Breaking out of the loop or aborting the signal cancels the underlying watch.
 */
export async function* watchResilient(
  source: ClientSource,
  key: Bytes,
  opts: ResilientWatchOptions = {},
): AsyncGenerator<ResilientWatchItem, void, undefined> {
  const clock = opts.clock ?? systemClock;
  const retryMs = opts.retryMs ?? DEFAULT_WATCH_RETRY_MS;
  const signal = opts.signal;
  const range = rangeOptions(opts);
  // Invariant: every event of the range with a revision < next has been yielded (or covered by a resync).
  let next = opts.startRevision ?? 0;
  let needResync = opts.initialResync ?? false;

  while (!signal?.aborted) {
    try {
      const client = clientOf(source);
      if (needResync) {
        const r = await client.kv.get(key, { ...range, ...(signal !== undefined ? { signal } : {}) });
        needResync = false;
        next = r.header.revision + 1;
        yield { type: 'resync', kvs: r.kvs, revision: r.header.revision };
        continue;
      }
      const w = client.watch(key, {
        ...range,
        startRevision: next,
        ...(opts.prevKv ? { prevKv: true } : {}),
        ...(opts.filters !== undefined ? { filters: opts.filters } : {}),
        ...(opts.bufferSize !== undefined ? { bufferSize: opts.bufferSize } : {}),
        ...(signal !== undefined ? { signal } : {}),
      });
      try {
        for await (const resp of w) {
          if (resp.canceled) {
            if (resp.compactRevision > 0) needResync = true;
            break;
          }
          if (resp.created) {
            // From "now": the watch starts after the revision it was created at.
            if (next === 0) next = resp.header.revision + 1;
            continue;
          }
          if (resp.events.length > 0) {
            yield { type: 'events', events: resp.events, revision: resp.header.revision };
          }
          next = Math.max(next, resp.header.revision + 1);
        }
      } finally {
        w.cancel();
      }
      if (needResync) continue; // at once: the gap is already lost, the sooner the resync the better
    } catch (err) {
      if (signal?.aborted) return;
      if (!retryable(err, source)) throw err;
    }
    await delay(clock, retryMs, signal);
  }
}

/** Whether trying again (perhaps on another member) may help. */
function retryable(err: unknown, source: ClientSource): boolean {
  if (err instanceof NodeStoppedError) return typeof source === 'function';
  return err instanceof CoreError && err.retryable;
}

/** The range options of `opts`, without undefined fields. */
export function rangeOptions(opts: KeyRangeOptions): KeyRangeOptions {
  return {
    ...(opts.prefix ? { prefix: true } : {}),
    ...(opts.fromKey ? { fromKey: true } : {}),
    ...(opts.rangeEnd !== undefined ? { rangeEnd: opts.rangeEnd } : {}),
  };
}

/** Resolves after `ms` on `clock`, or at once when `signal` aborts. */
export function delay(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const onAbort = () => {
      clock.clearTimeout(timer);
      resolve();
    };
    const timer = clock.setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
