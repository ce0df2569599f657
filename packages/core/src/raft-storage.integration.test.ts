import { cp, mkdtemp, readdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  EMPTY_CONF_STATE,
  type Entry,
  type HardState,
  type Index,
  type Snapshot,
  type Term,
} from '@tsetcd/raft';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CorruptSnapshotError, CorruptWalError, DataDirLockedError } from './errors.js';
import { DEFAULT_SNAPSHOTS_TO_KEEP, type PersistBatch, RaftStorage } from './raft-storage.js';
import { scanRecords } from './wal/wal-record.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tsetcd-core-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const walDir = () => join(dir, 'member', 'wal');
const snapDir = () => join(dir, 'member', 'snap');

function ent(index: number, term: number, size = 8): Entry {
  return {
    type: 'EntryNormal',
    index: index as Index,
    term: term as Term,
    data: new Uint8Array(size).fill(index & 0xff),
  };
}
function hs(term: number, commit: number, vote = 1n): HardState {
  return { term: term as Term, vote, commit: commit as Index };
}
function snap(index: number, term: number): Snapshot {
  return {
    metadata: {
      index: index as Index,
      term: term as Term,
      confState: { ...EMPTY_CONF_STATE, voters: [1n, 2n] },
    },
    data: new TextEncoder().encode(`state@${index}`),
  };
}
function positions(storage: {
  firstIndex(): Index;
  lastIndex(): Index;
  entries(lo: Index, hi: Index, max: number): Entry[];
}) {
  const lo = storage.firstIndex();
  const hi = (storage.lastIndex() + 1) as Index;
  return storage.entries(lo, hi, Number.POSITIVE_INFINITY).map((e) => `${e.index}@${e.term}`);
}
/** The bytes of a segment's records, without the zeros of its preallocated tail. */
async function recordBytes(segment: string): Promise<Uint8Array> {
  const buf = await readFile(segment);
  return buf.subarray(0, scanRecords(buf).validBytes);
}
async function onlySegment(): Promise<string> {
  const names = (await readdir(walDir())).filter((n) => n.endsWith('.wal'));
  return join(walDir(), names.sort()[names.length - 1]!);
}

