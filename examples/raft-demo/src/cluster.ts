/**
 * DemoCluster: Raft nodes in one process, each with its own MemoryStorage (its "disk", which
 * survives a crash) and KvStore, joined by an in-memory network and driven by a simulated clock.
 *
 * Time only moves when `tick()` is called (1 tick = 100 ms of simulated time); after every tick
 * and every proposal the cluster settles: each running node handles its Ready the way ready.ts
 * prescribes, and the network delivers everything sent, until nothing is left to do. The network
 * has no latency and loses nothing except messages to a crashed node. No timers, no promises.
 */

import {
  type Entry,
  MemoryStorage,
  type Message,
  NONE,
  type NodeId,
  RawNode,
  type Ready,
  type SoftState,
  type StateType,
} from '@tsetcd/raft';
import { decodeCommand, KvStore } from './kv.js';

/** Simulated milliseconds per tick. */
export const TICK_MS = 100;
/** Election timeout in ticks (Raft randomizes it to [10, 20) ticks, i.e. 1–2 s). */
export const ELECTION_TICK = 10;
/** Leader heartbeat interval in ticks. */
export const HEARTBEAT_TICK = 1;
/** Ready/deliver passes after which settling is declared stuck (a bug, never a slow network). */
const MAX_SETTLE_PASSES = 10_000;

/** Where the demo writes its human-readable lines. */
export type Logger = (line: string) => void;

/** One entry as a node applied it: what the final consistency check compares. */
export interface AppliedEntry {
  readonly index: number;
  readonly term: number;
  /** The command, or '' for a new leader's empty entry. */
  readonly command: string;
}

/** A leader as it was elected. */
export interface LeaderElected {
  readonly id: NodeId;
  readonly term: number;
  readonly tick: number;
}

/** One host: a RawNode while running, and what survives it. */
export class DemoNode {
  /** The persisted log and hard state; kept across crashes, as a disk would be. */
  readonly storage: MemoryStorage;
  /** The running Raft node; undefined while crashed. */
  raw: RawNode | undefined;
  /** The state machine, rebuilt from the log after a restart. */
  kv = new KvStore();
  /** Every entry applied since the last (re)start, in order. */
  applied: AppliedEntry[] = [];
  /** The role reported by the last Ready that carried a soft state. */
  role: StateType = 'StateFollower';
  /** After a restart: narrate the replay of entries up to this index, then the catch-up. */
  narrateUpTo = 0;

  constructor(
    readonly id: NodeId,
    voters: readonly NodeId[],
  ) {
    this.storage = new MemoryStorage({ voters });
  }

  /** The index of the last entry applied (0 if none). */
  get appliedIndex(): number {
    return this.applied[this.applied.length - 1]?.index ?? 0;
  }
}

/** A small cluster on a simulated clock; see the file comment. */
export class DemoCluster {
  /** Every node, running or crashed, in ID order. */
  readonly nodes: DemoNode[];
  /** Every leader elected, in order. */
  readonly leaders: LeaderElected[] = [];
  /** Simulated time, in ticks. */
  now = 0;
  private network: Message[] = [];

  /** Boots one node per ID, all voters of a brand-new cluster. */
  constructor(
    ids: readonly NodeId[],
    private readonly log: Logger,
  ) {
    this.nodes = ids.map((id) => new DemoNode(id, ids));
    for (const n of this.nodes) this.start(n);
  }

  /** Prints a line stamped with the simulated time. */
  say(line: string): void {
    this.log(`${`${((this.now * TICK_MS) / 1000).toFixed(1)}s`.padStart(6)}  ${line}`);
  }

  /** The node with this ID. */
  node(id: NodeId): DemoNode {
    const n = this.nodes.find((x) => x.id === id);
    if (n === undefined) throw new RangeError(`demo: no node ${id}`);
    return n;
  }

  /** The running node that currently believes it leads, if any. */
  leader(): DemoNode | undefined {
    return this.nodes.find((n) => n.raw !== undefined && n.role === 'StateLeader');
  }

  /** Advances the clock by one tick on every running node, then settles. */
  tick(): void {
    this.now++;
    for (const n of this.nodes) n.raw?.tick();
    this.settle();
  }

  /** Ticks until `done()` holds; throws after `maxTicks` (the demo's own liveness check). */
  runUntil(done: () => boolean, maxTicks: number, what: string): void {
    for (let i = 0; !done(); i++) {
      if (i === maxTicks) throw new Error(`demo: ${what} did not happen within ${maxTicks} ticks`);
      this.tick();
    }
  }

  /** Proposes `command` on the current leader and settles; returns the leader's ID. */
  propose(command: string, data: Uint8Array): NodeId {
    const leader = this.leader();
    if (leader?.raw === undefined) throw new Error('demo: no leader to propose to');
    this.say(`→ client: propose "${command}" to leader ${leader.id}`);
    leader.raw.propose(data);
    this.settle();
    return leader.id;
  }

