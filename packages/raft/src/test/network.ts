/**
 * A small test network for scenario tests: RawNodes over MemoryStorage, each driven by a host loop
 * that honours the Ready contract (ready.ts), and a FIFO of messages in flight with partitions and
 * drop rules. `stabilize()` runs every host loop and delivers messages until nothing is left to do.
 *
 * The host loop, per Ready: (1) send `messages`; (2) persist snapshot, then entries, then hard
 * state; (3) send `persistedMessages`; (4) apply committed entries (conf changes through
 * `applyConfChange`), record read states; (5) `advance()`. Each stage is also a method so a test
 * can stop a host between stages (a slow disk, a crash before apply). The host also checks the
 * contract from its side on every Ready: committed entries it is handed are already on its disk,
 * it applies them in index order, and it never persists a commit index beyond its log.
 *
 * Deliberately small: no delays, no reordering, no duplication, no random faults (that is the
 * cluster simulator's job, test/sim). Time passes only when a test calls tick() or elapse().
 */

import type { Config } from '../config.js';
import { describeEntry } from '../describe.js';
import { MemoryStorage } from '../memory-storage.js';
import type { Message, MessageType } from '../messages.js';
import { seededRandom } from '../rand.js';
import { RawNode, type Status } from '../raw-node.js';
import type { Ready } from '../ready.js';
import {
  asIndex,
  asTerm,
  type ConfState,
  type Entry,
  type HardState,
  type Index,
  type NodeId,
  type ReadState,
  type StateType,
} from '../types.js';

/** Everything of a node's Config except what the network fills in (id, storage). */
export type NodeOptions = Omit<Config, 'id' | 'storage'>;

/** How to build a network. */
export interface NetworkOptions {
  /** Voters of the initial configuration; default 1, 2, 3. */
  readonly voters?: readonly NodeId[];
  /** Learners of the initial configuration; default none. */
  readonly learners?: readonly NodeId[];
  /** Which members actually run; messages to the others are lost. Default: every member. */
  readonly nodes?: readonly NodeId[];
  /** Put the initial voters in the log with `RawNode.bootstrap` instead of in the storage's ConfState. */
  readonly bootstrap?: boolean;
  /** Options for every node. Defaults: electionTick 10, heartbeatTick 1, rand seeded with the ID. */
  readonly config?: NodeOptions;
  /** Per-node options, layered over `config`. */
  readonly configFor?: (id: NodeId) => NodeOptions;
  /** A prepared storage for a node (e.g. a log of Figure 7), instead of a fresh one. */
  readonly storage?: (id: NodeId) => MemoryStorage | undefined;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Bytes of a string, for proposals and read contexts. */
export function bytes(s: string): Uint8Array {
  return encoder.encode(s);
}

/** One host: its RawNode, its disk, and a trivial state machine (the list of applied payloads). */
export class TestNode {
  raw: RawNode;
  /** The durable state machine: payloads of applied non-empty normal entries, in order. */
  applied: string[] = [];
  /** The index the state machine reflects. Survives crashes, like etcd's backend. */
  appliedIndex: Index = asIndex(0);
  /** Every ReadState this host received, in order. */
  readonly readStates: ReadState[] = [];
  /** The configuration after each conf change this host applied, in order. */
  readonly confStates: ConfState[] = [];
  /** Crashed: no RawNode runs and messages to it are lost. */
  down = false;
  /** A stalled host: messages are stepped in, but stabilize() does not process its Ready. */
  held = false;

  constructor(
    readonly id: NodeId,
    readonly options: NodeOptions,
    readonly storage: MemoryStorage,
  ) {
    this.raw = new RawNode({ ...options, id, storage });
    this.appliedIndex = storage.snapshot().metadata.index;
  }

  /** The node's status (term, vote, commit, role, progress of peers…). */
  status(): Status {
    return this.raw.status();
  }

  /** The node's role. */
  get state(): StateType {
    return this.raw.status().softState.raftState;
  }

  /** The node's term. */
  get term(): number {
    return this.raw.status().hardState.term;
  }

  /** The leader this node knows of (NONE if none). */
  get lead(): NodeId {
    return this.raw.status().softState.lead;
  }

