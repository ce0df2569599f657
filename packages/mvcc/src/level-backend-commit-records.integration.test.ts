/**
 * LevelBackend's commit records (commit-record.ts): the keys every commit rewrites live in one
 * record per batch, written right after that batch's key blocks, so LevelDB's tables keep to
 * their own stretch of keys; old records go where compaction rewrites their stretch, past the
 * newest, in bulk when too many pile up, and on defragment. Checked on the raw LevelDB layout.
 * Also: reads under a snapshot see the snapshot's records, not later writes; flushes in flight;
 * a crash before a legacy store's first flush.
 */

import { crc32 } from 'node:zlib';
import { ClassicLevel } from 'classic-level';
import { describe, expect, it } from 'vitest';
import { toBinary, utf8 } from './bytes.js';
import { Bucket, bucketKey, decodeU64, encodeU64 } from './codec.js';
import { COMMIT_RECORD_SUFFIX, endsWithCommitSuffix } from './commit-record.js';
import { CorruptDataDirError } from './errors.js';
import { KVStore } from './kvstore.js';
import { LevelBackend, type LevelBackendOptions } from './level-backend.js';
import { restoreSnapshot, snapshot } from './maintenance/snapshot.js';
import { MemoryBackend } from './memory-backend.js';
import { tempDirs } from './test/temp-dirs.js';

const tempDir = tempDirs('tsetcd-commit-');

const CONSISTENT_INDEX = bucketKey(Bucket.meta, 'consistentIndex');
const CURRENT_REVISION = bucketKey(Bucket.meta, 'currentRevision');
const requestsKey = (member: number) => bucketKey(Bucket.requests, Uint8Array.of(0, member));

/** A plain Uint8Array copy (LevelDB hands back Buffers, which toEqual tells apart). */
function plain(v: Uint8Array | undefined): Uint8Array | undefined {
  return v === undefined ? undefined : new Uint8Array(v);
}

function revKey(n: number): Uint8Array {
  const out = new Uint8Array(9);
  out[0] = Bucket.key;
  new DataView(out.buffer).setBigUint64(1, BigInt(n));
  return out;
}

type Raw = ClassicLevel<Uint8Array, Uint8Array>;

async function withRaw<T>(dir: string, f: (raw: Raw) => Promise<T>): Promise<T> {
  const raw: Raw = new ClassicLevel(dir, { keyEncoding: 'view', valueEncoding: 'view' });
  try {
    return await f(raw);
  } finally {
    await raw.close();
  }
}

/** The raw layout: 'B' per block record, 'C' per commit record, in key order; and other keys' buckets. */
async function layout(dir: string): Promise<{ records: string; otherBuckets: number[] }> {
  return withRaw(dir, async (raw) => {
    let records = '';
    const otherBuckets: number[] = [];
    for await (const k of raw.keys()) {
      if (k[0] === 0) records += endsWithCommitSuffix(k) ? 'C' : 'B';
      else otherBuckets.push(k[0]!);
    }
    return { records, otherBuckets };
  });
}

/** A record as a store before commit records wrote it: CRC32(key, value), then the value. */
function sealed(k: Uint8Array, v: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + v.length);
  new DataView(out.buffer).setUint32(0, crc32(v, crc32(k)));
  out.set(v, 4);
  return out;
}

/** Commit records in the raw LevelDB. */
async function commitRecordCount(dir: string): Promise<number> {
  return withRaw(dir, async (raw) => {
    let n = 0;
    for await (const k of raw.keys({ gte: Uint8Array.of(0), lt: Uint8Array.of(1) })) {
      if (endsWithCommitSuffix(k)) n++;
    }
    return n;
  });
}

/** `batches` batches of `perBatch` appended revisions, each with the applied index and the requests table. */
async function writeBatches(
  be: LevelBackend,
  from: number,
  batches: number,
  perBatch: number,
): Promise<void> {
  for (let b = 0; b < batches; b++) {
    for (let i = 0; i < perBatch; i++) {
      const n = from + b * perBatch + i;
      be.putFresh(revKey(n), new Uint8Array(40).fill(n & 0xff));
    }
    const last = from + (b + 1) * perBatch - 1;
    be.put(CONSISTENT_INDEX, encodeU64(last));
    be.put(CURRENT_REVISION, encodeU64(last));
    be.put(requestsKey(b % 3), encodeU64(last));
    await be.flush();
  }
}

async function open(dir: string, opts: LevelBackendOptions = {}): Promise<LevelBackend> {
  return LevelBackend.open(dir, { sync: false, ...opts });
}