  /** Kills a node: its RawNode, in-flight Ready and state machine are gone; its storage is not. */
  crash(n: DemoNode): void {
    n.raw = undefined;
    n.role = 'StateFollower';
    n.kv = new KvStore();
    n.applied = [];
  }

  /** Restarts a crashed node from its storage alone; it replays its committed log first. */
  restart(n: DemoNode): void {
    const { hardState } = n.storage.initialState();
    this.say(
      `↻ restarting node ${n.id} from its MemoryStorage: log 1–${n.storage.lastIndex()}, ` +
        `term ${hardState.term}, commit ${hardState.commit}`,
    );
    n.narrateUpTo = hardState.commit;
    this.start(n);
    this.settle();
  }

  private start(n: DemoNode): void {
    n.raw = new RawNode({
      id: n.id,
      storage: n.storage,
      electionTick: ELECTION_TICK,
      heartbeatTick: HEARTBEAT_TICK,
      // As etcd's server: a rejoining node cannot disrupt, a partitioned leader steps down.
      preVote: true,
      checkQuorum: true,
    });
  }

  /** Handles Readys and delivers messages until the cluster is quiet. */
  settle(): void {
    for (let pass = 0; pass < MAX_SETTLE_PASSES; pass++) {
      let busy = false;
      for (const n of this.nodes) {
        if (n.raw?.hasReady()) {
          this.handleReady(n, n.raw, n.raw.ready());
          busy = true;
        }
      }
      const inFlight = this.network;
      this.network = [];
      for (const m of inFlight) {
        // A crashed node's messages are lost on the wire.
        this.nodes.find((x) => x.id === m.to)?.raw?.step(m);
        busy = true;
      }
      if (!busy) return;
    }
    throw new Error('demo: the cluster never settled');
  }

  /** The host's half of the Ready contract (ready.ts), step by step. */
  private handleReady(n: DemoNode, raw: RawNode, rd: Ready): void {
    if (rd.softState !== undefined) this.roleChanged(n, raw, rd.softState);
    // 1. Messages that may leave before persisting.
    this.network.push(...rd.messages);
    // 2. Persist: snapshot, entries, hard state.
    if (rd.snapshot !== undefined) n.storage.applySnapshot(rd.snapshot);
    n.storage.append(rd.entries);
    if (rd.hardState !== undefined) n.storage.setHardState(rd.hardState);
    // 3. Messages that promise what was just persisted.
    this.network.push(...rd.persistedMessages);
    // 4. Apply committed entries in order.
    for (const e of rd.committedEntries) this.apply(n, raw, e);
    this.narrateCatchUp(n, rd.committedEntries);
    // 6. Done.
    raw.advance();
  }

  private apply(n: DemoNode, raw: RawNode, e: Entry): void {
    if (e.type === 'EntryConfChange') {
      raw.applyConfChange(e.change);
      n.applied.push({ index: e.index, term: e.term, command: '(conf change)' });
      return;
    }
    const command = decodeCommand(e.data);
    n.kv.apply(command);
    n.applied.push({ index: e.index, term: e.term, command });
    if (n.role !== 'StateLeader') return;
    const what = command === '' ? 'empty entry of the new leader (Raft §8)' : `"${command}"`;
    this.say(`✓ committed index ${e.index} (term ${e.term}): ${what}`);
  }

  private roleChanged(n: DemoNode, raw: RawNode, { raftState: role, lead }: SoftState): void {
    n.role = role;
    const term = raw.status().hardState.term;
    if (role === 'StateFollower') {
      if (lead !== NONE) this.say(`  node ${n.id} follows leader ${lead} in term ${term}`);
    } else if (role === 'StatePreCandidate') {
      this.say(`… node ${n.id} heard no leader for its election timeout: asking for pre-votes`);
    } else if (role === 'StateCandidate') {
      this.say(`… node ${n.id} campaigns for term ${term}`);
    } else if (role === 'StateLeader') {
      this.leaders.push({ id: n.id, term, tick: this.now });
      this.say(`★ node ${n.id} became leader of term ${term}`);
    }
  }

  /** After a restart, says which entries came from the node's own log and which from the leader. */
  private narrateCatchUp(n: DemoNode, ents: readonly Entry[]): void {
    if (n.narrateUpTo === 0 || ents.length === 0) return;
    const first = ents[0]!.index;
    const last = ents[ents.length - 1]!.index;
    const replayedTo = Math.min(last, n.narrateUpTo);
    if (first <= replayedTo) {
      this.say(`  node ${n.id} replayed indexes ${first}–${replayedTo} from its own MemoryStorage`);
    }
    if (last > n.narrateUpTo) {
      const from = Math.max(first, n.narrateUpTo + 1);
      const leader = this.leader()?.id;
      this.say(`  node ${n.id} applied indexes ${from}–${last}, received from leader ${leader ?? '?'}`);
    }
  }
}
