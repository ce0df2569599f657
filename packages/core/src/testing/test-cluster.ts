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
 * Members can be partitioned, isolated, healed, crashed and restarted (restart needs `dataDir`:
 * an in-memory member has nothing to restart from).
 */

import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { MemoryNetwork } from '@tsetcd/transport';
import { type Clock, ManualClock } from '../clock.js';
import type { NodeConfigInput } from '../config.js';
import { createNode } from '../node/create-node.js';
import type { NodeLogger, TsetcdNode } from '../node/node.js';

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

  private constructor(
    readonly network: MemoryNetwork,
    readonly clock: Clock,
    names: readonly string[],
    private readonly opts: TestClusterOptions,
  ) {
    this.names = [...names];
    this.members = names.map(() => undefined);
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

  /** Stops member `i` abruptly: its messages in flight are lost; its data dir (if any) stays. */
  async crash(i: number): Promise<void> {
    const m = this.node(i);
    this.members[i] = undefined;
    this.network.crash(m.id);
    await m.close();
  }

  /** Starts a crashed member again from its data dir. */
  async restart(i: number): Promise<TsetcdNode> {
    if (this.members[i] !== undefined) throw new Error(`test cluster: member ${i} is running`);
    if (this.opts.dataDir === undefined) {
      throw new Error(
        'test cluster: restart needs dataDir (an in-memory member has nothing to restart from)',
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
    this.closed = true;
    for (let i = 0; i < this.members.length; i++) {
      const m = this.members[i];
      this.members[i] = undefined;
      await m?.close();
    }
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

  private async start(i: number, state: 'new' | 'existing'): Promise<TsetcdNode> {
    const name = this.names[i]!;
    const peers = Object.fromEntries(this.names.map((n) => [n, `mem://${n}`]));
    let dataDir: string | undefined;
    if (this.opts.dataDir !== undefined) {
      dataDir = join(this.opts.dataDir, name);
      await mkdir(dataDir, { recursive: true });
    }
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
        clock: this.clock,
        seed: (this.opts.seed ?? 1) * 1000 + i,
        transport: (id, handler) => this.network.join(id, handler),
        logger: this.opts.logger ?? (() => undefined),
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
      if (this.running().some((m) => m.busy)) continue;
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