describe('LevelBackend commit records', () => {
  it("write each batch's per-commit keys in one record after its blocks, and read them back after reopening", async () => {
    const dir = await tempDir();
    let be = await open(dir);
    await writeBatches(be, 1, 5, 10);
    await be.close();
    // One block per batch (10 small revisions), each followed by its commit record; no meta or
    // requests records of their own.
    expect(await layout(dir)).toEqual({ records: 'BCBCBCBCBC', otherBuckets: [] });

    be = await open(dir);
    expect(plain(be.get(CONSISTENT_INDEX))).toEqual(encodeU64(50));
    expect(plain(be.get(CURRENT_REVISION))).toEqual(encodeU64(50));
    expect(plain(be.get(requestsKey(0)))).toEqual(encodeU64(40));
    expect(plain(be.get(requestsKey(1)))).toEqual(encodeU64(50));
    const meta = [];
    for await (const [k] of be.iterate(Uint8Array.of(Bucket.meta), Uint8Array.of(0xff)))
      meta.push(toBinary(k));
    expect(meta).toEqual(
      [CONSISTENT_INDEX, CURRENT_REVISION, requestsKey(0), requestsKey(1), requestsKey(2)].map(toBinary),
    );
    const revs = [];
    for await (const [k] of be.iterate(revKey(0), revKey(1000))) revs.push(k);
    expect(revs.length).toBe(50);
    be.del(requestsKey(2));
    await be.close();
    be = await open(dir);
    expect(be.get(requestsKey(2))).toBeUndefined();
    await be.close();
  });

  it('go where compaction rewrites their stretch, and past the newest when the newest revisions go', async () => {
    const dir = await tempDir();
    const be = await open(dir);
    await writeBatches(be, 1, 8, 10);
    // Compaction deletes revisions 1..35: the records of batches 1..3 sit in that stretch.
    for (let n = 1; n <= 35; n++) be.del(revKey(n));
    be.put(CONSISTENT_INDEX, encodeU64(81));
    await be.flush();
    await be.close();
    expect((await layout(dir)).records).toBe('BCBCBCBCBC');
    // The newest revisions go (a compaction that removes the newest tombstones): the records
    // past the new last key would be newer than the newest; they go in the same batch.
    const again = await open(dir);
    for (let n = 61; n <= 80; n++) again.del(revKey(n));
    again.put(CONSISTENT_INDEX, encodeU64(82));
    await again.close();
    expect((await layout(dir)).records).toBe('BCBCBC');
    const reopened = await open(dir);
    expect(plain(reopened.get(CONSISTENT_INDEX))).toEqual(encodeU64(82));
    expect(reopened.get(revKey(60))).toBeDefined();
    expect(reopened.get(revKey(61))).toBeUndefined();
    await reopened.close();
  });

  it('are deleted all but the newest when too many pile up, and on defragment', async () => {
    const dir = await tempDir();
    let be = await open(dir, { maxCommitRecords: 4 });
    await writeBatches(be, 1, 4, 10);
    await be.close();
    expect((await layout(dir)).records).toBe('BCBCBCBC');
    be = await open(dir, { maxCommitRecords: 4 });
    await writeBatches(be, 41, 1, 10);
    await be.close();
    expect((await layout(dir)).records).toBe('BBBBBC');
    be = await open(dir);
    await writeBatches(be, 51, 2, 10);
    await be.defragment();
    await be.close();
    expect((await layout(dir)).records).toBe('BBBBBBBC');
    be = await open(dir);
    expect(plain(be.get(CONSISTENT_INDEX))).toEqual(encodeU64(70));
    await be.close();
  });

  it('take over per-commit keys that a store before commit records kept as records of their own', async () => {
    const dir = await tempDir();
    await withRaw(dir, async (raw) => {
      for (const [k, v] of [
        [CONSISTENT_INDEX, encodeU64(7)],
        [CURRENT_REVISION, encodeU64(5)],
        [requestsKey(1), encodeU64(3)],
        [bucketKey(Bucket.meta, 'schema'), Uint8Array.of(1)],
      ] as const) {
        await raw.put(k, sealed(k, v));
      }
    });
    let be = await open(dir);
    expect(plain(be.get(CONSISTENT_INDEX))).toEqual(encodeU64(7));
    expect(plain(be.get(requestsKey(1)))).toEqual(encodeU64(3));
    const all = [];
    for await (const [k] of be.iterate(Uint8Array.of(1), Uint8Array.of(0xff))) all.push(toBinary(k));
    expect(all).toEqual(
      [CURRENT_REVISION, CONSISTENT_INDEX, bucketKey(Bucket.meta, 'schema'), requestsKey(1)]
        .map(toBinary)
        .sort(),
    );
    await be.close();
    expect(await layout(dir)).toEqual({ records: 'C', otherBuckets: [Bucket.meta] }); // the schema only
    be = await open(dir);
    expect(plain(be.get(CURRENT_REVISION))).toEqual(encodeU64(5));
    await be.close();
  });

  it('refuse a damaged newest record at open', async () => {
    const dir = await tempDir();
    const be = await open(dir);
    await writeBatches(be, 1, 2, 10);
    await be.close();
    await withRaw(dir, async (raw) => {
      const [last] = await raw
        .keys({ gte: Uint8Array.of(0), lt: Uint8Array.of(1), reverse: true, limit: 1 })
        .all();
      const v = (await raw.get(last!))!.slice();
      v[v.length - 1]! ^= 1;
      await raw.put(last!, v);
    });
    await expect(open(dir)).rejects.toThrow(CorruptDataDirError);
  });

  it('keep key-bucket keys from ending as their keys do', async () => {
    const be = await open(await tempDir());
    const clash = Uint8Array.of(Bucket.key, 5, ...COMMIT_RECORD_SUFFIX);
    expect(() => be.putFresh(clash, Uint8Array.of(1))).toThrow(RangeError);
    expect(() => be.put(clash, Uint8Array.of(1))).toThrow(RangeError);
    await be.close();
  });
});

