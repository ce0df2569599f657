/**
 * Latency samples of a closed-loop run: every completed request's time in ms, kept exactly (a
 * few seconds of requests fit easily) and sorted once at the end to answer quantiles. Runs split
 * over threads merge their samples exactly (recordAll), so merged quantiles are exact too.
 */

import { readFileSync } from 'node:fs';

/** Initial capacity; the buffer doubles as needed. */
const INITIAL_SAMPLES = 1 << 16;

/** Records latencies (ms) and answers quantiles. */
export class LatencySamples {
  private samples = new Float64Array(INITIAL_SAMPLES);
  private sorted = true;
  /** Samples recorded. */
  length = 0;

  /** Records one latency. */
  record(ms: number): void {
    if (this.length === this.samples.length) {
      const grown = new Float64Array(this.samples.length * 2);
      grown.set(this.samples);
      this.samples = grown;
    }
    this.samples[this.length++] = ms;
    this.sorted = false;
  }

  /** Records many latencies at once (another thread's, merged into one run). */
  recordAll(ms: Float64Array): void {
    let cap = this.samples.length;
    while (cap < this.length + ms.length) cap *= 2;
    if (cap !== this.samples.length) {
      const grown = new Float64Array(cap);
      grown.set(this.samples.subarray(0, this.length));
      this.samples = grown;
    }
    this.samples.set(ms, this.length);
    this.length += ms.length;
    this.sorted = ms.length === 0 && this.sorted;
  }

  /** A copy of the recorded latencies, sized to fit (its buffer can be transferred to another thread). */
  toArray(): Float64Array {
    return this.samples.slice(0, this.length);
  }

  /** The smallest latency such that a fraction `q` of the recorded ones are at or below it (0 if none). */
  quantile(q: number): number {
    if (this.length === 0) return 0;
    if (!this.sorted) {
      this.samples.subarray(0, this.length).sort();
      this.sorted = true;
    }
    const i = Math.min(this.length - 1, Math.max(0, Math.ceil(q * this.length) - 1));
    return this.samples[i]!;
  }
}

/** A small seeded PRNG (xorshift32), so every writer draws its own repeatable key sequence. */
export function xorshift32(seed: number): () => number {
  let s = seed >>> 0 || 0x9e3779b9;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
}

/** Linux reports a thread's CPU time in these clock ticks (USER_HZ, 100 on every Linux ABI). */
const USER_HZ = 100;

/**
 * CPU seconds (user + system) the calling thread has used so far, read from
 * /proc/thread-self/stat (Linux; undefined elsewhere). Node 20 has no per-thread cpuUsage, and
 * process.cpuUsage() sums all threads. Resolution is one tick (10 ms).
 */
export function threadCpuSeconds(): number | undefined {
  try {
    const stat = readFileSync('/proc/thread-self/stat', 'latin1');
    // Fields after the `(comm)`, which may hold spaces: state is field 3, utime 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / USER_HZ;
  } catch {
    return undefined;
  }
}

/** What medianRun adds to the run it picks: how many runs, and their lowest and highest ops/s. */
export interface RunSpread {
  readonly runs?: number;
  readonly minOpsPerSec?: number;
  readonly maxOpsPerSec?: number;
}

/**
 * The run with the median ops/s (the upper one of an even count), carrying the spread of all of
 * them; a single run comes back as it is. Latencies stay that run's own, not mixed across runs.
 */
export function medianRun<R extends { readonly opsPerSec: number }>(runs: readonly R[]): R & RunSpread {
  if (runs.length === 0) throw new RangeError('bench: no runs to take a median of');
  const sorted = [...runs].sort((a, b) => a.opsPerSec - b.opsPerSec);
  const median = sorted[Math.floor(sorted.length / 2)]!;
  if (runs.length === 1) return median;
  return {
    ...median,
    runs: runs.length,
    minOpsPerSec: sorted[0]!.opsPerSec,
    maxOpsPerSec: sorted[sorted.length - 1]!.opsPerSec,
  };
}
