import { describe, expect, it } from 'vitest';
import { LeaseHeap } from './lease-heap.js';

/** A tiny deterministic PRNG (LCG) so the property test replays exactly. */
function lcg(seed: number): (n: number) => number {
  let s = seed >>> 0;
  return (n) => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s % n;
  };
}

function drain(h: LeaseHeap): [bigint, number][] {
  const out: [bigint, number][] = [];
  for (let top = h.peek(); top !== undefined; top = h.peek()) {
    out.push([top.id, top.time]);
    h.remove(top.id);
  }
  return out;
}

describe('LeaseHeap', () => {
  it('orders by time, then by ID on ties', () => {
    const h = new LeaseHeap();
    h.set(5n, 300);
    h.set(9n, 100);
    h.set(2n, 300);
    h.set(7n, 100);
    expect(drain(h)).toEqual([
      [7n, 100],
      [9n, 100],
      [2n, 300],
      [5n, 300],
    ]);
  });

  it('moves an entry when its time changes, either way', () => {
    const h = new LeaseHeap();
    h.set(1n, 10);
    h.set(2n, 20);
    h.set(3n, 30);
    h.set(1n, 40);
    expect(h.peek()).toEqual({ id: 2n, time: 20 });
    h.set(3n, 5);
    expect(h.peek()).toEqual({ id: 3n, time: 5 });
    expect(h.size).toBe(3);
  });

  it('removes absent IDs as a no-op and clears', () => {
    const h = new LeaseHeap();
    h.remove(1n);
    h.set(1n, 1);
    expect(h.has(1n)).toBe(true);
    h.clear();
    expect(h.size).toBe(0);
    expect(h.has(1n)).toBe(false);
    expect(h.peek()).toBeUndefined();
  });

  it('agrees with a sort-everything oracle over random set/remove sequences', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const rand = lcg(seed);
      const h = new LeaseHeap();
      const oracle = new Map<bigint, number>();
      for (let step = 0; step < 300; step++) {
        const id = BigInt(rand(40) + 1);
        if (rand(4) === 0) {
          h.remove(id);
          oracle.delete(id);
        } else {
          const t = rand(50);
          h.set(id, t);
          oracle.set(id, t);
        }
        expect(h.size).toBe(oracle.size);
      }
      const expected = [...oracle].sort(([a, ta], [b, tb]) => (ta !== tb ? ta - tb : a < b ? -1 : 1));
      expect(drain(h)).toEqual(expected);
    }
  });
});
