/**
 * KVStore on LevelDB across close and reopen (temp dirs, removed afterwards): the revision, every
 * retained revision's contents and the consistent index survive; compaction survives, and a
 * physical compaction interrupted by a crash resumes on open; the revision never goes backwards;
 * a crash loses exactly the writes not yet committed.
 *
 * Crashes are simulated with CrashableBackend, a write-back layer over a real LevelBackend that
 * forwards writes only on flush and can drop everything unflushed — what a killed process loses.
 * LevelBackend itself can also drop its pending overlay: close({ discard: true }).
 */

import { ClassicLevel } from 'classic-level';
import { describe, expect, it } from 'vitest';
import type { Backend, BackendEntry } from './backend.js';
import { fromBinary, toBinary, utf8 } from './bytes.js';
import { Bucket, bucketBounds } from './codec.js';
import { CompactedError, ForeignDataDirError, FutureRevError } from './errors.js';
import { KVStore, type KVStoreOptions } from './kvstore.js';
import { LevelBackend } from './level-backend.js';
import { hashKV } from './maintenance/hash.js';
import { MemoryBackend } from './memory-backend.js';
import { decodeRev } from './revision.js';
import { applyAll, randomWorkload } from './test/maintenance-workload.js';
import { tempDirs } from './test/temp-dirs.js';
import type { RangeResponse } from './types.js';

const tempDir = tempDirs('tsetcd-mvcc-');

const k = utf8;
const NUL = new Uint8Array([0]);
const ALL = { key: NUL, rangeEnd: NUL } as const;

/** Opens a LevelDB-backed store (fsync off: these tests close cleanly or simulate the crash). */
async function openLevel(dir: string, opts: KVStoreOptions = {}): Promise<KVStore> {
  return KVStore.open(await LevelBackend.open(dir, { sync: false }), opts);
}

/** A write-back layer that loses every unflushed write on `crash()` (or after N more batches). */
class CrashableBackend implements Backend {
  private overlay = new Map<string, Uint8Array | null>();
  private batches = 0;
  private crashAtBatch = Number.POSITIVE_INFINITY;
  private crashed = false;

  constructor(readonly inner: LevelBackend) {}

  /** Crash right after `n` more non-empty batches reach LevelDB. */
  crashAfterBatches(n: number): void {
    this.crashAtBatch = this.batches + n;
  }

  /** The process dies: unflushed writes are lost and nothing more reaches the disk. */
  crash(): void {
    this.crashed = true;
    this.overlay.clear();
  }

  get(key: Uint8Array): Uint8Array | undefined {
    const v = this.overlay.get(toBinary(key));
    return v === undefined ? this.inner.get(key) : (v ?? undefined);
  }

  put(key: Uint8Array, value: Uint8Array): void {
    if (!this.crashed) this.overlay.set(toBinary(key), value);
  }

  del(key: Uint8Array): void {
    if (!this.crashed) this.overlay.set(toBinary(key), null);
  }

  async flush(): Promise<void> {
    if (this.crashed || this.overlay.size === 0) return;
    const batch = this.overlay;
    this.overlay = new Map();
    for (const [key, v] of batch) {
      if (v === null) this.inner.del(fromBinary(key));
      else this.inner.put(fromBinary(key), v);
    }
    await this.inner.flush();
    if (++this.batches >= this.crashAtBatch) this.crash();
  }

  async *iterate(gte: Uint8Array, lt: Uint8Array): AsyncIterable<BackendEntry> {
    await this.flush();
    yield* this.inner.iterate(gte, lt);
  }

  isEmpty(): Promise<boolean> {
    return this.inner.isEmpty();
  }

  sizeBytes(): Promise<number> {
    return this.inner.sizeBytes();
  }

  defragment(): Promise<void> {
    return this.inner.defragment();
  }

  async close(): Promise<void> {
    await this.flush();
    await this.inner.close();
  }
}