describe('RaftStorage', () => {
  it('starts a fresh member from a missing directory', async () => {
    const opened = await RaftStorage.open(join(dir, 'absent'));
    expect(opened.lastIndex).toBe(0);
    expect(opened.snapshot).toBeUndefined();
    expect(opened.hardState).toEqual(hs(0, 0, 0n));
    await opened.raftStorage.close();
  });

  it('recovers entries, hard state and a leader truncation after close and reopen', async () => {
    const meta = new Uint8Array([1, 2, 3]);
    const a = await RaftStorage.open(dir, { metadata: meta });
    await a.raftStorage.save({ entries: [ent(1, 1), ent(2, 1), ent(3, 1)], hardState: hs(1, 1) });
    await a.raftStorage.save({ entries: [ent(4, 1)], hardState: hs(1, 2, (1n << 64n) - 1n) });
    // A new leader of term 2 overwrites the uncommitted tail from index 3.
    await a.raftStorage.save({ entries: [ent(3, 2)], hardState: hs(2, 3, 7n) });
    await a.raftStorage.close();

    const b = await RaftStorage.open(dir);
    expect(positions(b.storage)).toEqual(['1@1', '2@1', '3@2']);
    expect(b.hardState).toEqual(hs(2, 3, 7n));
    expect(b.storage.initialState().hardState).toEqual(hs(2, 3, 7n));
    expect(b.lastIndex).toBe(3);
    expect(b.metadata).toEqual(meta);
    await b.raftStorage.close();
  });

  it('fsyncs the WAL once per save, however many entries it holds', async () => {
    const synced: string[] = [];
    const a = await RaftStorage.open(dir, { hooks: { onFsync: (p) => synced.push(p) } });
    synced.length = 0;
    const entries = Array.from({ length: 100 }, (_, i) => ent(i + 1, 1));
    await a.raftStorage.save({ entries, hardState: hs(1, 50) });
    expect(synced).toHaveLength(1);
    await a.raftStorage.saveMany([
      { entries: [ent(101, 1)] },
      { entries: [ent(102, 1)], hardState: hs(1, 101) },
    ]);
    expect(synced).toHaveLength(2);
    await a.raftStorage.close();
  });

  it('does not fsync a save that only moves the commit index (Ready.mustSync false), and keeps it', async () => {
    const synced: string[] = [];
    const a = await RaftStorage.open(dir, { hooks: { onFsync: (p) => synced.push(p) } });
    await a.raftStorage.save({ entries: [ent(1, 1), ent(2, 1)], hardState: hs(1, 0) });
    synced.length = 0;
    await a.raftStorage.save({ entries: [], hardState: hs(1, 2), sync: false });
    expect(synced).toHaveLength(0);
    await a.raftStorage.save({ entries: [ent(3, 1)], hardState: hs(1, 2) });
    expect(synced).toHaveLength(1);
    await a.raftStorage.close();
    const b = await RaftStorage.open(dir);
    expect(b.hardState).toEqual(hs(1, 2));
    expect(b.lastIndex).toBe(3);
    await b.raftStorage.close();
  });

  it('recovers a snapshot received from the leader together with the entries after it', async () => {
    const a = await RaftStorage.open(dir);
    await a.raftStorage.save({ entries: [ent(1, 1), ent(2, 1), ent(3, 1)], hardState: hs(1, 1) });
    await a.raftStorage.save({ snapshot: snap(10, 3), entries: [ent(11, 3)], hardState: hs(3, 10) });
    await a.raftStorage.close();
    const b = await RaftStorage.open(dir);
    expect(b.snapshot).toEqual(snap(10, 3));
    expect(b.storage.snapshot()).toEqual(snap(10, 3));
    expect(positions(b.storage)).toEqual(['11@3']);
    expect(b.hardState).toEqual(hs(3, 10));
    await b.raftStorage.close();
  });

  it('truncates a torn tail and keeps appending after it', async () => {
    const a = await RaftStorage.open(dir);
    await a.raftStorage.save({ entries: [ent(1, 1), ent(2, 1)], hardState: hs(1, 1) });
    await a.raftStorage.save({ entries: [ent(3, 1)], hardState: hs(1, 2) });
    await a.raftStorage.close();
    const seg = await onlySegment();
    const size = (await recordBytes(seg)).length;
    await truncate(seg, size - 3);

    const b = await RaftStorage.open(dir);
    expect(positions(b.storage)).toEqual(['1@1', '2@1']);
    expect(b.hardState).toEqual(hs(1, 1));
    await b.raftStorage.save({ entries: [ent(3, 2)], hardState: hs(2, 3) });
    await b.raftStorage.close();
    const c = await RaftStorage.open(dir);
    expect(positions(c.storage)).toEqual(['1@1', '2@1', '3@2']);
    await c.raftStorage.close();
  });

  it('drops a record torn inside the preallocated tail, and leaves no stale byte of it behind', async () => {
    const a = await RaftStorage.open(dir);
    await a.raftStorage.save({ entries: [ent(1, 1)], hardState: hs(1, 0) });
    await a.raftStorage.save({ entries: [ent(2, 1, 200)], hardState: hs(1, 1) });
    await a.raftStorage.close();
    const seg = await onlySegment();
    const buf = await readFile(seg);
    const end = scanRecords(buf).validBytes;
    // The crash hit the second record's write: its last 100 bytes never reached the disk.
    buf.fill(0, end - 100, end);
    await writeFile(seg, buf);

    const b = await RaftStorage.open(dir);
    expect(positions(b.storage)).toEqual(['1@1']);
    const reopened = await readFile(seg);
    const firstEnd = scanRecords(reopened).validBytes;
    expect(reopened.subarray(firstEnd).every((x) => x === 0)).toBe(true);
    // A shorter record where the torn one was: the torn one's bytes after it must not survive.
    await b.raftStorage.save({ entries: [ent(2, 2)], hardState: hs(2, 1) });
    await b.raftStorage.close();
    const c = await RaftStorage.open(dir);
    expect(positions(c.storage)).toEqual(['1@1', '2@2']);
    await c.raftStorage.save({ entries: [ent(3, 2)] });
    await c.raftStorage.close();
    const d = await RaftStorage.open(dir);
    expect(positions(d.storage)).toEqual(['1@1', '2@2', '3@2']);
    await d.raftStorage.close();
  });

  it('preallocates the segment being written and cuts each finished one to its records', async () => {
    const zeroTail = async (path: string) => {
      const buf = await readFile(path);
      const records = scanRecords(buf).validBytes;
      return buf.length > records && buf.subarray(records).every((x) => x === 0);
    };
    const a = await RaftStorage.open(dir, { segmentBytes: 4096 });
    await a.raftStorage.save({ entries: [ent(1, 1)], hardState: hs(1, 0) });
    expect(await zeroTail(await onlySegment())).toBe(true);
    for (let i = 2; i <= 40; i++) await a.raftStorage.save({ entries: [ent(i, 1, 300)] });
    const names = a.raftStorage.segmentNames();
    expect(names.length).toBeGreaterThan(2);
    for (const name of names.slice(0, -1)) {
      const path = join(walDir(), name);
      expect((await stat(path)).size, name).toBe((await recordBytes(path)).length);
    }
    expect(await zeroTail(join(walDir(), names[names.length - 1]!))).toBe(true);
    await a.raftStorage.close();
    const b = await RaftStorage.open(dir, { segmentBytes: 4096 });
    expect(positions(b.storage)).toHaveLength(40);
    await b.raftStorage.close();
  });

  it('keeps small appends (written on the loop) and big ones (through the I/O pool) in order', async () => {
    const a = await RaftStorage.open(dir);
    const saves = Array.from({ length: 30 }, (_, k) => ent(k + 1, 1, k % 3 === 0 ? 4096 : 16));
    // Not awaited one by one: a big append in flight, then small ones queued behind it.
    await Promise.all(saves.map((e) => a.raftStorage.save({ entries: [e], hardState: hs(1, e.index - 1) })));
    await a.raftStorage.close();
    const b = await RaftStorage.open(dir);
    expect(positions(b.storage)).toEqual(saves.map((e) => `${e.index}@1`));
    const sizes = (es: readonly Entry[]) => es.map((e) => (e.type === 'EntryNormal' ? e.data.length : -1));
    expect(sizes(b.storage.entries(1 as Index, 31 as Index, Number.POSITIVE_INFINITY))).toEqual(sizes(saves));
    expect(b.hardState).toEqual(hs(1, 29));
    await b.raftStorage.close();
  });

  it('extends the preallocated run as appends reach its end', async () => {
    const a = await RaftStorage.open(dir);
    const seg = await onlySegment();
    const first = (await stat(seg)).size;
    let i = 0;
    while ((await recordBytes(seg)).length <= first) {
      i++;
      await a.raftStorage.save({ entries: [ent(i, 1, 256 * 1024)] });
    }
    expect((await stat(seg)).size).toBeGreaterThan((await recordBytes(seg)).length);
    await a.raftStorage.close();
    const b = await RaftStorage.open(dir);
    expect(positions(b.storage)).toHaveLength(i);
    await b.raftStorage.close();
  });

  it('names the file and offset of a bit flip in the middle of a segment', async () => {
    const a = await RaftStorage.open(dir);
    await a.raftStorage.save({ entries: [ent(1, 1, 64)] });
    await a.raftStorage.save({ entries: [ent(2, 1, 64)] });
    await a.raftStorage.close();
    const seg = await onlySegment();
    const buf = await readFile(seg);
    buf[20]! ^= 0x04;
    await writeFile(seg, buf);
    const err = await RaftStorage.open(dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CorruptWalError);
    expect((err as CorruptWalError).file).toBe(seg);
    expect((err as CorruptWalError).offset).toBe(0);
    expect((err as CorruptWalError).message).toContain(seg);
  });

  it('rolls segments at the size limit and releases those a snapshot covers', async () => {
    const a = await RaftStorage.open(dir, { segmentBytes: 512 });
    for (let i = 1; i <= 40; i++)
      await a.raftStorage.save({ entries: [ent(i, 1, 100)], hardState: hs(1, i - 1) });
    const before = a.raftStorage.segmentNames();
    expect(before.length).toBeGreaterThan(5);
    a.storage.append(Array.from({ length: 40 }, (_, i) => ent(i + 1, 1, 100)));
    const s = a.storage.createSnapshot(30 as Index, EMPTY_CONF_STATE, new Uint8Array([30]));
    await a.raftStorage.saveSnapshot(s);
    await a.raftStorage.releaseTo(30 as Index);
    const after = a.raftStorage.segmentNames();
    expect(after.length).toBeLessThan(before.length);
    expect((await readdir(walDir())).sort()).toEqual(after);
    await a.raftStorage.close();

    const b = await RaftStorage.open(dir, { segmentBytes: 512 });
    expect(b.snapshot?.metadata.index).toBe(30);
    expect(positions(b.storage)).toEqual(Array.from({ length: 10 }, (_, i) => `${i + 31}@1`));
    expect(b.hardState).toEqual(hs(1, 39));
    await b.raftStorage.close();
  });

  it('refuses a torn record anywhere but the tail of the last segment', async () => {
    const a = await RaftStorage.open(dir, { segmentBytes: 256 });
    for (let i = 1; i <= 10; i++) await a.raftStorage.save({ entries: [ent(i, 1, 100)] });
    const [first] = a.raftStorage.segmentNames();
    await a.raftStorage.close();
    const path = join(walDir(), first!);
    await truncate(path, (await readFile(path)).length - 5);
    const err = await RaftStorage.open(dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CorruptWalError);
    expect((err as CorruptWalError).file).toBe(path);
  });

  it('applies concurrent saves in call order, a snapshot save included', async () => {
    const a = await RaftStorage.open(dir);
    await a.raftStorage.save({ entries: [ent(1, 1)] });
    await Promise.all([
      a.raftStorage.save({ snapshot: snap(4, 2), entries: [ent(5, 2)] }),
      a.raftStorage.save({ entries: [ent(6, 2)], hardState: hs(2, 6) }),
    ]);
    await a.raftStorage.close();
    const b = await RaftStorage.open(dir);
    expect(positions(b.storage)).toEqual(['5@2', '6@2']);
    await b.raftStorage.close();
  });

  it('refuses a damaged snapshot file that the WAL marks durable', async () => {
    const a = await RaftStorage.open(dir);
    await a.raftStorage.save({ snapshot: snap(5, 2), entries: [ent(6, 2)] });
    await a.raftStorage.close();
    const [name] = await readdir(snapDir());
    const path = join(snapDir(), name!);
    const buf = await readFile(path);
    buf[buf.length - 2]! ^= 0x80;
    await writeFile(path, buf);
    await expect(RaftStorage.open(dir)).rejects.toBeInstanceOf(CorruptSnapshotError);
  });

  it('ignores a snapshot file whose WAL marker never became durable', async () => {
    const a = await RaftStorage.open(dir);
    await a.raftStorage.save({ entries: [ent(1, 1)], hardState: hs(1, 1) });
    await a.raftStorage.close();
    const seg = await onlySegment();
    const size = (await recordBytes(seg)).length;
    const b = await RaftStorage.open(dir);
    await b.raftStorage.save({ snapshot: snap(9, 4), entries: [] });
    await b.raftStorage.close();
    await truncate(seg, size); // the crash came after the snapshot file, before the marker's fsync
    const c = await RaftStorage.open(dir);
    expect(c.snapshot).toBeUndefined();
    expect(positions(c.storage)).toEqual(['1@1']);
    await c.raftStorage.close();
  });
});