describe('LevelBackend commit records, under concurrent use and at the edges', () => {
  it('iterate yields the per-commit keys as of its snapshot, not values written while it runs', async () => {
    const be = await open(await tempDir());
    for (let n = 1; n <= 10; n++) be.putFresh(revKey(n), Uint8Array.of(n));
    be.put(CONSISTENT_INDEX, encodeU64(10));
    be.put(requestsKey(1), encodeU64(10));
    await be.flush();

    const iter = be.iterate(Uint8Array.of(Bucket.key), Uint8Array.of(0xff))[Symbol.asyncIterator]();
    const first = await iter.next(); // the snapshot is taken now
    expect(first.done).toBe(false);
    // Later commits, while the iteration is still in the key bucket.
    be.putFresh(revKey(11), Uint8Array.of(11));
    be.put(CONSISTENT_INDEX, encodeU64(11));
    be.del(requestsKey(1));
    be.put(requestsKey(2), encodeU64(11));
    await be.flush();

    const seen = new Map<string, number>();
    let revisions = 1;
    for (let r = await iter.next(); !r.done; r = await iter.next()) {
      const [k, v] = r.value;
      if (k[0] === Bucket.key) revisions++;
      else seen.set(Buffer.from(k).toString('hex'), decodeU64(v));
    }
    expect(revisions).toBe(10); // the snapshot's key bucket: revision 11 is not in it
    const hex = (k: Uint8Array) => Buffer.from(k).toString('hex');
    expect(seen.get(hex(CONSISTENT_INDEX))).toBe(10);
    expect(seen.get(hex(requestsKey(1)))).toBe(10);
    expect(seen.has(hex(requestsKey(2)))).toBe(false);
    await be.close();
  });

  it('iterate never yields a per-commit value that no flush wrote', async () => {
    const be = await open(await tempDir());
    be.put(CONSISTENT_INDEX, encodeU64(1));
    await be.flush();
    const iter = be.iterate(Uint8Array.of(Bucket.meta), Uint8Array.of(0xff))[Symbol.asyncIterator]();
    const first = iter.next(); // runs to iterate's `await this.flush()`
    be.put(CONSISTENT_INDEX, encodeU64(2)); // buffered, not flushed
    const r = await first;
    expect(r.done).toBe(false);
    expect(decodeU64(r.value![1])).toBe(1);
    await iter.return?.();
    be.del(CONSISTENT_INDEX); // not written by close either: close discards
    await be.close({ discard: true });
  });

  it('a store snapshot streamed while writes go on restores to the revision it was taken at', async () => {
    const be = await open(await tempDir());
    const src = await KVStore.open(be);
    const big = new Uint8Array(10_000).fill(7);
    for (let i = 0; i < 30; i++) src.put({ key: utf8(`k${i}`), value: big });
    src.setConsistentIndex(30);
    await src.commit();
    const at = src.revision;

    const stream = snapshot(src)[Symbol.asyncIterator]();
    const chunks: Uint8Array[] = [];
    const first = await stream.next(); // 64 KiB of the key bucket: the snapshot is taken
    chunks.push(first.value as Uint8Array);
    for (let i = 0; i < 5; i++) src.put({ key: utf8(`later${i}`), value: utf8('x') });
    src.setConsistentIndex(35);
    await src.commit();
    for (let r = await stream.next(); !r.done; r = await stream.next()) chunks.push(r.value);

    const target = new MemoryBackend();
    const status = await restoreSnapshot(
      (async function* () {
        yield* chunks;
      })(),
      target,
    );
    const dst = await KVStore.open(target);
    expect(dst.range({ key: utf8('later0') }).count).toBe(0); // the data is as of `at`...
    expect(status.revision).toBe(at); // ...and so should be its revision and applied index
    expect(dst.revision).toBe(at);
    expect(dst.consistentIndex).toBe(30);
    await src.close();
  });

  it('is empty again once every key, per-commit keys included, is deleted', async () => {
    const dir = await tempDir();
    const be = await open(dir);
    be.put(CONSISTENT_INDEX, encodeU64(1));
    be.put(bucketKey(Bucket.meta, 'other'), Uint8Array.of(1));
    await be.flush();
    be.del(CONSISTENT_INDEX);
    be.del(bucketKey(Bucket.meta, 'other'));
    await be.flush();
    const left = [];
    for await (const e of be.iterate(Uint8Array.of(1), Uint8Array.of(0xff))) left.push(e);
    expect(left).toEqual([]);
    // MemoryBackend says true here; so did LevelBackend before commit records. KVStore.open
    // relies on it (claimBackend): a non-empty backend without a schema is refused as foreign.
    expect(await be.isEmpty()).toBe(true);
    await expect(KVStore.open(be)).resolves.toBeInstanceOf(KVStore);
    await be.close();
  });

  it('compaction deletes the commit records in the stretch it rewrites, even in a batch that changes no per-commit key', async () => {
    const dir = await tempDir();
    const kv = await KVStore.open(await open(dir));
    for (let i = 2; i <= 101; i++) {
      kv.put({ key: utf8('a'), value: utf8(`v${i}`) });
      kv.setConsistentIndex(i);
      await kv.commit();
    }
    await kv.compact(101); // removes revisions 2..100: the stretch of 99 commit records
    await kv.close();
    // What stays: the newest record (and at most one more before revision 2's block).
    expect(await commitRecordCount(dir)).toBeLessThanOrEqual(2);
  });

  it('keep the newest record the largest through flushes in flight that move the last key down and up', async () => {
    const dir = await tempDir();
    let be = await open(dir);
    const writes: Promise<void>[] = [];
    for (let n = 1; n <= 20; n++) be.putFresh(revKey(n), Uint8Array.of(n));
    be.put(CONSISTENT_INDEX, encodeU64(1));
    writes.push(be.flush());
    for (let n = 15; n <= 20; n++) be.del(revKey(n)); // the newest go; no per-commit change
    writes.push(be.flush());
    be.put(CONSISTENT_INDEX, encodeU64(2)); // a record below the one of the first batch
    writes.push(be.flush());
    for (let n = 21; n <= 25; n++) be.putFresh(revKey(n), Uint8Array.of(n));
    be.put(CONSISTENT_INDEX, encodeU64(3));
    writes.push(be.flush());
    for (let n = 21; n <= 25; n++) be.del(revKey(n));
    be.put(CONSISTENT_INDEX, encodeU64(4));
    writes.push(be.flush());
    expect(decodeU64(be.get(CONSISTENT_INDEX)!)).toBe(4);
    await Promise.all(writes);
    await be.close({ discard: true });
    expect(await commitRecordCount(dir)).toBe(1);
    be = await open(dir);
    expect(decodeU64(be.get(CONSISTENT_INDEX)!)).toBe(4);
    expect(be.get(revKey(14))).toBeDefined();
    expect(be.get(revKey(15))).toBeUndefined();
    expect(be.get(revKey(21))).toBeUndefined();
    await be.close();
  });

  it('keep the per-commit keys of a store before commit records through a crash before the first flush', async () => {
    const dir = await tempDir();
    const raw = new ClassicLevel<Uint8Array, Uint8Array>(dir, { keyEncoding: 'view', valueEncoding: 'view' });
    await raw.put(CONSISTENT_INDEX, sealed(CONSISTENT_INDEX, encodeU64(7)));
    await raw.put(CURRENT_REVISION, sealed(CURRENT_REVISION, encodeU64(5)));
    await raw.close();
    let be = await open(dir);
    be.put(CONSISTENT_INDEX, encodeU64(8));
    await be.close({ discard: true }); // a crash: nothing converted, nothing lost
    be = await open(dir);
    expect(decodeU64(be.get(CONSISTENT_INDEX)!)).toBe(7);
    expect(decodeU64(be.get(CURRENT_REVISION)!)).toBe(5);
    await be.close();
    expect(await commitRecordCount(dir)).toBe(1);
    be = await open(dir);
    expect(decodeU64(be.get(CONSISTENT_INDEX)!)).toBe(7);
    expect(decodeU64(be.get(CURRENT_REVISION)!)).toBe(5);
    await be.close();
  });
});
