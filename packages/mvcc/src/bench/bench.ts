/**
 * `pnpm bench` for @tsetcd/mvcc: puts/s, ranges/s (1 key, 100 keys), txns/s, watch events
 * delivered/s, and memory per million keys, applied to a KVStore in-process as a replicated host
 * applies entries (batches of 1,000 requests, each followed by an awaited commit; see
 * kv-workloads.ts). Rows are labelled by backend: `level-sync` is LevelDB with fsync per batch
 * (the default, what the targets are about), `level-nosync` LevelDB without fsync (a host whose
 * raft WAL is already fsynced), `memory` the in-memory backend, for reference.
 * Targets (the issue): >= 200,000 puts/s and >= 500,000 single-key ranges/s with persistence on.
 *
 *   node --expose-gc dist/bench/bench.js [--quick] [--duration ms] [--warmup ms] [--repeat n]
 *       [--commit-every n] [--only id,id] [--no-memory] [--json FILE] [--cpu-prof DIR]
 *
 * --only keeps the rows whose id (`put-random/level-sync`, …, `memory-per-key/memory`) contains
 * one of the given strings. --cpu-prof writes one .cpuprofile per row covering its measured
 * region only (not the preload, the warm-up or the checks). A full run takes about 100 s,
 * --quick about 30 s.
 *
 * Each row reports wall time and process CPU time: on a shared machine cpu/wall well below 1 on
 * a memory row means the bench was starved (or, on level-sync, waiting for fsync).
 */

import { fork } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  BACKEND_KINDS,
  type BackendKind,
  DEFAULT_COMMIT_EVERY,
  DEFAULT_KEY_SPACE,
  DEFAULT_VALUE_BYTES,
} from './fixtures.js';
import { type KvOptions, runPuts, runRanges, runTxns, type WorkloadResult } from './kv-workloads.js';
import { randomReadNs } from './memory-latency.js';
import { DEFAULT_MEMORY_KEYS, type MemoryResult, runMemory } from './memory-workload.js';
import { runWatch } from './watch-workload.js';

/** Measured time per row. */
export const DEFAULT_DURATION_MS = 1_500;
/** Unmeasured time before each row, for the JIT. */
export const DEFAULT_WARMUP_MS = 300;
/** Measured time per row with --quick. */
export const QUICK_DURATION_MS = 300;
/** Unmeasured time before each row with --quick. */
export const QUICK_WARMUP_MS = 100;
/** Keys loaded by the memory rows with --quick (the figure is still given per million keys). */
export const QUICK_MEMORY_KEYS = 100_000;
/** Puts/s the issue asks for, applied in-process with persistence on. */
export const TARGET_PUTS_PER_SEC = 200_000;
/** Single-key ranges/s the issue asks for, applied in-process with persistence on. */
export const TARGET_RANGES_PER_SEC = 500_000;

/** One row of the table: a workload on a backend. */
interface Job {
  /** `workload/backend`, matched by --only. */
  readonly id: string;
  run(opts: KvOptions): Promise<WorkloadResult>;
}

const LEVEL_AND_MEMORY: readonly BackendKind[] = ['level-sync', 'memory'];
const MIB = 1024 * 1024;
/** Buffer sizes the memory latency is probed at: inside a CPU's caches, and well beyond them. */
const MEMORY_PROBE_BYTES = [4 * MIB, 64 * MIB];
/** Keys of the range-1-cached row: index, cache ring and values together fit in a CPU's caches. */
const CACHED_KEY_SPACE = 1_000;

function jobs(): Job[] {
  const out: Job[] = [];
  const add = (
    name: string,
    kinds: readonly BackendKind[],
    run: (k: BackendKind, o: KvOptions) => Promise<WorkloadResult>,
  ) => {
    for (const k of kinds) out.push({ id: `${name}/${k}`, run: (o) => run(k, o) });
  };
  add('put-random', BACKEND_KINDS, (k, o) => runPuts(k, 'random', o));
  add('put-random-pipelined', ['level-sync'], (k, o) =>
    runPuts(k, 'random', { ...o, commitMode: 'pipelined' }),
  );
  add('put-sequential', BACKEND_KINDS, (k, o) => runPuts(k, 'sequential', o));
  // Reads never touch the disk's fsync: level-nosync would repeat level-sync.
  add('range-1', LEVEL_AND_MEMORY, (k, o) => runRanges(k, 1, o));
  // The same reads over a store small enough to stay in the CPU's caches: against range-1, what
  // the 100k-key row pays in memory latency rather than in code (a diagnostic row, no target).
  add('range-1-cached', ['memory'], (k, o) => runRanges(k, 1, { ...o, keySpace: CACHED_KEY_SPACE }));
  add('range-100', LEVEL_AND_MEMORY, (k, o) => runRanges(k, 100, o));
  add('txn-success', BACKEND_KINDS, (k, o) => runTxns(k, 'success', o));
  add('txn-failure', LEVEL_AND_MEMORY, (k, o) => runTxns(k, 'failure', o));
  add('watch-keys', LEVEL_AND_MEMORY, (k, o) => runWatch(k, 'keys', { limit: o.limit }));
  add('watch-prefix', LEVEL_AND_MEMORY, (k, o) => runWatch(k, 'prefix', { limit: o.limit }));
  return out;
}

