import { describe, expect, it } from 'vitest';
import { randomChain, randomReadNs } from './memory-latency.js';

describe('randomChain', () => {
  it('is one cycle through every slot: from 0, each slot once, then back to 0', () => {
    const lines = 1_000;
    const chain = randomChain(lines, 16);
    const seen = new Set<number>();
    let at = 0;
    for (let i = 0; i < lines; i++) {
      expect(at % 16).toBe(0);
      expect(seen.has(at)).toBe(false);
      seen.add(at);
      at = chain[at]!;
    }
    expect(seen.size).toBe(lines);
    expect(at).toBe(0);
  });

  it('is not the sequential order (the prefetcher would run ahead of it)', () => {
    const chain = randomChain(1_000, 1);
    let inOrder = 0;
    for (let i = 0; i < 1_000; i++) if (chain[i] === (i + 1) % 1_000) inOrder++;
    expect(inOrder).toBeLessThan(10);
  });
});

describe('randomReadNs', () => {
  it('returns a finite, positive time per read', () => {
    const ns = randomReadNs(64 * 1024, 100_000);
    expect(Number.isFinite(ns)).toBe(true);
    expect(ns).toBeGreaterThan(0);
  });

  it('refuses a buffer too small to hold a chain', () => {
    expect(() => randomReadNs(64)).toThrow(/at least two cache lines/);
  });
});
