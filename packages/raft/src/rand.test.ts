/**
 * seededRandom: the injected jitter source must be reproducible (same seed, same sequence) and
 * stay in range, so a failing seed replays exactly.
 */

import { describe, expect, it } from 'vitest';
import { seededRandom } from './rand.js';

const take = (seed: number, n: number, count = 50) => {
  const r = seededRandom(seed);
  return Array.from({ length: count }, () => r(n));
};

describe('seededRandom', () => {
  it('gives the same sequence for the same seed', () => {
    expect(take(12345, 1000)).toEqual(take(12345, 1000));
    expect(take(0, 10)).toEqual(take(0, 10));
  });

  it('gives different sequences for different seeds', () => {
    expect(take(1, 1_000_000)).not.toEqual(take(2, 1_000_000));
  });

  it('reduces the seed to 32 bits', () => {
    expect(take(2 ** 32 + 7, 1000)).toEqual(take(7, 1000));
    expect(take(-1, 1000)).toEqual(take(2 ** 32 - 1, 1000));
  });

  it('stays within [0, n) as an integer, for any n', () => {
    for (const n of [1, 2, 3, 10, 1000, 2 ** 31]) {
      const r = seededRandom(n);
      for (let i = 0; i < 500; i++) {
        const v = r(n);
        expect(Number.isInteger(v)).toBe(true);
        expect(v).toBeGreaterThanOrEqual(0);
        expect(v).toBeLessThan(n);
      }
    }
  });

  it('always returns 0 for n = 1', () => {
    expect(new Set(take(99, 1, 200))).toEqual(new Set([0]));
  });

  it('covers the range roughly evenly', () => {
    const r = seededRandom(2024);
    const buckets = new Array<number>(10).fill(0);
    const draws = 20_000;
    for (let i = 0; i < draws; i++) buckets[r(10)]!++;
    for (const b of buckets) {
      // Expected 2,000 per bucket; a fair source is far inside ±15%.
      expect(b).toBeGreaterThan(1700);
      expect(b).toBeLessThan(2300);
    }
  });

  it('draws depend on the sequence, not only on n (a seeded stream, not a hash of n)', () => {
    const r = seededRandom(5);
    const draws = Array.from({ length: 20 }, () => r(100));
    expect(new Set(draws).size).toBeGreaterThan(10);
  });
});
