import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { utf8 } from '../bytes.js';
import { NoSpaceError } from '../errors.js';
import { KVStore } from '../kvstore.js';
import { LevelBackend } from '../level-backend.js';
import { applyAll, randomWorkload } from '../test/maintenance-workload.js';
import { Alarms } from './alarm.js';
import { defragment } from './defrag.js';
import { hashKV, storeHash } from './hash.js';
import { putCost, Quota } from './quota.js';
import { restoreSnapshot, snapshot, snapshotStatus } from './snapshot.js';

const ALL = { key: new Uint8Array([0]), rangeEnd: new Uint8Array([0]) };
const dirs: string[] = [];
const open: KVStore[] = [];

async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'tsetcd-maint-'));
  dirs.push(d);
  return d;
}

async function openStore(dir: string): Promise<KVStore> {
  const s = await KVStore.open(await LevelBackend.open(dir, { sync: false }));
  open.push(s);
  return s;
}

afterEach(async () => {
  for (const s of open.splice(0)) await s.close().catch(() => undefined);
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

describe('maintenance on LevelDB', () => {
  it('snapshot to a file, status and restore into a new data dir', async () => {
    const src = await openStore(await tempDir());
    await applyAll(src, randomWorkload(31, 500, { compactions: true }), true);
    await src.commit();
    const file = join(await tempDir(), 'snap.db');
    await pipeline(Readable.from(snapshot(src)), createWriteStream(file));

    const status = await snapshotStatus(createReadStream(file));
    expect(status.totalSize).toBe((await stat(file)).size);
    expect(status.revision).toBe(src.revision);
    expect(status.hash).toBe((await storeHash(src)).hash);

    const dstDir = await tempDir();
    const backend = await LevelBackend.open(dstDir);
    await restoreSnapshot(createReadStream(file), backend);
    await backend.close();
    const dst = await openStore(dstDir);
    expect(dst.range(ALL)).toEqual(src.range(ALL));
    expect(dst.range({ ...ALL, revision: src.compactRevision })).toEqual(
      src.range({ ...ALL, revision: src.compactRevision }),
    );
    expect(await hashKV(dst)).toEqual(await hashKV(src));
  });

  it('takes a consistent point-in-time image while writes continue', async () => {
    const src = await openStore(await tempDir());
    await applyAll(src, randomWorkload(32, 300), true);
    const chunks: Uint8Array[] = [];
    let i = 0;
    for await (const c of snapshot(src)) {
      chunks.push(c);
      src.put({ key: utf8(`during-${i++}`), value: utf8('x') });
      await src.commit();
    }
    const dstDir = await tempDir();
    const backend = await LevelBackend.open(dstDir);
    const status = await restoreSnapshot(Readable.from(chunks), backend);
    await backend.close();
    const dst = await openStore(dstDir);
    expect(status.revision).toBeLessThan(src.revision); // the writes made while streaming are not in it
    expect(dst.revision).toBe(status.revision);
    expect(dst.range(ALL)).toEqual({
      ...src.range({ ...ALL, revision: status.revision }),
      header: dst.range(ALL).header,
    });
    expect(await hashKV(dst)).toEqual(await hashKV(src, status.revision));
  });

  it('persists alarms across reopen', async () => {
    const dir = await tempDir();
    const s = await openStore(dir);
    const alarms = await Alarms.open(s);
    alarms.activate(5n, 'NOSPACE');
    alarms.activate(6n, 'CORRUPT');
    await s.commit();
    await s.close();
    const again = await openStore(dir);
    expect((await Alarms.open(again)).list()).toEqual([
      { memberId: 5n, alarm: 'NOSPACE' },
      { memberId: 6n, alarm: 'CORRUPT' },
    ]);
    expect(again.spaceExhausted).toBe(true);
    expect(() => again.put({ key: utf8('k') })).toThrow(NoSpaceError);
  });

  it('a tiny quota raises NOSPACE; delete, compact and defragment make room; disarm restores writes', async () => {
    const s = await openStore(await tempDir());
    const alarms = await Alarms.open(s);
    const quota = new Quota(s, { quotaBackendBytes: (await s.backend.sizeBytes()) + 64 * 1024 });
    const value = new Uint8Array(1024).fill(1);
    // The host's loop: check the quota before proposing; on failure raise NOSPACE (replicated).
    let written = 0;
    for (;;) {
      const req = { key: utf8(`key-${String(written).padStart(5, '0')}`), value };
      if (!(await quota.available(putCost(req)))) {
        alarms.activate(1n, 'NOSPACE');
        break;
      }
      s.put(req);
      written++;
      await s.commit();
    }
    expect(written).toBeGreaterThan(10);
    expect(written).toBeLessThan(64);
    expect(() => s.put({ key: utf8('more'), value })).toThrow(NoSpaceError);
    expect(s.range({ ...ALL, countOnly: true }).count).toBe(written);

    expect(s.deleteRange(ALL).deleted).toBe(written);
    await s.compact(s.revision);
    const { beforeBytes, afterBytes } = await defragment(s);
    expect(afterBytes).toBeLessThan(beforeBytes);
    expect(await quota.available(putCost({ key: utf8('more'), value }))).toBe(true);
    alarms.deactivate(1n, 'NOSPACE');
    expect(s.put({ key: utf8('more'), value }).header.revision).toBe(s.revision);
  });

  it('defragment shrinks a store after deleting and compacting many keys, and keeps it intact', async () => {
    const s = await openStore(await tempDir());
    const value = new Uint8Array(512).fill(2);
    for (let i = 0; i < 4000; i++) s.put({ key: utf8(`k${i}`), value });
    await s.commit();
    s.deleteRange({ key: utf8('k1'), rangeEnd: utf8('k9') }); // keeps k0…
    await s.compact(s.revision);
    await s.commit();
    const hash = await hashKV(s);
    const kept = s.range(ALL);
    const { beforeBytes, afterBytes } = await defragment(s);
    expect(afterBytes).toBeLessThan(beforeBytes / 2);
    expect(s.range(ALL)).toEqual(kept);
    expect(await hashKV(s)).toEqual(hash);
    s.put({ key: utf8('after'), value });
    await s.commit();
    expect(s.range({ key: utf8('after') }).count).toBe(1);
  });
});
