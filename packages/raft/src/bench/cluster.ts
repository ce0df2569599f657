/**
 * BenchCluster: three RawNodes over MemoryStorage in one process, joined by in-memory inboxes and
 * driven round by round by a plain loop — no timers, no promises, no I/O, no ticks. It measures
 * the raft package and the bare minimum a host must do around it, nothing else.
 *
 * One round:
 *   1. Every node with a Ready handles it as ready.ts prescribes: deliver `rd.messages` to the
 *      inboxes; persist `rd.snapshot`, `rd.entries`, `rd.hardState` into its MemoryStorage; deliver
 *      `rd.persistedMessages`; apply `rd.committedEntries` (the state machine only counts them);
 *      `advance()`; and, like etcd's server, snapshot + compact the storage every so often so a
 *      long run does not keep the whole log in memory.
 *   2. Every node steps the messages delivered to it during step 1, in arrival order.
 * The caller proposes between rounds. A message sent in round r is stepped in round r, so a
 * proposal made before round r is applied on the leader in round r+2: the leader's MsgApp leaves
 * in r, the followers' MsgAppResp in r+1 (after persisting), the leader applies in r+2.
 *
 * Not part of the package's public API (src/index.ts does not export it).
 */

import { MemoryStorage } from '../memory-storage.js';
import type { Message } from '../messages.js';
import { RawNode } from '../raw-node.js';
import type { Ready } from '../ready.js';
import type { ConfState, Index, NodeId } from '../types.js';

/** Applied entries between two storage snapshots (etcd v3.6 default --snapshot-count). */
export const BENCH_SNAPSHOT_EVERY = 10_000;
/** Entries kept behind a storage snapshot so followers can catch up without one (etcd: 5000). */
export const BENCH_CATCH_UP_ENTRIES = 5_000;
/** Rounds allowed for the initial election before the bench gives up. */
const MAX_ELECTION_ROUNDS = 100;

const EMPTY = new Uint8Array(0);

/** One in-process host: its RawNode, its "disk" and its counters. */
interface BenchNode {
  readonly id: NodeId;
  readonly raw: RawNode;
  readonly storage: MemoryStorage;
  /** Index of the last entry applied. */
  applied: number;
  /** Index of the last storage snapshot. */
  snapshotIndex: number;
  confState: ConfState;
}

/** A 3-node cluster whose node 1 leads once `electLeader()` returns. */
export class BenchCluster {
  private readonly nodes: BenchNode[];
  /** inboxes[i] holds the messages for nodes[i] delivered in the current round. */
  private readonly inboxes: Message[][];
  /** Messages delivered so far, for messages-per-proposal figures. */
  messagesDelivered = 0;

  /** Creates three fresh nodes (IDs 1, 2, 3) that know each other as voters. */
  constructor(raftOptions: { readonly maxSizePerMsg?: number; readonly maxInflightMsgs?: number } = {}) {
    const voters: NodeId[] = [1n, 2n, 3n];
    this.nodes = voters.map((id) => {
      const storage = new MemoryStorage({ voters });
      const raw = new RawNode({ id, storage, ...raftOptions });
      return { id, raw, storage, applied: 0, snapshotIndex: 0, confState: storage.initialState().confState };
    });
    this.inboxes = voters.map(() => []);
  }

  /** Makes node 1 campaign and runs rounds until it leads and every node is idle. */
  electLeader(): void {
    const leader = this.nodes[0]!.raw;
    leader.campaign();
    for (let i = 0; i < MAX_ELECTION_ROUNDS; i++) {
      this.round();
      if (leader.status().softState.raftState === 'StateLeader' && this.idle()) return;
    }
    throw new Error('bench: node 1 did not become leader');
  }

  /** Proposes `data` on the leader (node 1). */
  propose(data: Uint8Array): void {
    this.nodes[0]!.raw.propose(data);
  }

  /** Runs one round (see the file comment); returns how many proposals the leader applied in it. */
  round(): number {
    const nodes = this.nodes;
    let leaderApplied = 0;
    for (let i = 0; i < nodes.length; i++) {
      const n = nodes[i]!;
      if (!n.raw.hasReady()) continue;
      const applied = this.handleReady(n, n.raw.ready());
      if (i === 0) leaderApplied = applied;
    }
    for (let i = 0; i < nodes.length; i++) {
      const inbox = this.inboxes[i]!;
      if (inbox.length === 0) continue;
      // A fresh array is cheaper than `inbox.length = 0`, a runtime call in V8.
      this.inboxes[i] = [];
      const raw = nodes[i]!.raw;
      for (let j = 0; j < inbox.length; j++) raw.step(inbox[j]!);
      this.messagesDelivered += inbox.length;
    }
    return leaderApplied;
  }

  /** Whether no node has pending work and no message is in flight. */
  idle(): boolean {
    for (let i = 0; i < this.nodes.length; i++) {
      if (this.nodes[i]!.raw.hasReady() || this.inboxes[i]!.length > 0) return false;
    }
    return true;
  }

  /** The applied index of every node, in ID order. */
  appliedIndexes(): number[] {
    return this.nodes.map((n) => n.applied);
  }

  /** Handles one Ready in the order ready.ts prescribes; returns the proposals (non-empty entries) applied. */
  private handleReady(n: BenchNode, rd: Ready): number {
    // 1. Send at once.
    this.deliver(rd.messages);
    // 2. Persist: snapshot, entries, hard state.
    if (rd.snapshot !== undefined) {
      n.storage.applySnapshot(rd.snapshot);
      n.applied = rd.snapshot.metadata.index;
      n.snapshotIndex = n.applied;
      n.confState = rd.snapshot.metadata.confState;
    }
    n.storage.append(rd.entries);
    if (rd.hardState !== undefined) n.storage.setHardState(rd.hardState);
    // 3. Send what promises durability.
    this.deliver(rd.persistedMessages);
    // 4. Apply.
    let proposals = 0;
    const ents = rd.committedEntries;
    for (let i = 0; i < ents.length; i++) {
      const e = ents[i]!;
      if (e.type === 'EntryConfChange') n.confState = n.raw.applyConfChange(e.change);
      else if (e.data.length > 0) proposals++;
    }
    const last = ents[ents.length - 1];
    if (last !== undefined) n.applied = last.index;
    // 6. Advance.
    n.raw.advance();
    if (n.applied - n.snapshotIndex >= BENCH_SNAPSHOT_EVERY) this.compact(n);
    return proposals;
  }

  private deliver(msgs: readonly Message[]): void {
    for (let i = 0; i < msgs.length; i++) {
      const m = msgs[i]!;
      this.inboxes[Number(m.to) - 1]!.push(m);
    }
  }

  /** Snapshots the (empty) state machine at the applied index and drops older entries. */
  private compact(n: BenchNode): void {
    n.storage.createSnapshot(n.applied as Index, n.confState, EMPTY);
    n.snapshotIndex = n.applied;
    const keepFrom = n.applied - BENCH_CATCH_UP_ENTRIES;
    if (keepFrom > n.storage.firstIndex()) n.storage.compact(keepFrom as Index);
  }
}
