/**
 * How LevelBackend recognises and names damage to a LevelDB: which errors mean damaged data, what
 * LevelDB's recovery dropped (it says so only in its LOG file), and which table files hold a key
 * (from the "leveldb.sstables" property), so that an error can name the file to look at.
 */

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { toBinary } from './bytes.js';

/** A LevelDB error and its causes, as one line. */
export function describeLevelError(e: unknown): string {
  const parts: string[] = [];
  let cur: unknown = e;
  while (cur instanceof Error) {
    parts.push(cur.message);
    cur = (cur as { cause?: unknown }).cause;
  }
  return parts.join(': ') || String(e);
}

/** Why an existing LevelDB that opened with no entries at all is refused. */
export const EMPTIED =
  'the LevelDB exists but recovered with no entries at all: its MANIFEST or log was truncated or lost ' +
  '(remove the dir only if it never held a store)';

/** LevelDB errors that mean damaged data, as opposed to misuse. */
export function isLevelDataError(e: unknown): boolean {
  const code = (e as { code?: unknown }).code;
  const message = e instanceof Error ? e.message : '';
  return code === 'LEVEL_CORRUPTION' || code === 'LEVEL_IO_ERROR' || /^(Corruption|IO error):/.test(message);
}

/**
 * LevelDB writes what its log recovery dropped to the LOG file ("…/000003.log: dropping 32768
 * bytes; Corruption: checksum mismatch") and opens anyway unless paranoid_checks is set, which
 * classic-level never sets. A torn tail (a crash mid-write) is not reported there, so any such
 * line means damage.
 */
export async function droppedByRecovery(dir: string): Promise<string | undefined> {
  const log = await readFile(join(dir, 'LOG'), 'utf8').catch(() => '');
  const dropped = log.split('\n').filter((l) => /: dropping \d+ bytes; /.test(l));
  if (dropped.length === 0) return undefined;
  return `log recovery dropped records: ${dropped.map((l) => l.replace(/^\S+ \S+ /, '').replace(`${dir}/`, '')).join('; ')}`;
}

/** For an open failure: the files LevelDB was recovering, when its message names none. */
export async function suspectFiles(dir: string, manifest: string | undefined): Promise<string> {
  const dropped = await droppedByRecovery(dir);
  if (dropped !== undefined) return ` (${dropped})`;
  return manifest === undefined ? '' : ` (recovering ${manifest}, named by CURRENT)`;
}

/**
 * The table files whose key range holds `key`, from LevelDB's "leveldb.sstables" property:
 * lines like " 5:40449['\x01\x00…' @ 1 : 1 .. 'key-99' @ 301 : 1]" (keys escaped as \xHH).
 */
export function tablesHolding(sstables: string, key: Uint8Array): string[] {
  const k = toBinary(key);
  return tableRanges(sstables)
    .filter(({ smallest, largest }) => smallest <= k && k <= largest)
    .map(({ table }) => table);
}

/** Every table file in "leveldb.sstables" with its smallest and largest key (binary strings). */
export function tableRanges(sstables: string): { table: string; smallest: string; largest: string }[] {
  const out: { table: string; smallest: string; largest: string }[] = [];
  for (const m of sstables.matchAll(/^ (\d+):\d+\['(.*)' @ \d+ : \d+ \.\. '(.*)' @ \d+ : \d+\]$/gm)) {
    const [, num, smallest, largest] = m;
    out.push({
      table: `${num!.padStart(6, '0')}.ldb`,
      smallest: unescapeLevelKey(smallest!),
      largest: unescapeLevelKey(largest!),
    });
  }
  return out;
}

/** Undoes LevelDB's EscapeString (non-printable bytes as \xHH) into a binary string. */
function unescapeLevelKey(s: string): string {
  return s.replace(/\\x([0-9a-f]{2})/g, (_, h: string) => String.fromCharCode(Number.parseInt(h, 16)));
}
