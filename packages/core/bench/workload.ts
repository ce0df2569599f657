/**
 * The closed-loop client: C workers, each issuing one request, awaiting it, then issuing the
 * next — so C is the number of requests in flight. A run has two phases on the same workers: a
 * warm-up (JIT, a full pipeline, a warm store), then a fixed measured window. A request counts if
 * it completes inside the window; its latency is from issue to completion. Requests still in
 * flight when the window closes are awaited but not counted.
 *
 * Keys are 16 bytes (`bench-key-000042`), drawn uniformly from the keyspace by a seeded PRNG per
 * worker; values are 256 bytes. Both are encoded once, up front: the bench measures the node,
 * not string encoding.
 */

import type { TsetcdNode } from '@tsetcd/core';
import { LatencySamples, xorshift32 } from './stats.js';

/** Bytes per key: `bench-key-` and a 6-digit number. */
export const KEY_BYTES = 16;
/** Bytes per value (the figure). */
export const VALUE_BYTES = 256;
/** Distinct value buffers the writers cycle through. */
const VALUE_POOL = 64;
/**
 * A worker yields to the event loop (setImmediate) after this many requests: a serializable read
 * completes in microtasks only, and without a yield its workers would starve the timers (the
 * node's ticker, the bench's own clock) forever.
 */
const YIELD_EVERY = 16;
/** A worker whose request failed waits this long before the next, as a client would back off. */
const ERROR_BACKOFF_MS = 10;

/** What a worker does once per iteration against its member. */
export type Operation = (node: TsetcdNode, key: Uint8Array, value: Uint8Array) => Promise<unknown>;

/** What a scenario does per request. */
export type OpKind = 'put' | 'get-linearizable' | 'get-serializable';

/** The operation of each kind (the reads check they found the preloaded key). */
export const OPS: Record<OpKind, Operation> = {
  put: (node, key, value) => node.kv.put(key, value),
  'get-linearizable': async (node, key) => checkFound(await node.kv.get(key)),
  'get-serializable': async (node, key) => checkFound(await node.kv.get(key, { serializable: true })),
};

/** A read of a preloaded key that finds nothing means the bench measured a broken cluster. */
function checkFound(r: { readonly kvs: readonly unknown[] }): void {
  if (r.kvs.length !== 1) throw new Error('bench: a preloaded key was not found');
}

/** Which members the workers talk to. */
export type Placement = 'all' | 'leader';

/** A closed-loop run. */
export interface ClosedLoopOptions {
  readonly nodes: readonly TsetcdNode[];
  readonly leader: TsetcdNode;
  /** 'all': worker i uses member i mod N; 'leader': every worker uses the leader. */
  readonly placement: Placement;
  readonly concurrency: number;
  readonly keys: readonly Uint8Array[];
  readonly op: Operation;
  readonly warmupMs: number;
  readonly durationMs: number;
  readonly seed: number;
}

/** What a run measured. */
export interface ClosedLoopResult {
  readonly ops: number;
  readonly errors: number;
  readonly firstError: string | undefined;
  readonly seconds: number;
  readonly opsPerSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /** Process CPU (all threads) over wall time in the window: near 1 = one core saturated. */
  readonly cpuPerWall: number;
}

/** The keyspace, encoded: `bench-key-000000` … */
export function makeKeys(count: number): Uint8Array[] {
  const enc = new TextEncoder();
  return Array.from({ length: count }, (_, i) => {
    const k = enc.encode(`bench-key-${String(i).padStart(KEY_BYTES - 10, '0')}`);
    if (k.length !== KEY_BYTES) throw new RangeError(`bench: keyspace of ${count} does not fit 16-byte keys`);
    return k;
  });
}

/** Distinct 256-byte values. */
export function makeValues(): Uint8Array[] {
  return Array.from({ length: VALUE_POOL }, (_, i) => new Uint8Array(VALUE_BYTES).fill(0x41 + (i % 26)));
}

/**
 * The measured window, on the clock (`performance.now()`) of the thread the clients run in. The
 * clients read it on every request, so its owner may move the bounds while they run: a request
 * counts if it completes inside [start, end]; a failure counts once `start` has passed.
 * Invariant: start <= end.
 */