/** Every revision stored in the key bucket, as `main.sub` (`t` for a tombstone). */
async function storedRevisions(backend: Backend): Promise<string[]> {
  const { gte, lt } = bucketBounds(Bucket.key);
  const out: string[] = [];
  for await (const [key] of backend.iterate(gte, lt)) {
    const { rev, tombstone } = decodeRev(key, 1);
    out.push(`${rev.main}.${rev.sub}${tombstone ? 't' : ''}`);
  }
  return out;
}

/** The stored revisions of a closed data dir. */
async function storedRevisionsIn(dir: string): Promise<string[]> {
  const b = await LevelBackend.open(dir, { sync: false });
  try {
    return await storedRevisions(b);
  } finally {
    await b.close();
  }
}

/**
 * A full range at every readable revision, compaction revision .. current. Keys and values are
 * copied into plain Uint8Arrays: read back from LevelDB they are Node Buffers, which toEqual
 * does not equate with Uint8Arrays of the same bytes.
 */
function everyRevision(store: KVStore): Map<number, RangeResponse> {
  const out = new Map<number, RangeResponse>();
  for (let rev = Math.max(1, store.compactRevision); rev <= store.revision; rev++) {
    const r = store.range({ ...ALL, revision: rev });
    const kvs = r.kvs.map((kv) => ({ ...kv, key: new Uint8Array(kv.key), value: new Uint8Array(kv.value) }));
    out.set(rev, { ...r, kvs });
  }
  return out;
}

/**
 * A history with every kind of write (revisions 2..11): puts, overwrites, a txn with
 * sub-revisions, a delete, a re-creation, a range delete, and a no-op delete.
 */
function writeHistory(store: KVStore): void {
  store.put({ key: k('a'), value: k('1') }); // 2
  store.put({ key: k('b'), value: k('1') }); // 3
  store.put({ key: k('a'), value: k('2') }); // 4
  store.txn({
    compare: [],
    success: [
      { type: 'put', request: { key: k('c'), value: k('1') } },
      { type: 'put', request: { key: k('d'), value: k('1') } },
      { type: 'deleteRange', request: { key: k('b') } },
    ],
    failure: [],
  }); // 5
  store.put({ key: k('b'), value: k('again') }); // 6
  store.put({ key: k('a'), value: k('3') }); // 7
  store.deleteRange({ key: k('c'), rangeEnd: k('e') }); // 8
  store.deleteRange({ key: k('zzz') }); // no revision
  store.put({ key: k('d'), value: k('new') }); // 9
  store.put({ key: k('e'), value: k('1') }); // 10
  store.put({ key: k('a'), value: k('4') }); // 11
}

