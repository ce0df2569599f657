/**
 * createTestCluster: N members in one process on the in-memory network — the real engine as a
 * test double, and the harness our own multi-node tests use.
 *
 * Two ways to run time:
 * - deterministic (the default): a ManualClock and a manual network, driven by a small
 *   discrete-event loop — deliver every message due now; when nothing is due, jump the clock to
 *   the next timer or message. Virtual time only moves when the cluster is idle, so a test runs
 *   as fast as the CPU allows and the same seed replays the same run (in memory; with `dataDir`
 *   real disk I/O interleaves, so only the outcome, not the schedule, is reproducible).
 * - with a clock you pass (`clock: systemClock`, or the system clock under vitest's fake timers):
 *   the network delivers by itself ('auto' mode) and timers are the clock's.
 *
 * Members can be partitioned, isolated, healed, crashed and restarted (restart needs `dataDir`
 * or `disk: 'simulated'`: an in-memory member has nothing to restart from).
 *
 * In deterministic mode each member runs on its own MemberClock over the virtual clock, so a test
 * can pause a member (a GC stall), jump its clock, or let clocks drift (`clockDrift`). With
 * `disk: 'simulated'` each member keeps its raft log and store on a SimDisk: a crash loses what was
 * not fsynced (and can tear the WAL's tail), all in virtual time and fully replayable.
 */

import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { type RandomSource, seededRandom } from '@tsetcd/raft';
import { MemoryNetwork, type TransportHandler } from '@tsetcd/transport';
import { type Clock, ManualClock } from '../clock.js';
import type { NodeConfigInput } from '../config.js';
import { createNode } from '../node/create-node.js';
import type { NodeLogger, TsetcdNode } from '../node/node.js';
import { MemberClock } from './member-clock.js';
import { type CrashReport, SimDisk } from './sim-disk.js';

/** Options of createTestCluster. */
export interface TestClusterOptions {
  /** Members (default 3). */
  readonly nodes?: number;
  /** Seeds the network's faults, raft's election jitter and lease IDs (default 1). */
  readonly seed?: number;
  /** A clock to run on (network in 'auto' mode); omitted = deterministic virtual time. */
  readonly clock?: Clock;
  /** Root directory: member `n<i>` keeps its data in `<dataDir>/n<i>`; omitted = in memory. */
  readonly dataDir?: string;
  /** Config applied to every member (name, peers and dataDir are the cluster's). */
  readonly config?: Omit<NodeConfigInput, 'name' | 'peers' | 'dataDir'>;
  /** Default: silent. */
  readonly logger?: NodeLogger;
  /** 'simulated': members keep their data on a SimDisk (deterministic mode only). */
  readonly disk?: 'simulated';
  /** Largest relative drift of a member's clock (0.02: rates 0.98–1.02); default 0. */
  readonly clockDrift?: number;
  /** fsync latency range of simulated disks, ms (default 1–4). */
  readonly fsyncMs?: readonly [number, number];
}

/** Heartbeat of test members, ms: elections take a few hundred ms of (virtual) time. */
export const TEST_HEARTBEAT_MS = 10;
/** Election timeout of test members, ms. */
export const TEST_ELECTION_MS = 100;

/** A cluster of in-process members; see the file comment. */
export class TestCluster implements AsyncDisposable {
  /** Members by index; undefined while crashed. */
  readonly members: (TsetcdNode | undefined)[];
  /** Member names by index (`n1`, `n2`, …); grows as members are added. */
  readonly names: string[];
  private driving: Promise<void> | undefined;
  /** Indexes of the initial members (restarted as 'new'; added ones restart as 'existing'). */
  private readonly started = new Set<number>();
  private closed = false;
  /** Per member (deterministic mode): its clock, which outlives its incarnations. */
  private readonly clocks: MemberClock[] = [];
  /** Per member with `disk: 'simulated'`. */
  readonly disks: SimDisk[] = [];
  /** Messages to a paused member, delivered when it resumes. */
  private readonly held: (() => void)[][] = [];
  private readonly resumeWaiters: (() => void)[][] = [];
  private readonly rand: RandomSource;

