/**
 * rangeStream on an in-memory cluster: pages bounded by count and by bytes, every page at the
 * first page's revision (writes made while the stream is read do not show), and CompactedError
 * when that revision is compacted mid-stream.
 */

import { CompactedError } from '@tsetcd/mvcc';
import { afterEach, describe, expect, it } from 'vitest';
import { createTestCluster, type TestCluster } from '../testing/test-cluster.js';
import { rangeStream } from './range-stream.js';

const text = (b: Uint8Array) => new TextDecoder().decode(b);
const pad = (i: number) => String(i).padStart(3, '0');
let cluster: TestCluster | undefined;

afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
});

describe('rangeStream', () => {
  it('reads every key in pages of pageSize, in key order, and only the range', async () => {
    cluster = await createTestCluster({ nodes: 1, seed: 31 });
    const node = await cluster.waitForLeader();
    for (let i = 0; i < 25; i++) await node.kv.put(`p/${pad(i)}`, `v${i}`);
    await node.kv.put('p0', 'outside the prefix');
    await node.kv.put('o', 'before the prefix');
    const stream = rangeStream(node.client, 'p/', { prefix: true, pageSize: 10 });
    const keys: string[] = [];
    for await (const kv of stream) keys.push(text(kv.key));
    expect(keys).toEqual(Array.from({ length: 25 }, (_, i) => `p/${pad(i)}`));
    expect(stream.pages).toBe(3);
  });

  it('shows the snapshot at the first page’s revision while writes go on between pages', async () => {
    cluster = await createTestCluster({ nodes: 3, seed: 32 });
    const leader = await cluster.waitForLeader();
    const follower = cluster.running().find((m) => m !== leader)!;
    for (let i = 0; i < 30; i++) await leader.kv.put(`s/${pad(i)}`, 'old');
    const stream = rangeStream(follower.client, 's/', { prefix: true, pageSize: 4 });
    const seen = new Map<string, string>();
    let n = 0;
    for await (const kv of stream) {
      seen.set(text(kv.key), text(kv.value));
      // Between pages: overwrite a key ahead of the cursor, delete one, add one.
      if (++n % 4 === 0) {
        await leader.kv.put(`s/${pad(29 - n / 4)}`, 'new');
        await leader.kv.delete(`s/${pad(n)}`);
        await leader.kv.put(`s/${pad(n)}x`, 'added');
      }
    }
    const snapshot = await leader.kv.get('s/', { prefix: true, revision: stream.revision! });
    expect(stream.revision).toBe(31); // 30 puts on top of revision 1
    expect(stream.pages).toBeGreaterThan(5);
    expect(seen).toEqual(new Map(snapshot.kvs.map((kv) => [text(kv.key), text(kv.value)])));
    expect([...seen.values()].every((v) => v === 'old')).toBe(true);
    expect(seen.size).toBe(30);
  });

  it('bounds pages by bytes: large values shrink the next page, small ones let it grow back', async () => {
    cluster = await createTestCluster({ nodes: 1, seed: 33 });
    const node = await cluster.waitForLeader();
    const big = 'x'.repeat(1000);
    for (let i = 0; i < 40; i++) await node.kv.put(`b/${pad(i)}`, i < 20 ? big : 's');
    const pageSizes: number[] = [];
    let lastPages = 0;
    const stream = rangeStream(node.client, 'b/', { prefix: true, pageSize: 10, pageBytes: 3000 });
    let count = 0;
    for await (const _ of stream) {
      if (stream.pages !== lastPages) {
        pageSizes.push(0);
        lastPages = stream.pages;
      }
      pageSizes[pageSizes.length - 1]!++;
      count++;
    }
    expect(count).toBe(40);
    // The first page takes pageSize (10 × ~1 KB); the next ones hold ~3 KB of big values each.
    expect(pageSizes[0]).toBe(10);
    expect(pageSizes.slice(1, 4)).toEqual([2, 2, 2]);
    // Once the values are small again, pages grow back to pageSize.
    expect(pageSizes.at(-1)).toBeLessThanOrEqual(10);
    expect(pageSizes.slice(-2)).toContain(10);
  });

  it('throws CompactedError when its revision is compacted mid-stream', async () => {
    cluster = await createTestCluster({ nodes: 1, seed: 34 });
    const node = await cluster.waitForLeader();
    for (let i = 0; i < 10; i++) await node.kv.put(`c/${pad(i)}`, 'v');
    const stream = rangeStream(node.client, 'c/', { prefix: true, pageSize: 3 });
    const read = async () => {
      let n = 0;
      for await (const _ of stream) {
        if (++n === 3) {
          const r = await node.kv.put('other', 'v');
          await node.kv.compact(r.header.revision);
        }
      }
    };
    await expect(read()).rejects.toBeInstanceOf(CompactedError);
  });

  it('reads a single key in one page', async () => {
    cluster = await createTestCluster({ nodes: 1, seed: 35 });
    const node = await cluster.waitForLeader();
    await node.kv.put('one', '1');
    const kvs = [];
    for await (const kv of rangeStream(node.client, 'one')) kvs.push(text(kv.value));
    expect(kvs).toEqual(['1']);
  });
});
