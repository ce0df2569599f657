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
