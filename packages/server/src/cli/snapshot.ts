/**
 * `tsetcd snapshot restore|status`, as etcdutl's (etcdctl 3.4's) `snapshot restore|status`:
 *
 *   - restore FILE --data-dir DIR [--name --initial-cluster --initial-cluster-token
 *     --initial-advertise-peer-urls]: core's restoreDataDir into a NEW data dir. The cluster
 *     flags are checked here as the member will read them, and the member started with those
 *     same flags (--initial-cluster-state new) bootstraps the new cluster over the restored keys.
 *   - status FILE [-w simple|table|json]: hash, revision, total keys, total size, printed as
 *     etcdctl prints them (`simple` is its default).
 *
 * Arguments are parsed cobra-style (flags before or after FILE, `--flag=value` or `--flag value`).
 */

import { readFileSync } from 'node:fs';
import { access } from 'node:fs/promises';
import { restoreDataDir } from '@tsetcd/core';
import { type SnapshotStatus, snapshotStatus } from '@tsetcd/mvcc';
import { unframeSnapshot } from '../grpc/maintenance-service.js';
import { FlagError, resolveFlags, toMemberOptions } from './flags.js';
import type { Log } from './log.js';

/** What a subcommand prints on stdout; injected so tests can capture it. */
export type Print = (text: string) => void;

const RESTORE_FLAGS = [
  'data-dir',
  'name',
  'initial-cluster',
  'initial-cluster-token',
  'initial-advertise-peer-urls',
] as const;

/** Runs `tsetcd snapshot ...`; resolves with the exit code. */
export async function snapshotCommand(args: readonly string[], log: Log, print: Print): Promise<number> {
  const [sub, ...rest] = args;
  try {
    if (sub === 'restore') return await restore(rest, log);
    if (sub === 'status') return await status(rest, print);
    throw new FlagError(`unknown command "${sub ?? ''}" for "tsetcd snapshot" (restore, status)`, 1);
  } catch (err) {
    process.stderr.write(`Error: ${(err as Error).message}\n`);
    return 1;
  }
}

/** Splits `args` into positionals and the allowed `--flag value` pairs (short aliases mapped). */
export function parseSubArgs(
  args: readonly string[],
  allowed: readonly string[],
  aliases: Readonly<Record<string, string>> = {},
): { positional: string[]; flags: Map<string, string> } {
  const positional: string[] = [];
  const flags = new Map<string, string>();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (!arg.startsWith('-') || arg === '-') {
      positional.push(arg);
      continue;
    }
    const body = arg.replace(/^--?/, '');
    const eq = body.indexOf('=');
    const given = eq < 0 ? body : body.slice(0, eq);
    const name = aliases[given] ?? given;
    if (!allowed.includes(name)) throw new FlagError(`unknown flag: ${arg.split('=')[0]}`, 1);
    if (eq >= 0) flags.set(name, body.slice(eq + 1));
    else if (i + 1 < args.length) flags.set(name, args[++i]!);
    else throw new FlagError(`flag needs an argument: ${arg}`, 1);
  }
  return { positional, flags };
}

async function restore(args: readonly string[], log: Log): Promise<number> {
  const { positional, flags } = parseSubArgs(args, RESTORE_FLAGS);
  const file = onlyFile(positional, 'restore');
  // Check the cluster flags as the member will read them (name in --initial-cluster, URLs, …).
  const settings = resolveFlags(flags);
  toMemberOptions(settings, (path) => readFileSync(path, 'utf8'));
  await access(file);
  const dataDir = settings.dataDir;
  log('info', 'snapshot', 'restoring snapshot', { path: file, 'data-dir': dataDir });
  const s = await restoreDataDir(snapshotFile(file), dataDir);
  log('info', 'snapshot', 'restored snapshot', {
    path: file,
    'data-dir': dataDir,
    hash: hex(s.hash),
    revision: s.revision,
  });
  log(
    'info',
    'snapshot',
    `start the member with --data-dir ${dataDir} and the same --name, --initial-cluster, --initial-cluster-token and --initial-advertise-peer-urls (--initial-cluster-state new)`,
  );
  return 0;
}

async function status(args: readonly string[], print: Print): Promise<number> {
  const { positional, flags } = parseSubArgs(args, ['write-out'], { w: 'write-out' });
  const file = onlyFile(positional, 'status');
  const format = flags.get('write-out') ?? 'simple';
  if (!['simple', 'table', 'json'].includes(format))
    throw new FlagError(`unknown output format ${JSON.stringify(format)} (simple, table, json)`, 1);
  await access(file);
  const s = await snapshotStatus(snapshotFile(file));
  print(formatStatus(s, format as 'simple' | 'table' | 'json'));
  return 0;
}

function onlyFile(positional: readonly string[], sub: string): string {
  if (positional.length !== 1) throw new FlagError(`snapshot ${sub} requires exactly one argument`, 1);
  return positional[0]!;
}

function hex(n: number): string {
  return (n >>> 0).toString(16).padStart(8, '0');
}

/** A snapshot's status as etcdctl 3.4 prints it in each -w format. */
export function formatStatus(s: SnapshotStatus, format: 'simple' | 'table' | 'json'): string {
  if (format === 'json') {
    return `${JSON.stringify({ hash: s.hash >>> 0, revision: s.revision, totalKey: s.totalKeys, totalSize: s.totalSize })}\n`;
  }
  const row = [hex(s.hash), String(s.revision), String(s.totalKeys), humanizeBytes(s.totalSize)];
  if (format === 'simple') return `${row.join(', ')}\n`;
  return table(['HASH', 'REVISION', 'TOTAL KEYS', 'TOTAL SIZE'], row);
}

/** etcdctl's tablewriter look: centred headers, right-aligned cells. */
function table(header: readonly string[], row: readonly string[]): string {
  const widths = header.map((h, i) => Math.max(h.length, row[i]!.length));
  const rule = `+${widths.map((w) => '-'.repeat(w + 2)).join('+')}+`;
  const centre = (s: string, w: number) => {
    const left = Math.floor((w - s.length) / 2);
    return ' '.repeat(left) + s + ' '.repeat(w - s.length - left);
  };
  const head = `|${header.map((h, i) => ` ${centre(h, widths[i]!)} `).join('|')}|`;
  const body = `|${row.map((c, i) => ` ${c.padStart(widths[i]!)} `).join('|')}|`;
  return `${[rule, head, rule, body, rule].join('\n')}\n`;
}

/** go-humanize's Bytes (SI units), which etcdctl uses for sizes: 20480 → "20 kB". */
export function humanizeBytes(n: number): string {
  if (n < 10) return `${n} B`;
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB'];
  const e = Math.floor(Math.log(n) / Math.log(1000));
  const val = Math.floor((n / 1000 ** e) * 10 + 0.5) / 10;
  return `${val < 10 ? val.toFixed(1) : roundHalfEven(val)} ${units[e]}`;
}

/** Go's `%.0f`: exact halves round to even (20.5 → "20"), unlike toFixed. */
function roundHalfEven(x: number): string {
  const floor = Math.floor(x);
  const diff = x - floor;
  if (diff === 0.5) return String(floor % 2 === 0 ? floor : floor + 1);
  return String(Math.round(x));
}

/**
 * A snapshot file's store image: saved by `etcdctl snapshot save` it is framed as etcd frames its
 * db (padding and a SHA-256, see frameSnapshot), which is taken off here; saved from the node's
 * API it is the image itself. Read whole: snapshots are held in memory when served anyway.
 */
async function* snapshotFile(file: string): AsyncGenerator<Uint8Array> {
  yield unframeSnapshot(readFileSync(file));
}
