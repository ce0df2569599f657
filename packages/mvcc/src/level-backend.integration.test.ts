/**
 * LevelBackend's storage of the key bucket in key blocks, checked against a plain sorted map:
 * random puts and deletes — appends past the last key, as applying requests writes them, and
 * writes and deletes anywhere, as compaction and snapshot restore do — read back the same through
 * `get` (before and after each batch is written) and `iterate`, and again after reopening.
 * New keys go through `putFresh`, as the store writes revisions; older keys, rewritten or deleted
 * in the same batch or later, through `put` and `del`.
 * Other buckets' keys include those every commit rewrites, kept in commit records.
 * Also: a store written before key blocks is converted at open, and a damaged block is refused.
 */

import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { ClassicLevel } from 'classic-level';
import { describe, expect, it } from 'vitest';
import type { BackendEntry } from './backend.js';
import { fromBinary, toBinary } from './bytes.js';
import { Bucket, bucketKey } from './codec.js';
import { CorruptDataDirError } from './errors.js';
import { LevelBackend } from './level-backend.js';
import { seededRandom } from './test/maintenance-workload.js';
import { tempDirs } from './test/temp-dirs.js';

const tempDir = tempDirs('tsetcd-level-');

/** A key-bucket key (what a revision key looks like: bucket byte, then 8 big-endian bytes). */
function revKey(n: number): Uint8Array {
  const out = new Uint8Array(9);
  out[0] = Bucket.key;
  new DataView(out.buffer).setBigUint64(1, BigInt(n));
  return out;
}
const metaKey = (n: number) => new Uint8Array([Bucket.meta, n]);
/** Keys of other buckets: records of their own, and keys every commit rewrites (commit-record.ts). */
const OTHER_KEYS = [
  ...[1, 2, 3, 4, 5].map(metaKey),
  bucketKey(Bucket.meta, 'consistentIndex'),
  bucketKey(Bucket.meta, 'currentRevision'),
  ...[1, 2, 3].map((n) => bucketKey(Bucket.requests, Uint8Array.of(0, n))),
];

function valueFor(rand: () => number, tag: number): Uint8Array {
  const v = new Uint8Array(Math.floor(rand() * 600));
  v.fill(tag & 0xff);
  if (v.length >= 4) new DataView(v.buffer).setUint32(0, tag);
  return v;
}

/** A plain Uint8Array copy (LevelDB hands back Buffers, which toEqual tells apart). */
function plain(v: Uint8Array | undefined): Uint8Array | undefined {
  return v === undefined ? undefined : new Uint8Array(v);
}

async function collect(it: AsyncIterable<BackendEntry>): Promise<[string, Uint8Array][]> {
  const out: [string, Uint8Array][] = [];
  for await (const [k, v] of it) out.push([toBinary(k), plain(v)!]);
  return out;
}

/** Every key the model holds reads back, keys it does not hold read as absent. */
function expectGets(be: LevelBackend, model: Map<string, Uint8Array>, probes: readonly string[]): void {
  const wrong: string[] = [];
  for (const k of probes) {
    const got = be.get(fromBinary(k));
    const want = model.get(k);
    if (want === undefined ? got !== undefined : got === undefined || Buffer.compare(got, want) !== 0) {
      wrong.push(`${JSON.stringify(k)}: got ${got?.length ?? 'nothing'}, want ${want?.length ?? 'nothing'}`);
    }
  }
  expect(wrong).toEqual([]);
}

/** Iterating [gte, lt) yields the model's entries there, in key order. */
async function expectIteration(be: LevelBackend, model: Map<string, Uint8Array>, gte: string, lt: string) {
  const want = [...model].filter(([k]) => k >= gte && k < lt).sort(([a], [b]) => (a < b ? -1 : 1));
  const got = await collect(be.iterate(fromBinary(gte), fromBinary(lt)));
  // Keys compared as a list; values by digest (deep equality of thousands of arrays is slow).
  expect(got.map(([k]) => k)).toEqual(want.map(([k]) => k));
  const differing = got.filter(([, v], i) => Buffer.compare(v, want[i]![1]) !== 0).map(([k]) => k);
  expect(differing).toEqual([]);
}