export interface MeasureWindow {
  start: number;
  end: number;
  /** Set once the window has closed: every client finishes its request in flight and stops. */
  stopped: boolean;
}

/** Some of a closed loop's clients, run in one thread against the members they were placed on. */
export interface ClientsOptions {
  /** Client numbers w (they pick each client's member and seed its key draws). */
  readonly clients: readonly number[];
  readonly memberOf: (w: number) => TsetcdNode;
  readonly keys: readonly Uint8Array[];
  readonly op: Operation;
  readonly seed: number;
}

/** What some clients measured in the window. */
export interface ClientsResult {
  readonly ops: number;
  readonly errors: number;
  readonly firstError: string | undefined;
  /** Latency of every request counted in `ops`. */
  readonly latencies: LatencySamples;
}

/** Runs the clients until `window.stopped`, then resolves once the last one has stopped. */
export async function runClients(o: ClientsOptions, window: MeasureWindow): Promise<ClientsResult> {
  const values = makeValues();
  const latencies = new LatencySamples();
  let ops = 0;
  let errors = 0;
  let firstError: string | undefined;

  const client = async (w: number) => {
    const node = o.memberOf(w);
    const rand = xorshift32(o.seed * 100_003 + w + 1);
    let v = w % VALUE_POOL;
    let n = 0;
    while (!window.stopped) {
      if (++n % YIELD_EVERY === 0) await immediate();
      const key = o.keys[rand() % o.keys.length]!;
      v = v === VALUE_POOL - 1 ? 0 : v + 1;
      const t0 = performance.now();
      try {
        await o.op(node, key, values[v]!);
      } catch (err) {
        if (performance.now() >= window.start) {
          errors++;
          firstError ??= (err as Error)?.message ?? String(err);
        }
        await sleep(ERROR_BACKOFF_MS);
        continue;
      }
      const t1 = performance.now();
      if (t1 >= window.start && t1 <= window.end) {
        ops++;
        latencies.record(t1 - t0);
      }
    }
  };

  await Promise.all(o.clients.map(client));
  return { ops, errors, firstError, latencies };
}

/** Runs the workers through warm-up and the measured window; see the file comment. */
export async function runClosedLoop(o: ClosedLoopOptions): Promise<ClosedLoopResult> {
  const window: MeasureWindow = {
    start: Number.POSITIVE_INFINITY,
    end: Number.POSITIVE_INFINITY,
    stopped: false,
  };
  const running = runClients(
    {
      clients: Array.from({ length: o.concurrency }, (_, w) => w),
      memberOf: (w) => (o.placement === 'leader' ? o.leader : o.nodes[w % o.nodes.length]!),
      keys: o.keys,
      op: o.op,
      seed: o.seed,
    },
    window,
  );
  await sleep(o.warmupMs);
  window.start = performance.now();
  const cpuAtStart = process.cpuUsage();
  await sleep(o.durationMs);
  window.end = performance.now();
  const cpu = process.cpuUsage(cpuAtStart);
  window.stopped = true;
  const { ops, errors, firstError, latencies: lat } = await running;
  const seconds = (window.end - window.start) / 1000;
  return {
    ops,
    errors,
    firstError,
    seconds,
    opsPerSec: ops / seconds,
    p50Ms: lat.quantile(0.5),
    p99Ms: lat.quantile(0.99),
    maxMs: lat.quantile(1),
    cpuPerWall: (cpu.user + cpu.system) / 1e6 / seconds,
  };
}

/** Writes every key once (C at a time, spread over the members) so reads find something. */
export async function preload(
  nodes: readonly TsetcdNode[],
  keys: readonly Uint8Array[],
  concurrency: number,
): Promise<void> {
  const values = makeValues();
  let next = 0;
  const worker = async (w: number) => {
    const node = nodes[w % nodes.length]!;
    for (let i = next++; i < keys.length; i = next++) await node.kv.put(keys[i]!, values[i % VALUE_POOL]!);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, keys.length) }, (_, w) => worker(w)));
}

function immediate(): Promise<void> {
  return new Promise((r) => setImmediate(r));
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
