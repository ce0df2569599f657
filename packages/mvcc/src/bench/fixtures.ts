/**
 * What every mvcc workload shares: the key and value shapes, a seeded random source, stores on
 * each backend (LevelDB in a temp dir that is removed afterwards, or memory), the host-like
 * apply/commit loop, and the stopwatch that reads wall and CPU time together.
 *
 * Bench-only code: it uses the package's public API (../index.js) and nothing internal.
 */

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { KVStore, LevelBackend, MemoryBackend, prefixEnd, utf8 } from '../index.js';

/** Keys in the key space that puts, ranges and txns pick from (the 100k). */
export const DEFAULT_KEY_SPACE = 100_000;
/** Value bytes of every put (the 256). */
export const DEFAULT_VALUE_BYTES = 256;
/** Applied requests per commit, as a replicated host commits after applying a batch of entries. */
export const DEFAULT_COMMIT_EVERY = 1_000;
/** Distinct value buffers cycled through, so values differ and a wrong one is detected. */
export const VALUE_POOL = 256;
/** Every bench key starts with this; the rest is the key's number, zero-padded to KEY_DIGITS. */
export const KEY_PREFIX = '/bench/key/';
/** Digits of a key number: keys are 19 bytes. Every run of 100 keys shares one 17-byte prefix. */
export const KEY_DIGITS = 8;

/** Where a store keeps its data: LevelDB with fsync per batch (the default), without, or memory. */
export type BackendKind = 'level-sync' | 'level-nosync' | 'memory';

/** Every backend kind, in table order. */
export const BACKEND_KINDS: readonly BackendKind[] = ['level-sync', 'level-nosync', 'memory'];

/** The bytes of key number `i`. */
export function benchKey(i: number): Uint8Array {
  return utf8(KEY_PREFIX + String(i).padStart(KEY_DIGITS, '0'));
}

/** Keys 0 … n-1. */
export function makeKeys(n: number): Uint8Array[] {
  const keys: Uint8Array[] = [];
  for (let i = 0; i < n; i++) keys.push(benchKey(i));
  return keys;
}

/**
 * Keys 0 … n-1 as a request decoder hands them to the store: each request's key is a fresh view
 * into one buffer that holds them all, as a decoded request's fields are views into the frame it
 * was read from. A real request's key is in the CPU's cache when it is applied (it was just
 * decoded); 100,000 keys each in an ArrayBuffer of its own (makeKeys) cost each op two or three
 * cache and TLB misses of the bench's own (380 ns of a 2 µs range, measured), which no request
 * of a real client pays. The bytes never change, so a store may keep a view.
 */
export class RequestKeys {
  /** Every key's bytes, key k at [k·width, (k+1)·width). */
  private readonly bytes: Uint8Array;
  /** Bytes per key (all keys are KEY_PREFIX and KEY_DIGITS digits). */
  private readonly width: number;

  constructor(readonly count: number) {
    this.width = KEY_PREFIX.length + KEY_DIGITS;
    this.bytes = new Uint8Array(count * this.width);
    for (let k = 0; k < count; k++) this.bytes.set(benchKey(k), k * this.width);
  }

  /** A fresh view of key k's bytes (what a decoded request would carry). */
  at(k: number): Uint8Array {
    return new Uint8Array(this.bytes.buffer, k * this.width, this.width);
  }
}

/** `count` distinct values of `bytes` bytes each (value j is filled with byte j, then stamped with j). */
export function makeValues(count: number, bytes: number): Uint8Array[] {
  const values: Uint8Array[] = [];
  for (let j = 0; j < count; j++) {
    const v = new Uint8Array(bytes).fill(j & 0xff);
    if (bytes >= 4) new DataView(v.buffer).setUint32(0, j);
    values.push(v);
  }
  return values;
}

/** The prefix shared by keys 100·g … 100·g+99, and its range end: a range of exactly 100 keys. */
export function hundredKeyRange(group: number): { key: Uint8Array; rangeEnd: Uint8Array } {
  const key = utf8(KEY_PREFIX + String(group).padStart(KEY_DIGITS - 2, '0'));
  return { key, rangeEnd: prefixEnd(key) };
}

/** xorshift32: a fast, seeded, reproducible source of key choices. Never 0 for a non-zero seed. */
export class Rng {
  private s: number;
  constructor(seed = 0x9e3779b9) {
    this.s = seed >>> 0 || 1;
  }
  /** An integer in [0, n). */
  int(n: number): number {
    let x = this.s;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.s = x >>> 0;
    return this.s % n;
  }
}

/** A store under test and how to get rid of it. */
export interface BenchStore extends AsyncDisposable {
  readonly store: KVStore;
  readonly kind: BackendKind;
  /** The LevelDB directory (undefined for memory). */
  readonly dir: string | undefined;
  /** Closes the store and opens it again from disk (LevelDB only): what a restart would see. */
  reopen(): Promise<KVStore>;
}

