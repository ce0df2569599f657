/** The slab allocator: fresh zeroed regions that never overlap, big arrays on their own. */

import { describe, expect, it } from 'vitest';
import { allocBytes, copyBytes, SLAB_BYTES, SLAB_MAX_BYTES } from './slab.js';

function overlaps(a: Uint8Array, b: Uint8Array): boolean {
  if (a.buffer !== b.buffer) return false;
  return a.byteOffset < b.byteOffset + b.length && b.byteOffset < a.byteOffset + a.length;
}

describe('allocBytes', () => {
  it('hands out zero-filled, non-overlapping arrays of the asked length, across slabs', () => {
    const got: Uint8Array[] = [];
    // Enough to fill several slabs, with odd sizes so alignment and slab ends are exercised.
    for (let i = 0; got.length < 1000; i++) {
      const a = allocBytes(1 + ((i * 97) % 300));
      expect(a.length).toBe(1 + ((i * 97) % 300));
      expect(a.every((x) => x === 0)).toBe(true);
      a.fill(0xab);
      got.push(a);
    }
    for (let i = 1; i < got.length; i++) expect(overlaps(got[i - 1]!, got[i]!)).toBe(false);
    expect(new Set(got.map((a) => a.buffer)).size).toBeGreaterThan(1);
  });

  it('gives large arrays their own buffer', () => {
    const a = allocBytes(SLAB_MAX_BYTES + 1);
    expect(a.length).toBe(SLAB_MAX_BYTES + 1);
    expect(a.buffer.byteLength).toBe(SLAB_MAX_BYTES + 1);
  });

  it('starts a new slab when the current one cannot hold the array', () => {
    const first = allocBytes(8);
    const rest = SLAB_BYTES - (first.byteOffset + 8);
    const filler = rest > SLAB_MAX_BYTES ? [] : [allocBytes(Math.max(1, rest - 8))];
    const next = allocBytes(64);
    expect(next.length).toBe(64);
    for (const f of filler) expect(overlaps(f, next)).toBe(false);
  });
});

describe('copyBytes', () => {
  it('copies the asked region into a private array', () => {
    const src = new Uint8Array([1, 2, 3, 4, 5]);
    const c = copyBytes(src, 1, 3);
    expect([...c]).toEqual([2, 3, 4]);
    c[0] = 99;
    expect(src[1]).toBe(2);
  });
});
