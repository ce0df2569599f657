/**
 * A corrupted or foreign data dir must be reported with a clear error, never silently used.
 * Each test builds a store on LevelDB, damages one of LevelDB's files (CURRENT, MANIFEST-*,
 * *.log, *.ldb) by truncation or a bit flip, then opens and reads everything.
 *
 * classic-level 3.0.0 never turns on LevelDB's paranoid_checks or verify_checksums, so LevelBackend
 * checks each entry itself (a CRC32 per stored value), reads LevelDB's recovery report (LOG) for
 * dropped log records, and refuses a LevelDB that recovered empty; every case must be caught.
 */

import { cp, readdir, readFile, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ClassicLevel } from 'classic-level';
import { describe, expect, it } from 'vitest';
import { utf8 } from '../bytes.js';
import { Bucket, bucketKey } from '../codec.js';
import { CorruptDataDirError, ForeignDataDirError } from '../errors.js';
import { KVStore } from '../kvstore.js';
import { LevelBackend } from '../level-backend.js';
import { seededRandom } from '../test/maintenance-workload.js';
import { tempDirs } from '../test/temp-dirs.js';
import type { RangeResponse } from '../types.js';
import { hashKV } from './hash.js';

const tempDir = tempDirs('tsetcd-corrupt-');

const ALL = { key: new Uint8Array([0]), rangeEnd: new Uint8Array([0]) };
const BATCHES = 12;
const PUTS_PER_BATCH = 40;
/**
 * Where the data sits: `log` — only in the write-ahead log; `tables-only` — defragmented at the
 * end, so all in .ldb tables and the log empty; `tables` — defragmented before the last two
 * batches, so in tables and in the log.
 */
type Layout = 'log' | 'tables' | 'tables-only';

/**
 * A store written in BATCHES commits, each with its consistent index, laid out as `layout` says.
 * Values are seeded random bytes: incompressible, so LevelDB stores table blocks raw.
 */
async function build(layout: Layout): Promise<string> {
  const dir = await tempDir();
  const rand = seededRandom(99);
  const s = await KVStore.open(await LevelBackend.open(dir, { sync: false }));
  for (let b = 1; b <= BATCHES; b++) {
    for (let i = 0; i < PUTS_PER_BATCH; i++) {
      const value = new Uint8Array(64 + Math.floor(rand() * 128)).map(() => Math.floor(rand() * 256));
      s.put({ key: utf8(`key-${Math.floor(rand() * 200)}`), value });
    }
    s.setConsistentIndex(b);
    await s.commit();
    if ((layout === 'tables' && b === BATCHES - 2) || (layout === 'tables-only' && b === BATCHES)) {
      await s.backend.defragment();
    }
  }
  await s.close();
  return dir;
}

/** Opens the dir and reads everything there is to read. */
async function openAndReadAll(
  dir: string,
): Promise<{ range: RangeResponse; consistentIndex: number; revision: number }> {
  const backend = await LevelBackend.open(dir);
  // KVStore.open leaves a backend it refused open: the caller created it, the caller closes it.
  const s = await KVStore.open(backend).catch(async (e: unknown) => {
    await backend.close().catch(() => undefined);
    throw e;
  });
  try {
    const range = s.range(ALL);
    for (let rev: number = Math.max(1, s.compactRevision); rev <= s.revision; rev += 7)
      s.range({ ...ALL, revision: rev });
    await hashKV(s);
    return { range, consistentIndex: s.consistentIndex, revision: s.revision };
  } finally {
    await s.close().catch(() => undefined);
  }
}

/** Truncates to half, or flips a bit in the middle of, the largest file matching `pattern`. */
async function damage(dir: string, pattern: RegExp, how: 'truncate' | 'flip'): Promise<string> {
  const sizes = await Promise.all(
    (await readdir(dir))
      .filter((f) => pattern.test(f))
      .map(async (f) => ({ f, size: (await stat(join(dir, f))).size })),
  );
  const target = sizes.sort((a, b) => b.size - a.size)[0];
  if (target === undefined || target.size === 0) throw new Error(`no ${pattern} file to damage in ${dir}`);
  const path = join(dir, target.f);
  if (how === 'truncate') await truncate(path, Math.floor(target.size / 2));
  else {
    const bytes = await readFile(path);
    bytes[Math.floor(bytes.length / 2)]! ^= 0x04;
    await writeFile(path, bytes);
  }
  return target.f;
}