describe('RaftStorage crash safety', () => {
  /** Saves a scripted history and returns the bytes of the segment plus the state after each save. */
  async function scriptedHistory(): Promise<{ bytes: Uint8Array; states: string[] }> {
    const saves: PersistBatch[] = [
      { entries: [ent(1, 1), ent(2, 1)], hardState: hs(1, 0) },
      { entries: [ent(3, 1)], hardState: hs(1, 2) },
      { entries: [], hardState: hs(2, 2, 3n) },
      { entries: [ent(3, 2), ent(4, 2)], hardState: hs(2, 3, 3n) },
      { entries: [ent(5, 2, 40)] },
      { entries: [ent(5, 3), ent(6, 3)], hardState: hs(3, 5, 2n) },
    ];
    const states = [await describeDir()];
    const a = await RaftStorage.open(dir);
    for (const s of saves) {
      await a.raftStorage.save(s);
      // Everything acknowledged by a resolved save() is recovered (from a copy: `a` holds the lock,
      // and the copy leaves out LOCK as a crash would leave a dead process's).
      states.push(await describeCopy());
    }
    await a.raftStorage.close();
    return { bytes: await recordBytes(await onlySegment()), states };
  }

  async function describeCopy(): Promise<string> {
    const copy = await mkdtemp(join(tmpdir(), 'tsetcd-core-copy-'));
    try {
      await cp(dir, copy, { recursive: true, filter: (src) => !src.endsWith('LOCK') });
      return await describeDir(copy);
    } finally {
      await rm(copy, { recursive: true, force: true });
    }
  }

  async function describeDir(from = dir): Promise<string> {
    const o = await RaftStorage.open(from);
    await o.raftStorage.close();
    return `${positions(o.storage).join(',')} | ${o.hardState.term}/${o.hardState.vote}/${o.hardState.commit}`;
  }

  it('recovers exactly the state after some completed save at every truncation point', async () => {
    const { bytes, states } = await scriptedHistory();
    expect(states[states.length - 1]).toBe('1@1,2@1,3@2,4@2,5@3,6@3 | 3/2/5');
    const seg = await onlySegment();
    const seen = new Set<string>();
    let previous = 0;
    // Each cut as a crash leaves it: the file ends there, or (the segment was preallocated) zeros
    // follow up to its size. (Zeros may complete a record whose missing bytes were zeros: that
    // write's record is then recovered whole, which is fine.)
    const zeros = new Uint8Array(512);
    let previousZeroTail = 0;
    for (let cut = 0; cut <= bytes.length; cut++) {
      const head = bytes.subarray(0, cut);
      await writeFile(seg, head);
      const state = await describeDir();
      const k = states.indexOf(state);
      expect(k, `cut at ${cut}: ${state}`).toBeGreaterThanOrEqual(0);
      expect(k).toBeGreaterThanOrEqual(previous); // a longer prefix never recovers less
      previous = k;
      seen.add(state);
      await writeFile(seg, Buffer.concat([head, zeros]));
      const padded = await describeDir();
      const kz = states.indexOf(padded);
      expect(kz, `cut at ${cut} + zeros: ${padded}`).toBeGreaterThanOrEqual(k);
      expect(kz).toBeGreaterThanOrEqual(previousZeroTail);
      previousZeroTail = kz;
    }
    expect(seen.size).toBe(states.length);
  });

  it('never returns garbage after a single bit flip: a prefix of saves or CorruptWalError', async () => {
    const { bytes, states } = await scriptedHistory();
    const seg = await onlySegment();
    for (let at = 0; at < bytes.length; at += 3) {
      const flipped = bytes.slice();
      flipped[at]! ^= 1 << (at % 8);
      await writeFile(seg, flipped);
      try {
        const state = await describeDir();
        expect(states, `flip at ${at}`).toContain(state);
      } catch (err) {
        expect(err).toBeInstanceOf(CorruptWalError);
      }
    }
  });
});