/** A row measured `repeat` times: the median run, and the spread of ops/s. */
interface Row extends WorkloadResult {
  readonly id: string;
  readonly runs: number;
  readonly minOpsPerSec: number;
  readonly maxOpsPerSec: number;
}

async function measure(job: Job, opts: KvOptions, repeat: number): Promise<Row> {
  const runs: WorkloadResult[] = [];
  for (let i = 0; i < repeat; i++) runs.push(await job.run(opts));
  runs.sort((a, b) => a.opsPerSec - b.opsPerSec);
  const median = runs[Math.floor(runs.length / 2)]!;
  return {
    id: job.id,
    ...median,
    runs: runs.length,
    minOpsPerSec: runs[0]!.opsPerSec,
    maxOpsPerSec: runs[runs.length - 1]!.opsPerSec,
  };
}

/** Runs the memory workload in a fresh node process (see memory-workload.ts for why). */
function measureMemoryInChild(backend: 'level-sync' | 'memory', keys: number): Promise<MemoryResult> {
  return new Promise((resolve, reject) => {
    const child = fork(
      fileURLToPath(import.meta.url),
      ['--memory-child', backend, '--memory-keys', String(keys)],
      {
        execArgv: ['--expose-gc'],
      },
    );
    let got: MemoryResult | undefined;
    child.on('message', (m) => {
      got = m as MemoryResult;
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      if (got !== undefined) resolve(got);
      else reject(new Error(`bench: memory child (${backend}) exited with code ${code}`));
    });
  });
}

const fmtInt = (n: number) => Math.round(n).toLocaleString('en-US');