  /** Whether the disk holds entry `index` with term `term` (index 0 is everyone's empty prefix). */
  hasEntry(index: number, term: number): boolean {
    return termOr0(this.storage, asIndex(index)) === term;
  }

  /** The term of every entry the disk holds after the snapshot, in index order. */
  terms(): number[] {
    return storedEntries(this.storage).map((e) => e.term);
  }

  /** Everything the disk holds after the snapshot, one `term/index type payload` line per entry. */
  log(): string[] {
    return storedEntries(this.storage).map(describeEntry);
  }
}

/** The entries a storage retains after its snapshot. */
export function storedEntries(s: MemoryStorage): Entry[] {
  return s.entries(s.firstIndex(), asIndex(s.lastIndex() + 1), Number.MAX_SAFE_INTEGER);
}

/**
 * A storage holding a log whose entry i+1 has term `terms[i]` (payload `"<index>"`), with the given
 * hard state and initial voters, as a node that had lived through those terms would have on disk.
 */
export function storageWithLog(
  voters: readonly NodeId[],
  terms: readonly number[],
  hs: { readonly term: number; readonly vote?: NodeId; readonly commit?: number },
): MemoryStorage {
  const s = new MemoryStorage({ voters });
  s.append(
    terms.map((t, i) => ({
      type: 'EntryNormal',
      term: asTerm(t),
      index: asIndex(i + 1),
      data: bytes(String(i + 1)),
    })),
  );
  s.setHardState({ term: asTerm(hs.term), vote: hs.vote ?? 0n, commit: asIndex(hs.commit ?? 0) });
  return s;
}

/** Messages of one type, narrowed to that type. */
export function ofType<T extends MessageType>(ms: readonly Message[], type: T): (Message & { type: T })[] {
  return ms.filter((m): m is Message & { type: T } => m.type === type);
}

/** N hosts and the wire between them. */
export class Network {
  readonly nodes = new Map<NodeId, TestNode>();
  /** Every message a host sent, in order, whether delivered or not. */
  readonly sent: Message[] = [];
  /** Every message lost to a partition, a drop rule, or a missing/crashed recipient. */
  readonly dropped: Message[] = [];
  /** Every Ready any host took, in order. */
  readonly readies: { readonly id: NodeId; readonly rd: Ready }[] = [];
  /** An extra drop rule: return true to lose the message. Cleared by recover(). */
  dropIf: ((m: Message) => boolean) | undefined = undefined;
  private queue: Message[] = [];
  private readonly isolated = new Set<NodeId>();
  private readonly cuts = new Set<string>();
  private readonly dropTypes = new Set<MessageType>();

  constructor(private readonly defaults: NodeOptions) {}

  /** The node with `id`; throws if there is none. */
  node(id: NodeId): TestNode {
    const n = this.nodes.get(id);
    if (n === undefined) throw new Error(`test network: no node ${id}`);
    return n;
  }

  /** Shortcut for `node(id).raw`. */
  raw(id: NodeId): RawNode {
    return this.node(id).raw;
  }

  /** Adds a host (a new member joining, or one of a prepared cluster) with its own storage. */
  add(id: NodeId, storage: MemoryStorage = new MemoryStorage(), options: NodeOptions = {}): TestNode {
    const n = new TestNode(id, { ...this.defaults, rand: seededRandom(Number(id)), ...options }, storage);
    this.nodes.set(id, n);
    return n;
  }

  /** IDs of running nodes that believe they are leader. */
  leaders(): NodeId[] {
    return [...this.nodes.values()].filter((n) => !n.down && n.state === 'StateLeader').map((n) => n.id);
  }

  // ---- time ---------------------------------------------------------------------------------

  /** Ticks one node `times` times without delivering anything. */
  tick(id: NodeId, times = 1): void {
    for (let i = 0; i < times; i++) this.raw(id).tick();
  }

  /** Lets `ticks` ticks pass for the whole cluster, stabilizing after each. */
  elapse(ticks = 1): void {
    for (let i = 0; i < ticks; i++) {
      for (const n of this.nodes.values()) if (!n.down) n.raw.tick();
      this.stabilize();
    }
  }