async function expectCorrupt(dir: string, names: string | RegExp): Promise<void> {
  const err = await openAndReadAll(dir).then(
    (r) => r,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(CorruptDataDirError);
  expect((err as Error).message).toMatch(names);
}

describe('foreign data dirs', () => {
  it("refuses another program's LevelDB (data, no tsetcd schema)", async () => {
    const dir = await tempDir();
    const other = new ClassicLevel(dir);
    await other.put('user:1', '{"name":"someone"}');
    await other.close();
    const err = await openAndReadAll(dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ForeignDataDirError);
    expect((err as Error).message).toContain(dir);
    expect((err as Error).message).toContain('no tsetcd schema marker');
    expect(await new ClassicLevel(dir).get('user:1')).toBe('{"name":"someone"}'); // left untouched
  });

  it('refuses a store of another schema version', async () => {
    const dir = await tempDir();
    const b = await LevelBackend.open(dir);
    b.put(bucketKey(Bucket.meta, 'schema'), utf8('tsetcd-mvcc/99'));
    await b.close();
    await expect(openAndReadAll(dir)).rejects.toThrow(/schema "tsetcd-mvcc\/99", expected tsetcd-mvcc\/1/);
  });
});

/** One way of damaging a store. */
interface Damage {
  readonly name: string;
  readonly layout: Layout;
  readonly file: RegExp;
  readonly how: 'truncate' | 'flip';
  /** What the error message must match; default: the damaged file's name. */
  readonly names?: RegExp;
}

const DAMAGES: readonly Damage[] = [
  { name: 'CURRENT truncated', layout: 'log', file: /^CURRENT$/, how: 'truncate' },
  { name: 'CURRENT bit-flipped', layout: 'log', file: /^CURRENT$/, how: 'flip', names: /MANIFEST/ },
  {
    name: 'MANIFEST bit-flipped',
    layout: 'tables',
    file: /^MANIFEST-/,
    how: 'flip',
  },
  {
    name: 'MANIFEST truncated, data in the log',
    layout: 'log',
    file: /^MANIFEST-/,
    how: 'truncate',
  },
  {
    name: 'MANIFEST truncated, data in tables',
    layout: 'tables-only',
    file: /^MANIFEST-/,
    how: 'truncate',
  },
  {
    name: 'MANIFEST truncated, data in tables and the log',
    layout: 'tables',
    file: /^MANIFEST-/,
    how: 'truncate',
    names: /corrupt/, // no file to name: opening replaced the MANIFEST and dropped the tables
  },
  {
    name: 'log bit-flipped',
    layout: 'log',
    file: /\.log$/,
    how: 'flip',
  },
  {
    name: 'table truncated',
    layout: 'tables',
    file: /\.ldb$/,
    how: 'truncate',
  },
  {
    name: 'table bit-flipped',
    layout: 'tables',
    file: /\.ldb$/,
    how: 'flip',
  },
];

describe('corrupt data dirs', () => {
  it('reads back an undamaged store (control)', async () => {
    for (const layout of ['log', 'tables', 'tables-only'] as const) {
      const r = await openAndReadAll(await build(layout));
      expect(r.consistentIndex).toBe(BATCHES);
      expect(r.revision).toBe(1 + BATCHES * PUTS_PER_BATCH);
    }
  });

  for (const d of DAMAGES) {
    it(`${d.name}: CorruptDataDirError naming the file`, async () => {
      const dir = await build(d.layout);
      const file = await damage(dir, d.file, d.how);
      await expectCorrupt(dir, d.names ?? file);
    });
  }

  it('log truncated: a torn tail loses whole batches, data and consistent index together', async () => {
    // LevelDB cannot tell a truncated log from a crash before fsync: it drops the torn batches.
    // What must hold is atomicity — the store is exactly as of an earlier commit, so the host's
    // raft log can replay from its consistent index.
    const dir = await build('log');
    const intact = await tempDir();
    await cp(dir, intact, { recursive: true });
    await damage(dir, /\.log$/, 'truncate');
    const damaged = await openAndReadAll(dir);
    expect(damaged.consistentIndex).toBeLessThan(BATCHES);
    expect(damaged.revision).toBe(1 + damaged.consistentIndex * PUTS_PER_BATCH);
    const s = await KVStore.open(await LevelBackend.open(intact));
    try {
      expect(damaged.range.kvs).toEqual(s.range({ ...ALL, revision: damaged.revision }).kvs);
    } finally {
      await s.close();
    }
  });
});