describe('RaftStorage data-dir lock', () => {
  const lockPath = () => join(dir, 'member', 'LOCK');

  it('refuses a second open of the same data dir while the first is open', async () => {
    const a = await RaftStorage.open(dir);
    expect((await readFile(lockPath(), 'utf8')).trim()).toBe(String(process.pid));
    const second = RaftStorage.open(dir);
    await expect(second).rejects.toBeInstanceOf(DataDirLockedError);
    await expect(second).rejects.toThrow(`is in use by process ${process.pid}`);
    await a.raftStorage.close();
  });

  it('releases the lock on close, so the dir opens again', async () => {
    const a = await RaftStorage.open(dir);
    await a.raftStorage.close();
    expect(await readdir(join(dir, 'member'))).not.toContain('LOCK');
    const b = await RaftStorage.open(dir);
    await b.raftStorage.close();
  });

  it('releases the lock when open fails', async () => {
    const a = await RaftStorage.open(dir);
    await a.raftStorage.save({ snapshot: snap(5, 2), entries: [] });
    await a.raftStorage.close();
    await writeFile(join(snapDir(), (await readdir(snapDir()))[0]!), 'garbage');
    await expect(RaftStorage.open(dir)).rejects.toBeInstanceOf(CorruptSnapshotError);
    expect(await readdir(join(dir, 'member'))).not.toContain('LOCK');
  });

  it('takes over a stale lock left by a process that no longer exists, with a logged note', async () => {
    const a = await RaftStorage.open(dir);
    await a.raftStorage.save({ entries: [ent(1, 1)], hardState: hs(1, 1) });
    await a.raftStorage.close();
    await writeFile(lockPath(), '999999\n'); // above any pid_max: no such process
    const logs: string[] = [];
    const b = await RaftStorage.open(dir, { logger: (level, m) => logs.push(`${level}: ${m}`) });
    expect(positions(b.storage)).toEqual(['1@1']);
    expect(logs).toEqual([`warn: taking over stale lock ${lockPath()}: process 999999 no longer exists`]);
    expect((await readFile(lockPath(), 'utf8')).trim()).toBe(String(process.pid));
    await b.raftStorage.close();
  });

  it('fsyncs the parents of the directories it creates', async () => {
    const synced: string[] = [];
    const fresh = join(dir, 'data');
    const a = await RaftStorage.open(fresh, { hooks: { onFsync: (p) => synced.push(p) } });
    for (const parent of [dir, fresh, join(fresh, 'member')]) expect(synced).toContain(parent);
    await a.raftStorage.close();
  });
});

