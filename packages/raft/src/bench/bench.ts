/**
 * The raft throughput benchmark: a 3-node in-process cluster with no I/O (bench/cluster.ts) and a
 * closed-loop client that keeps exactly K proposals of 256 bytes in flight on the leader. Before
 * every round the client tops the window up to K (a batch, as a host proposes whatever requests
 * arrived since its last Ready); a proposal completes when the leader applies it.
 *
 * For each K it warms up, then measures for a fixed time, and reports committed-and-applied
 * proposals per second on the leader, plus latency in rounds (one round = every node handles its
 * Ready, then steps what it received). Target (the issue): >= 300,000 proposals/s at K = 1024.
 *
 *   node dist/bench/bench.js [--inflight 1,64,1024] [--duration ms] [--warmup ms]
 *                            [--payload bytes] [--json LABEL]  (prints the figures as one `LABEL: {json}` line)
 *
 * Timing uses performance.now(): the bench is a host, outside the pure package.
 */

import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { BenchCluster } from './cluster.js';
import { LatencyHistogram, ProposalQueue } from './stats.js';

/** Proposals in flight measured by default (the three configurations). */
export const DEFAULT_INFLIGHT = [1, 64, 1024] as const;
/** Payload bytes per proposal. */
export const DEFAULT_PAYLOAD_BYTES = 256;
/** Measured time per configuration. */
export const DEFAULT_DURATION_MS = 3_000;
/** Unmeasured time per configuration, for the JIT and a steady pipeline. */
export const DEFAULT_WARMUP_MS = 500;
/** Committed proposals/s the issue asks for at 1024 in flight. */
export const TARGET_PROPOSALS_PER_SEC = 300_000;
/** Distinct payload buffers cycled through (a host would receive each from the network). */
const PAYLOAD_POOL = 1_024;
/** Rounds allowed for the pipeline to empty after a measurement. */
const MAX_DRAIN_ROUNDS = 10_000;

/** What one configuration measured. */
export interface BenchResult {
  readonly inflight: number;
  readonly payloadBytes: number;
  readonly proposals: number;
  readonly seconds: number;
  /** Process CPU time (all threads, GC helpers included) over wall time: < 1 means the run was starved. */
  readonly cpuPerWall: number;
  readonly proposalsPerSec: number;
  readonly rounds: number;
  readonly proposalsPerRound: number;
  readonly messagesPerProposal: number;
  readonly p50Rounds: number;
  readonly p99Rounds: number;
  readonly maxRounds: number;
}

/** Runs one configuration on a fresh cluster. */
export function runBench(
  inflight: number,
  payloadBytes: number,
  warmupMs: number,
  durationMs: number,
): BenchResult {
  const cluster = new BenchCluster();
  cluster.electLeader();
  const payloads: Uint8Array[] = [];
  for (let i = 0; i < PAYLOAD_POOL; i++) payloads.push(new Uint8Array(payloadBytes).fill(i & 0xff));

  const queue = new ProposalQueue(inflight);
  const hist = new LatencyHistogram();
  let round = 0;
  let next = 0;
  let made = 0;
  let proposals = 0;
  let measuring = false;
  let start = performance.now();
  let deadline = start + warmupMs;
  let roundsAtStart = 0;
  let cpuAtStart = process.cpuUsage();
  let messagesAtStart = 0;
  for (;;) {
    // Top the window up to K, as one batch before the round.
    while (queue.length < inflight) {
      cluster.propose(payloads[next]!);
      next = next === PAYLOAD_POOL - 1 ? 0 : next + 1;
      queue.push(round);
      made++;
    }
    const done = cluster.round();
    for (let i = 0; i < done; i++) hist.record(round - queue.shift() + 1);
    proposals += done;
    round++;
    const now = performance.now();
    if (now < deadline) continue;
    if (measuring) {
      const seconds = (now - start) / 1000;
      const cpu = process.cpuUsage(cpuAtStart);
      const rounds = round - roundsAtStart;
      drainAndCheck(cluster, queue, made);
      return {
        inflight,
        payloadBytes,
        proposals,
        seconds,
        cpuPerWall: (cpu.user + cpu.system) / 1e6 / seconds,
        proposalsPerSec: proposals / seconds,
        rounds,
        proposalsPerRound: proposals / rounds,
        messagesPerProposal: (cluster.messagesDelivered - messagesAtStart) / proposals,
        p50Rounds: hist.quantile(0.5),
        p99Rounds: hist.quantile(0.99),
        maxRounds: hist.max,
      };
    }
    // Warm-up over: reset the counters, keep the pipeline running.
    measuring = true;
    proposals = 0;
    hist.reset();
    roundsAtStart = round;
    messagesAtStart = cluster.messagesDelivered;
    start = now;
    cpuAtStart = process.cpuUsage();
    deadline = start + durationMs;
  }
}

