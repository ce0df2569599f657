/**
 * Latency samples of a closed-loop run: every completed request's time in ms, kept exactly (a
 * few seconds of requests fit easily) and sorted once at the end to answer quantiles.
 */

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
