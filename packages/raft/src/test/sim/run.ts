/**
 * One simulation run, from a seed to a verdict:
 *   1. chaotic phase: `steps` steps of faults, client traffic and membership changes;
 *   2. settle phase: heal every link, calm the network, restart every crashed node, stop the
 *      operator (removed nodes are stopped), and run until a leader exists and every member has
 *      applied everything it committed — or fail `liveness`;
 *   3. liveness probe: a fresh proposal at the leader must be applied by every member within a
 *      bounded number of steps;
 *   4. durability: every proposal acknowledged during the run is applied on every member.
 * Any violation (or any unexpected exception) becomes a SimFailure whose message starts with
 * `seed N:` and ends with the trace tail; the same seed replays the same run exactly.
 */

import { CALM_NETWORK, Cluster } from './cluster.js';
import { Faults } from './faults.js';
import { Membership } from './membership.js';
import { chooseOptions, describeOptions, type SimOptions, type SimOverrides } from './options.js';
import type { SimNode } from './sim-node.js';
import { DEFAULT_TRACE_TAIL, Trace, type TraceSink } from './trace.js';
import { InvariantViolation, SimFailure, violation } from './violation.js';
import { Workload } from './workload.js';

/** Most steps the settle phase may take to converge after healing. */
export const SETTLE_STEPS = 5000;
/** Most steps a fresh proposal may take to be applied everywhere once the cluster has settled. */
export const PROBE_STEPS = 1000;
/** Steps the probe waits for one proposal before making another. */
const PROBE_RETRY_STEPS = 200;

/** How to run one seed. */
export interface RunOptions extends SimOverrides {
  readonly seed: number;
  readonly steps: number;
  /** Receives every trace line (sim-cli --trace). */
  readonly sink?: TraceSink;
  /** Compute a hash of the full trace (determinism test). */
  readonly hashTrace?: boolean;
  /** Trace lines in a failure report. */
  readonly tail?: number;
}

/** What a successful run did. */
export interface RunResult {
  readonly seed: number;
  readonly options: SimOptions;
  /** Hash of the full trace, if `hashTrace` was set. */
  readonly traceHash: string;
  /** Steps taken in total, including the settle phase. */
  readonly totalSteps: number;
  readonly stats: RunStats;
}

/** Counters over a run, to show what the seeds exercised. */
export interface RunStats {
  readonly leaderTerms: number;
  readonly committed: number;
  readonly acknowledged: number;
  readonly proposed: number;
  readonly crashes: number;
  readonly partitions: number;
  readonly snapshotsInstalled: number;
  readonly snapshotsTaken: number;
  readonly confChanges: number;
  readonly decommissioned: number;
  readonly transfers: number;
  readonly reads: number;
  readonly delivered: number;
  readonly lost: number;
}

/** Runs one seed; throws SimFailure on any violation. */
export function runSeed(o: RunOptions): RunResult {
  const options = chooseOptions(o.seed, o.steps, o);
  const trace = new Trace({
    keep: o.tail ?? DEFAULT_TRACE_TAIL,
    ...(o.sink !== undefined ? { sink: o.sink } : {}),
    ...(o.hashTrace === true ? { hashing: true } : {}),
  });
  trace.add(() => `options ${describeOptions(options)}`);
  let cluster: Cluster | undefined;
  try {
    cluster = new Cluster(options, trace);
    const faults = new Faults(cluster);
    const workload = new Workload(cluster);
    const membership = new Membership(cluster);
    for (let i = 0; i < options.steps; i++) {
      cluster.beginStep();
      faults.step();
      workload.step();
      membership.step(true);
      cluster.advance(options.host.hostRate);
    }
    settle(cluster, faults, membership);
    probe(cluster, workload, membership);
    checkAcknowledged(cluster);
    return {
      seed: o.seed,
      options,
      traceHash: trace.hash(),
      totalSteps: cluster.now,
      stats: collectStats(cluster, faults, workload, membership),
    };
  } catch (err) {
    const step = cluster?.now ?? 0;
    const replay =
      `--seed ${o.seed} --steps ${o.steps}` +
      (o.nodes !== undefined ? ` --nodes ${o.nodes}` : '') +
      (o.mutant !== undefined && o.mutant !== 'none' ? ` --mutant ${o.mutant}` : '');
    if (err instanceof InvariantViolation) {
      throw new SimFailure(o.seed, err.invariant, err.detail, step, trace.tail(), replay);
    }
    const detail = err instanceof Error ? (err.stack ?? err.message) : String(err);
    throw new SimFailure(o.seed, 'exception', detail, step, trace.tail(), replay);
  }
}

// Heal, restart, calm down, and wait until the members agree on everything committed.
function settle(c: Cluster, faults: Faults, membership: Membership): void {
  c.trace.add(() => 'SETTLE: heal, restart all, calm network');
  faults.healAll();
  c.net.settings = CALM_NETWORK;
  for (let i = 0; i < SETTLE_STEPS; i++) {
    calmStep(c, membership);
    if (converged(c) !== undefined) return;
  }
  violation(
    'liveness',
    `no stable leader with all members caught up ${SETTLE_STEPS} steps after healing: ${summary(c)}`,
  );
}

