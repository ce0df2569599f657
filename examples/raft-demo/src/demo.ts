/**
 * The demo's script: elect a leader, commit a few writes, crash the leader, watch the other two
 * elect a new one and keep committing, restart the crashed node and watch it replay its own log
 * and catch up from the leader, then check that every node applied exactly the same entries.
 *
 * Deterministic: the simulated clock and Raft's seeded election jitter give the same run, and the
 * same output, every time. main.ts prints it; main.test.ts asserts on the result.
 */

import type { NodeId } from '@tsetcd/raft';
import { type AppliedEntry, DemoCluster, type LeaderElected, type Logger, TICK_MS } from './cluster.js';
import { encodeCommand } from './kv.js';

/** Ticks any single step of the script may take before the demo declares itself failed. */
const MAX_TICKS_PER_STEP = 100;

/** What one node ended up with. */
export interface NodeOutcome {
  readonly id: NodeId;
  readonly appliedIndex: number;
  readonly entries: readonly AppliedEntry[];
  readonly kv: Readonly<Record<string, string>>;
}

/** The demo's final state, for main.ts's exit code and for the test. */
export interface DemoResult {
  /** Every leader elected, in order. */
  readonly leaders: readonly LeaderElected[];
  /** The leader that was crashed and later restarted. */
  readonly crashed: NodeId;
  readonly nodes: readonly NodeOutcome[];
  /** Every node applied the same entries and holds the same state. */
  readonly consistent: boolean;
}

/** Runs the whole scenario, writing its story to `log`. */
export function runDemo({ log }: { readonly log: Logger }): DemoResult {
  const ids: NodeId[] = [1n, 2n, 3n];
  const c = new DemoCluster(ids, log);
  const write = (command: string) => {
    const leader = c.propose(command, encodeCommand(command));
    c.runUntil(
      () => c.node(leader).applied.some((e) => e.command === command),
      MAX_TICKS_PER_STEP,
      `commit of "${command}"`,
    );
  };
  const allApplied = (index: number) => c.nodes.every((n) => n.raw === undefined || n.appliedIndex >= index);

  log('A 3-node Raft cluster in one process: in-memory network, simulated clock (1 tick = 100 ms),');
  log('election timeout 1–2 s, heartbeat 0.1 s, pre-vote and check-quorum on.');
  log('');
  c.say(`starting nodes ${ids.join(', ')}`);
  c.runUntil(() => c.leader() !== undefined, MAX_TICKS_PER_STEP, 'the first election');
  const first = c.leader()!;
  c.runUntil(() => first.appliedIndex > 0, MAX_TICKS_PER_STEP, 'the first commit');

  for (const cmd of ['set x=1', 'set y=2', 'set x=3']) write(cmd);
  c.runUntil(() => allApplied(first.appliedIndex), MAX_TICKS_PER_STEP, 'replication to every node');
  c.say(`  all 3 nodes applied up to index ${first.appliedIndex}: ${first.kv.describe()}`);

  log('');
  c.say(`✗ crashing leader ${first.id} (its MemoryStorage survives, as a disk would)`);
  const crashedAt = c.now;
  c.crash(first);
  c.runUntil(() => c.leader() !== undefined, MAX_TICKS_PER_STEP, 're-election after the crash');
  const second = c.leader()!;
  c.say(`  the cluster was without a leader for ${(((c.now - crashedAt) * TICK_MS) / 1000).toFixed(1)} s`);
  c.runUntil(
    () => second.appliedIndex > first.storage.lastIndex(),
    MAX_TICKS_PER_STEP,
    'the new leader commit',
  );

  for (const cmd of ['set z=4', 'del y', 'set x=5']) write(cmd);
  c.say(`  2 of 3 nodes are a majority: committing without node ${first.id}`);

  log('');
  c.restart(first);
  c.runUntil(
    () => first.appliedIndex >= second.appliedIndex,
    MAX_TICKS_PER_STEP,
    `catch-up of node ${first.id}`,
  );
  first.narrateUpTo = 0;
  c.say(`  node ${first.id} caught up: applied index ${first.appliedIndex}, ${first.kv.describe()}`);
  write('set done=yes');
  c.runUntil(() => allApplied(second.appliedIndex), MAX_TICKS_PER_STEP, 'the final replication');

  return summarize(c, first.id, log);
}

/** Prints every node's final state and checks they all applied the same entries. */
function summarize(c: DemoCluster, crashed: NodeId, log: Logger): DemoResult {
  const nodes: NodeOutcome[] = c.nodes.map((n) => ({
    id: n.id,
    appliedIndex: n.appliedIndex,
    entries: n.applied,
    kv: n.kv.toObject(),
  }));
  log('');
  log('Summary');
  for (const n of c.nodes) {
    const role = n.role === 'StateLeader' ? 'leader  ' : 'follower';
    log(
      `  node ${n.id}  ${role}  applied ${n.applied.length} entries (1–${n.appliedIndex})  ${n.kv.describe()}`,
    );
  }
  const reference = JSON.stringify(nodes[0]!.entries);
  const sameEntries = nodes.every((n) => JSON.stringify(n.entries) === reference);
  const sameState = nodes.every((n) => JSON.stringify(n.kv) === JSON.stringify(nodes[0]!.kv));
  const gapless = nodes[0]!.entries.every((e, i) => e.index === i + 1);
  const consistent = sameEntries && sameState && gapless && nodes[0]!.entries.length > 0;
  const leaders = c.leaders.map((l) => `node ${l.id} (term ${l.term})`).join(', then ');
  log(`  leaders: ${leaders}`);
  if (consistent) {
    log(`✓ every node applied the same ${nodes[0]!.entries.length} entries and holds the same state`);
  } else {
    log('✗ the nodes DISAGREE: the demo failed its consistency check');
  }
  return { leaders: c.leaders, crashed, nodes, consistent };
}
