/**
 * The simulator's only source of randomness: rand.ts's seeded PRNG wrapped with the helpers a
 * scheduler needs, and a seed mixer that gives every node (and every incarnation of it) its own
 * independent stream. No global randomness, no clocks: the same seed draws the same numbers.
 */

import { type RandomSource, seededRandom } from '../../rand.js';

const CHANCE_SCALE = 1 << 30;

/** Mixes integers into one 32-bit seed (murmur3's finalizer per part), so derived streams differ. */
export function deriveSeed(...parts: readonly number[]): number {
  let h = 0x9e3779b9;
  for (const p of parts) {
    for (const word of [p >>> 0, Math.floor(p / 0x100000000) >>> 0]) {
      h = Math.imul(h ^ word, 0x85ebca6b);
      h ^= h >>> 13;
      h = Math.imul(h, 0xc2b2ae35);
      h ^= h >>> 16;
    }
  }
  return h >>> 0;
}

/** A seeded random stream with the draws the simulator makes. */
export class SimRandom {
  private readonly source: RandomSource;

  constructor(seed: number) {
    this.source = seededRandom(seed);
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return this.source(n);
  }

  /** An integer in [lo, hi], both inclusive. */
  between(lo: number, hi: number): number {
    return lo + this.source(hi - lo + 1);
  }

  /** True with probability p; draws nothing when p <= 0 so a disabled fault costs nothing. */
  chance(p: number): boolean {
    return p > 0 && this.source(CHANCE_SCALE) < p * CHANCE_SCALE;
  }

  /** A uniformly chosen element of a non-empty array. */
  pick<T>(xs: readonly T[]): T {
    if (xs.length === 0) throw new RangeError('sim: pick from an empty array');
    return xs[this.source(xs.length)]!;
  }

  /** Shuffles in place (Fisher–Yates) and returns the array. */
  shuffle<T>(xs: T[]): T[] {
    for (let i = xs.length - 1; i > 0; i--) {
      const j = this.source(i + 1);
      const t = xs[i]!;
      xs[i] = xs[j]!;
      xs[j] = t;
    }
    return xs;
  }
}
