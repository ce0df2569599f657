/**
 * Snapshot files (etcd's `server/etcdserver/api/snap`): `<term>-<index>.snap` (16 hex digits each)
 * in one directory, holding `u32 length | u32 CRC32 | msgpack(snapshot)`. Written atomically: temp
 * file, fsync, rename, fsync the directory. A snapshot only counts once the WAL holds its marker,
 * so a file left by a crash before the marker is never read.
 */

import { open, readdir, readFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { type Snapshot, validateSnapshot } from '@tsetcd/raft';
import { decodeValue, encodeValue } from '../codec.js';
import { CorruptSnapshotError } from '../errors.js';
import {
  asUint8Array,
  isNotFound,
  mkdirDurable,
  type StorageHooks,
  syncDir,
  syncFile,
  writeFully,
} from '../fsutil.js';
import { frame, RECORD_HEADER_BYTES } from '../wal/wal-record.js';

/** Suffix of snapshot files. */
export const SNAP_SUFFIX = '.snap';
const TMP_SUFFIX = '.tmp';

/** The file name of the snapshot at (term, index). */
export function snapFileName(term: number, index: number): string {
  const hex = (n: number) => n.toString(16).padStart(16, '0');
  return `${hex(term)}-${hex(index)}${SNAP_SUFFIX}`;
}

/** Writes `snap` durably and atomically into `dir`; returns its path. */
export async function saveSnapFile(dir: string, snap: Snapshot, hooks: StorageHooks): Promise<string> {
  await mkdirDurable(dir, hooks);
  const path = join(dir, snapFileName(snap.metadata.term, snap.metadata.index));
  const tmp = path + TMP_SUFFIX;
  const fh = await open(tmp, 'w');
  try {
    await writeFully(fh, frame(encodeValue(snap)), 0);
    await syncFile(fh, tmp, hooks);
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
  await syncDir(dir, hooks);
  return path;
}

/** Reads and checks the snapshot at (term, index); CorruptSnapshotError if missing or damaged. */
export async function loadSnapFile(dir: string, term: number, index: number): Promise<Snapshot> {
  const path = join(dir, snapFileName(term, index));
  let buf: Uint8Array;
  try {
    buf = asUint8Array(await readFile(path));
  } catch (err) {
    if (isNotFound(err)) throw new CorruptSnapshotError(path, 'missing, but the WAL marks it durable');
    throw err;
  }
  if (buf.length < RECORD_HEADER_BYTES) throw new CorruptSnapshotError(path, 'short header');
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const len = view.getUint32(0, true);
  if (len !== buf.length - RECORD_HEADER_BYTES) {
    throw new CorruptSnapshotError(path, `length ${len} does not match file size ${buf.length}`);
  }
  const body = buf.subarray(RECORD_HEADER_BYTES);
  if (crc32(body) !== view.getUint32(4, true)) throw new CorruptSnapshotError(path, 'CRC mismatch');
  let snap: Snapshot;
  try {
    snap = validateSnapshot(decodeValue(body));
  } catch (err) {
    throw new CorruptSnapshotError(path, (err as Error).message);
  }
  if (snap.metadata.term !== term || snap.metadata.index !== index) {
    throw new CorruptSnapshotError(path, `holds ${snap.metadata.term}-${snap.metadata.index}`);
  }
  return { metadata: snap.metadata, data: new Uint8Array(snap.data) };
}

/** Removes temp files left by a crash during `saveSnapFile`. */
export async function removeSnapTempFiles(dir: string): Promise<void> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if (isNotFound(err)) return;
    throw err;
  }
  for (const name of names) if (name.endsWith(TMP_SUFFIX)) await unlink(join(dir, name));
}

/**
 * Deletes all but the newest `keep` snapshot files in `dir` (etcd's purge of `.snap` files), never
 * the file named `current` (the one the WAL's latest marker points at), which counts as one of the
 * `keep`. Newest is by name: term, then index. Returns the names removed, oldest first.
 */
export async function purgeSnapFiles(dir: string, keep: number, current: string): Promise<string[]> {
  const names = (await readdir(dir)).filter((n) => n.endsWith(SNAP_SUFFIX) && n !== current).sort();
  const doomed = names.slice(0, Math.max(0, names.length - (keep - 1)));
  for (const name of doomed) {
    try {
      await unlink(join(dir, name));
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
  return doomed;
}