  /** Campaigns `id`, stabilizes, and returns its term; throws if it did not become leader. */
  elect(id: NodeId): number {
    this.raw(id).campaign();
    this.stabilize();
    const n = this.node(id);
    if (n.state !== 'StateLeader') throw new Error(`test network: ${id} is ${n.state}, not leader`);
    return n.term;
  }

  /** Proposes a string payload on `id` (throws what propose throws) and stabilizes. */
  propose(id: NodeId, data: string): void {
    this.raw(id).propose(bytes(data));
    this.stabilize();
  }

  // ---- the wire -----------------------------------------------------------------------------

  /** Puts messages on the wire without delivering them. */
  enqueue(...msgs: readonly Message[]): void {
    for (const m of msgs) {
      this.sent.push(m);
      this.queue.push(m);
    }
  }

  /** Puts messages on the wire and delivers until the network is quiet. */
  send(...msgs: readonly Message[]): void {
    this.enqueue(...msgs);
    this.stabilize();
  }

  /** Runs every host loop and delivers every message, until no host has work and nothing is in flight. */
  stabilize(): void {
    for (let round = 0; ; round++) {
      if (round > 10_000) throw new Error('test network: did not stabilize within 10000 rounds');
      for (const n of this.nodes.values()) if (!n.down && !n.held) this.processReady(n.id);
      if (this.queue.length === 0) return;
      const batch = this.queue;
      this.queue = [];
      for (const m of batch) this.deliver(m);
    }
  }

  private deliver(m: Message): void {
    const to = this.nodes.get(m.to);
    if (to === undefined || to.down || this.isDropped(m)) {
      this.dropped.push(m);
      return;
    }
    to.raw.step(m);
  }

  private isDropped(m: Message): boolean {
    if (this.isolated.has(m.from) || this.isolated.has(m.to)) return true;
    if (this.cuts.has(`${m.from}->${m.to}`)) return true;
    if (this.dropTypes.has(m.type)) return true;
    return this.dropIf?.(m) ?? false;
  }

  /** Cuts every link to and from `id`. */
  isolate(id: NodeId): void {
    this.isolated.add(id);
  }

  /** Cuts the links between `a` and `b`, both ways. */
  cut(a: NodeId, b: NodeId): void {
    this.cuts.add(`${a}->${b}`);
    this.cuts.add(`${b}->${a}`);
  }

  /** Loses every message of these types. */
  drop(...types: readonly MessageType[]): void {
    for (const t of types) this.dropTypes.add(t);
  }

  /** Heals every partition and removes every drop rule. */
  recover(): void {
    this.isolated.clear();
    this.cuts.clear();
    this.dropTypes.clear();
    this.dropIf = undefined;
  }

  // ---- hosts --------------------------------------------------------------------------------

  /** Stalls a host: it keeps receiving messages, but its Ready is not processed until release(). */
  hold(id: NodeId): void {
    this.node(id).held = true;
  }

  /** Un-stalls a host (its pending Ready is processed by the next stabilize()). */
  release(id: NodeId): void {
    this.node(id).held = false;
  }

  /** Crashes a host: its RawNode and anything not yet on disk are lost; the disk stays. */
  crash(id: NodeId): void {
    this.node(id).down = true;
  }

  /**
   * Restarts a crashed host from its disk. `applied` is what its state machine reflects: by
   * default the disk's snapshot (the state machine is rebuilt from it); passing the index the
   * state machine had reached makes Raft re-deliver only the committed entries after it.
   */
  restart(id: NodeId, opts: { readonly applied?: Index } = {}): TestNode {
    const n = this.node(id);
    const snap = n.storage.snapshot();
    const applied = opts.applied ?? snap.metadata.index;
    if (applied === snap.metadata.index && applied !== n.appliedIndex) {
      n.applied = decodeState(snap.data);
      n.appliedIndex = applied;
    } else if (applied !== n.appliedIndex) {
      throw new Error(`test network: state machine of ${id} is at ${n.appliedIndex}, not ${applied}`);
    }
    n.raw = new RawNode({ ...n.options, id, storage: n.storage, applied });
    n.down = false;
    return n;
  }

  /**
   * Snapshots `id`'s state machine at its applied index and compacts its log up to there, as a host
   * does to bound its disk. A follower that needs the dropped entries will get a MsgSnap.
   */
  compact(id: NodeId): Index {
    const n = this.node(id);
    const index = n.appliedIndex;
    n.storage.createSnapshot(index, n.status().confState, encodeState(n.applied));
    n.storage.compact(index);
    return index;
  }

