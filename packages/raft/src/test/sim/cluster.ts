/**
 * The simulated cluster: the nodes, the network between them, and one simulation step. A step
 *   1. lets the fault injector, the clients and the membership operator act (chaotic phase only);
 *   2. delivers every message due now, in random order — or loses it (partition, random drop,
 *      receiver down) and, as a real transport would, reports a lost MsgSnap to its sender;
 *   3. visits the running nodes in random order; each may tick (its own clock, so clocks drift)
 *      and may advance its host loop by one stage.
 * Checks run inside the stages (see SimNode and History), so a violation surfaces in the step
 * that caused it. Everything random comes from one SimRandom seeded by the run's seed.
 */

import { ProposalDroppedError } from '../../errors.js';
import type { Message } from '../../messages.js';
import type { NodeId } from '../../types.js';
import { describeMessage } from './describe.js';
import { History } from './history.js';
import { type InFlight, Network } from './network.js';
import type { SimOptions } from './options.js';
import { deriveSeed, SimRandom } from './random.js';
import { type NodeContext, SimNode } from './sim-node.js';
import type { Trace } from './trace.js';

/** Network settings of the final phase: nothing lost or duplicated, little delay. */
export const CALM_NETWORK = { dropRate: 0, dupRate: 0, minDelay: 1, maxDelay: 2 } as const;

/** The nodes, the network and the step loop; shared by the fault, workload and membership drivers. */
export class Cluster implements NodeContext {
  readonly history = new History();
  readonly rng: SimRandom;
  readonly net: Network;
  /** Every node ever started, by ID (decommissioned ones stay, marked). */
  readonly nodes = new Map<NodeId, SimNode>();
  /** The current step number. */
  now = 0;
  /** Messages lost in transit, by cause, for the run's statistics. */
  readonly lost = { partition: 0, dropped: 0, down: 0 };
  /** Messages delivered. */
  delivered = 0;

  constructor(
    readonly options: SimOptions,
    readonly trace: Trace,
  ) {
    this.rng = new SimRandom(deriveSeed(options.seed, 0x5eed));
    this.net = new Network(options.net, new SimRandom(deriveSeed(options.seed, 0x0e7)));
    const voters: NodeId[] = [];
    for (let i = 1; i <= options.nodes; i++) voters.push(BigInt(i));
    for (const id of voters) this.nodes.set(id, new SimNode(id, this, voters));
    for (const n of this.nodes.values()) n.start();
  }

  /** NodeContext: queue a message on the network. */
  send(m: Message, senderIncarnation: number): void {
    const delays = this.net.send(m, senderIncarnation, this.now);
    this.trace.add(() => `send ${describeMessage(m)} +${delays.join('+')}`);
  }

  /** Starts a brand-new node with an empty disk (it learns the membership from a snapshot). */
  addNode(id: NodeId): SimNode {
    const n = new SimNode(id, this, undefined);
    this.nodes.set(id, n);
    n.start();
    return n;
  }

  /** Running nodes, in ID order. */
  upNodes(): SimNode[] {
    const out: SimNode[] = [];
    for (const n of this.nodes.values()) if (n.up) out.push(n);
    return out;
  }

  /** The running node that believes it leads the highest term, if any. */
  leader(): SimNode | undefined {
    let best: SimNode | undefined;
    let bestTerm = -1;
    for (const n of this.nodes.values()) {
      if (!n.up) continue;
      const st = n.node.status();
      if (st.softState.raftState === 'StateLeader' && st.hardState.term > bestTerm) {
        best = n;
        bestTerm = st.hardState.term;
      }
    }
    return best;
  }

  /** The running node whose state machine is furthest ahead (its membership is the newest known). */
  mostAdvanced(): SimNode | undefined {
    let best: SimNode | undefined;
    for (const n of this.nodes.values()) {
      if (n.up && (best === undefined || n.appliedIndex > best.appliedIndex)) best = n;
    }
    return best;
  }

  /** Proposes `payload` at node `n`; returns false if Raft dropped it. */
  propose(n: SimNode, payload: string): boolean {
    this.history.propose(payload);
    try {
      n.node.propose(new TextEncoder().encode(payload));
      this.trace.add(() => `client propose ${payload} at n${n.id}`);
      return true;
    } catch (err) {
      if (!(err instanceof ProposalDroppedError)) throw err;
      this.trace.add(() => `client propose ${payload} at n${n.id}: dropped (${err.reason})`);
      return false;
    }
  }

  /** Moves the clock to the next step. */
  beginStep(): void {
    this.now++;
    this.trace.step = this.now;
  }

  /** Delivers the messages due now, then lets every running node tick and run its host loop. */
  advance(hostRate: number): void {
    for (const f of this.net.due(this.now)) this.deliver(f);
    const order = this.rng.shuffle(this.upNodes());
    const { tickRate } = this.options.host;
    for (const n of order) {
      if (!n.up) continue;
      if (this.rng.chance(tickRate)) n.node.tick();
      if (this.rng.chance(hostRate)) n.hostStage();
    }
  }

  private deliver(f: InFlight): void {
    const m = f.msg;
    const to = this.nodes.get(m.to);
    let lost: keyof Cluster['lost'] | undefined;
    if (to === undefined || !to.up) lost = 'down';
    else if (this.net.isBlocked(m.from, m.to)) lost = 'partition';
    else if (this.rng.chance(this.net.settings.dropRate)) lost = 'dropped';
    const from = this.nodes.get(m.from);
    const sender = from?.up === true && from.incarnation === f.senderIncarnation ? from : undefined;
    if (lost !== undefined) {
      this.lost[lost]++;
      this.trace.add(() => `lost(${lost}) ${describeMessage(m)}`);
      if (sender === undefined) return;
      if (m.type === 'MsgSnap') {
        sender.node.reportSnapshot(m.to, 'SnapshotFailure');
        this.trace.add(() => `n${m.from} reportSnapshot(${m.to}, SnapshotFailure)`);
      } else if (this.rng.chance(this.options.faults.reportUnreachableRate)) {
        sender.node.reportUnreachable(m.to);
      }
      return;
    }
    this.delivered++;
    this.trace.add(() => `deliver ${f.duplicate ? '(dup) ' : ''}${describeMessage(m)}`);
    to!.node.step(m);
    if (m.type === 'MsgSnap' && sender !== undefined) sender.node.reportSnapshot(m.to, 'SnapshotFinish');
  }
}
