/**
 * Watch events delivered per second with 1,000 watchers: a WatchableStore over the KVStore, the
 * watchers consuming through 'response' listeners, puts of 256-byte values applied in batches as
 * a host applies entries (commit awaited, then a turn of the event loop, so consumers and the
 * store's background sync passes run between batches).
 *
 *   keys:   1,000 single-key watchers, one per key; puts pick one of those keys at random, so
 *           every put is delivered to exactly one watcher.
 *   prefix: 1,000 watchers on one shared prefix that every put falls under, so every put is
 *           delivered to all 1,000 (batches of 100 puts, below the default 128-response watch
 *           buffer, so watchers stay synced rather than fall behind to catch up from history).
 *
 * An op is one event delivered to one watcher's listener. The measured region ends once every
 * event of every put applied in it has been delivered. Each watcher checks that it sees its
 * events in strictly increasing revision order and, at the end, exactly the events it should.
 */

import { setImmediate as nextTurn } from 'node:timers/promises';
import { prefixEnd, utf8, WatchableStore, type WatchResponse } from '../index.js';
import {
  type BackendKind,
  type Committer,
  DEFAULT_VALUE_BYTES,
  KEY_PREFIX,
  makeValues,
  openStore,
  RequestKeys,
  Rng,
  type RunLimit,
  runBatches,
  VALUE_POOL,
} from './fixtures.js';
import type { WorkloadResult } from './kv-workloads.js';

/** Watchers in the watch workload (the 1,000). */
export const DEFAULT_WATCHERS = 1_000;
/** How long the delivery of a batch's events may lag before the workload gives up. */
const DELIVERY_TIMEOUT_MS = 30_000;

/** Options of the watch workload. */
export interface WatchBenchOptions {
  readonly limit: RunLimit;
  readonly watchers?: number;
}

/** What each watcher has seen. */
interface Seen {
  events: number;
  lastRev: number;
}

/** Runs the watch workload with `watchers` watchers on distinct keys or on one shared prefix. */
export async function runWatch(
  kind: BackendKind,
  shape: 'keys' | 'prefix',
  opts: WatchBenchOptions,
): Promise<WorkloadResult> {
  const n = opts.watchers ?? DEFAULT_WATCHERS;
  const keys = new RequestKeys(n);
  const values = makeValues(VALUE_POOL, DEFAULT_VALUE_BYTES);
  await using bs = await openStore(kind);
  const store = bs.store;
  await using ws = new WatchableStore(store);

  const seen: Seen[] = [];
  let delivered = 0;
  let failure: Error | undefined;
  let wake: (() => void) | undefined;
  const prefix = utf8(KEY_PREFIX);
  for (let i = 0; i < n; i++) {
    const s: Seen = { events: 0, lastRev: 0 };
    seen.push(s);
    const w = ws.watch(shape === 'keys' ? { key: keys.at(i) } : { key: prefix, rangeEnd: prefixEnd(prefix) });
    w.on('response', (r: WatchResponse) => {
      if (r.canceled) failure ??= new Error(`bench: watcher ${i} canceled: ${r.cancelReason}`);
      for (const ev of r.events) {
        if (ev.kv.modRevision <= s.lastRev) failure ??= new Error(`bench: watcher ${i} out of order`);
        s.lastRev = ev.kv.modRevision;
      }
      s.events += r.events.length;
      delivered += r.events.length;
      wake?.();
    });
  }

  // Per key: puts so far and the revision of the last one (what its watchers must have seen).
  const puts = new Int32Array(n);
  const lastRev = new Int32Array(n);
  let applied = 0;
  const fanout = shape === 'keys' ? 1 : n;
  const rng = new Rng();
  /** Resolves once every event of every put applied so far has been delivered. */
  const allDelivered = async () => {
    const deadline = Date.now() + DELIVERY_TIMEOUT_MS;
    while (delivered < applied * fanout && failure === undefined) {
      if (Date.now() > deadline)
        throw new Error(`bench: ${delivered} of ${applied * fanout} events delivered`);
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, 100).unref();
      });
      wake = undefined;
    }
    if (failure !== undefined) throw failure;
  };
  const commit: Committer = {
    afterBatch: async () => {
      await store.commit();
      await nextTurn(); // a host's apply loop yields between Readies
    },
    finish: allDelivered,
  };
  const t = await runBatches(
    opts.limit,
    shape === 'keys' ? 1_000 : 100,
    (i) => {
      const k = rng.int(n);
      lastRev[k] = store.put({ key: keys.at(k), value: values[i % VALUE_POOL]! }).header.revision;
      puts[k]!++;
      applied++;
    },
    commit,
  );
  // Everything was delivered (finish); check each watcher got exactly its events.
  const lastOfAll = store.revision;
  for (let i = 0; i < n; i++) {
    const s = seen[i]!;
    const want = shape === 'keys' ? puts[i]! : applied;
    const wantRev = shape === 'keys' ? lastRev[i]! : lastOfAll;
    if (s.events !== want || (want > 0 && s.lastRev !== wantRev)) {
      throw new Error(
        `bench: watcher ${i} saw ${s.events} events up to ${s.lastRev}, expected ${want} up to ${wantRev}`,
      );
    }
  }
  const ops = t.ops * fanout;
  return {
    workload: `watch, ${n.toLocaleString('en-US')} ${shape === 'keys' ? 'single-key watchers' : 'prefix watchers'}`,
    backend: kind,
    unit: 'events',
    ops,
    seconds: t.seconds,
    cpuSeconds: t.cpuSeconds,
    opsPerSec: ops / t.seconds,
  };
}
