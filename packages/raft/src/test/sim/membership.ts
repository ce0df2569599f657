/**
 * The membership operator: one conf change at a time, chosen from the newest applied membership —
 * add a brand-new node as a learner, promote a learner, remove a learner or a voter, demote a
 * voter, or replace a voter by a learner in one joint change — keeping at least 3 voters.
 *
 * It proposes at the leader and remembers where the entry went (index, term). The change is done
 * when that exact entry is applied somewhere, and lost (so proposed again) only when something
 * else is applied at that index. Never re-proposing a change that might still commit keeps every
 * applied change one the operator meant, from the membership it was chosen from.
 *
 * A removed node keeps running for a while (it may not know it was removed) and is then
 * decommissioned: stopped for good, its ID never reused. A new node is started with an empty
 * disk when its addition is first proposed, and learns the membership from the leader's snapshot.
 */

import { ProposalDroppedError } from '../../errors.js';
import type { ConfChange, ConfChangeSingle, ConfChangeType, NodeId } from '../../types.js';
import type { Cluster } from './cluster.js';
import { describeConfChange } from './describe.js';

/** Fewest voters the operator keeps. */
export const MIN_VOTERS = 3;
/** Longest a removed node keeps running before it is stopped for good, in steps. */
export const MAX_DECOMMISSION_DELAY = 300;
/** Steps before retrying a proposal Raft refused (no leader, change pending, …). */
const RETRY_DROPPED_STEPS = 20;

interface Op {
  readonly name: string;
  readonly cc: ConfChange;
  /** A node to start before proposing (a new learner). */
  readonly adds?: NodeId;
  /** A node to decommission once the change is applied. */
  readonly removes?: NodeId;
}

interface Pending {
  readonly op: Op;
  /** Where the proposal went, once the leader accepted it. */
  at: { readonly index: number; readonly term: number } | undefined;
  retryAt: number;
}

function change(type: ConfChangeType, nodeId: NodeId): ConfChangeSingle {
  return { type, nodeId };
}

function confChange(...changes: ConfChangeSingle[]): ConfChange {
  return { transition: 'auto', changes, context: new Uint8Array(0) };
}

/** Drives membership changes on a cluster. */
export class Membership {
  private nextId: bigint;
  private pending: Pending | undefined;
  /** Index of the last change applied: the next one is chosen from a membership at least that new. */
  private lastDoneIndex = 0;
  private readonly decommissionAt = new Map<NodeId, number>();
  /** Counters for the run's statistics. */
  readonly stats = { changes: 0, lost: 0, refused: 0, decommissioned: 0 };

  constructor(private readonly c: Cluster) {
    this.nextId = BigInt(c.options.nodes + 1);
  }

  /** One step: decommission removed nodes whose time came, follow or start a change. */
  step(startNew: boolean): void {
    this.decommissionDue(!startNew);
    if (this.pending !== undefined) {
      this.follow(this.pending);
      return;
    }
    if (startNew && this.c.rng.chance(this.c.options.workload.confChangeRate)) {
      const op = this.choose();
      if (op !== undefined) {
        this.pending = { op, at: undefined, retryAt: this.c.now };
        this.c.trace.add(() => `operator wants ${op.name}: ${describeConfChange(op.cc)}`);
      }
    }
  }

  private follow(p: Pending): void {
    const { c } = this;
    if (p.at !== undefined) {
      const rec = c.history.appliedAt(p.at.index);
      if (rec === undefined) return;
      if (rec.term === p.at.term && rec.key === `cc:${describeConfChange(p.op.cc)}`) {
        this.done(p);
        return;
      }
      this.stats.lost++;
      const at = p.at;
      c.trace.add(() => `operator: ${p.op.name} at ${at.index}/${at.term} was lost, will retry`);
      p.at = undefined;
      p.retryAt = c.now;
    }
    if (c.now < p.retryAt) return;
    const leader = c.leader();
    if (leader === undefined) {
      p.retryAt = c.now + RETRY_DROPPED_STEPS;
      return;
    }
    if (p.op.adds !== undefined && !c.nodes.has(p.op.adds)) c.addNode(p.op.adds);
    try {
      leader.node.proposeConfChange(p.op.cc);
    } catch (err) {
      if (!(err instanceof ProposalDroppedError)) throw err;
      this.stats.refused++;
      p.retryAt = c.now + RETRY_DROPPED_STEPS;
      c.trace.add(() => `operator: n${leader.id} refused ${p.op.name} (${err.reason})`);
      return;
    }
    const st = leader.node.status();
    const at = { index: st.lastIndex, term: st.hardState.term };
    p.at = at;
    c.trace.add(() => `operator proposed ${p.op.name} at n${leader.id} → ${at.index}/${at.term}`);
  }