describe('RaftStorage snapshot retention', () => {
  it(`keeps only the newest ${DEFAULT_SNAPSHOTS_TO_KEEP} snapshot files after a snapshot save`, async () => {
    const a = await RaftStorage.open(dir);
    for (let i = 1; i <= 8; i++) await a.raftStorage.saveSnapshot(snap(i * 10, 1));
    const names = await a.raftStorage.snapshotNames();
    expect(names).toHaveLength(DEFAULT_SNAPSHOTS_TO_KEEP);
    expect(names[0]).toMatch(/-0+28\.snap$/); // index 40 (0x28) is the oldest kept
    await a.raftStorage.close();
    const b = await RaftStorage.open(dir);
    expect(b.snapshot?.metadata.index).toBe(80);
    await b.raftStorage.close();
  });

  it('honours snapshotsToKeep and always keeps the snapshot just saved', async () => {
    const a = await RaftStorage.open(dir, { snapshotsToKeep: 1 });
    await a.raftStorage.saveSnapshot(snap(10, 2));
    await a.raftStorage.saveSnapshot(snap(20, 2));
    expect(await a.raftStorage.snapshotNames()).toEqual(['0000000000000002-0000000000000014.snap']);
    await a.raftStorage.close();
    await expect(RaftStorage.open(dir, { snapshotsToKeep: 0 })).rejects.toThrow(RangeError);
  });
});
