/**
 * runSimulation: one seeded run of whole tsetcd members — raft, WAL, store, leases, watches — on
 * the in-memory network, a virtual clock and simulated disks, under the faults of faults.ts, with
 * the clients of workload.ts and the watchers of watchers.ts. Afterwards it heals everything,
 * restarts every crashed member, lets the cluster settle and checks:
 *   1. the recorded history is linearizable (a timeout is 'unknown', reported as a failure);
 *   2. serializable reads never go backwards within a session and match the state at their
 *      revision;
 *   3. watch guarantees (watch-check.ts), and every acknowledged put is the event at its revision;
 *   4. the state the watch log implies equals the store's, and every member has the same hashKV
 *      at the final revision (no acknowledged write lost: the history's final reads, checked by 1);
 *   5. leases: no key attached to a lease that is gone, on any member; the keeper's lease did not
 *      expire while its keep-alives were acknowledged (workload.ts).
 * The same seed replays the same run.
 */

import { createTestCluster, TEST_ELECTION_MS } from '@tsetcd/core/testing';
import { seededRandom } from '@tsetcd/raft';
import { checkLinearizability } from '../linearizability.js';
import { Recorder } from '../recorder.js';
import { type FaultCounts, injectFaults, noFaults } from './faults.js';
import { type SimContext, sleep, text } from './sim-context.js';
import { checkWatches, type ObservedKv, type WatchCheckResult } from './watch-check.js';
import { observeKv, SimWatcher } from './watchers.js';
import { runClients, runKeeper, type SerializableRead, type WorkloadStats } from './workload.js';

/** Options of one run. */
export interface SimulationOptions {
  readonly seed: number;
  /** Members: 3 or 5 (default 3). */
  readonly nodes?: number;
  /** Client operations (default 1,000). */
  readonly operations?: number;
  /** Keys the clients use (default 6). */
  readonly keys?: number;
  /** Clients per member (default 2). */
  readonly clientsPerMember?: number;
  /** Time budget of the linearizability check, ms (default 20,000). */
  readonly checkTimeoutMs?: number;
  /** Receives a line per fault injected (with the virtual time): replaying a failing seed. */
  readonly trace?: (line: string) => void;
}

/** What one run did and found. */
export interface SimulationReport {
  readonly seed: number;
  readonly nodes: number;
  readonly operations: number;
  /** Operations in the checked history (recorded calls). */
  readonly historyOps: number;
  readonly ambiguous: number;
  readonly serializableReads: number;
  readonly watchEvents: number;
  readonly faults: FaultCounts;
  readonly crashes: number;
  readonly tornTails: number;
  readonly lostUnsyncedRecords: number;
  /** Snapshots members received from a leader and installed. */
  readonly snapshotInstalls: number;
  readonly finalRevision: number;
  readonly linearizable: 'ok' | 'illegal' | 'unknown';
  readonly violations: readonly string[];
  /** Virtual time the run took, ms. */
  readonly virtualMs: number;
}