  // ---- one host's Ready loop, stage by stage --------------------------------------------------

  /** Handles every Ready `id` has, in full. */
  processReady(id: NodeId): void {
    const raw = this.raw(id);
    while (raw.hasReady()) {
      const rd = this.retrieve(id);
      this.persist(id, rd);
      this.complete(id, rd);
    }
  }

  /** Stage 1: takes the Ready and sends its `messages` at once. */
  retrieve(id: NodeId): Ready {
    const rd = this.raw(id).ready();
    this.readies.push({ id, rd });
    this.enqueue(...rd.messages);
    return rd;
  }

  /** Stage 2: writes the snapshot, entries and hard state to the disk, checking the contract. */
  persist(id: NodeId, rd: Ready): void {
    const n = this.node(id);
    for (const e of rd.committedEntries) {
      // Ready contract: committed entries are already durable on this node.
      if (termOr0(n.storage, e.index) !== e.term) {
        throw new Error(
          `test network: ${id} was handed committed entry ${describeEntry(e)} before persisting it`,
        );
      }
    }
    if (rd.snapshot !== undefined) n.storage.applySnapshot(rd.snapshot);
    n.storage.append(rd.entries);
    if (rd.hardState !== undefined) {
      if (rd.hardState.commit > n.storage.lastIndex()) {
        throw new Error(`test network: ${id} would persist commit ${rd.hardState.commit} beyond its log`);
      }
      n.storage.setHardState(rd.hardState);
    }
  }

  /** Stages 3–5: sends `persistedMessages`, applies, records read states, and advances. */
  complete(id: NodeId, rd: Ready): void {
    const n = this.node(id);
    this.enqueue(...rd.persistedMessages);
    if (rd.snapshot !== undefined) {
      n.applied = decodeState(rd.snapshot.data);
      n.appliedIndex = rd.snapshot.metadata.index;
    }
    for (const e of rd.committedEntries) {
      if (e.index !== n.appliedIndex + 1) {
        throw new Error(`test network: ${id} applies ${e.index} after ${n.appliedIndex}`);
      }
      if (e.type === 'EntryConfChange') {
        n.confStates.push(n.raw.applyConfChange(e.change));
      } else if (e.data.length > 0) {
        n.applied.push(decoder.decode(e.data));
      }
      n.appliedIndex = e.index;
    }
    n.readStates.push(...rd.readStates);
    n.raw.advance();
  }

  /** The hard state `id` has on disk. */
  persistedHardState(id: NodeId): HardState {
    return this.node(id).storage.initialState().hardState;
  }
}

function termOr0(s: MemoryStorage, i: Index): number {
  try {
    return s.term(i);
  } catch {
    return 0;
  }
}

function encodeState(applied: readonly string[]): Uint8Array {
  return bytes(JSON.stringify(applied));
}

function decodeState(data: Uint8Array): string[] {
  return data.length === 0 ? [] : (JSON.parse(decoder.decode(data)) as string[]);
}

/**
 * Builds a network. By default: voters 1, 2, 3 in the storage's ConfState, electionTick 10,
 * heartbeatTick 1, each node's election jitter seeded with its ID. Nobody is leader yet. With
 * `bootstrap`, every node has already persisted and applied its bootstrap entries.
 */
export function createNetwork(opts: NetworkOptions = {}): Network {
  const voters = opts.voters ?? [1n, 2n, 3n];
  const learners = opts.learners ?? [];
  const net = new Network({ electionTick: 10, heartbeatTick: 1, ...opts.config });
  for (const id of opts.nodes ?? [...voters, ...learners]) {
    const prepared = opts.storage?.(id);
    const storage =
      prepared ?? (opts.bootstrap === true ? new MemoryStorage() : new MemoryStorage({ voters, learners }));
    const n = net.add(id, storage, opts.configFor?.(id) ?? {});
    if (opts.bootstrap === true && prepared === undefined) n.raw.bootstrap(voters);
  }
  // A node may not campaign before it has applied its bootstrap conf changes.
  if (opts.bootstrap === true) net.stabilize();
  return net;
}
