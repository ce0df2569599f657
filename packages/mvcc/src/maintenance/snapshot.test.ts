import { describe, expect, it } from 'vitest';
import type { Backend } from '../backend.js';
import { bytesEqual, utf8 } from '../bytes.js';
import { decodeU64, encodeU64 } from '../codec.js';
import { ForeignDataDirError } from '../errors.js';
import { KVStore } from '../kvstore.js';
import { MemoryBackend } from '../memory-backend.js';
import { applyAll, collect, fromChunks, randomWorkload, rechunk } from '../test/maintenance-workload.js';
import { Alarms } from './alarm.js';
import { RestoreTargetNotEmptyError, SnapshotIntegrityError } from './errors.js';
import { hashKV, storeHash } from './hash.js';
import { MetaKey } from './image.js';
import { RESTORE_INCOMPLETE_SCHEMA, restoreSnapshot, snapshot, snapshotStatus } from './snapshot.js';

const ALL = { key: new Uint8Array([0]), rangeEnd: new Uint8Array([0]) };

async function populated(seed = 5): Promise<KVStore> {
  const s = await KVStore.open(new MemoryBackend());
  await applyAll(s, randomWorkload(seed, 400, { compactions: true }), true);
  return s;
}

async function entries(b: Backend): Promise<number> {
  return (await collect(b.iterate(new Uint8Array([0]), new Uint8Array([0xff])))).length;
}

/** Flips one bit of the byte at `at` (negative: from the end) of a copied stream. */
function flip(chunks: Uint8Array[], at: number): Uint8Array[] {
  const all = new Uint8Array(Buffer.concat(chunks));
  const i = at < 0 ? all.length + at : at;
  all[i]! ^= 0x10;
  return [all];
}

