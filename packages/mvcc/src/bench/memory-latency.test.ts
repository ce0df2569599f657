import { describe, expect, it } from 'vitest';
import { randomReadNs } from './memory-latency.js';

describe('randomReadNs', () => {
  it('times a chain of reads through every line of the buffer', () => {
    const ns = randomReadNs(64 * 1024, 100_000);
    expect(Number.isFinite(ns)).toBe(true);
    expect(ns).toBeGreaterThan(0);
  });

  it('refuses a buffer too small to hold a chain', () => {
    expect(() => randomReadNs(64)).toThrow(/at least two cache lines/);
  });
});