describe('LevelBackend key blocks', () => {
  for (const seed of [1, 2, 3]) {
    it(`reads back what a model holds through appends, rewrites, deletes and reopening (seed ${seed})`, async () => {
      const rand = seededRandom(seed);
      const dir = await tempDir();
      let be = await LevelBackend.open(dir, { sync: false });
      const model = new Map<string, Uint8Array>();
      const probes = new Set<string>();
      let next = 1;
      let tag = 0;
      for (let round = 0; round < 60; round++) {
        const writes = 1 + Math.floor(rand() * 150);
        const mode = rand();
        for (let w = 0; w < writes; w++) {
          const r = rand();
          // Mostly appends; in rewrite rounds also writes and deletes of older keys and other buckets.
          const fresh = mode < 0.6 || r < 0.5;
          const key = fresh
            ? revKey(next++)
            : r < 0.9
              ? revKey(1 + Math.floor(rand() * next))
              : OTHER_KEYS[Math.floor(rand() * OTHER_KEYS.length)]!;
          const k = toBinary(key);
          probes.add(k);
          if (!fresh && mode >= 0.6 && rand() < 0.4) {
            be.del(key);
            model.delete(k);
          } else {
            const v = valueFor(rand, ++tag);
            // New keys as the store writes revisions (putFresh: encoded into blocks at once),
            // from a buffer the caller then reuses, as the store does: the backend must copy.
            if (fresh) {
              const reusedKey = Uint8Array.from(key);
              const reusedValue = Uint8Array.from(v);
              be.putFresh(reusedKey, reusedValue);
              reusedKey.fill(0xee);
              reusedValue.fill(0xee);
            } else be.put(key, v);
            model.set(k, v);
          }
        }
        // Sometimes two batches in flight: reads must see the newest while neither is written.
        const flushing = be.flush();
        expectGets(be, model, [...probes]);
        if (rand() < 0.5) await flushing;
        if (round % 10 === 9) {
          await expectIteration(be, model, '\x01', '\x09');
          const a = toBinary(revKey(Math.floor(rand() * next)));
          const b = toBinary(revKey(Math.floor(rand() * next)));
          const [lo, hi] = [a, b].sort();
          await expectIteration(be, model, lo!, hi!);
          await expectIteration(be, model, a, '\xff');
        }
        if (round % 20 === 19) {
          await be.close();
          be = await LevelBackend.open(dir, { sync: false });
          expectGets(be, model, [...probes]);
        }
      }
      await expectIteration(be, model, '\x00', '\xff');
      await be.close();
    });
  }

  it('serves the rest of a rewritten block before its batch is written', async () => {
    const be = await LevelBackend.open(await tempDir(), { sync: false });
    for (let i = 1; i <= 200; i++) be.putFresh(revKey(i), new Uint8Array([i]));
    await be.flush();
    for (let i = 1; i <= 200; i += 3) be.del(revKey(i));
    const flushing = be.flush();
    for (let i = 1; i <= 200; i++) {
      expect(plain(be.get(revKey(i))), `key ${i}`).toEqual(i % 3 === 1 ? undefined : new Uint8Array([i]));
    }
    await flushing;
    expect((await collect(be.iterate(revKey(0), revKey(1000)))).length).toBe(200 - 67);
    await be.close();
  });

  it('reuses the buffer of a written batch, but never one a read saw into', async () => {
    const be = await LevelBackend.open(await tempDir(), { sync: false });
    const pool = (be as unknown as { buffers: { size: number } }).buffers;
    const batch = (from: number, fill: number) => {
      for (let i = from; i < from + 100; i++) be.putFresh(revKey(i), new Uint8Array(300).fill(fill));
    };
    // Batch 1 is read from memory while its blocks are being written: the view must stay valid.
    batch(1, 0xaa);
    const writing = be.flush();
    const held = be.get(revKey(50))!;
    await writing;
    expect(pool.size).toBe(0);
    // Nobody reads batches 2..9: each buffer goes back to the pool and is written again.
    for (let b = 2; b < 10; b++) {
      batch(b * 100, b);
      await be.flush();
      expect(pool.size).toBe(1);
    }
    expect(held.every((x) => x === 0xaa)).toBe(true);
    expect(plain(be.get(revKey(950)))).toEqual(new Uint8Array(300).fill(9));
    await be.close();
  });

  it('drops a new key deleted in the same batch (compaction of a revision not yet flushed)', async () => {
    const dir = await tempDir();
    let be = await LevelBackend.open(dir, { sync: false });
    be.putFresh(revKey(1), new Uint8Array([1])); // encoded into a block at once
    be.putFresh(revKey(2), new Uint8Array([2]));
    be.del(revKey(1)); // from here on this batch's key-bucket writes are buffered
    be.putFresh(revKey(3), new Uint8Array([3]));
    be.del(revKey(3)); // a buffered new key written twice
    be.putFresh(revKey(4), new Uint8Array([4]));
    for (const check of [() => undefined, () => be.flush()]) {
      await check();
      expect([1, 2, 3, 4].map((i) => plain(be.get(revKey(i))))).toEqual([
        undefined,
        new Uint8Array([2]),
        undefined,
        new Uint8Array([4]),
      ]);
    }
    await be.close();
    be = await LevelBackend.open(dir, { sync: false });
    expect((await collect(be.iterate(revKey(0), revKey(10)))).map(([k]) => k)).toEqual(
      [2, 4].map((i) => toBinary(revKey(i))),
    );
    await be.close();
  });

  it('converts a store written before key blocks (one sealed record per key) at open', async () => {
    const dir = await tempDir();
    const raw = new ClassicLevel<Uint8Array, Uint8Array>(dir, { keyEncoding: 'view', valueEncoding: 'view' });
    const sealed = (k: Uint8Array, v: Uint8Array) => {
      const c = crc32(v, crc32(k));
      const out = new Uint8Array(4 + v.length);
      new DataView(out.buffer).setUint32(0, c);
      out.set(v, 4);
      return out;
    };
    const n = 5000;
    await raw.batch(
      Array.from({ length: n }, (_, i) => ({
        type: 'put' as const,
        key: revKey(i + 1),
        value: sealed(revKey(i + 1), new Uint8Array([i & 0xff])),
      })),
    );
    await raw.put(metaKey(1), sealed(metaKey(1), new Uint8Array([42])));
    await raw.close();

    const be = await LevelBackend.open(dir, { sync: false });
    expect(plain(be.get(revKey(1234)))).toEqual(new Uint8Array([1233 & 0xff]));
    expect(plain(be.get(metaKey(1)))).toEqual(new Uint8Array([42]));
    const all = await collect(be.iterate(new Uint8Array([1]), new Uint8Array([0xff])));
    expect(all.length).toBe(n + 1);
    await be.close();

    const after = new ClassicLevel<Uint8Array, Uint8Array>(dir, {
      keyEncoding: 'view',
      valueEncoding: 'view',
    });
    const left = [];
    for await (const k of after.keys({ gte: new Uint8Array([1]), lt: new Uint8Array([2]) })) left.push(k);
    await after.close();
    expect(left).toEqual([]); // no record per key left
  });

  it('refuses a damaged block with CorruptDataDirError', async () => {
    const dir = await tempDir();
    const be = await LevelBackend.open(dir, { sync: false });
    for (let i = 1; i <= 300; i++) be.put(revKey(i), new Uint8Array(100).fill(i & 0xff));
    await be.close();

    const raw = new ClassicLevel<Uint8Array, Uint8Array>(dir, { keyEncoding: 'view', valueEncoding: 'view' });
    const [first] = await raw.keys({ gte: new Uint8Array([0]), lt: new Uint8Array([1]), limit: 1 }).all();
    const bytes = (await raw.get(first!))!.slice();
    bytes[bytes.length - 10]! ^= 1;
    await raw.put(first!, bytes);
    await raw.close();

    const reopened = await LevelBackend.open(dir, { sync: false });
    expect(plain(reopened.get(revKey(300)))).toEqual(new Uint8Array(100).fill(300 & 0xff)); // another block
    expect(() => reopened.get(revKey(2))).toThrow(CorruptDataDirError);
    await expect(collect(reopened.iterate(revKey(0), revKey(10)))).rejects.toThrow(CorruptDataDirError);
    await reopened.close();
  });

  it('names the damaged table file wherever in it a byte is flipped', async () => {
    const dir = await tempDir();
    const be = await LevelBackend.open(dir, { sync: false });
    for (let i = 1; i <= 3000; i++) be.putFresh(revKey(i), new Uint8Array(200).fill(i % 251));
    await be.close();
    await (await LevelBackend.open(dir, { sync: false })).close(); // LevelDB turns its log into a table
    const table = (await readdir(dir)).find((f) => f.endsWith('.ldb'))!;
    const original = await readFile(join(dir, table));
    let refused = 0;
    for (let k = 1; k < 20; k++) {
      const damaged = Buffer.from(original);
      damaged[Math.floor((damaged.length * k) / 20)]! ^= 0xff;
      await writeFile(join(dir, table), damaged);
      let again: LevelBackend | undefined;
      try {
        again = await LevelBackend.open(dir, { sync: false });
        await collect(again.iterate(new Uint8Array([1]), new Uint8Array([255])));
      } catch (e) {
        // LevelDB names the file for a checksum mismatch, not for a block that fails to
        // decompress: the backend names it then (the open-time reads, an iterator's read).
        expect(e).toBeInstanceOf(CorruptDataDirError);
        expect((e as Error).message).toContain(table);
        refused++;
      } finally {
        await again?.close({ discard: true });
      }
    }
    expect(refused).toBeGreaterThan(10);
  });

  it('refuses keys starting with 0x00 (the block records are under it)', async () => {
    const be = await LevelBackend.open(await tempDir(), { sync: false });
    expect(() => be.put(new Uint8Array([0, 1]), new Uint8Array([1]))).toThrow(RangeError);
    await be.close();
  });
});
