/**
 * The threaded cluster: each of N @tsetcd/core members in its own worker thread
 * (member-worker.ts), over TCP on 127.0.0.1 with persistence on — three members on one machine
 * as a real deployment runs them, minus the process boundary. Each thread also runs its share of
 * the closed-loop clients (client w on member w mod N, as placement 'all'), calling its member
 * in-process. This thread only coordinates: it picks the ports and the tmp data root, waits for
 * a leader, asks for the preload, names one measured window (the same instant for every thread)
 * and merges what the threads measured.
 *
 * close() stops every thread (a thread that does not exit in time is terminated) and removes
 * the data root, also after a failure.
 */

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { freePorts } from '@tsetcd/core/testing';
import { LEADER_TIMEOUT_MS } from './cluster.js';
import { LatencySamples, threadCpuSeconds } from './stats.js';
import type {
  MemberAnswer,
  MemberEnvelope,
  MemberReplies,
  MemberRequest,
  MemberRunResult,
  MemberStatus,
  MemberWorkerData,
} from './thread-protocol.js';
import type { ClosedLoopResult, OpKind } from './workload.js';

/** How often the members are asked for their leader while waiting for one. */
const LEADER_POLL_MS = 20;
/** How long a member thread may take to close its node and exit before it is terminated. */
const CLOSE_TIMEOUT_MS = 10_000;
/**
 * Time between sending `run` and the earliest window start, so every thread has its clients
 * going before the warm-up counts (a thread's start-up is not warm-up).
 */
const RUN_START_MS = 50;

/** Options of startThreadedCluster. */
export interface ThreadedClusterOptions {
  readonly members: number;
  /** Seeds raft's election jitter (member i gets seed * 1000 + i, as in cluster.ts). */
  readonly seed: number;
  readonly keyCount: number;
}

/** One member thread's figures in a run. */
export interface ThreadFigures {
  readonly member: string;
  readonly leader: boolean;
  readonly clients: number;
  readonly ops: number;
  /** The thread's CPU seconds over the window's seconds (undefined off Linux). */
  readonly cpuPerWall: number | undefined;
  readonly eventLoopUtilization: number;
}

/** A threaded run: the merged figures plus each thread's. */
export interface ThreadedRunResult extends ClosedLoopResult {
  readonly leaderChanges: number;
  readonly threads: readonly ThreadFigures[];
  /** The coordinating thread's CPU over wall time in the window (it should be near 0). */
  readonly mainCpuPerWall: number | undefined;
}

/** A running threaded cluster; see the file comment. */
export interface ThreadedCluster {
  /** Waits until every member follows the same leader; answers its index. */
  waitForLeader(): Promise<number>;
  /** Writes every key once, each member its share, `concurrency` writers in all. */
  preload(concurrency: number): Promise<void>;
  /** Runs `concurrency` clients: `warmupMs` unmeasured, then the `durationMs` window. */
  run(
    op: OpKind,
    concurrency: number,
    warmupMs: number,
    durationMs: number,
    seed: number,
  ): Promise<ThreadedRunResult>;
  close(): Promise<void>;
}

/** Absolute ms, the same instant in every thread. */
const now = () => performance.timeOrigin + performance.now();

/** Starts the member threads (each creates its node at once) and waits for a leader. */
export async function startThreadedCluster(opts: ThreadedClusterOptions): Promise<ThreadedCluster> {
  const names = Array.from({ length: opts.members }, (_, i) => `n${i + 1}`);
  const dataRoot = await mkdtemp(join(tmpdir(), 'tsetcd-bench-threads-'));
  const threads: MemberThread[] = [];
  const close = async () => {
    await Promise.allSettled(threads.map((t) => t.close()));
    await rm(dataRoot, { recursive: true, force: true });
  };
  try {
    const ports = await freePorts(names.length);
    const peers = Object.fromEntries(names.map((n, i) => [n, `tcp://127.0.0.1:${ports[i]}`]));
    for (const [index, name] of names.entries()) {
      threads.push(
        new MemberThread({
          index,
          members: opts.members,
          name,
          peers,
          dataDir: join(dataRoot, name),
          seed: opts.seed * 1000 + index,
          keyCount: opts.keyCount,
        }),
      );
    }
    const cluster: ThreadedCluster = {
      waitForLeader: () => waitForLeader(threads),
      preload: async (concurrency) => {
        const each = Math.ceil(concurrency / threads.length);
        await Promise.all(threads.map((t) => t.call({ type: 'preload', concurrency: each })));
      },
      run: (op, concurrency, warmupMs, durationMs, seed) =>
        run(threads, op, concurrency, warmupMs, durationMs, seed),
      close,
    };
    await cluster.waitForLeader();
    return cluster;
  } catch (err) {
    await close();
    throw err;
  }
}

