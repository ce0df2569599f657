import { describe, expect, it } from 'vitest';
import { MemoryBackend } from './memory-backend.js';

const b = (s: string) => new TextEncoder().encode(s);

describe('MemoryBackend.putFresh', () => {
  it('keeps copies: the caller may overwrite its buffers afterwards', async () => {
    const be = new MemoryBackend();
    const key = b('rev-1');
    const value = b('first');
    be.putFresh(key, value);
    key.set(b('rev-2'));
    value.set(b('later'));
    be.putFresh(key, value);
    expect(be.get(b('rev-1'))).toEqual(b('first'));
    expect(be.get(b('rev-2'))).toEqual(b('later'));
    expect(await be.sizeBytes()).toBe(2 * (5 + 5));
  });

  it('counts a key written again once, with its new value', async () => {
    const be = new MemoryBackend();
    be.putFresh(b('k'), b('12345'));
    be.putFresh(b('k'), b('12'));
    expect(be.get(b('k'))).toEqual(b('12'));
    expect(await be.sizeBytes()).toBe(1 + 2);
  });
});

describe('MemoryBackend after most of its values are deleted', () => {
  it('repacks the survivors: the slabs pin at most about twice the live values, which stay intact', async () => {
    const be = new MemoryBackend();
    const key = (i: number) => b(`rev-${String(i).padStart(6, '0')}`);
    const value = (i: number) => new Uint8Array(300).fill(i & 0xff);
    const n = 20_000; // 6 MB of values: about 92 slabs
    for (let i = 0; i < n; i++) be.putFresh(key(i), value(i));
    const full = be.arenaSlabBytes;
    expect(full).toBeGreaterThanOrEqual(n * 300);
    // A compaction that leaves one value in 500, scattered over every slab.
    for (let i = 0; i < n; i++) if (i % 500 !== 0) be.del(key(i));
    const live = (n / 500) * 300;
    expect(be.arenaSlabBytes).toBeLessThanOrEqual(Math.max(1024 * 1024, 2 * live) + 64 * 1024);
    expect(be.arenaSlabBytes).toBeLessThan(full / 4);
    for (let i = 0; i < n; i += 500) expect(be.get(key(i))).toEqual(value(i));
    expect(be.get(key(1))).toBeUndefined();
    expect(await be.sizeBytes()).toBe((n / 500) * (key(0).length + 300));
  });

  it('leaves a clone taken before the repack as it was', () => {
    const be = new MemoryBackend();
    const key = (i: number) => b(`k${i}`);
    for (let i = 0; i < 10_000; i++) be.putFresh(key(i), new Uint8Array(200).fill(i & 0xff));
    const disk = be.clone();
    for (let i = 0; i < 10_000; i++) if (i % 100 !== 0) be.del(key(i));
    expect(disk.get(key(1))).toEqual(new Uint8Array(200).fill(1));
    expect(disk.get(key(100))).toEqual(new Uint8Array(200).fill(100));
    expect(be.get(key(100))).toEqual(new Uint8Array(200).fill(100));
  });
});
