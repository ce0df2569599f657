/**
 * The data-dir lock: `<dataDir>/member/LOCK`, created exclusively and holding the owner's pid, so
 * two processes (or two RaftStorage instances in one process) never write one member's WAL at
 * once (etcd locks its WAL files with flock for the same reason).
 *
 * Acquiring:
 * 1. create LOCK with `wx` (fails if it exists), write our pid, fsync it and the member directory.
 * 2. if it exists, read the pid in it: a live process (process.kill(pid, 0) succeeds or is EPERM)
 *    → DataDirLockedError; a dead one or an unreadable file → log, remove it and go back to 1.
 * Releasing removes the file. A process that crashes leaves LOCK behind; the next open takes it over.
 *
 * Does not: protect against two processes taking over the same stale lock at the same instant, or
 * against pid reuse (a stale LOCK naming a pid now used by an unrelated process blocks the open;
 * the operator removes it).
 */

import { open, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { DataDirLockedError } from './errors.js';
import {
  isNotFound,
  type StorageHooks,
  type StorageLogger,
  syncDir,
  syncFile,
  writeFully,
} from './fsutil.js';

/** Name of the lock file inside the member directory. */
export const LOCK_FILE_NAME = 'LOCK';

/** Stale locks taken over before giving up (another opener keeps recreating it). */
const MAX_TAKEOVERS = 3;

/** Whether a process with `pid` exists (EPERM: it does, owned by another user). */
function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The pid written in a lock file, or undefined if it holds none. */
function parsePid(text: string): number | undefined {
  const t = text.trim();
  if (!/^\d{1,10}$/.test(t)) return undefined;
  const pid = Number(t);
  return pid > 0 ? pid : undefined;
}

/** A held data-dir lock. */
export class DataDirLock {
  private released = false;

  private constructor(readonly path: string) {}

  /** Takes the lock of the member directory `dir` (which must exist) for this process. */
  static async acquire(dir: string, hooks: StorageHooks, logger: StorageLogger): Promise<DataDirLock> {
    const path = join(dir, LOCK_FILE_NAME);
    for (let takeovers = 0; ; takeovers++) {
      try {
        const fh = await open(path, 'wx');
        try {
          await writeFully(fh, new TextEncoder().encode(`${process.pid}\n`), 0);
          await syncFile(fh, path, hooks);
        } finally {
          await fh.close();
        }
        await syncDir(dir, hooks);
        return new DataDirLock(path);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      let text: string;
      try {
        text = await readFile(path, 'utf8');
      } catch (err) {
        if (isNotFound(err)) continue; // released between our open and read
        throw err;
      }
      const pid = parsePid(text);
      if (pid !== undefined && processAlive(pid)) throw new DataDirLockedError(dir, pid);
      if (takeovers >= MAX_TAKEOVERS) throw new DataDirLockedError(dir, pid ?? 0);
      logger(
        'warn',
        pid === undefined
          ? `taking over lock ${path}: it names no process`
          : `taking over stale lock ${path}: process ${pid} no longer exists`,
      );
      try {
        await unlink(path);
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    }
  }

  /** Removes the lock file; idempotent. */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    try {
      await unlink(this.path);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
}