/**
 * Stops proposing, lets every in-flight proposal complete, and checks that all three nodes applied
 * the same log: a fast bench of a broken cluster would be worthless.
 */
function drainAndCheck(cluster: BenchCluster, queue: ProposalQueue, made: number): void {
  for (let i = 0; i < MAX_DRAIN_ROUNDS && !(queue.length === 0 && cluster.idle()); i++) {
    const done = cluster.round();
    for (let j = 0; j < done; j++) queue.shift();
  }
  // The log holds the leader's empty entry (index 1) and then every proposal.
  const applied = cluster.appliedIndexes();
  if (queue.length !== 0 || applied.some((a) => a !== made + 1)) {
    throw new Error(
      `bench: cluster did not converge: applied ${applied.join(', ')} of ${made + 1}, ${queue.length} in flight`,
    );
  }
}

function formatTable(results: readonly BenchResult[]): string {
  const header = [
    'in flight',
    'proposals/s',
    'proposals',
    'seconds',
    'cpu/wall',
    'per round',
    'msgs/prop',
    'p50 rnd',
    'p99 rnd',
  ];
  const rows = results.map((r) => [
    String(r.inflight),
    Math.round(r.proposalsPerSec).toLocaleString('en-US'),
    r.proposals.toLocaleString('en-US'),
    r.seconds.toFixed(2),
    r.cpuPerWall.toFixed(2),
    r.proposalsPerRound.toFixed(1),
    r.messagesPerProposal.toFixed(2),
    String(r.p50Rounds),
    String(r.p99Rounds),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => c.padStart(widths[i]!)).join('  ');
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

function parseCount(s: string, name: string): number {
  const n = Number(s);
  if (!Number.isSafeInteger(n) || n <= 0) throw new RangeError(`bench: --${name} must be a positive integer`);
  return n;
}

function main(): void {
  // `pnpm bench -- --json x` passes the `--` through.
  const args = process.argv.slice(2).filter((a, i) => !(i === 0 && a === '--'));
  const { values } = parseArgs({
    args,
    options: {
      inflight: { type: 'string', default: DEFAULT_INFLIGHT.join(',') },
      duration: { type: 'string', default: String(DEFAULT_DURATION_MS) },
      warmup: { type: 'string', default: String(DEFAULT_WARMUP_MS) },
      payload: { type: 'string', default: String(DEFAULT_PAYLOAD_BYTES) },
      json: { type: 'string' },
    },
  });
  const inflights = values.inflight.split(',').map((s) => parseCount(s.trim(), 'inflight'));
  const durationMs = parseCount(values.duration, 'duration');
  const warmupMs = parseCount(values.warmup, 'warmup');
  const payloadBytes = parseCount(values.payload, 'payload');

  console.log(
    `@tsetcd/raft bench — 3 nodes in one process, no I/O, ${payloadBytes}-byte proposals, ` +
      `closed loop on the leader (node ${process.version}, warm-up ${warmupMs} ms, ${durationMs} ms each)\n`,
  );
  const results: BenchResult[] = [];
  for (const k of inflights) results.push(runBench(k, payloadBytes, warmupMs, durationMs));
  console.log(formatTable(results));

  const atTarget = results.find((r) => r.inflight === 1024);
  if (atTarget !== undefined) {
    const ok = atTarget.proposalsPerSec >= TARGET_PROPOSALS_PER_SEC;
    console.log(
      `\ntarget: >= ${TARGET_PROPOSALS_PER_SEC.toLocaleString('en-US')} proposals/s at 1024 in flight — ` +
        `${ok ? 'met' : 'NOT met'} (${Math.round(atTarget.proposalsPerSec).toLocaleString('en-US')})`,
    );
  }
  if (values.json !== undefined) {
    const report = {
      bench: '@tsetcd/raft 3-node in-process closed loop',
      node: process.version,
      warmupMs,
      durationMs,
      targetProposalsPerSec: TARGET_PROPOSALS_PER_SEC,
      results,
    };
    // Printed, not written: nothing in packages/raft touches the file system.
    console.log(`${values.json}: ${JSON.stringify(report)}`);
  }
}

// A bad flag is a one-line message and exit status 2, not a stack trace; other errors stay loud.
try {
  main();
} catch (e) {
  if ((e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS_') !== true) throw e;
  console.error(`bench: ${(e as Error).message}`);
  process.exitCode = 2;
}
