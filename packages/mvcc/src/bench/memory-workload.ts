/**
 * Memory per key: puts `keys` distinct keys with small values into a fresh KVStore, commits, runs
 * the GC (node --expose-gc), and reports what the process grew by, per key and per million keys.
 *
 * Run it in a fresh process (bench.ts forks one per backend): RSS rarely shrinks, so a second
 * measurement in the same process would be flattered by the first one's freed pages.
 */

import { collectGarbage, makeKeys, makeValues, openStore, stopwatch } from './fixtures.js';

/** Keys the issue sizes memory by. */
export const DEFAULT_MEMORY_KEYS = 1_000_000;
/** Value bytes in the memory workload ("small values"). */
export const MEMORY_VALUE_BYTES = 16;
/** Puts per commit while loading (set-up speed only; the figure is taken after the last commit). */
const LOAD_COMMIT_EVERY = 10_000;

/** What the memory workload measured. */
export interface MemoryResult {
  readonly backend: 'level-sync' | 'memory';
  readonly keys: number;
  readonly valueBytes: number;
  /** V8 heap growth per key (the key index, plus buffered JS objects). */
  readonly heapBytesPerKey: number;
  /** Growth of memory outside the V8 heap but owned by JS (ArrayBuffers: keys, values) per key. */
  readonly externalBytesPerKey: number;
  /** Resident set growth per key (everything: heap, buffers, LevelDB's caches and memtable). */
  readonly rssBytesPerKey: number;
  /** Seconds spent loading the keys. */
  readonly loadSeconds: number;
  /** Whether the GC could be forced; without it the figures include garbage. */
  readonly gcForced: boolean;
}

/** Loads `keys` keys into a store on `backend` and measures the memory it holds. */
export async function runMemory(backend: 'level-sync' | 'memory', keys: number): Promise<MemoryResult> {
  // Made before the first reading: they are the requests' bytes, which the store does not keep.
  const keyBytes = makeKeys(keys);
  const values = makeValues(256, MEMORY_VALUE_BYTES);
  let gcForced = collectGarbage();
  const before = process.memoryUsage();
  const elapsed = stopwatch();
  await using bs = await openStore(backend);
  const store = bs.store;
  for (let i = 0; i < keys; i++) {
    store.put({ key: keyBytes[i]!, value: values[i & 0xff]! });
    if ((i + 1) % LOAD_COMMIT_EVERY === 0) await store.commit();
  }
  await store.commit();
  const loadSeconds = elapsed().seconds;
  gcForced = collectGarbage() && gcForced;
  const after = process.memoryUsage();
  if (store.revision !== keys + 1) throw new Error(`bench: ${keys} puts made revision ${store.revision}`);
  const last = store.range({ key: keyBytes[keys - 1]! }).kvs[0];
  if (last?.version !== 1) throw new Error('bench: last key missing after the memory load');
  return {
    backend,
    keys,
    valueBytes: MEMORY_VALUE_BYTES,
    heapBytesPerKey: (after.heapUsed - before.heapUsed) / keys,
    externalBytesPerKey: (after.arrayBuffers - before.arrayBuffers) / keys,
    rssBytesPerKey: (after.rss - before.rss) / keys,
    loadSeconds,
    gcForced,
  };
}