describe('KVStore on LevelDB: close and reopen', () => {
  it('keeps the revision, every revision of history and the consistent index', async () => {
    const dir = await tempDir();
    const s1 = await openLevel(dir);
    writeHistory(s1);
    s1.setConsistentIndex(77);
    await s1.commit();
    const before = everyRevision(s1);
    expect(s1.revision).toBe(11);
    await s1.close();

    const s2 = await openLevel(dir);
    expect(s2.revision).toBe(11);
    expect(s2.consistentIndex).toBe(77);
    expect(s2.compactRevision).toBe(0);
    expect(everyRevision(s2)).toEqual(before);
    // Writing continues where it left off: versions and creation come from the stored history.
    expect(s2.put({ key: k('a'), value: k('5') }).header.revision).toBe(12);
    expect(s2.range({ key: k('a') }).kvs[0]).toMatchObject({ createRevision: 2, version: 5 });
    expect(s2.put({ key: k('c'), value: k('x') }).header.revision).toBe(13);
    expect(s2.range({ key: k('c') }).kvs[0]).toMatchObject({ createRevision: 13, version: 1 });
    await s2.close();
  });

  it('close({ discard: true }) loses exactly the writes not yet committed, as a crash would', async () => {
    const dir = await tempDir();
    const s1 = await openLevel(dir);
    s1.put({ key: k('kept'), value: k('1') });
    s1.setConsistentIndex(5);
    await s1.commit();
    s1.put({ key: k('lost'), value: k('2') });
    s1.setConsistentIndex(6);
    await s1.close({ discard: true });

    const s2 = await openLevel(dir);
    expect(s2.revision).toBe(2);
    expect(s2.consistentIndex).toBe(5);
    expect(s2.range({ key: k('kept') }).kvs).toHaveLength(1);
    expect(s2.range({ key: k('lost') }).kvs).toHaveLength(0);
    await s2.close();
  });

  it('refuses a LevelDB that is not a tsetcd store', async () => {
    const dir = await tempDir();
    const db = new ClassicLevel<string, string>(dir);
    await db.put('someone', 'else');
    await db.close();
    await expect(openLevel(dir)).rejects.toThrow(ForeignDataDirError);
  });

  it('keeps a finished compaction: old revisions stay unreadable and gone from disk', async () => {
    const dir = await tempDir();
    const s1 = await openLevel(dir);
    writeHistory(s1);
    await s1.compact(6);
    const before = everyRevision(s1);
    const onDisk = await storedRevisions(s1.backend);
    await s1.close();

    const s2 = await openLevel(dir);
    expect(s2.compactRevision).toBe(6);
    expect(() => s2.range({ ...ALL, revision: 5 })).toThrow(CompactedError);
    expect(everyRevision(s2)).toEqual(before);
    expect(await storedRevisions(s2.backend)).toEqual(onDisk);
    // Compacted keys come back with their creation and version from the stored key-value.
    expect(s2.put({ key: k('b'), value: k('x') }).header.revision).toBe(12);
    expect(s2.range({ key: k('b') }).kvs[0]).toMatchObject({ createRevision: 6, version: 2 });
    expect(() => s2.compact(6)).toThrow(CompactedError);
    await s2.close();
  });

  it('resumes a physical compaction that a crash interrupted', async () => {
    // The same history compacted without interruption, in memory: what the disk must end up as.
    const twin = await KVStore.open(new MemoryBackend());
    writeHistory(twin);
    await twin.compact(9);
    const wantOnDisk = await storedRevisions(twin.backend);
    const wantReads = everyRevision(twin);

    const dir = await tempDir();
    const crashable = new CrashableBackend(await LevelBackend.open(dir, { sync: false }));
    const s1 = await KVStore.open(crashable, { compactionBatch: 1 });
    writeHistory(s1);
    await s1.commit();
    const full = await storedRevisions(s1.backend);
    // Batch 1 records the scheduled compaction, batch 2 deletes one old revision; then the crash.
    crashable.crashAfterBatches(2);
    await s1.compact(9);
    await s1.close();

    // The crash left the compaction half done: one old revision gone, others still on disk.
    const halfDone = await storedRevisionsIn(dir);
    expect(halfDone.length).toBe(full.length - 1);
    expect(halfDone.length).toBeGreaterThan(wantOnDisk.length);

    const s2 = await openLevel(dir);
    expect(s2.compactRevision).toBe(9);
    expect(() => s2.range({ ...ALL, revision: 8 })).toThrow(CompactedError);
    expect(everyRevision(s2)).toEqual(wantReads);
    await s2.close(); // waits for the resumed compaction
    expect(await storedRevisionsIn(dir)).toEqual(wantOnDisk);

    // And it is recorded as finished: a third open has nothing left to do.
    const s3 = await openLevel(dir);
    expect(everyRevision(s3)).toEqual(wantReads);
    await s3.close();
    expect(await storedRevisionsIn(dir)).toEqual(wantOnDisk);
  });

  it('never goes back in time: the latest write was a delete, compacted at its revision', async () => {
    const dir = await tempDir();
    const s1 = await openLevel(dir);
    s1.put({ key: k('a'), value: k('1') }); // 2
    s1.put({ key: k('b'), value: k('1') }); // 3
    s1.deleteRange({ key: k('a'), rangeEnd: NUL }); // 4
    await s1.compact(4);
    // Only the tombstones at the compaction revision are left (etcd#18274): the index is empty.
    expect(await storedRevisions(s1.backend)).toEqual(['4.0t', '4.1t']);
    expect(s1.range(ALL).count).toBe(0);
    await s1.close();

    const s2 = await openLevel(dir);
    expect(s2.revision).toBe(4);
    expect(s2.range(ALL)).toEqual({ header: { revision: 4 }, kvs: [], more: false, count: 0 });
    expect(() => s2.range({ ...ALL, revision: 5 })).toThrow(FutureRevError);
    expect(s2.put({ key: k('a'), value: k('2') }).header.revision).toBe(5);
    expect(s2.range({ key: k('a') }).kvs[0]).toMatchObject({ createRevision: 5, version: 1 });
    await s2.close();
  });

  it('after a crash shows exactly the committed state', async () => {
    const dir = await tempDir();
    const crashable = new CrashableBackend(await LevelBackend.open(dir, { sync: false }));
    const s1 = await KVStore.open(crashable);
    writeHistory(s1);
    s1.setConsistentIndex(10);
    await s1.commit();
    const committed = everyRevision(s1);

    // Applied but never committed: lost in the crash.
    s1.put({ key: k('a'), value: k('lost') }); // 12
    s1.deleteRange({ key: k('b') }); // 13
    s1.setConsistentIndex(12);
    crashable.crash();
    await s1.close();

    const s2 = await openLevel(dir);
    expect(s2.revision).toBe(11);
    expect(s2.consistentIndex).toBe(10);
    expect(everyRevision(s2)).toEqual(committed);
    expect(() => s2.range({ ...ALL, revision: 12 })).toThrow(FutureRevError);
    // The lost revisions are reused by the next writes, as the host re-applies its log.
    expect(s2.put({ key: k('a'), value: k('replayed') }).header.revision).toBe(12);
    await s2.close();
  });
});

