/**
 * The KVStore's cache of encoded key-values by revision (kv-cache.ts): bounded, never aliased by
 * responses, and of no effect on what reads answer — including after compaction.
 */

import { describe, expect, it } from 'vitest';
import { utf8 } from './bytes.js';
import { encodeKeyValue } from './codec.js';
import { CompactedError } from './errors.js';
import { KeyValueCache, KV_CACHE_CHUNK_BYTES } from './kv-cache.js';
import { KVStore } from './kvstore.js';
import { MemoryBackend } from './memory-backend.js';
import type { Revision } from './types.js';

describe('KeyValueCache', () => {
  it('evicts the oldest entries to stay within its byte bound', () => {
    const c = new KeyValueCache(300);
    for (let main = 1; main <= 5; main++) c.set(main, 0, new Uint8Array(100).fill(main));
    expect(c.size).toBe(3);
    expect(c.get(1, 0)).toBeUndefined();
    expect(c.get(2, 0)).toBeUndefined();
    expect([3, 4, 5].map((m) => c.get(m, 0)?.length)).toEqual([100, 100, 100]);
    expect([3, 4, 5].map((m) => c.get(m, 0)?.every((b) => b === m))).toEqual([true, true, true]);
  });

  it('keeps entries whole across chunk ends, and forgets those the ring wrote over', () => {
    const chunk = KV_CACHE_CHUNK_BYTES;
    const c = new KeyValueCache(2 * chunk);
    // Entries of 0.4 chunk: two fit per chunk, the third starts the next chunk.
    const n = Math.floor(chunk * 0.4);
    for (let main = 1; main <= 7; main++) c.set(main, 0, new Uint8Array(n).fill(main));
    // Chunks hold {1,2} {3,4}, then {5,6} over the first and 7 over 3 in the second: 4 is intact.
    expect([1, 2, 3].map((m) => c.get(m, 0))).toEqual([undefined, undefined, undefined]);
    for (const m of [4, 5, 6, 7]) expect(c.get(m, 0)?.every((b) => b === m)).toBe(true);
    expect(c.size).toBe(4);
  });

  it('does not cache an entry larger than a chunk', () => {
    const c = new KeyValueCache(100);
    c.set(1, 0, new Uint8Array(101));
    expect(c.get(1, 0)).toBeUndefined();
    c.set(2, 0, new Uint8Array(100));
    expect(c.get(2, 0)?.length).toBe(100);
  });

  it('holds copies: changing the bytes given to set does not change the cache', () => {
    const c = new KeyValueCache(1 << 20);
    const b = new Uint8Array([1, 2, 3]);
    c.set(9, 0, b);
    b[0] = 7;
    expect([...c.get(9, 0)!]).toEqual([1, 2, 3]);
  });

  it('clear drops every entry and the cache fills again', () => {
    const c = new KeyValueCache(1 << 20);
    c.set(1, 0, new Uint8Array([1]));
    c.clear();
    expect(c.get(1, 0)).toBeUndefined();
    expect(c.size).toBe(0);
    c.set(2, 0, new Uint8Array([2]));
    expect([...c.get(2, 0)!]).toEqual([2]);
  });

  it('a revision overwrites the one `entries` before it in the ring', () => {
    const c = new KeyValueCache(1 << 20, 4);
    for (let main = 1; main <= 6; main++) c.set(main, 0, new Uint8Array([main]));
    expect(c.size).toBe(4);
    expect([1, 2, 3, 4, 5, 6].map((m) => c.get(m, 0)?.[0])).toEqual([undefined, undefined, 3, 4, 5, 6]);
  });

  it('caches nothing when its bound is 0, and only sub-revision 0', () => {
    const none = new KeyValueCache(0);
    none.set(1, 0, new Uint8Array(1));
    expect(none.size).toBe(0);
    const c = new KeyValueCache(1 << 20);
    c.set(1, 1, new Uint8Array(1));
    expect(c.get(1, 1)).toBeUndefined();
  });
});

describe('KVStore with the key-value cache', () => {
  it('a response mutated by the caller does not change a later read', async () => {
    const store = await KVStore.open(new MemoryBackend());
    const value = utf8('abc');
    store.put({ key: utf8('k'), value });
    value[0] = 0x7a; // the request's bytes, after the put
    const first = store.range({ key: utf8('k') }).kvs[0]!;
    expect(first.value).toEqual(utf8('abc'));
    first.value[0] = 0x7a;
    first.key[0] = 0x7a;
    const again = store.range({ key: utf8('k') }).kvs[0]!;
    expect(again.key).toEqual(utf8('k'));
    expect(again.value).toEqual(utf8('abc'));
  });

  it('reads below the compaction revision still fail; kept revisions still read right', async () => {
    const store = await KVStore.open(new MemoryBackend());
    for (let i = 0; i < 5; i++) store.put({ key: utf8('k'), value: utf8(`v${i}`) }); // revisions 2..6
    expect(store.range({ key: utf8('k'), revision: 3 }).kvs[0]!.value).toEqual(utf8('v1'));
    await store.compact(4);
    expect(() => store.range({ key: utf8('k'), revision: 3 })).toThrow(CompactedError);
    expect(store.range({ key: utf8('k'), revision: 4 }).kvs[0]!.value).toEqual(utf8('v2'));
    expect(store.range({ key: utf8('k') }).kvs[0]!.value).toEqual(utf8('v4'));
  });

  it('answers the same with the cache off', async () => {
    const stores = [
      await KVStore.open(new MemoryBackend()),
      await KVStore.open(new MemoryBackend(), { kvCacheBytes: 0 }),
    ];
    const answers = stores.map((s) => {
      for (let i = 0; i < 20; i++) s.put({ key: utf8(`k${i % 7}`), value: utf8(`v${i}`) });
      s.txn({
        compare: [],
        success: [
          { type: 'put', request: { key: utf8('t1'), value: utf8('x') } },
          { type: 'put', request: { key: utf8('t2'), value: utf8('y') } },
        ],
        failure: [],
      });
      return [10, 15, 0].map((revision) => s.range({ key: utf8('\0'), rangeEnd: utf8('\0'), revision }));
    });
    expect(answers[0]).toEqual(answers[1]);
  });
});

describe('KeyValueCache.decode', () => {
  it('decodes a cached entry into fresh arrays, and misses what get misses', () => {
    const kv = {
      key: utf8('k'),
      value: utf8('v'),
      createRevision: 2 as Revision,
      modRevision: 3 as Revision,
      version: 2,
      lease: 5n,
    };
    const c = new KeyValueCache(1 << 20);
    c.set(1, 0, new Uint8Array(7)); // another entry before it in the ring
    c.set(3, 0, encodeKeyValue(kv));
    const got = c.decode(3, 0)!;
    expect(got).toEqual(kv);
    got.value[0] = 0x7a;
    expect(c.decode(3, 0)!.value).toEqual(utf8('v'));
    expect(c.decode(4, 0)).toBeUndefined();
    expect(c.decode(3, 1)).toBeUndefined();
  });
});