  private done(p: Pending): void {
    const { c } = this;
    this.pending = undefined;
    this.lastDoneIndex = p.at?.index ?? this.lastDoneIndex;
    this.stats.changes++;
    c.trace.add(() => `operator: ${p.op.name} applied`);
    const gone = p.op.removes;
    if (gone !== undefined) this.decommissionAt.set(gone, c.now + c.rng.between(0, MAX_DECOMMISSION_DELAY));
  }

  private decommissionDue(all: boolean): void {
    for (const [id, at] of this.decommissionAt) {
      if (!all && at > this.c.now) continue;
      this.decommissionAt.delete(id);
      const n = this.c.nodes.get(id);
      if (n === undefined || n.decommissioned) continue;
      if (n.up) n.crash();
      n.decommissioned = true;
      n.restartAt = -1;
      this.stats.decommissioned++;
      this.c.trace.add(() => `DECOMMISSION n${id}`);
    }
  }

  private choose(): Op | undefined {
    const { c } = this;
    const newest = c.mostAdvanced();
    if (newest === undefined || newest.appliedIndex < this.lastDoneIndex) return undefined;
    const cs = newest.confState;
    if (cs.votersOutgoing.length > 0) return undefined; // still joint: wait for the auto-leave
    const voters = cs.voters;
    const learners = cs.learners;
    const ops: Op[] = [];
    if (learners.length > 0) {
      const l = c.rng.pick(learners);
      ops.push(
        { name: `promote n${l}`, cc: confChange(change('ConfChangeAddNode', l)) },
        { name: `promote n${l}`, cc: confChange(change('ConfChangeAddNode', l)) },
        { name: `remove learner n${l}`, cc: confChange(change('ConfChangeRemoveNode', l)), removes: l },
      );
      if (voters.length >= MIN_VOTERS) {
        const v = c.rng.pick(voters);
        ops.push({
          name: `replace n${v} by n${l}`,
          cc: confChange(change('ConfChangeAddNode', l), change('ConfChangeRemoveNode', v)),
          removes: v,
        });
      }
    } else if (voters.length <= c.options.nodes && this.votersCompacted(voters)) {
      const id = this.nextId;
      ops.push({
        name: `add learner n${id}`,
        cc: confChange(change('ConfChangeAddLearnerNode', id)),
        adds: id,
      });
    }
    if (voters.length > MIN_VOTERS) {
      const v = c.rng.pick(voters);
      ops.push({ name: `remove voter n${v}`, cc: confChange(change('ConfChangeRemoveNode', v)), removes: v });
      const d = c.rng.pick(voters);
      ops.push({ name: `demote n${d}`, cc: confChange(change('ConfChangeAddLearnerNode', d)) });
    }
    if (ops.length === 0) return undefined;
    const op = c.rng.pick(ops);
    if (op.adds !== undefined) this.nextId++;
    return op;
  }

  // A new node can learn the bootstrap membership (snapshot metadata at index 0) only from a
  // snapshot, so it may join only once no voter could send it the log from index 1 instead.
  private votersCompacted(voters: readonly NodeId[]): boolean {
    for (const id of voters) {
      const n = this.c.nodes.get(id);
      if (n !== undefined && n.disk.firstIndex() <= 1) return false;
    }
    return true;
  }
}
