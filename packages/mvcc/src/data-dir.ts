/**
 * The data-dir swap behind MvccStore.restore on LevelDB, and its crash recovery in MvccStore.open.
 * A snapshot is restored into a sibling directory, made durable, and put in place of the live
 * directory with two renames, so that a crash at any point leaves exactly one whole store to open:
 * the old one or the new one, never a mix and never nothing.
 *
 * With D the data dir, D.restore the image being built and D.old the store being replaced:
 *   1. delete any D.restore; build the image there (LevelDB sync writes); close it; fsync every
 *      file in it, D.restore itself and the parent;
 *   2. close the live store in D;
 *   3. rename D → D.old and fsync the parent. This is the commit point: from here on recovery
 *      installs the new store, which step 1 made complete and durable before;
 *   4. rename D.restore → D and fsync the parent;
 *   5. open D; delete D.old and fsync the parent.
 * Recovery (`recoverDataDir`, before D is opened):
 *   - D exists: it is the store — the old one (crash before 3) or the new one (crash after 4).
 *     D.restore (an image never committed) and D.old (a replaced store) are deleted.
 *   - D is missing, D.old and D.restore exist: crash between 3 and 4. Finish: rename D.restore → D.
 *   - D is missing, only D.old exists: not reachable by the steps above (4 is one rename); roll
 *     back to the only store there is: rename D.old → D.
 *   - neither D nor D.old: any D.restore is deleted; D is created as for a new store.
 *
 * Not here: what is in the directories (snapshot.ts restores an image, level-backend.ts opens it).
 */

import { type FileHandle, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/** Suffix of the sibling directory a snapshot is restored into. */
export const RESTORE_DIR_SUFFIX = '.restore';
/** Suffix of the sibling directory the replaced store is moved to until it is deleted. */
export const OLD_DIR_SUFFIX = '.old';

/** The sibling directory a snapshot of the store in `dir` is restored into. */
export function restoreDirOf(dir: string): string {
  return `${dir}${RESTORE_DIR_SUFFIX}`;
}

/** The sibling directory the replaced store of `dir` is moved to. */
export function oldDirOf(dir: string): string {
  return `${dir}${OLD_DIR_SUFFIX}`;
}

/** What recovery found and did, for tests and the operator's log. */
export type DataDirRecovery =
  | 'clean'
  | 'removed-leftovers'
  | 'finished-swap'
  | 'rolled-back'
  | 'removed-uncommitted-restore';

/** Brings `dir` to one whole store after a crash during a restore (see the module comment). */
export async function recoverDataDir(dir: string): Promise<DataDirRecovery> {
  const restoreDir = restoreDirOf(dir);
  const oldDir = oldDirOf(dir);
  const [hasDir, hasRestore, hasOld] = await Promise.all([exists(dir), exists(restoreDir), exists(oldDir)]);
  if (hasDir) {
    if (!hasRestore && !hasOld) return 'clean';
    await removeDir(restoreDir);
    await removeDir(oldDir);
    return 'removed-leftovers';
  }
  if (hasOld && hasRestore) {
    await renameDurably(restoreDir, dir);
    await removeDir(oldDir);
    return 'finished-swap';
  }
  if (hasOld) {
    await renameDurably(oldDir, dir);
    return 'rolled-back';
  }
  if (hasRestore) {
    await removeDir(restoreDir);
    return 'removed-uncommitted-restore';
  }
  return 'clean';
}

/** Steps 3 and 4: puts the durable image in D.restore in place of D (closed), keeping D as D.old. */
export async function swapDataDir(
  dir: string,
  hooks: { afterMoveAway?(): void | Promise<void> } = {},
): Promise<void> {
  await renameDurably(dir, oldDirOf(dir));
  await hooks.afterMoveAway?.();
  await renameDurably(restoreDirOf(dir), dir);
}

/** Step 1's durability: fsyncs every file under `dir`, `dir` itself, and its parent. */
export async function fsyncTree(dir: string): Promise<void> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) await fsyncTree(path);
    else if (entry.isFile()) await fsyncPath(path);
  }
  await fsyncDir(dir);
  await fsyncDir(dirname(dir));
}

/** Deletes `dir` and everything in it (if present), durably. */
export async function removeDir(dir: string): Promise<void> {
  if (!(await exists(dir))) return;
  await rm(dir, { recursive: true, force: true });
  await fsyncDir(dirname(dir));
}

async function renameDurably(from: string, to: string): Promise<void> {
  await rename(from, to);
  await fsyncDir(dirname(to));
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    (e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return false;
      throw e;
    },
  );
}

async function fsyncPath(path: string): Promise<void> {
  let fh: FileHandle | undefined;
  try {
    fh = await open(path, 'r');
    await fh.sync();
  } finally {
    await fh?.close();
  }
}

/**
 * fsync of a directory makes the entries created, renamed or removed in it durable. Platforms
 * that cannot open a directory for it (Windows: EISDIR / EPERM) make renames durable themselves.
 */
async function fsyncDir(dir: string): Promise<void> {
  try {
    await fsyncPath(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'EISDIR' && code !== 'EPERM' && code !== 'EINVAL') throw e;
  }
}
