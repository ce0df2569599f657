/**
 * Small durable-filesystem helpers: write a whole buffer at a position, fsync a directory so a
 * created, renamed or deleted name survives a crash. Every fsync goes through a hook so tests can
 * count them and a simulator can crash there.
 */

import { writeSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { mkdir, open } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

/** Fault-injection and observation points of durable storage. */
export interface StorageHooks {
  /** Called after every fsync completes (a WAL segment, a snapshot file or a directory). */
  readonly onFsync?: (path: string) => void;
}

/** Where storage reports notable events (a stale lock taken over, …). Default: silent. */
export type StorageLogger = (level: 'info' | 'warn', message: string) => void;

/** Writes all of `buf` at `position`, looping over short writes. */
export async function writeFully(fh: FileHandle, buf: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < buf.length) {
    const { bytesWritten } = await fh.write(buf, done, buf.length - done, position + done);
    done += bytesWritten;
  }
}

/** writeFully on the calling thread: for a write short enough that a trip to the I/O pool costs more. */
export function writeFullySync(fh: FileHandle, buf: Uint8Array, position: number): void {
  let done = 0;
  while (done < buf.length) done += writeSync(fh.fd, buf, done, buf.length - done, position + done);
}

/** fsyncs a file handle and reports it. */
export async function syncFile(fh: FileHandle, path: string, hooks: StorageHooks): Promise<void> {
  await fh.sync();
  hooks.onFsync?.(path);
}

/** fsyncs a directory, making entries created, renamed or removed in it durable. */
export async function syncDir(dir: string, hooks: StorageHooks): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
  hooks.onFsync?.(dir);
}

/**
 * Creates `dir` and any missing parents, fsyncing the parent of each directory it created so
 * the new names survive a crash. A directory that already exists costs no fsync.
 */
export async function mkdirDurable(dir: string, hooks: StorageHooks): Promise<void> {
  const created = await mkdir(dir, { recursive: true });
  if (created === undefined) return;
  const first = resolve(created);
  for (let d = resolve(dir); ; d = dirname(d)) {
    await syncDir(dirname(d), hooks);
    if (d === first || dirname(d) === d) return;
  }
}

/** True for a "no such file or directory" error. */
export function isNotFound(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}

/** A plain Uint8Array view of a Buffer, so `slice()` copies (Buffer's `slice` returns a view). */
export function asUint8Array(buf: Uint8Array): Uint8Array {
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}