async function waitForLeader(threads: readonly MemberThread[]): Promise<number> {
  const deadline = performance.now() + LEADER_TIMEOUT_MS;
  for (;;) {
    const statuses: MemberStatus[] = await Promise.all(threads.map((t) => t.call({ type: 'status' })));
    const leader = statuses.findIndex((s) => s.isLeader);
    if (leader >= 0 && statuses.every((s) => s.leaderId === statuses[leader]!.id)) return leader;
    if (performance.now() > deadline) throw new Error('bench: the cluster elected no leader in time');
    await new Promise((r) => setTimeout(r, LEADER_POLL_MS));
  }
}

async function run(
  threads: readonly MemberThread[],
  op: OpKind,
  concurrency: number,
  warmupMs: number,
  durationMs: number,
  seed: number,
): Promise<ThreadedRunResult> {
  const windowStart = now() + RUN_START_MS + warmupMs;
  const windowEnd = windowStart + durationMs;
  const running = Promise.all(
    threads.map((t) => t.call({ type: 'run', op, concurrency, seed, windowStart, windowEnd })),
  );
  // A thread that fails early rejects `running` before the window: stop waiting for it then.
  const failed = running.then(
    () => new Promise<never>(() => undefined),
    (err: unknown) => Promise.reject(err),
  );
  await Promise.race([sleep(windowStart - now()), failed]);
  const cpuAtStart = process.cpuUsage();
  const mainAtStart = threadCpuSeconds();
  await Promise.race([sleep(windowEnd - now()), failed]);
  const cpu = process.cpuUsage(cpuAtStart);
  const mainAtEnd = threadCpuSeconds();
  const results: MemberRunResult[] = await running;

  const seconds = durationMs / 1000;
  const lat = new LatencySamples();
  for (const r of results) lat.recordAll(r.latencies);
  const ops = results.reduce((sum, r) => sum + r.ops, 0);
  return {
    ops,
    errors: results.reduce((sum, r) => sum + r.errors, 0),
    firstError: results.find((r) => r.firstError !== undefined)?.firstError,
    seconds,
    opsPerSec: ops / seconds,
    p50Ms: lat.quantile(0.5),
    p99Ms: lat.quantile(0.99),
    maxMs: lat.quantile(1),
    cpuPerWall: (cpu.user + cpu.system) / 1e6 / seconds,
    leaderChanges: results.reduce((sum, r) => sum + r.leaderChanges, 0),
    threads: results.map((r, i) => ({
      member: threads[i]!.name,
      leader: r.isLeader,
      clients: r.clients,
      ops: r.ops,
      cpuPerWall: r.cpuSeconds === undefined ? undefined : r.cpuSeconds / seconds,
      eventLoopUtilization: r.eventLoopUtilization,
    })),
    mainCpuPerWall:
      mainAtStart === undefined || mainAtEnd === undefined ? undefined : (mainAtEnd - mainAtStart) / seconds,
  };
}

/** A member thread and the requests it has yet to answer. */
class MemberThread {
  readonly name: string;
  private readonly worker: Worker;
  private seq = 0;
  private readonly pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  /** Why the thread can answer nothing more (it failed or exited); set once. */
  private failure: Error | undefined;
  private readonly exited: Promise<void>;

  constructor(data: MemberWorkerData) {
    this.name = data.name;
    this.worker = new Worker(new URL('./member-worker.js', import.meta.url), { workerData: data });
    this.worker.on('message', (m: MemberAnswer) => {
      const p = this.pending.get(m.seq);
      if (p === undefined) return;
      this.pending.delete(m.seq);
      if (m.ok) p.resolve(m.reply);
      else p.reject(new Error(`bench: member thread ${this.name}: ${m.error}`));
    });
    this.worker.on('error', (err) =>
      this.fail(new Error(`bench: member thread ${this.name} failed: ${err.stack}`)),
    );
    this.exited = new Promise((resolve) =>
      this.worker.once('exit', (code) => {
        this.fail(new Error(`bench: member thread ${this.name} exited (code ${code})`));
        resolve();
      }),
    );
  }

  /** Sends one request; resolves with its answer, rejects if the thread fails or exits first. */
  call<T extends MemberRequest['type']>(
    request: Extract<MemberRequest, { type: T }>,
  ): Promise<MemberReplies[T]> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    const seq = ++this.seq;
    return new Promise<MemberReplies[T]>((resolve, reject) => {
      this.pending.set(seq, { resolve: resolve as (v: unknown) => void, reject });
      const envelope: MemberEnvelope = { seq, request };
      this.worker.postMessage(envelope);
    });
  }

  /** Closes the node and waits for the thread to exit; terminates it if it does not in time. */
  async close(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((r) => {
      timer = setTimeout(() => r('timeout'), CLOSE_TIMEOUT_MS);
    });
    try {
      const closed = this.call({ type: 'close' }).then(
        () => this.exited,
        () => this.exited,
      );
      if ((await Promise.race([closed, timeout])) === 'timeout') {
        console.error(`bench: member thread ${this.name} did not exit in time; terminating it`);
        await this.worker.terminate();
      }
    } finally {
      clearTimeout(timer);
    }
  }

  private fail(err: Error): void {
    this.failure ??= err;
    for (const p of this.pending.values()) p.reject(this.failure);
    this.pending.clear();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, Math.max(0, ms)));
}