/** Runs one simulation; see the file comment. */
export async function runSimulation(opts: SimulationOptions): Promise<SimulationReport> {
  const nodes = opts.nodes ?? 3;
  let snapshotInstalls = 0;
  const cluster = await createTestCluster({
    logger: (_level, message) => {
      if (message.startsWith('installed snapshot')) snapshotInstalls++;
    },
    nodes,
    seed: opts.seed,
    disk: 'simulated',
    clockDrift: 0.01,
    config: { snapshotCount: 100, snapshotCatchUpEntries: 20 },
  });
  const ctx: SimContext = {
    cluster,
    rand: seededRandom(opts.seed * 7 + 1),
    recorder: new Recorder({ now: () => cluster.clock.now() }),
    initial: Array.from({ length: nodes }, (_, i) => i),
    removed: new Set(),
    incarnation: new Array<number>(nodes).fill(0),
    clockJumps: [],
    done: false,
    violations: [],
    trace: opts.trace ?? (() => {}),
  };
  const faults = noFaults();
  const stats: WorkloadStats = { operations: 0, serializableReads: 0, keepAlives: 0, leaseExpiries: 0 };
  const reads: SerializableRead[] = [];
  let finalRevision = 0;
  let watch: WatchCheckResult | undefined;
  let linearizable: SimulationReport['linearizable'] = 'unknown';
  try {
    await cluster.waitForLeader();
    const watchers = ctx.initial.map((i) => new SimWatcher(ctx, i));
    for (const w of watchers) w.start();
    // A cluster that stops making progress (a member that cannot restart, say) is a finding,
    // not a hang: the workload gets a bound in virtual time.
    const limitMs = (opts.operations ?? 1_000) * 100;
    cluster.clock.setTimeout(() => {
      if (ctx.done) return;
      ctx.violations.push(
        `the workload did not finish within ${limitMs} ms of virtual time (${stats.operations} operations)`,
      );
      ctx.done = true;
    }, limitMs);
    const injecting = injectFaults(ctx, faults);
    const keeper = runKeeper(ctx, ctx.rand(nodes), 9_999, stats);
    await runClients(
      ctx,
      {
        clientsPerMember: opts.clientsPerMember ?? 2,
        operations: opts.operations ?? 1_000,
        keys: opts.keys ?? 6,
      },
      stats,
      reads,
    );
    ctx.done = true;
    await injecting;
    await keeper;
    finalRevision = await settle(ctx);
    // Final reads of every key on every member: a lost acknowledged write shows here.
    const keys = [...Array.from({ length: opts.keys ?? 6 }, (_, k) => `k${k}`)];
    for (const i of ctx.initial) {
      const rc = ctx.recorder.client(cluster.node(i), 50_000 + i);
      for (const k of keys) await rc.get(k).catch(() => undefined);
    }
    finalRevision = await settle(ctx);
    await waitForWatchers(ctx, watchers, finalRevision);
    for (const w of watchers) await w.stop();
    watch = checkWatches(
      watchers.map((w) => w.segments),
      finalRevision,
    );
    ctx.violations.push(...watch.violations);
    await checkStores(ctx, finalRevision, watch);
    checkSerializableReads(ctx, reads, watch);
    checkAcknowledgedWrites(ctx, watch);
    const lin = checkLinearizability(ctx.recorder.history, { timeoutMs: opts.checkTimeoutMs ?? 20_000 });
    linearizable = lin.result;
    if (lin.result === 'illegal') ctx.violations.push(`not linearizable:\n${lin.counterexample.text}`);
    if (lin.result === 'unknown') ctx.violations.push('linearizability check timed out (unknown)');
  } catch (err) {
    ctx.violations.push(`run failed: ${(err as Error).stack ?? err}`);
  } finally {
    ctx.done = true;
    await cluster.close().catch((err: unknown) => ctx.violations.push(`close: ${(err as Error).message}`));
  }
  const disks = cluster.disks;
  return {
    seed: opts.seed,
    nodes,
    operations: stats.operations,
    historyOps: ctx.recorder.history.length,
    ambiguous: ctx.recorder.history.filter((o) => o.return === undefined).length,
    serializableReads: stats.serializableReads,
    watchEvents: watch?.events ?? 0,
    faults,
    crashes: disks.reduce((s, d) => s + d.stats.crashes, 0),
    tornTails: disks.reduce((s, d) => s + d.stats.tornTails, 0),
    lostUnsyncedRecords: disks.reduce((s, d) => s + d.stats.lostRecords, 0),
    snapshotInstalls,
    finalRevision,
    linearizable,
    violations: ctx.violations,
    virtualMs: cluster.clock.now(),
  };
}

/**
 * Restarts crashed members, waits for a leader and for every member to apply everything, and
 * returns the final revision.
 */
async function settle(ctx: SimContext): Promise<number> {
  const c = ctx.cluster;
  c.heal();
  c.network.clearLinkFaults();
  for (const i of ctx.initial) {
    if (c.members[i] === undefined && !ctx.removed.has(i)) {
      ctx.incarnation[i] = (ctx.incarnation[i] ?? 0) + 1;
      await c.restart(i);
    }
  }
  for (const i of ctx.initial) await c.whenResumed(i);
  const leader = await c.waitForLeader({ timeoutMs: 60_000 });
  // A write through the leader (recorded: every write takes a revision the checker counts): the
  // revision every member must reach.
  const rc = ctx.recorder.client(leader, 60_000 + ctx.recorder.history.length);
  const rev = (await rc.put('settle', `${c.clock.now()}`)).header.revision;
  const deadline = c.clock.now() + 30_000;
  for (const i of ctx.initial) {
    for (;;) {
      const g = await c.node(i).kv.get('settle', { serializable: true });
      if (g.header.revision >= rev) break;
      if (c.clock.now() > deadline) throw new Error(`member ${i} did not catch up to revision ${rev}`);
      await sleep(ctx, 20);
    }
  }
  return rev;
}