  private constructor(
    readonly network: MemoryNetwork,
    readonly clock: Clock,
    names: readonly string[],
    private readonly opts: TestClusterOptions,
  ) {
    this.names = [...names];
    this.members = names.map(() => undefined);
    this.rand = seededRandom(((opts.seed ?? 1) * 7919) | 0);
    if (opts.disk !== undefined && opts.clock !== undefined) {
      throw new TypeError('test cluster: a simulated disk needs deterministic mode (no clock option)');
    }
    if (opts.disk !== undefined && opts.dataDir !== undefined) {
      throw new TypeError('test cluster: disk and dataDir are mutually exclusive');
    }
  }

  /** Starts every member and (in deterministic mode) the event loop that drives them. */
  static async create(opts: TestClusterOptions = {}): Promise<TestCluster> {
    const n = opts.nodes ?? 3;
    if (!Number.isSafeInteger(n) || n < 1) throw new RangeError(`test cluster: nodes must be >= 1, got ${n}`);
    const seed = opts.seed ?? 1;
    const deterministic = opts.clock === undefined;
    const clock = opts.clock ?? new ManualClock();
    const network = new MemoryNetwork({
      seed,
      mode: deterministic ? 'manual' : 'auto',
      ...(deterministic ? {} : { clock: () => clock.now() }),
      logger: () => undefined,
    });
    const names = Array.from({ length: n }, (_, i) => `n${i + 1}`);
    const c = new TestCluster(network, clock, names, opts);
    if (deterministic) c.driving = c.drive(clock as ManualClock);
    for (let i = 0; i < n; i++) await c.start(i, 'new');
    return c;
  }

  /** The running member at `i`; throws if it is crashed. */
  node(i: number): TsetcdNode {
    const m = this.members[i];
    if (m === undefined) throw new Error(`test cluster: member ${i} (${this.names[i]}) is not running`);
    return m;
  }

  /** The running members. */
  running(): TsetcdNode[] {
    return this.members.filter((m): m is TsetcdNode => m !== undefined && !m.isClosed);
  }

  /** The member that is leader now, if one is (and every running member agrees it exists). */
  leader(): TsetcdNode | undefined {
    return this.running().find((m) => m.isLeader);
  }

  /** Index of a member. */
  indexOf(node: TsetcdNode): number {
    return this.members.indexOf(node);
  }

  /** Resolves with the leader once there is one that a majority of running members follow. */
  async waitForLeader(
    opts: { readonly timeoutMs?: number; readonly exclude?: TsetcdNode } = {},
  ): Promise<TsetcdNode> {
    const limit = this.clock.now() + (opts.timeoutMs ?? 30_000);
    for (;;) {
      const l = this.leader();
      if (l !== undefined && l !== opts.exclude) {
        const followers = this.running().filter((m) => m.leaderId === l.id).length;
        if (followers > this.names.length / 2) return l;
      }
      if (this.clock.now() > limit) throw new Error('test cluster: no leader elected in time');
      await this.sleep(TEST_HEARTBEAT_MS);
    }
  }

