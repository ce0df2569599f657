import { describe, expect, it } from 'vitest';
import { utf8 } from '../bytes.js';
import { Bucket, bucketBounds, decodeKeyValue, keyBucketKey } from '../codec.js';
import { CompactedError, FutureRevError } from '../errors.js';
import { KVStore } from '../kvstore.js';
import { MemoryBackend } from '../memory-backend.js';
import { decodeRev } from '../revision.js';
import { applyAll, HoldDeletesBackend, randomWorkload } from '../test/maintenance-workload.js';
import type { Revision } from '../types.js';
import { Alarms } from './alarm.js';
import { crc32c } from './crc32c.js';
import { etcdKeyValueBytes, etcdRevisionKey } from './etcd-key-bucket.js';
import { hashKV, storeHash } from './hash.js';

const put = (s: KVStore, k: string, v: string) => s.put({ key: utf8(k), value: utf8(v) });

/**
 * Oracle, valid once physical compaction has finished: etcd 3.4's HashByRev over the stored
 * history <= rev — CRC-32C of "key", then each entry's etcd revision key and KeyValue bytes,
 * leaving out a revision at or below the compaction revision unless it is some key's live one at
 * `rev` (when any key is live there).
 */
async function etcdHashOfStoredHistory(store: KVStore, rev: number): Promise<number> {
  await store.commit();
  const live = new Set(
    store
      .range({ key: new Uint8Array([0]), rangeEnd: new Uint8Array([0]), revision: rev })
      .kvs.map((kv) => `${Buffer.from(kv.key).toString('hex')}@${kv.modRevision}`),
  );
  let h = crc32c(utf8('key'));
  const { gte } = bucketBounds(Bucket.key);
  const lt = keyBucketKey({ main: (rev + 1) as Revision, sub: 0 }, false);
  for await (const [k, v] of store.backend.iterate(gte, lt)) {
    const { rev: r, tombstone } = decodeRev(k, 1);
    const kv = decodeKeyValue(v);
    const old = store.compacted && r.main <= store.compactRevision;
    if (old && live.size > 0 && !live.has(`${Buffer.from(kv.key).toString('hex')}@${r.main}`)) continue;
    h = crc32c(etcdKeyValueBytes(kv, tombstone), crc32c(etcdRevisionKey(r, tombstone), h));
  }
  return h;
}