describe('snapshot and restore', () => {
  it('restores a store that serves the same ranges, hashKV and store hash', async () => {
    const src = await populated();
    const alarms = await Alarms.open(src);
    alarms.activate(3n, 'CORRUPT');
    src.setConsistentIndex(77);
    const image = await collect(snapshot(src));
    expect(image.length).toBeGreaterThan(0);

    const target = new MemoryBackend();
    const status = await restoreSnapshot(fromChunks(image), target);
    const dst = await KVStore.open(target);
    expect(dst.revision).toBe(src.revision);
    expect(dst.compactRevision).toBe(src.compactRevision);
    expect(dst.consistentIndex).toBe(77);
    expect(status.revision).toBe(src.revision);
    for (let rev: number = src.compactRevision; rev <= src.revision; rev++) {
      expect(dst.range({ ...ALL, revision: rev })).toEqual(src.range({ ...ALL, revision: rev }));
    }
    expect(await hashKV(dst)).toEqual(await hashKV(src));
    expect(await hashKV(dst, src.compactRevision)).toEqual(await hashKV(src, src.compactRevision));
    expect(await storeHash(dst)).toEqual(await storeHash(src));
    expect((await Alarms.open(dst)).list()).toEqual([{ memberId: 3n, alarm: 'CORRUPT' }]);
  });

  it('carries an unfinished compaction, which the restored store resumes', async () => {
    const src = await KVStore.open(new MemoryBackend());
    await applyAll(src, randomWorkload(8, 200), true);
    const compacted = src.compact(src.revision - 10);
    // Iteration starts (and the memory backend's snapshot is taken) before any deletion.
    const image = await collect(snapshot(src));
    await compacted;
    const target = new MemoryBackend();
    await restoreSnapshot(fromChunks(image), target);
    expect(decodeU64(target.get(MetaKey.finishedCompactRevision) ?? encodeU64(0))).toBeLessThan(
      src.compactRevision,
    );
    const dst = await KVStore.open(target);
    expect(dst.compactRevision).toBe(src.compactRevision);
    expect(await hashKV(dst)).toEqual(await hashKV(src));
    await dst.close(); // waits for the resumed compaction
    expect(await storeHash(dst)).toEqual(await storeHash(src));
  });

  it('does not depend on how the stream is chunked, and round-trips large values', async () => {
    const src = await KVStore.open(new MemoryBackend());
    src.put({ key: utf8('big'), value: new Uint8Array(300_000).fill(7) });
    src.put({ key: utf8('small'), value: utf8('s') });
    const image = await collect(snapshot(src));
    const expected = await snapshotStatus(fromChunks(image));
    expect(await snapshotStatus(rechunk(image, [1, 7, 4096, 3]))).toEqual(expected);
    const target = new MemoryBackend();
    await restoreSnapshot(rechunk(image, [65_537, 13]), target);
    const dst = await KVStore.open(target);
    // bytesEqual, not toEqual: a deep compare of 300k elements is slow.
    expect(bytesEqual(dst.range({ key: utf8('big') }).kvs[0]!.value, new Uint8Array(300_000).fill(7))).toBe(
      true,
    );
  });

  it('refuses a non-empty target', async () => {
    const image = await collect(snapshot(await populated()));
    const target = new MemoryBackend();
    target.put(utf8('x'), utf8('y'));
    await expect(restoreSnapshot(fromChunks(image), target)).rejects.toBeInstanceOf(
      RestoreTargetNotEmptyError,
    );
    expect(target.get(utf8('x'))).toEqual(utf8('y'));
  });

  it.each([
    ['a flipped byte in a record', 200],
    ['a flipped byte in the trailer', -1],
    ['a flipped byte in the header', 0],
  ])('rejects %s with SnapshotIntegrityError and leaves the target cleared', async (_, at) => {
    const image = await collect(snapshot(await populated()));
    const target = new MemoryBackend();
    await expect(restoreSnapshot(fromChunks(flip(image, at)), target)).rejects.toBeInstanceOf(
      SnapshotIntegrityError,
    );
    expect(await entries(target)).toBe(0);
    await expect(snapshotStatus(fromChunks(flip(image, at)))).rejects.toBeInstanceOf(SnapshotIntegrityError);
  });

  it('rejects truncated streams and trailing bytes', async () => {
    const all = Buffer.concat(await collect(snapshot(await populated())));
    for (const cut of [0, 5, 12, 100, all.length - 33, all.length - 1]) {
      await expect(snapshotStatus(fromChunks([all.subarray(0, cut)]))).rejects.toThrow(/truncated/);
    }
    await expect(snapshotStatus(fromChunks([all, new Uint8Array([1])]))).rejects.toThrow(
      /after the checksum/,
    );
    await expect(snapshotStatus(fromChunks([utf8('not a snapshot at all')]))).rejects.toThrow(/bad magic/);
  });

  it('leaves a target whose clean-up failed refused by KVStore.open, never served', async () => {
    const image = await collect(snapshot(await populated()));
    const inner = new MemoryBackend();
    const target: Backend = Object.assign(Object.create(inner) as Backend, {
      del() {
        throw new Error('disk gone');
      },
    });
    await expect(restoreSnapshot(fromChunks(flip(image, 300)), target)).rejects.toBeInstanceOf(
      SnapshotIntegrityError,
    );
    const err = await KVStore.open(inner).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ForeignDataDirError);
    expect((err as Error).message).toContain(RESTORE_INCOMPLETE_SCHEMA);
  });

  it('passes on an error of the source, clearing the target', async () => {
    const image = Buffer.concat(await collect(snapshot(await populated())));
    async function* failing(): AsyncIterable<Uint8Array> {
      yield image.subarray(0, 1000);
      throw new Error('connection reset');
    }
    const target = new MemoryBackend();
    await expect(restoreSnapshot(failing(), target)).rejects.toThrow('connection reset');
    expect(await entries(target)).toBe(0);
  });
});

describe('snapshotStatus', () => {
  it('reports hash, revision, key count and size like etcdutl snapshot status', async () => {
    const src = await populated(9);
    src.setConsistentIndex(5);
    const image = await collect(snapshot(src));
    const status = await snapshotStatus(fromChunks(image));
    expect(status).toEqual({
      hash: (await storeHash(src)).hash,
      revision: src.revision,
      totalKeys: await entries(src.backend),
      totalSize: image.reduce((n, c) => n + c.length, 0),
    });
  });

  it('describes an empty store', async () => {
    const status = await snapshotStatus(snapshot(await KVStore.open(new MemoryBackend())));
    expect(status).toMatchObject({ revision: 1, totalKeys: 1 }); // just the schema marker
  });
});
