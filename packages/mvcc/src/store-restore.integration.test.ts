/**
 * MvccStore.restore into a running store, on memory and on LevelDB: the state becomes the
 * snapshot's, watchers continue with exactly the events the new store implies, the lessor keeps
 * its role, a damaged stream changes nothing, and the dir swap survives a crash at every step.
 *
 * The scenario is a raft follower catching up: the source (the leader) and the target (the
 * follower) apply the same requests; the target stops after PREFIX of them, the source goes on,
 * compacts, and its snapshot is restored into the target.
 */

import { cp, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { utf8 } from './bytes.js';
import { OLD_DIR_SUFFIX, RESTORE_DIR_SUFFIX, recoverDataDir } from './data-dir.js';
import { RestoringError, SnapshotIntegrityError } from './maintenance/errors.js';
import { hashKV, storeHash } from './maintenance/hash.js';
import { snapshot } from './maintenance/snapshot.js';
import { MvccStore, type MvccStoreOptions } from './store.js';
import { collect, fromChunks } from './test/maintenance-workload.js';
import { tempDirs } from './test/temp-dirs.js';
import type { Event, Revision } from './types.js';
import { ManualWatchScheduler } from './watch-scheduler.js';
import type { Watcher, WatchResponse } from './watcher.js';

const tempDir = tempDirs('tsetcd-restore-');

const text = (b: Uint8Array) => new TextDecoder().decode(b);
const ALL = { key: new Uint8Array([0]), rangeEnd: new Uint8Array([0]) };
const show = (ev: Event) => `${ev.type} ${text(ev.kv.key)}@${ev.kv.modRevision}`;

/** Requests the target applies before the restore; the source applies TOTAL. */
const PREFIX = 20;
const TOTAL = 50;
const LEASE_A = 100n;
const LEASE_B = 200n;

/** Request i of the shared workload: puts over 7 keys, a delete every 5th, leases at 0 and 30. */
function applyStep(s: MvccStore, i: number): void {
  if (i === 0) {
    s.lessor.grant(LEASE_A, 60);
    s.put({ key: utf8('lease/a'), value: utf8('a'), lease: LEASE_A });
  } else if (i === 30) {
    s.lessor.grant(LEASE_B, 60);
    s.put({ key: utf8('lease/b'), value: utf8('b'), lease: LEASE_B });
  } else if (i % 5 === 0) {
    s.deleteRange({ key: utf8(`k${(i + 3) % 7}`) });
  } else {
    s.put({ key: utf8(`k${i % 7}`), value: utf8(`v${i}`) });
  }
}

/** Every event of the store's history, in order: the oracle of what watchers must see. */
function record(s: MvccStore): { revision: number; event: string }[] {
  const out: { revision: number; event: string }[] = [];
  s.kv.subscribe((evs, rev) => {
    for (const ev of evs) out.push({ revision: rev, event: show(ev) });
  });
  return out;
}

/** The source store (the leader): TOTAL requests, a compaction, an alarm, an applied index. */
async function source() {
  const src = await MvccStore.open({ lease: { clock: () => 0 } });
  const oracle = record(src);
  for (let i = 0; i < PREFIX; i++) applyStep(src, i);
  const prefixRev = src.revision;
  for (let i = PREFIX; i < 40; i++) applyStep(src, i);
  // Watchers of the target synced at prefixRev survive this compaction; older ones do not.
  await src.compact({ revision: prefixRev, physical: true });
  for (let i = 40; i < TOTAL; i++) applyStep(src, i);
  src.alarms.activate(3n, 'CORRUPT');
  await src.commit(99);
  const image = await collect(snapshot(src.kv));
  return { src, oracle, image, prefixRev };
}

/** Reads a watcher's buffered responses, never waiting for more. */
function reader(w: Watcher) {
  const it = w[Symbol.asyncIterator]();
  const got: WatchResponse[] = [];
  return {
    got,
    events: () => got.flatMap((r) => r.events.map(show)),
    async take(): Promise<number> {
      let n = 0;
      while (w.buffered > 0) {
        const r = await it.next();
        if (r.done) break;
        got.push(r.value);
        n++;
      }
      return n;
    },
  };
}

/** Runs sync passes and reads every watcher until nothing moves any more. */
async function drain(store: MvccStore, readers: ReturnType<typeof reader>[]): Promise<void> {
  for (;;) {
    await store.watchable.syncWatchers();
    let n = 0;
    for (const r of readers) n += await r.take();
    const { unsynced, victims } = store.watchable.stats();
    if (n === 0 && unsynced === 0 && victims === 0) return;
  }
}

/** The oracle's events in revision window [from, to], on keys starting with `prefix`. */
function expected(
  oracle: { revision: number; event: string }[],
  from: number,
  to: number,
  prefix = '',
): string[] {
  return oracle
    .filter((o) => o.revision >= from && o.revision <= to && o.event.split(' ')[1]!.startsWith(prefix))
    .map((o) => o.event);
}

type Kind = 'memory' | 'leveldb';

async function openTarget(kind: Kind, extra: Partial<MvccStoreOptions> = {}) {
  const clock = { now: 0 };
  const scheduler = new ManualWatchScheduler();
  const dir = kind === 'leveldb' ? join(await tempDir(), 'data') : undefined;
  const opts: MvccStoreOptions = {
    ...(dir === undefined ? {} : { dir }),
    lease: { clock: () => clock.now },
    watch: { scheduler },
    ...extra,
  };
  const store = await MvccStore.open(opts);
  return { store, clock, scheduler, dir, opts };
}

/** Lists the entries of the parent of `dir` (to check what a swap leaves behind). */
async function siblings(dir: string): Promise<string[]> {
  return (await readdir(join(dir, '..'))).sort();
}

describe.each<Kind>(['memory', 'leveldb'])('MvccStore.restore (%s)', (kind) => {
  it('takes the snapshot’s state; watchers continue without gap or duplicate; the lessor stays primary', async () => {
    const { src, oracle, image, prefixRev } = await source();
    const { store, clock, dir } = await openTarget(kind);
    try {
      store.lessor.promote(500);
      for (let i = 0; i < 2; i++) applyStep(store, i);
      // Synced, and no event in its range until the restore: its minRev lags the store's. Resumed
      // from that minRev (as etcd does) it would be canceled as compacted, or get duplicates.
      const quiet = reader(store.watch({ key: utf8('lease/'), rangeEnd: utf8('lease0') }));
      for (let i = 2; i < 18; i++) applyStep(store, i);
      const rev18 = store.revision;
      // A victim: its buffer (1) holds the created response, so the next write's response is held.
      const victim = reader(store.watch({ ...ALL }, { bufferSize: 1 }));
      for (let i = 18; i < PREFIX; i++) applyStep(store, i);
      expect(store.revision).toBe(prefixRev);
      const synced = reader(store.watch({ ...ALL }));
      const unsynced = reader(store.watch({ key: utf8('k'), rangeEnd: utf8('l'), startRevision: prefixRev }));
      const behind = reader(store.watch({ ...ALL, startRevision: 5 }));
      const future = reader(store.watch({ ...ALL, startRevision: src.revision + 2 }));
      expect(store.watchable.stats()).toEqual({ synced: 3, unsynced: 2, victims: 1 });
      for (const r of [quiet, synced, unsynced, behind, future]) await r.take();
      const oldKv = store.kv;

      const status = await store.restore(fromChunks(image));

      // The state is the source's.
      expect(status.revision).toBe(src.revision);
      expect(store.kv).not.toBe(oldKv);
      expect(store.revision).toBe(src.revision);
      expect(store.kv.compactRevision).toBe(prefixRev);
      expect(store.kv.consistentIndex).toBe(99);
      expect(await hashKV(store.kv)).toEqual(await hashKV(src.kv));
      expect(await storeHash(store.kv)).toEqual(await storeHash(src.kv));
      expect(store.range(ALL)).toEqual(src.range(ALL));
      expect(store.lessor.leases()).toEqual(src.lessor.leases());
      expect(store.lessor.timeToLive(LEASE_B, { keys: true }).keys.map(text)).toEqual(['lease/b']);
      expect(store.alarms.list()).toEqual([{ memberId: 3n, alarm: 'CORRUPT' }]);
      // The lessor is primary again, with the same extension: full TTL + 500 ms from now.
      expect(store.lessor.isPrimary).toBe(true);
      expect(store.lessor.promotedExtendMs).toBe(500);
      clock.now = 60_400;
      expect(store.lessor.expired()).toEqual([]);
      clock.now = 60_600;
      expect(store.lessor.expired().sort()).toEqual([LEASE_A, LEASE_B]);

      // Watchers catch up from the new store.
      const readers = [quiet, victim, synced, unsynced, behind, future];
      await drain(store, readers);
      const last = src.revision;
      expect(victim.events()).toEqual(expected(oracle, rev18 + 1, last));
      expect(synced.events()).toEqual(expected(oracle, prefixRev + 1, last));
      expect(unsynced.events()).toEqual(expected(oracle, prefixRev, last, 'k'));
      expect(behind.events()).toEqual([]);
      expect(behind.got.at(-1)).toMatchObject({ canceled: true, compactRevision: prefixRev });
      expect(future.events()).toEqual([]);
      expect(quiet.events()).toEqual(expected(oracle, prefixRev + 1, last, 'lease/'));
      expect(quiet.events()).toHaveLength(1);
      expect(store.watchable.stats()).toEqual({ synced: 5, unsynced: 0, victims: 0 });

      // ... and then follow it live, the future watcher from its start revision.
      const r1 = store.put({ key: utf8('k1'), value: utf8('after') }).header.revision;
      const r2 = store.put({ key: utf8('z'), value: utf8('after') }).header.revision;
      await drain(store, readers);
      expect(synced.events().slice(-2)).toEqual([`PUT k1@${r1}`, `PUT z@${r2}`]);
      expect(unsynced.events().at(-1)).toBe(`PUT k1@${r1}`);
      expect(victim.events().slice(-2)).toEqual([`PUT k1@${r1}`, `PUT z@${r2}`]);
      expect(future.events()).toEqual([`PUT z@${r2}`]);

      // The new state is what a reopen finds.
      await store.commit(100);
      if (dir !== undefined) {
        expect(await siblings(dir)).toEqual(['data']);
        const hash = await hashKV(store.kv);
        await store.close();
        await using reopened = await MvccStore.open({ dir });
        expect(await hashKV(reopened.kv)).toEqual(hash);
        expect(reopened.kv.consistentIndex).toBe(100);
        expect(reopened.lessor.leases()).toEqual(src.lessor.leases());
      }
    } finally {
      await store.close();
      await src.close();
    }
  });

  it('a lessor that was not primary stays so', async () => {
    const { src, image } = await source();
    const { store } = await openTarget(kind);
    try {
      await store.restore(fromChunks(image));
      expect(store.lessor.isPrimary).toBe(false);
      expect(store.lessor.expired()).toEqual([]);
    } finally {
      await store.close();
      await src.close();
    }
  });

  it('RestoreOptions.extendMs overrides the extension the lessor was promoted with', async () => {
    const { src, image } = await source();
    const { store, clock } = await openTarget(kind);
    try {
      store.lessor.promote(500);
      await store.restore(fromChunks(image), { extendMs: 5000 });
      expect(store.lessor.promotedExtendMs).toBe(5000);
      clock.now = 64_000;
      expect(store.lessor.expired()).toEqual([]);
    } finally {
      await store.close();
      await src.close();
    }
  });

  it('a damaged stream leaves the old store intact and usable', async () => {
    const { src, image } = await source();
    const { store, dir } = await openTarget(kind);
    try {
      for (let i = 0; i < PREFIX; i++) applyStep(store, i);
      await store.commit(7);
      const before = await hashKV(store.kv);
      const w = reader(store.watch({ ...ALL }));
      const damaged = new Uint8Array(Buffer.concat(image));
      damaged[damaged.length - 10]! ^= 0x10;

      await expect(store.restore(fromChunks([damaged]))).rejects.toBeInstanceOf(SnapshotIntegrityError);

      expect(await hashKV(store.kv)).toEqual(before);
      expect(store.kv.consistentIndex).toBe(7);
      if (dir !== undefined) expect(await siblings(dir)).toEqual(['data']);
      const rev = store.put({ key: utf8('k1'), value: utf8('still') }).header.revision;
      await drain(store, [w]);
      expect(w.events()).toEqual([`PUT k1@${rev}`]);
      // And a good stream still restores afterwards.
      await store.restore(fromChunks(image));
      expect(await hashKV(store.kv)).toEqual(await hashKV(src.kv));
    } finally {
      await store.close();
      await src.close();
    }
  });

  it('a failure before the live store is touched leaves it intact', async () => {
    const { src, image } = await source();
    const hooks = {
      afterRestoreBuilt() {
        throw new Error('injected');
      },
    };
    const { store, dir } = await openTarget(kind, { hooks });
    try {
      for (let i = 0; i < PREFIX; i++) applyStep(store, i);
      const before = await hashKV(store.kv);
      await expect(store.restore(fromChunks(image))).rejects.toThrow('injected');
      expect(await hashKV(store.kv)).toEqual(before);
      if (dir !== undefined) expect(await siblings(dir)).toEqual(['data']);
      store.put({ key: utf8('k1'), value: utf8('still') });
    } finally {
      await store.close();
      await src.close();
    }
  });

  it('refuses writes while restoring; reads see the old state until the swap', async () => {
    const { src, image } = await source();
    const { store } = await openTarget(kind);
    try {
      for (let i = 0; i < PREFIX; i++) applyStep(store, i);
      let release!: () => void;
      const gate = new Promise<void>((r) => {
        release = r;
      });
      const oldRev = store.revision;
      const slow = (async function* () {
        yield image[0]!;
        await gate;
        yield* image.slice(1);
      })();
      const restoring = store.restore(slow);
      await Promise.resolve();
      expect(() => store.put({ key: utf8('x'), value: utf8('y') })).toThrow(RestoringError);
      await expect(store.commit(1)).rejects.toBeInstanceOf(RestoringError);
      expect(store.range({ key: utf8('k1') }).header.revision).toBe(oldRev);
      release();
      await restoring;
      expect(store.range({ key: utf8('k1') }).header.revision).toBe(src.revision);
      store.put({ key: utf8('x'), value: utf8('y') });
    } finally {
      await store.close();
      await src.close();
    }
  });
});

describe('MvccStore.restore: the LevelDB dir swap', () => {
  it('a failure after the commit point reloads the NEW store and keeps the watchers', async () => {
    const { src, oracle, image, prefixRev } = await source();
    const hooks = {
      afterMoveAway() {
        throw new Error('injected');
      },
    };
    const { store, dir } = await openTarget('leveldb', { hooks });
    try {
      for (let i = 0; i < PREFIX; i++) applyStep(store, i);
      const w = reader(store.watch({ ...ALL }));
      await expect(store.restore(fromChunks(image))).rejects.toThrow('injected');
      expect(store.revision).toBe(src.revision);
      expect(await hashKV(store.kv)).toEqual(await hashKV(src.kv));
      expect(await siblings(dir!)).toEqual(['data']);
      await drain(store, [w]);
      expect(w.events()).toEqual(expected(oracle, prefixRev + 1, src.revision));
    } finally {
      await store.close();
      await src.close();
    }
  });

  it('a crash at each step reopens as exactly the old or the new store', async () => {
    const { src, image } = await source();
    const parent = await tempDir();
    /** Copies the dir layout now (closed LevelDBs, or an open one: a crash image) to `name`. */
    const capture = async (name: string, dir: string) => {
      for (const suffix of ['', RESTORE_DIR_SUFFIX, OLD_DIR_SUFFIX]) {
        await cp(`${dir}${suffix}`, join(parent, `${name}${suffix}`), { recursive: true }).catch(
          (e: NodeJS.ErrnoException) => {
            if (e.code !== 'ENOENT') throw e;
          },
        );
      }
    };
    let target: Awaited<ReturnType<typeof openTarget>> | undefined;
    const hooks = {
      afterRestoreBuilt: () => capture('built', target!.dir!),
      afterMoveAway: () => capture('moved', target!.dir!),
    };
    target = await openTarget('leveldb', { hooks });
    const { store } = target;
    try {
      for (let i = 0; i < PREFIX; i++) applyStep(store, i);
      await store.commit(1);
      const oldHash = await hashKV(store.kv);
      await store.restore(fromChunks(image));
      const newHash = await hashKV(src.kv);

      // Before the commit point: the old store, the image deleted.
      expect(await readdir(parent)).toContain('built.restore');
      expect(await recoverDataDir(join(parent, 'built'))).toBe('removed-leftovers');
      {
        await using s = await MvccStore.open({ dir: join(parent, 'built') });
        expect(await hashKV(s.kv)).toEqual(oldHash);
      }
      // After it: the swap is finished.
      expect((await readdir(parent)).filter((n) => n.startsWith('moved'))).toEqual([
        'moved.old',
        'moved.restore',
      ]);
      {
        await using s = await MvccStore.open({ dir: join(parent, 'moved') });
        expect(await hashKV(s.kv)).toEqual(newHash);
        expect(s.kv.consistentIndex).toBe(99);
      }
      expect((await readdir(parent)).filter((n) => n.startsWith('moved'))).toEqual(['moved']);
    } finally {
      await store.close();
      await src.close();
    }
  });
});

describe('recoverDataDir: leftovers made by hand', () => {
  /** A LevelDB store in `dir` holding key `who` = `name`. */
  async function storeNamed(dir: string, name: string): Promise<void> {
    await using s = await MvccStore.open({ dir });
    s.put({ key: utf8('who'), value: utf8(name) });
    await s.commit();
  }
  async function whoIn(dir: string): Promise<string | undefined> {
    await using s = await MvccStore.open({ dir });
    const kv = s.range({ key: utf8('who') }).kvs[0];
    return kv === undefined ? undefined : text(kv.value);
  }

  it('D and D.restore: D is kept, the uncommitted image deleted', async () => {
    const parent = await tempDir();
    const d = join(parent, 'data');
    await storeNamed(d, 'old');
    await storeNamed(d + RESTORE_DIR_SUFFIX, 'new');
    expect(await whoIn(d)).toBe('old');
    expect(await readdir(parent)).toEqual(['data']);
  });

  it('D and a half-written D.restore (not even a store): deleted', async () => {
    const parent = await tempDir();
    const d = join(parent, 'data');
    await storeNamed(d, 'old');
    await storeNamed(d + RESTORE_DIR_SUFFIX, 'new');
    await rm(join(d + RESTORE_DIR_SUFFIX, 'CURRENT'));
    expect(await whoIn(d)).toBe('old');
    expect(await readdir(parent)).toEqual(['data']);
  });

  it('D and D.old: the swap was done, D.old deleted', async () => {
    const parent = await tempDir();
    const d = join(parent, 'data');
    await storeNamed(d, 'new');
    await storeNamed(d + OLD_DIR_SUFFIX, 'old');
    expect(await recoverDataDir(d)).toBe('removed-leftovers');
    expect(await readdir(parent)).toEqual(['data']);
    expect(await whoIn(d)).toBe('new');
  });

  it('D.old and D.restore without D: the swap is finished', async () => {
    const parent = await tempDir();
    const d = join(parent, 'data');
    await storeNamed(d + OLD_DIR_SUFFIX, 'old');
    await storeNamed(d + RESTORE_DIR_SUFFIX, 'new');
    expect(await whoIn(d)).toBe('new');
    expect(await readdir(parent)).toEqual(['data']);
  });

  it('D.old alone: rolled back', async () => {
    const parent = await tempDir();
    const d = join(parent, 'data');
    await storeNamed(d, 'old');
    await rename(d, d + OLD_DIR_SUFFIX);
    expect(await recoverDataDir(d)).toBe('rolled-back');
    expect(await whoIn(d)).toBe('old');
    expect(await readdir(parent)).toEqual(['data']);
  });

  it('D.restore alone: deleted, and D opens as a new store', async () => {
    const parent = await tempDir();
    const d = join(parent, 'data');
    await storeNamed(d + RESTORE_DIR_SUFFIX, 'new');
    expect(await recoverDataDir(d)).toBe('removed-uncommitted-restore');
    expect(await whoIn(d)).toBeUndefined();
    expect(await readdir(parent)).toEqual(['data']);
  });

  it('nothing to do', async () => {
    const parent = await tempDir();
    const d = join(parent, 'data');
    expect(await recoverDataDir(d)).toBe('clean');
    await storeNamed(d, 'x');
    expect(await recoverDataDir(d)).toBe('clean');
  });
});

describe('MvccStoreOptions.backend', () => {
  it('opens on a given backend and restores into the one RestoreOptions names', async () => {
    const { MemoryBackend } = await import('./memory-backend.js');
    const { src, image } = await source();
    const { HoldDeletesBackend } = await import('./test/maintenance-workload.js');
    await using store = await MvccStore.open({ backend: new HoldDeletesBackend(new MemoryBackend()) });
    await expect(store.restore(fromChunks(image))).rejects.toBeInstanceOf(TypeError);
    const into = new MemoryBackend();
    await store.restore(fromChunks(image), { backend: into });
    expect(store.kv.backend).toBe(into);
    expect(store.revision).toBe(src.revision as Revision);
    await expect(MvccStore.open({ dir: 'x', backend: into })).rejects.toBeInstanceOf(TypeError);
    await src.close();
  });
});
