import { describe, expect, it } from 'vitest';
import { spreadExpiries } from './promote-spread.js';

/** The most expiries in any window [t, t + 1000). */
function busiestSecond(expiries: readonly number[]): number {
  let best = 0;
  for (let i = 0, j = 0; i < expiries.length; i++) {
    while (expiries[j]! + 1000 <= expiries[i]!) j++;
    best = Math.max(best, i - j + 1);
  }
  return best;
}

describe('spreadExpiries', () => {
  it('moves nothing when no window holds more than perSecond expiries', () => {
    expect(spreadExpiries([0, 0, 0, 5000, 5000], 3)).toEqual([0, 0, 0, 5000, 5000]);
  });

  it('caps every one-second window at perSecond, keeping the order', () => {
    const input = Array.from({ length: 10 }, () => 7000);
    const out = spreadExpiries(input, 3);
    expect(out).toEqual([7000, 7000, 7000, 8000, 8000, 8000, 9000, 9000, 9000, 10000]);
    expect(busiestSecond(out)).toBe(3);
  });

  it('only ever delays, never advances, and stays sorted', () => {
    const input = [0, 100, 200, 300, 400, 1500, 1600, 1700, 1800, 4000];
    const out = spreadExpiries(input, 2);
    out.forEach((e, i) => {
      expect(e).toBeGreaterThanOrEqual(input[i]!);
      if (i > 0) expect(e).toBeGreaterThanOrEqual(out[i - 1]!);
    });
    expect(busiestSecond(out)).toBeLessThanOrEqual(2);
  });

  it('rejects a non-positive rate', () => {
    expect(() => spreadExpiries([1], 0)).toThrow(RangeError);
  });
});