/** Opens an empty store on `kind`; LevelDB lives in a fresh temp dir removed on dispose. */
export async function openStore(kind: BackendKind): Promise<BenchStore> {
  if (kind === 'memory') {
    const store = await KVStore.open(new MemoryBackend());
    return {
      store,
      kind,
      dir: undefined,
      reopen: () => Promise.reject(new Error('bench: a memory store cannot be reopened')),
      [Symbol.asyncDispose]: () => store.close(),
    };
  }
  const sync = kind === 'level-sync';
  const dir = await mkdtemp(join(tmpdir(), 'mvcc-bench-'));
  try {
    let store = await KVStore.open(await LevelBackend.open(dir, { sync }));
    return {
      get store() {
        return store;
      },
      kind,
      dir,
      async reopen() {
        await store.close();
        store = await KVStore.open(await LevelBackend.open(dir, { sync }));
        return store;
      },
      async [Symbol.asyncDispose]() {
        try {
          await store.close();
        } finally {
          await rm(dir, { recursive: true, force: true });
        }
      },
    };
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
}

/**
 * Puts keys[0 … n-1] once each, committing every `commitEvery` puts (untimed set-up for reads).
 * Returns each key's modRevision.
 */
export async function preload(
  store: KVStore,
  keys: RequestKeys,
  value: (i: number) => Uint8Array,
  commitEvery = DEFAULT_COMMIT_EVERY * 10,
): Promise<Int32Array> {
  const modRevs = new Int32Array(keys.count);
  for (let i = 0; i < keys.count; i++) {
    modRevs[i] = store.put({ key: keys.at(i), value: value(i) }).header.revision;
    if ((i + 1) % commitEvery === 0) await store.commit();
  }
  await store.commit();
  return modRevs;
}

/** Wall and CPU time of one measured region. */
export interface Timing {
  readonly seconds: number;
  /** Process CPU time (user + system, every thread: LevelDB's and the GC's too). */
  readonly cpuSeconds: number;
}

/** Starts a stopwatch; call the result to read the time since. */
export function stopwatch(): () => Timing {
  const wall = performance.now();
  const cpu = process.cpuUsage();
  return () => {
    const seconds = (performance.now() - wall) / 1000;
    const used = process.cpuUsage(cpu);
    return { seconds, cpuSeconds: (used.user + used.system) / 1e6 };
  };
}

/** How long a workload runs: unmeasured warm-up, then until `maxOps` ops or `durationMs`. */
export interface RunLimit {
  readonly durationMs: number;
  /** Unmeasured time first, for the JIT (default none). */
  readonly warmupMs?: number;
  /** Measured ops at most (default unbounded). */
  readonly maxOps?: number;
  /** Called just before and just after the measured region (e.g. to run a CPU profiler). */
  readonly around?: {
    readonly start: () => Promise<void>;
    readonly stop: () => Promise<void>;
  };
}

/** What `runBatches` did. */
export interface BatchRun extends Timing {
  /** Ops applied in the measured region. */
  readonly ops: number;
  /** Ops applied in all, warm-up included. */
  readonly totalOps: number;
}

/** What the host does after applying each batch, and at the end of a measured region. */
export interface Committer {
  /** Awaited after each batch. */
  afterBatch(): Promise<void> | undefined;
  /** Awaited once at the end of the warm-up and of the measured region (inside its time). */
  finish(): Promise<void> | undefined;
}

/** For read-only workloads: nothing to commit. */
export const NO_COMMIT: Committer = { afterBatch: () => undefined, finish: () => undefined };

/**
 * Commits after every batch. `awaited`: the next batch is applied once the commit is durable.
 * `pipelined`: the next batch is applied while the commit is written, and waits for it before
 * committing in turn (at most one commit in flight), as a host whose raft log already made the
 * entries durable may do.
 */
export function committer(store: KVStore, mode: 'awaited' | 'pipelined'): Committer {
  if (mode === 'awaited') return { afterBatch: () => store.commit(), finish: () => undefined };
  let inFlight: Promise<void> = Promise.resolve();
  return {
    afterBatch() {
      const previous = inFlight;
      inFlight = store.commit();
      return previous;
    },
    finish: () => inFlight,
  };
}

/**
 * The host loop: applies `batch`-sized runs of `apply(i)` (i counts every op from 0), each
 * followed by `commit.afterBatch()`, through the warm-up and then the measured region. The clock
 * is read between batches only; the measured time ends after `commit.finish()`.
 */
export async function runBatches(
  limit: RunLimit,
  batch: number,
  apply: (i: number) => void,
  commit: Committer,
): Promise<BatchRun> {
  let i = 0;
  const run = async (maxOps: number, durationMs: number): Promise<number> => {
    const first = i;
    const deadline = performance.now() + durationMs;
    while (i - first < maxOps && performance.now() < deadline) {
      const end = Math.min(i + batch, first + maxOps);
      for (; i < end; i++) apply(i);
      await commit.afterBatch();
    }
    await commit.finish();
    return i - first;
  };
  if ((limit.warmupMs ?? 0) > 0) await run(Number.POSITIVE_INFINITY, limit.warmupMs!);
  await limit.around?.start();
  const elapsed = stopwatch();
  const ops = await run(limit.maxOps ?? Number.POSITIVE_INFINITY, limit.durationMs);
  const timing = elapsed();
  await limit.around?.stop();
  return { ...timing, ops, totalOps: i };
}

/** Runs the garbage collector if node was started with --expose-gc; false otherwise. */
export function collectGarbage(): boolean {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) return false;
  gc();
  gc();
  return true;
}