/** Every event of revisions [from, to], as `rev: TYPE key@modRevision` (Buffers and arrays alike). */
async function historyText(store: KVStore, from: number, to: number): Promise<string[]> {
  const out: string[] = [];
  for await (const { revision, events } of store.history(from, to)) {
    for (const e of events) out.push(`${revision}: ${e.type} ${toBinary(e.kv.key)}@${e.kv.modRevision}`);
  }
  return out;
}

/** The keep set of a store at rev, sorted. */
const keepOf = (store: KVStore, rev: number) => [...store.keep(rev)].sort();

describe('KVStore on LevelDB: a tombstone at the compaction revision across a restart (etcd#19188)', () => {
  /** Revisions 2..5: a is written twice and deleted at C = 5; b is live. */
  function writeUntilDelete(store: KVStore): void {
    store.put({ key: k('a'), value: k('1') }); // 2
    store.put({ key: k('b'), value: k('1') }); // 3
    store.put({ key: k('a'), value: k('2') }); // 4
    store.deleteRange({ key: k('a') }); // 5 = C
  }
  const C = 5;

  it('keep(C) and the next compaction behave as on a store that never restarted', async () => {
    const twin = await KVStore.open(new MemoryBackend()); // never restarts
    writeUntilDelete(twin);
    await twin.compact(C);

    const dir = await tempDir();
    const s1 = await openLevel(dir);
    writeUntilDelete(s1);
    await s1.compact(C);
    await s1.commit();
    await s1.close();
    // The tombstone at C is physically there; a's puts at 2 and 4 are gone.
    expect(await storedRevisionsIn(dir)).toEqual(['3.0', '5.0t']);
    expect(await storedRevisions(twin.backend)).toEqual(['3.0', '5.0t']);

    const s2 = await openLevel(dir);
    expect(s2.revision).toBe(C);
    expect(s2.compactRevision).toBe(C);
    expect(keepOf(s2, C)).toEqual(['3:0', '5:0']);
    expect(keepOf(s2, C)).toEqual(keepOf(twin, C));
    expect(await historyText(s2, C, C)).toEqual(['5: DELETE a@5']);
    expect(await historyText(s2, C, C)).toEqual(await historyText(twin, C, C));
    expect(s2.range({ key: k('a'), revision: C }).kvs).toEqual([]);
    expect(s2.range({ key: k('a') }).count).toBe(0);

    // The same writes and a later compaction on both: the tombstone goes, on both.
    for (const s of [twin, s2]) {
      s.put({ key: k('b'), value: k('2') }); // 6
      s.put({ key: k('a'), value: k('3') }); // 7
    }
    expect(s2.range({ key: k('a') }).kvs[0]).toMatchObject({ createRevision: 7, modRevision: 7, version: 1 });
    expect(twin.range({ key: k('a') }).kvs[0]).toMatchObject({
      createRevision: 7,
      modRevision: 7,
      version: 1,
    });
    for (const at of [C + 1, C + 2]) expect(keepOf(s2, at)).toEqual(keepOf(twin, at));
    expect(keepOf(s2, C + 1)).toEqual(['6:0']);
    await twin.compact(C + 1);
    await s2.compact(C + 1);
    expect(await storedRevisions(s2.backend)).toEqual(['6.0', '7.0']);
    expect(await storedRevisions(twin.backend)).toEqual(['6.0', '7.0']);
    await expect(historyText(s2, C, C + 2)).rejects.toThrow(CompactedError);
    expect(await historyText(s2, C + 1, C + 2)).toEqual(await historyText(twin, C + 1, C + 2));
    await s2.close();

    // And a third open finds nothing of the old tombstone.
    const s3 = await openLevel(dir);
    expect(await storedRevisions(s3.backend)).toEqual(['6.0', '7.0']);
    expect(keepOf(s3, C + 1)).toEqual(['6:0']);
    await s3.close();
  });

  it('hashKV agrees between a replica that restarted after compact(C) and one that did not', async () => {
    const stay = await openLevel(await tempDir());
    const dir = await tempDir();
    const s1 = await openLevel(dir);
    for (const s of [stay, s1]) {
      writeUntilDelete(s);
      await s.compact(C);
    }
    await s1.close();
    const restarted = await openLevel(dir);

    const want = await hashKV(stay);
    expect(want).toMatchObject({ compactRevision: C, hashRevision: C });
    expect(await hashKV(restarted)).toEqual(want);

    // Still equal after more writes, and after the next compaction removes the tombstone.
    for (const s of [stay, restarted]) s.put({ key: k('c'), value: k('1') }); // 6
    expect(await hashKV(restarted)).toEqual(await hashKV(stay));
    for (const s of [stay, restarted]) await s.compact(C + 1);
    expect(await hashKV(restarted)).toEqual(await hashKV(stay));
    await stay.close();
    await restarted.close();
  });

  it('hashKV agrees after random histories ending in a range delete at C and compact(C)', async () => {
    for (const seed of [1, 2, 3]) {
      const reqs = randomWorkload(seed, 200, { compactions: true });
      const stay = await openLevel(await tempDir());
      const dir = await tempDir();
      const s1 = await openLevel(dir);
      for (const s of [stay, s1]) {
        await applyAll(s, reqs, true);
        s.deleteRange({ key: k('k0'), rangeEnd: k('k2') }); // C: deletes several keys
        await s.compact(s.revision);
      }
      await s1.close();
      const restarted = await openLevel(dir);
      expect(restarted.revision).toBe(stay.revision);
      expect(restarted.compactRevision).toBe(stay.revision);
      // The delete at C really left tombstones on disk for keep(C) to account for.
      const at = stay.revision;
      const tombstonesAtC = (await storedRevisions(stay.backend)).filter((r) => r.startsWith(`${at}.`));
      expect(tombstonesAtC.length).toBeGreaterThan(1);
      expect(tombstonesAtC.every((r) => r.endsWith('t'))).toBe(true);
      expect(await storedRevisions(restarted.backend)).toEqual(await storedRevisions(stay.backend));
      expect(keepOf(restarted, at)).toEqual(keepOf(stay, at));
      expect(await hashKV(restarted)).toEqual(await hashKV(stay));

      // The same random tail (with its compactions) on both keeps them equal.
      const tail = randomWorkload(seed + 100, 100, { compactions: true });
      await applyAll(stay, tail, true);
      await applyAll(restarted, tail, true);
      expect(await hashKV(restarted)).toEqual(await hashKV(stay));
      expect(await storedRevisions(restarted.backend)).toEqual(await storedRevisions(stay.backend));
      await stay.close();
      await restarted.close();
    }
  });
});