async function waitForWatchers(ctx: SimContext, watchers: readonly SimWatcher[], rev: number): Promise<void> {
  const deadline = ctx.cluster.clock.now() + 20 * TEST_ELECTION_MS;
  while (watchers.some((w) => w.next <= rev) && ctx.cluster.clock.now() < deadline) await sleep(ctx, 20);
}

/** Check 4 and the lease part of 5. */
async function checkStores(ctx: SimContext, rev: number, watch: WatchCheckResult): Promise<void> {
  const c = ctx.cluster;
  const hashes = new Map<number, number>();
  for (const i of ctx.initial) {
    const m = c.node(i);
    hashes.set(i, (await m.maintenance.hashKV(rev)).hash);
    const all = await m.kv.get('\0', { fromKey: true, serializable: true });
    if (all.header.revision !== rev) {
      ctx.violations.push(`member ${i} is at revision ${all.header.revision}, not ${rev}`);
      continue;
    }
    if (watch.completeThrough >= rev) {
      const fromLog = [...watch.state.values()].sort((a, b) => (a.key < b.key ? -1 : 1));
      const got = all.kvs.map(observeKv);
      if (JSON.stringify(fromLog) !== JSON.stringify(got)) {
        ctx.violations.push(
          `member ${i}: store ${JSON.stringify(got)} differs from the watch log's ${JSON.stringify(fromLog)}`,
        );
      }
    }
    const leases = new Set((await m.lease.leases()).leases);
    for (const kv of all.kvs) {
      if (kv.lease !== 0n && !leases.has(kv.lease)) {
        ctx.violations.push(
          `member ${i}: key ${text(kv.key)} is attached to lease ${kv.lease}, which is gone`,
        );
      }
    }
  }
  if (new Set(hashes.values()).size > 1) {
    ctx.violations.push(`hashKV at revision ${rev} differs: ${JSON.stringify([...hashes])}`);
  }
}

/** Check 2. */
function checkSerializableReads(
  ctx: SimContext,
  reads: readonly SerializableRead[],
  watch: WatchCheckResult,
): void {
  const last = new Map<string, number>();
  for (const r of reads) {
    const before = last.get(r.session) ?? 0;
    if (r.revision < before) {
      ctx.violations.push(
        `serializable read went back from revision ${before} to ${r.revision} (${r.session})`,
      );
    }
    last.set(r.session, r.revision);
  }
  // Against the state at each read's revision, replaying the watch log in revision order.
  const sorted = reads
    .filter((r) => r.revision <= watch.completeThrough)
    .sort((a, b) => a.revision - b.revision);
  const state = new Map<string, ObservedKv>();
  let at = 1;
  for (const r of sorted) {
    while (at < r.revision) {
      at++;
      for (const e of watch.log.get(at) ?? []) {
        if (e.type === 'PUT') state.set(e.kv.key, e.kv);
        else state.delete(e.kv.key);
      }
    }
    const want = state.get(r.key);
    const got = r.kv === undefined ? undefined : text(r.kv.value);
    if (want?.value !== got || (r.kv !== undefined && r.kv.modRevision !== want?.modRevision)) {
      ctx.violations.push(
        `serializable read of ${r.key} at revision ${r.revision} saw ${got}, the state then was ${want?.value}`,
      );
    }
  }
}

/** Check 3's tie between the history and the watch log. */
function checkAcknowledgedWrites(ctx: SimContext, watch: WatchCheckResult): void {
  for (const op of ctx.recorder.history) {
    if (op.output?.type !== 'put' || op.input.type !== 'put') continue;
    const rev = op.output.revision;
    if (rev > watch.completeThrough) continue;
    const { key, value } = op.input;
    const found = (watch.log.get(rev) ?? []).some(
      (e) => e.type === 'PUT' && e.kv.key === key && e.kv.value === value,
    );
    if (!found)
      ctx.violations.push(`acknowledged put ${key}=${value} at revision ${rev} is not in the watch log`);
  }
}