describe('hashKV', () => {
  it('is equal on replicas fed the same random requests, compacted or not physically', async () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const reqs = randomWorkload(seed, 300, { compactions: true });
      const finished = await KVStore.open(new MemoryBackend());
      const held = new HoldDeletesBackend(new MemoryBackend());
      const unfinished = await KVStore.open(held);
      await applyAll(finished, reqs, true);
      await applyAll(unfinished, reqs, true);
      expect(unfinished.revision).toBe(finished.revision);
      expect(finished.compactRevision).toBeGreaterThan(0);
      expect(held.heldDeletes).toBeGreaterThan(0); // the replicas really hold different bytes

      const a = await hashKV(finished);
      const b = await hashKV(unfinished);
      expect(b).toEqual(a);
      expect(a.hashRevision).toBe(finished.revision);
      expect(a.compactRevision).toBe(finished.compactRevision);
      // Once finished, etcd's rule over what is stored gives the same hash.
      expect(a.hash).toBe(await etcdHashOfStoredHistory(finished, finished.revision));
      for (let rev: number = finished.compactRevision; rev <= finished.revision; rev += 7) {
        expect(await hashKV(unfinished, rev)).toEqual(await hashKV(finished, rev));
      }
      await held.release();
      expect(await hashKV(unfinished)).toEqual(a);
    }
  });

  it('differs when the data differ', async () => {
    const reqs = randomWorkload(7, 100);
    const a = await KVStore.open(new MemoryBackend());
    const b = await KVStore.open(new MemoryBackend());
    await applyAll(a, reqs, true);
    await applyAll(b, reqs, true);
    expect((await hashKV(a)).hash).toBe((await hashKV(b)).hash);
    put(a, 'x', '1');
    put(b, 'x', '2');
    expect((await hashKV(a)).hash).not.toBe((await hashKV(b)).hash);
    // The revision before the divergence still agrees.
    expect(await hashKV(a, a.revision - 1)).toEqual(await hashKV(b, b.revision - 1));
  });

  it('at a past revision ignores everything written after it', async () => {
    const s = await KVStore.open(new MemoryBackend());
    const seen: { rev: number; hash: number }[] = [];
    for (const r of randomWorkload(11, 120)) {
      await applyAll(s, [r], true);
      seen.push({ rev: s.revision, hash: (await hashKV(s)).hash });
    }
    for (const { rev, hash } of seen) expect((await hashKV(s, rev)).hash).toBe(hash);
    expect(await hashKV(s, 0)).toEqual(await hashKV(s, s.revision));
  });

  it("counts, at or below the compaction revision, only the revisions live at the hashed one (etcd's rule)", async () => {
    const s = await KVStore.open(new MemoryBackend());
    for (let i = 0; i < 10; i++) put(s, `k${i % 3}`, `v${i}`); // revs 2..11
    s.deleteRange({ key: utf8('k0') }); // rev 12: tombstone
    const before = await hashKV(s, 11);
    await s.compact(11);
    const after = await hashKV(s, 11);
    expect(after.compactRevision).toBe(11);
    expect(after.hash).not.toBe(before.hash); // superseded revisions no longer count
    expect(after.hash).toBe(await etcdHashOfStoredHistory(s, 11));
  });

  it('rejects future and compacted revisions, as etcd', async () => {
    const s = await KVStore.open(new MemoryBackend());
    for (let i = 0; i < 5; i++) put(s, 'a', `${i}`); // rev 6
    await expect(hashKV(s, 7)).rejects.toBeInstanceOf(FutureRevError);
    await s.compact(4);
    await expect(hashKV(s, 3)).rejects.toBeInstanceOf(CompactedError);
    await expect(hashKV(s, 4)).resolves.toMatchObject({ compactRevision: 4, hashRevision: 4 });
    await expect(hashKV(s, -1)).rejects.toBeInstanceOf(RangeError);
  });

  it('starts over when a compaction lands during the scan', async () => {
    const s = await KVStore.open(new MemoryBackend(), { compactionBatch: 1 });
    for (let i = 0; i < 50; i++) put(s, `k${i % 5}`, `v${i}`);
    const pending = hashKV(s, 40); // captures compactRevision 0, scans asynchronously
    const compacted = s.compact(30);
    const got = await pending;
    await compacted;
    expect(got.compactRevision).toBe(30);
    expect(got).toEqual(await hashKV(s, 40));
  });
});

describe('storeHash', () => {
  it('is equal on replicas once compaction finished, and tracks the revision', async () => {
    const reqs = randomWorkload(21, 200, { compactions: true });
    const a = await KVStore.open(new MemoryBackend());
    const b = await KVStore.open(new MemoryBackend());
    await applyAll(a, reqs, true);
    await applyAll(b, reqs, true);
    const ha = await storeHash(a);
    expect(ha).toEqual(await storeHash(b));
    expect(ha.revision).toBe(a.revision);
    put(b, 'z', 'z');
    expect((await storeHash(b)).hash).not.toBe(ha.hash);
  });

  it('ignores the consistent index (volatile) but not alarms (replicated)', async () => {
    const s = await KVStore.open(new MemoryBackend());
    put(s, 'a', '1');
    const h0 = await storeHash(s);
    s.setConsistentIndex(42);
    await s.commit();
    expect(await storeHash(s)).toEqual(h0);
    const alarms = await Alarms.open(s);
    alarms.activate(1n, 'CORRUPT');
    expect((await storeHash(s)).hash).not.toBe(h0.hash);
  });

  it('is 1 at revision one for an empty store', async () => {
    const s = await KVStore.open(new MemoryBackend());
    expect((await storeHash(s)).revision).toBe(1);
  });
});