// A fresh proposal must reach every member's state machine. A proposal can still be lost to a
// leader change, so a new one is made every PROBE_RETRY_STEPS until one commits.
function probe(c: Cluster, workload: Workload, membership: Membership): void {
  const payloads: string[] = [];
  let lastTry = -PROBE_RETRY_STEPS;
  for (let i = 0; i < PROBE_STEPS; i++) {
    const leader = converged(c);
    if (leader !== undefined && i - lastTry >= PROBE_RETRY_STEPS) {
      const payload = `final-${workload.nextPayload()}`;
      if (c.propose(leader, payload)) {
        payloads.push(payload);
        lastTry = i;
      }
    }
    calmStep(c, membership);
    for (const payload of payloads) {
      const index = c.history.acknowledged.get(payload);
      if (index === undefined) continue;
      const now = converged(c);
      if (now !== undefined && membersOf(c, now).every((n) => n.appliedIndex >= index)) return;
    }
  }
  violation(
    'liveness',
    `no fresh proposal was applied on every member within ${PROBE_STEPS} steps: ${summary(c)}`,
  );
}

// Every acknowledged proposal is applied on every member, in the same state machine.
function checkAcknowledged(c: Cluster): void {
  const leader = converged(c);
  if (leader === undefined)
    violation('liveness', `the cluster lost its leader after the probe: ${summary(c)}`);
  const members = membersOf(c, leader);
  for (const [payload, index] of c.history.acknowledged) {
    for (const n of members) {
      if (n.appliedIndex < index) {
        violation(
          'acknowledged proposal lost',
          `"${payload}" was applied at ${index}, but member n${n.id} stopped at ${n.appliedIndex}`,
        );
      }
    }
    const rec = c.history.appliedAt(index);
    if (rec?.key !== payload)
      violation('acknowledged proposal lost', `"${payload}" is no longer at ${index}`);
  }
  const digests = new Set(members.map((n) => n.digest));
  if (digests.size !== 1) {
    violation(
      'state machine safety',
      `members at the same applied index have different states: ${summary(c)}`,
    );
  }
}

function calmStep(c: Cluster, membership: Membership): void {
  c.beginStep();
  membership.step(false);
  c.advance(1);
}

// The leader, if the cluster is quiet: it leads, is a voter of a non-joint membership, has
// committed its whole log, and every member has applied exactly that far.
function converged(c: Cluster): SimNode | undefined {
  const leader = c.leader();
  if (leader === undefined) return undefined;
  const st = leader.node.status();
  if (st.committed !== st.lastIndex) return undefined;
  const cs = leader.confState;
  if (cs.votersOutgoing.length > 0 || !cs.voters.includes(leader.id)) return undefined;
  for (const id of [...cs.voters, ...cs.learners]) {
    const n = c.nodes.get(id);
    if (n === undefined || !n.up || n.appliedIndex !== st.committed) return undefined;
  }
  return leader;
}

function membersOf(c: Cluster, leader: SimNode): SimNode[] {
  const cs = leader.confState;
  return [...cs.voters, ...cs.learners].map((id) => c.nodes.get(id)!);
}

// One line per node, for liveness failures.
function summary(c: Cluster): string {
  const parts: string[] = [];
  for (const n of c.nodes.values()) {
    if (n.decommissioned) {
      parts.push(`n${n.id} decommissioned`);
      continue;
    }
    if (!n.up) {
      parts.push(`n${n.id} down`);
      continue;
    }
    const st = n.node.status();
    const cs = n.confState;
    parts.push(
      `n${n.id} ${st.softState.raftState} t${st.hardState.term} lead ${st.softState.lead} ` +
        `commit ${st.committed} last ${st.lastIndex} applied ${n.appliedIndex} ` +
        `v[${cs.voters.join(',')}] l[${cs.learners.join(',')}]${cs.votersOutgoing.length > 0 ? ' joint' : ''}`,
    );
  }
  return `\n  ${parts.join('\n  ')}`;
}

function collectStats(c: Cluster, faults: Faults, workload: Workload, membership: Membership): RunStats {
  let snapshotsInstalled = 0;
  let snapshotsTaken = 0;
  for (const n of c.nodes.values()) {
    snapshotsInstalled += n.stats.snapshotsInstalled;
    snapshotsTaken += n.stats.snapshotsTaken;
  }
  return {
    leaderTerms: c.history.leaderTerms,
    committed: c.history.maxApplied,
    acknowledged: c.history.acknowledged.size,
    proposed: workload.stats.proposed,
    crashes: faults.stats.crashes,
    partitions: faults.stats.partitions,
    snapshotsInstalled,
    snapshotsTaken,
    confChanges: membership.stats.changes,
    decommissioned: membership.stats.decommissioned,
    transfers: workload.stats.transfers,
    reads: workload.stats.reads,
    delivered: c.delivered,
    lost: c.lost.partition + c.lost.dropped + c.lost.down,
  };
}