function table(header: readonly string[], rows: readonly (readonly string[])[], leftCols = 1): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: readonly string[]) =>
    cells.map((c, i) => (i < leftCols ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

function kvTable(rows: readonly Row[]): string {
  const spread = rows.some((r) => r.runs > 1);
  return table(
    [
      'workload',
      'backend',
      'ops/s',
      ...(spread ? ['min–max ops/s'] : []),
      'ops',
      'wall s',
      'cpu s',
      'cpu/wall',
      'ops/cpu-s',
    ],
    rows.map((r) => [
      r.workload,
      r.backend,
      fmtInt(r.opsPerSec),
      ...(spread ? [`${fmtInt(r.minOpsPerSec)}–${fmtInt(r.maxOpsPerSec)}`] : []),
      fmtInt(r.ops),
      r.seconds.toFixed(2),
      r.cpuSeconds.toFixed(2),
      (r.cpuSeconds / r.seconds).toFixed(2),
      fmtInt(r.ops / r.cpuSeconds),
    ]),
    2,
  );
}

function memoryTable(rows: readonly MemoryResult[]): string {
  // Bytes per key = MB (10^6 bytes) per million keys.
  const mb = (bytesPerKey: number) => bytesPerKey.toFixed(0);
  return table(
    ['backend', 'keys loaded', 'heap MB / 1M keys', 'ArrayBuffers MB / 1M', 'RSS MB / 1M', 'load s'],
    rows.map((r) => [
      r.backend,
      fmtInt(r.keys),
      mb(r.heapBytesPerKey),
      mb(r.externalBytesPerKey),
      mb(r.rssBytesPerKey),
      r.loadSeconds.toFixed(1),
    ]),
  );
}

/** A bad flag value, reported like parseArgs' own errors (see the end of this file). */
function usageError(message: string): Error {
  return Object.assign(new RangeError(message), { code: 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' });
}

function parseCount(s: string, name: string): number {
  const n = Number(s);
  if (!Number.isSafeInteger(n) || n <= 0) throw usageError(`--${name} must be a positive integer`);
  return n;
}

async function main(): Promise<void> {
  // `pnpm bench -- --json x` passes the `--` through.
  const args = process.argv.slice(2).filter((a, i) => !(i === 0 && a === '--'));
  const { values } = parseArgs({
    args,
    options: {
      quick: { type: 'boolean', default: false },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      repeat: { type: 'string', default: '1' },
      'commit-every': { type: 'string', default: String(DEFAULT_COMMIT_EVERY) },
      only: { type: 'string' },
      'no-memory': { type: 'boolean', default: false },
      json: { type: 'string' },
      'cpu-prof': { type: 'string' },
      'memory-child': { type: 'string' },
      'memory-keys': { type: 'string', default: String(DEFAULT_MEMORY_KEYS) },
    },
  });
  const memoryKeys = parseCount(values['memory-keys'], 'memory-keys');
  if (values['memory-child'] !== undefined) {
    const backend = values['memory-child'];
    if (backend !== 'level-sync' && backend !== 'memory') throw new RangeError(`bench: backend ${backend}`);
    process.send!(await runMemory(backend, memoryKeys));
    return;
  }

  const durationMs =
    values.duration !== undefined
      ? parseCount(values.duration, 'duration')
      : values.quick
        ? QUICK_DURATION_MS
        : DEFAULT_DURATION_MS;
  const warmupMs =
    values.warmup !== undefined ? Number(values.warmup) : values.quick ? QUICK_WARMUP_MS : DEFAULT_WARMUP_MS;
  if (!(warmupMs >= 0)) throw usageError('--warmup must be >= 0');
  const repeat = parseCount(values.repeat, 'repeat');
  const only = values.only?.split(',').map((s) => s.trim());
  const selected = jobs().filter((j) => only === undefined || only.some((o) => j.id.includes(o)));
  const memoryBackends = values['no-memory']
    ? []
    : (['memory', 'level-sync'] as const).filter(
        (b) => only === undefined || only.some((o) => `memory-per-key/${b}`.includes(o)),
      );
  const commitEvery = parseCount(values['commit-every'], 'commit-every');
  const kvOpts: KvOptions = { limit: { durationMs, warmupMs }, commitEvery };

  console.log(
    `@tsetcd/mvcc bench — KVStore applied in-process (node ${process.version}), ` +
      `${DEFAULT_KEY_SPACE.toLocaleString('en-US')} keys of 19 bytes, ${DEFAULT_VALUE_BYTES}-byte values, ` +
      `commit (awaited) every ${commitEvery.toLocaleString('en-US')} requests, ` +
      `${warmupMs} ms warm-up + ${durationMs} ms per row${repeat > 1 ? `, median of ${repeat}` : ''}\n` +
      'level-sync = LevelDB, fsync per commit (default); level-nosync = LevelDB, no fsync; ' +
      'memory = MemoryBackend (reference)',
  );
  const latency = MEMORY_PROBE_BYTES.map((bytes) => ({ bytes, ns: randomReadNs(bytes) }));
  console.log(
    `this machine now: a random read takes ${latency
      .map((l) => `${l.ns.toFixed(0)} ns in ${l.bytes / MIB} MiB`)
      .join(', ')} (the 100k-key rows wait on such reads)\n`,
  );
  const profileDir = values['cpu-prof'];
  const session = profileDir === undefined ? undefined : new Session();
  if (session !== undefined) {
    mkdirSync(profileDir!, { recursive: true });
    session.connect();
    await session.post('Profiler.enable');
  }
  const rows: Row[] = [];
  for (const job of selected) {
    const around =
      session === undefined
        ? undefined
        : {
            start: async () => {
              await session.post('Profiler.start');
            },
            stop: async () => {
              const { profile } = await session.post('Profiler.stop');
              const file = join(profileDir!, `${job.id.replace('/', '.')}.cpuprofile`);
              writeFileSync(file, JSON.stringify(profile));
            },
          };
    const opts: KvOptions = around === undefined ? kvOpts : { ...kvOpts, limit: { ...kvOpts.limit, around } };
    const row = await measure(job, opts, repeat);
    rows.push(row);
    process.stdout.write(`  ${job.id}: ${fmtInt(row.opsPerSec)} ${row.unit}/s\n`);
  }
  session?.disconnect();
  if (rows.length > 0) console.log(`\n${kvTable(rows)}`);

  const memory: MemoryResult[] = [];
  if (memoryBackends.length > 0) {
    const keys = values.quick ? Math.min(memoryKeys, QUICK_MEMORY_KEYS) : memoryKeys;
    for (const backend of memoryBackends) memory.push(await measureMemoryInChild(backend, keys));
    console.log(
      `\nmemory per 1M keys (${fmtInt(keys)} keys of 19 bytes, 16-byte values, one revision each; ` +
        'after a forced GC, in a fresh process)\n',
    );
    console.log(memoryTable(memory));
  }

  const targets = [
    { what: 'puts/s', id: 'put-random/level-sync', target: TARGET_PUTS_PER_SEC },
    { what: 'single-key ranges/s', id: 'range-1/level-sync', target: TARGET_RANGES_PER_SEC },
  ].flatMap((t) => {
    const row = rows.find((r) => r.id === t.id);
    return row === undefined ? [] : [{ ...t, measured: row.opsPerSec, met: row.opsPerSec >= t.target }];
  });
  if (targets.length > 0) console.log('');
  for (const t of targets) {
    console.log(
      `target: >= ${fmtInt(t.target)} ${t.what} (${t.id}) — ${t.met ? 'met' : 'NOT met'} (${fmtInt(t.measured)})`,
    );
  }

  if (values.json !== undefined) {
    const report = {
      bench: '@tsetcd/mvcc KVStore applied in-process',
      node: process.version,
      date: new Date().toISOString(),
      keySpace: DEFAULT_KEY_SPACE,
      valueBytes: DEFAULT_VALUE_BYTES,
      commitEvery,
      durationMs,
      warmupMs,
      repeat,
      randomReadNs: latency,
      results: rows,
      memory,
      targets,
    };
    writeFileSync(values.json, `${JSON.stringify(report, null, 2)}\n`);
    console.log(`wrote ${values.json}`);
  }
}

// A bad flag is a one-line message and exit status 2, not a stack trace; other errors stay loud.
await main().catch((e: unknown) => {
  if ((e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS_') !== true) throw e;
  console.error(`bench: ${(e as Error).message}`);
  process.exitCode = 2;
});