  /** Waits `ms` on the cluster's clock (virtual in deterministic mode). */
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.clock.setTimeout(resolve, ms));
  }

  /** Cuts links between the groups (member indexes), both ways, until heal(). */
  partition(...groups: readonly (readonly number[])[]): void {
    this.network.partition(...groups.map((g) => g.map((i) => this.idOf(i))));
  }

  /** Cuts member `i` off from the others until heal(). */
  isolate(i: number): void {
    this.network.isolate(this.idOf(i));
  }

  /** Restores every cut link. */
  heal(): void {
    this.network.heal();
  }

  /**
   * Stops member `i` abruptly: its messages in flight are lost; its data dir (if any) stays. On a
   * simulated disk the member is killed at once, losing what was not fsynced (`tear`: the WAL's
   * last record may be left half written); the report says what the crash took.
   */
  async crash(i: number, opts: { readonly tear?: boolean } = {}): Promise<CrashReport | undefined> {
    const m = this.node(i);
    this.members[i] = undefined;
    this.network.crash(m.id);
    this.held[i] = [];
    this.wakeWaiters(i);
    const disk = this.disks[i];
    if (disk === undefined) {
      await m.close();
      return undefined;
    }
    this.clocks[i]?.reset();
    const report = disk.crash(opts);
    await m.kill();
    return report;
  }

  /** The clock member `i` runs on (deterministic mode). */
  memberClock(i: number): MemberClock {
    const c = this.clocks[i];
    if (c === undefined)
      throw new Error(`test cluster: member ${i} has no member clock (not deterministic mode)`);
    return c;
  }

  /**
   * Freezes member `i` for `ms` of virtual time, as a GC pause or a stalled event loop would:
   * no timer of it runs and no message reaches it until then; afterwards everything due runs.
   */
  pause(i: number, ms: number): void {
    const clock = this.memberClock(i);
    if (clock.isPaused) return;
    clock.pause();
    this.clock.setTimeout(() => this.resume(i), ms);
  }

  /** Whether member `i` is frozen by `pause`. */
  isPaused(i: number): boolean {
    return this.clocks[i]?.isPaused ?? false;
  }

  /** Resolves when member `i` is not paused (at once if it is not). */
  whenResumed(i: number): Promise<void> {
    if (!this.isPaused(i)) return Promise.resolve();
    return new Promise((resolve) => {
      const waiters = this.resumeWaiters[i] ?? [];
      waiters.push(resolve);
      this.resumeWaiters[i] = waiters;
    });
  }

  /** Starts a crashed member again from its data dir or simulated disk. */
  async restart(i: number): Promise<TsetcdNode> {
    if (this.members[i] !== undefined) throw new Error(`test cluster: member ${i} is running`);
    if (this.opts.dataDir === undefined && this.disks[i] === undefined) {
      throw new Error(
        'test cluster: restart needs dataDir or a simulated disk (an in-memory member has nothing to restart from)',
      );
    }
    return this.start(i, this.started.has(i) ? 'new' : 'existing');
  }

  /**
   * Adds a member the way an operator does: `cluster.add` on the leader, then start the new member
   * with initialClusterState 'existing'. Returns its index.
   */
  async addMember(opts: { readonly isLearner?: boolean } = {}): Promise<number> {
    const i = this.names.length;
    const name = `n${i + 1}`;
    const leader = await this.waitForLeader();
    await leader.cluster.add([`mem://${name}`], opts);
    this.names.push(name);
    this.members.push(undefined);
    await this.start(i, 'existing');
    return i;
  }

  /** Stops every member and the driver. */
  async close(): Promise<void> {
    // Members first: on simulated disks their last flushes take virtual time, which the driver moves.
    for (let i = 0; i < this.members.length; i++) {
      const m = this.members[i];
      this.members[i] = undefined;
      if (this.isPaused(i)) this.resume(i);
      await m?.close();
    }
    this.closed = true;
    await this.driving;
    await this.network.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  private idOf(i: number): bigint {
    const m = this.members[i];
    if (m !== undefined) return m.id;
    throw new Error(`test cluster: member ${i} is not running`);
  }

  private resume(i: number): void {
    const clock = this.clocks[i];
    if (clock === undefined || !clock.isPaused) return;
    clock.resume();
    const held = this.held[i] ?? [];
    this.held[i] = [];
    for (const deliver of held) deliver();
    this.wakeWaiters(i);
  }

  private wakeWaiters(i: number): void {
    const waiters = this.resumeWaiters[i] ?? [];
    this.resumeWaiters[i] = [];
    for (const w of waiters) w();
  }

  /** Member `i`'s transport handler, holding what arrives while the member is paused. */
  private pausable(i: number, h: TransportHandler): TransportHandler {
    const hold = (deliver: () => void) => {
      if (!this.isPaused(i)) return deliver();
      const held = this.held[i] ?? [];
      held.push(deliver);
      this.held[i] = held;
    };
    return {
      onMessage: (m) => hold(() => h.onMessage(m)),
      onUnreachable: (p) => hold(() => h.onUnreachable(p)),
      onSnapshotStatus: (p, st) => hold(() => h.onSnapshotStatus(p, st)),
      onUnknownPeer: (p, url) => hold(() => h.onUnknownPeer?.(p, url)),
    };
  }

  /** Member `i`'s clock, made on first use (deterministic mode) with its drift. */
  private clockFor(i: number): Clock {
    if (!(this.clock instanceof ManualClock) || this.opts.clock !== undefined) return this.clock;
    let c = this.clocks[i];
    if (c === undefined) {
      const drift = this.opts.clockDrift ?? 0;
      const rate = drift === 0 ? 1 : 1 - drift + (2 * drift * this.rand(1_000_001)) / 1_000_000;
      c = new MemberClock(this.clock, rate);
      this.clocks[i] = c;
    }
    return c;
  }

  private diskFor(i: number, clock: Clock): SimDisk | undefined {
    if (this.opts.disk !== 'simulated') return undefined;
    let d = this.disks[i];
    if (d === undefined) {
      const seed = ((this.opts.seed ?? 1) * 31 + i * 7 + 3) | 0;
      d = new SimDisk({
        clock,
        rand: seededRandom(seed),
        ...(this.opts.fsyncMs ? { fsyncMs: this.opts.fsyncMs } : {}),
      });
      this.disks[i] = d;
    }
    return d;
  }

  private async start(i: number, state: 'new' | 'existing'): Promise<TsetcdNode> {
    const name = this.names[i]!;
    const peers = Object.fromEntries(this.names.map((n) => [n, `mem://${n}`]));
    let dataDir: string | undefined;
    if (this.opts.dataDir !== undefined) {
      dataDir = join(this.opts.dataDir, name);
      await mkdir(dataDir, { recursive: true });
    }
    const clock = this.clockFor(i);
    const disk = this.diskFor(i, clock);
    const incarnation = disk?.stats.crashes ?? 0;
    const node = await createNode(
      {
        heartbeatMs: TEST_HEARTBEAT_MS,
        electionMs: TEST_ELECTION_MS,
        ...this.opts.config,
        name,
        peers,
        initialClusterState: state,
        ...(dataDir !== undefined ? { dataDir } : {}),
      },
      {
        clock,
        seed: (this.opts.seed ?? 1) * 1000 + i + 100 * incarnation,
        transport: (id, handler) => this.network.join(id, this.pausable(i, handler), peers[name]),
        logger: this.opts.logger ?? (() => undefined),
        ...(disk !== undefined ? { storage: disk } : {}),
      },
    );
    this.members[i] = node;
    if (state === 'new') this.started.add(i);
    return node;
  }

  /**
   * The deterministic event loop: let pending callbacks run; deliver what is due; when nothing
   * is, move virtual time to the next timer or message.
   */
  private async drive(clock: ManualClock): Promise<void> {
    const net = this.network;
    while (!this.closed) {
      await new Promise<void>((r) => setImmediate(r));
      if (net.advance(0) > 0) continue;
      await new Promise<void>((r) => setImmediate(r));
      if (net.advance(0) > 0) continue;
      // Time stands still while a member waits on real I/O (with dataDir), as it would not on a
      // real machine where the fsync takes milliseconds and the clock only as many.
      if (this.opts.dataDir !== undefined && this.running().some((m) => m.busy)) continue;
      const nextMsg = net.pending().reduce((min, m) => Math.min(min, m.dueAt), Number.POSITIVE_INFINITY);
      const nextTimer = clock.nextDue() ?? Number.POSITIVE_INFINITY;
      const next = Math.min(nextMsg - net.now + clock.now(), nextTimer);
      if (!Number.isFinite(next)) continue;
      const delta = Math.max(0, next - clock.now());
      net.advance(delta);
      clock.advance(delta);
    }
  }
}

/** Starts a TestCluster; see TestCluster. */
export function createTestCluster(opts: TestClusterOptions = {}): Promise<TestCluster> {
  return TestCluster.create(opts);
}
