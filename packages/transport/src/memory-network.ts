/**
 * MemoryNetwork: members of one process exchanging raft messages over a simulated network with a
 * virtual clock, for tests, the simulator and single-process clusters.
 *
 * - Isolation: every message is deep-copied when sent (structuredClone), so no member ever holds
 *   another's objects, and validated with raft's validateMessage when it arrives; a malformed or
 *   misaddressed message is dropped with a logged reason, never handed to the member.
 * - Determinism: every fault (partitions, one-way cuts, per-link drop, duplication, delay,
 *   reordering) is drawn from ONE seeded PRNG in send order, and delivery follows (dueAt, seq),
 *   so the same seed and the same calls replay the same trace.
 * - Modes: in 'manual' mode (the default) nothing moves until the driver calls advance(ms),
 *   step(), deliver(seq) or deliverAll(). In 'auto' mode the virtual clock follows `clock` and due
 *   messages are delivered from setImmediate (delay 0) or setTimeout (delay > 0).
 * - Reports (the Transport contract): a message lost to a fault, a cut link, or an unknown or
 *   closed peer is reported to its SENDER through onUnreachable, at most once per send() batch
 *   per peer; a MsgSnap's outcome through onSnapshotStatus, exactly once. Reports are made
 *   synchronously: at the end of the send() that decided them, or right after the arrival that
 *   did. A closed sender hears nothing.
 *
 * It deliberately models no bandwidth, message size or connection setup: loss, delay,
 * duplication, reordering and cuts are the failures Raft has to survive.
 */

import { type Message, NONE, type NodeId, validateMessage } from '@tsetcd/raft';
import { MemberExistsError, NetworkClosedError, NetworkLivelockError } from './memory-network-errors.js';
import {
  FaultTable,
  type LinkEnd,
  type LinkFaults,
  NetworkRandom,
  type ResolvedLinkFaults,
} from './memory-network-faults.js';
import { DeliveryQueue, type InFlightMessage } from './memory-network-queue.js';
import {
  type DropReason,
  NetworkCounters,
  type NetworkEvent,
  type NetworkStats,
  reportsUnreachable,
} from './memory-network-stats.js';
import type { Transport, TransportHandler, TransportLogger } from './transport.js';

/** Most messages one advance() delivers before it declares a zero-delay livelock. */
export const DEFAULT_MAX_DELIVERIES_PER_ADVANCE = 1_000_000;
/** Most messages deliverAll() takes off the queue when not given a limit. */
export const DEFAULT_DELIVER_ALL_LIMIT = 100_000;
/** Most messages an 'auto' network delivers per timer callback before yielding to the event loop. */
export const DEFAULT_AUTO_BATCH = 1_000;

/** How the virtual clock moves: only when driven ('manual'), or with real time ('auto'). */
export type NetworkMode = 'manual' | 'auto';

/** Options of a MemoryNetwork. */
export interface MemoryNetworkOptions {
  /** Seed of the one PRNG every fault is drawn from: the same seed replays the same faults. */
  readonly seed: number;
  /** 'manual' (default) for deterministic tests; 'auto' for clusters that just run. */
  readonly mode?: NetworkMode;
  /** 'auto' only: monotonic milliseconds the virtual clock follows; default `performance.now`. */
  readonly clock?: () => number;
  /** Where dropped malformed messages are reported; default: warnings and errors to the console. */
  readonly logger?: TransportLogger;
  /** Called for every send, delivery and drop, in order: the trace tests and the simulator compare. */
  readonly onEvent?: (event: NetworkEvent) => void;
  /** Overrides DEFAULT_MAX_DELIVERIES_PER_ADVANCE. */
  readonly maxDeliveriesPerAdvance?: number;
  /** Overrides DEFAULT_AUTO_BATCH. */
  readonly autoBatch?: number;
}

/** A member's endpoint on a MemoryNetwork, from `network.join`. URLs given to addPeer are ignored. */
export interface MemoryTransport extends Transport {
  /** Whether it was closed, by close() or by network.crash(). */
  readonly closed: boolean;
}

/** What step(), deliver() or discard() did with one message. */
export interface DeliveryRecord extends InFlightMessage {
  /** 'delivered', or why it was dropped on arrival. */
  readonly outcome: 'delivered' | DropReason;
}

/** One send() call: unreachable reports are deduplicated per batch and peer. */
interface Batch {
  readonly reported: Set<NodeId>;
}

/** Where a message comes from and goes to, before it has a copy and a due time. */
interface Route {
  readonly seq: number;
  readonly from: NodeId;
  readonly to: NodeId;
  readonly type: string;
  readonly duplicate: boolean;
  /** The incarnation that sent it: reports never reach a restarted member. */
  readonly sender: Member;
  readonly batch: Batch;
}

/** A message in flight, with what the network needs to report its fate. */
interface Envelope extends Route, InFlightMessage {}

/** The network's side of a member's calls. */
interface Router {
  send(member: Member, messages: readonly Message[]): void;
  removePeer(member: Member, peer: NodeId): void;
  leave(member: Member): void;
}

/** One member's transport; its state is the network's to change. */
class Member implements MemoryTransport {
  open = true;
  /** Peers added with addPeer: sends to anyone else are dropped as 'unknown-peer'. */
  readonly peers = new Set<NodeId>();

  constructor(
    readonly id: NodeId,
    readonly handler: TransportHandler,
    private readonly router: Router,
    /** Where this member says it listens, for receivers that do not know it (onUnknownPeer). */
    readonly url: string,
  ) {}

  get closed(): boolean {
    return !this.open;
  }

  send(messages: readonly Message[]): void {
    this.router.send(this, messages);
  }

  addPeer(peer: NodeId, _url: string): void {
    if (this.open) this.peers.add(peer);
  }

  removePeer(peer: NodeId): void {
    this.router.removePeer(this, peer);
  }

  close(): Promise<void> {
    if (this.open) this.router.leave(this);
    return Promise.resolve();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

const DEFAULT_LOGGER: TransportLogger = (level, message) => {
  if (level !== 'info') console.warn(message);
};

function typeOf(raw: unknown): string {
  const t = (raw as { type?: unknown } | null | undefined)?.type;
  return typeof t === 'string' ? t : '(untyped)';
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function publicView(e: Envelope): InFlightMessage {
  const { seq, from, to, type, sentAt, dueAt, duplicate, message } = e;
  return { seq, from, to, type, sentAt, dueAt, duplicate, message };
}

/** A seeded, steppable in-memory network with fault injection; see the file comment. */
export class MemoryNetwork implements AsyncDisposable {
  /** 'manual' or 'auto', fixed at construction. */
  readonly mode: NetworkMode;
  private readonly rng: NetworkRandom;
  private readonly faults = new FaultTable();
  private readonly queue = new DeliveryQueue<Envelope>();
  private readonly counters = new NetworkCounters();
  private readonly members = new Map<NodeId, Member>();
  /** Per directed link, the latest dueAt queued: a non-reordering link never delivers earlier. */
  private readonly lastDue = new Map<NodeId, Map<NodeId, number>>();
  /** Reports decided but not yet made; flushed at the end of each operation. */
  private readonly reports: (() => void)[] = [];
  private readonly router: Router;
  private readonly logger: TransportLogger;
  private readonly onEvent: ((event: NetworkEvent) => void) | undefined;
  private readonly clock: () => number;
  private readonly epoch: number;
  private readonly maxDeliveriesPerAdvance: number;
  private readonly autoBatch: number;
  private timer: { readonly at: number; readonly cancel: () => void } | undefined;
  private nextSeq = 1;
  private virtualNow = 0;
  private closed = false;

  constructor(options: MemoryNetworkOptions) {
    this.mode = options.mode ?? 'manual';
    this.rng = new NetworkRandom(options.seed);
    this.logger = options.logger ?? DEFAULT_LOGGER;
    this.onEvent = options.onEvent;
    this.clock = options.clock ?? (() => performance.now());
    this.epoch = this.mode === 'auto' ? this.clock() : 0;
    this.maxDeliveriesPerAdvance = options.maxDeliveriesPerAdvance ?? DEFAULT_MAX_DELIVERIES_PER_ADVANCE;
    this.autoBatch = options.autoBatch ?? DEFAULT_AUTO_BATCH;
    this.router = {
      send: (member, messages) => this.sendFrom(member, messages),
      removePeer: (member, peer) => this.removePeerOf(member, peer),
      leave: (member) => this.leave(member),
    };
  }

  /** The virtual clock, in ms since the network was created. */
  get now(): number {
    return this.virtualNow;
  }

  /**
   * Connects member `id`; its messages arrive through `handler`. A crashed or closed ID may rejoin.
   * `url` is what it announces to members that do not know it (onUnknownPeer); nothing dials it.
   */
  join(id: NodeId, handler: TransportHandler, url = `mem://${id.toString(16)}`): MemoryTransport {
    if (this.closed) throw new NetworkClosedError();
    if (typeof id !== 'bigint' || id === NONE)
      throw new RangeError(`memory network: invalid member ID ${id}`);
    if (this.members.has(id)) throw new MemberExistsError(id);
    const member = new Member(id, handler, this.router, url);
    this.members.set(id, member);
    return member;
  }

  /** Kills member `id` as a crash would: closes its transport and drops its queued messages. */
  crash(id: NodeId): boolean {
    const member = this.members.get(id);
    if (member === undefined) return false;
    this.leave(member);
    return true;
  }

  /** Cuts every link between members of different groups, both ways, until heal(). */
  partition(...groups: readonly (readonly NodeId[])[]): void {
    this.faults.partition(groups);
  }

  /** Cuts the link from → to only (a one-way partition), until heal(). */
  cut(from: NodeId, to: NodeId): void {
    this.faults.cut(from, to);
  }

  /** Cuts `id` off from every other member, both ways, until heal(). */
  isolate(id: NodeId): void {
    this.faults.isolate(id);
  }

  /** Restores every cut link and isolated member; link faults stay (see clearLinkFaults). */
  heal(): void {
    this.faults.heal();
  }

  /** Sets what from → to does to messages; '*' matches any member, the most specific rule wins. */
  setLinkFaults(from: LinkEnd, to: LinkEnd, faults: LinkFaults): void {
    this.faults.setLinkFaults(from, to, faults);
  }

  /** Makes every link perfect again (cuts stay). */
  clearLinkFaults(): void {
    this.faults.clearLinkFaults();
  }

  /**
   * Moves the virtual clock `ms` forward, delivering everything due by then in (dueAt, seq)
   * order — including what members send in the meantime. Returns how many messages it took off
   * the queue. Throws NetworkLivelockError if members keep each other busy at zero delay.
   */
  advance(ms: number): number {
    if (!(ms >= 0 && Number.isFinite(ms))) throw new RangeError(`memory network: cannot advance by ${ms}`);
    const target = this.virtualNow + ms;
    const n = this.deliverDue(target, this.maxDeliveriesPerAdvance);
    const next = this.queue.peek();
    if (next !== undefined && next.dueAt <= target) throw new NetworkLivelockError(n);
    this.virtualNow = target;
    return n;
  }

  /** Delivers exactly the next message due (moving the clock to its due time) and returns it. */
  step(): DeliveryRecord | undefined {
    const e = this.queue.shift();
    if (e === undefined) return undefined;
    const outcome = this.process(e, true);
    this.schedule();
    return { ...publicView(e), outcome };
  }

  /** Steps until nothing is in flight or `limit` messages were taken off the queue; returns how many. */
  deliverAll(limit = DEFAULT_DELIVER_ALL_LIMIT): number {
    let n = 0;
    while (n < limit && this.step() !== undefined) n++;
    return n;
  }

  /** Delivers the message `seq` now, out of order, without moving the clock. */
  deliver(seq: number): DeliveryRecord | undefined {
    const e = this.queue.take(seq);
    if (e === undefined) return undefined;
    const outcome = this.process(e, false);
    this.schedule();
    return { ...publicView(e), outcome };
  }

  /** Loses the message `seq`, as a fault would (the sender hears it was unreachable). */
  discard(seq: number): DeliveryRecord | undefined {
    const e = this.queue.take(seq);
    if (e === undefined) return undefined;
    this.drop(e, 'discarded');
    this.flushReports();
    return { ...publicView(e), outcome: 'discarded' };
  }

  /** Every message in flight, in delivery order. */
  pending(): InFlightMessage[] {
    return this.queue.list().map(publicView);
  }

  /** Counters since creation or the last resetStats(). */
  stats(): NetworkStats {
    return this.counters.snapshot();
  }

  /** Zeroes the counters. */
  resetStats(): void {
    this.counters.reset();
  }

  /** Closes every member and stops the timers; nothing is delivered or reported afterwards. */
  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    this.timer?.cancel();
    this.timer = undefined;
    const all = [...this.members.values()];
    for (const m of all) m.open = false;
    for (const m of all) this.leave(m);
    this.reports.length = 0;
    return Promise.resolve();
  }

  /** `await using net = new MemoryNetwork(…)` closes it at the end of the scope. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  private sendFrom(sender: Member, messages: readonly Message[]): void {
    this.syncClock();
    const batch: Batch = { reported: new Set() };
    for (const m of messages) this.sendOne(sender, batch, m);
    this.flushReports();
    this.schedule();
  }

  /**
   * One message, in a fixed order so a seed replays: 1. routing checks (closed sender, no `to`,
   * unknown or closed peer, cut link), 2. draw loss, 3. copy, 4. draw delay and queue,
   * 5. draw duplication and queue the copy with its own delay. Returns why it was dropped at once.
   */
  private sendOne(sender: Member, batch: Batch, raw: unknown): DropReason | undefined {
    const type = typeOf(raw);
    const to = (raw as { to?: unknown } | null | undefined)?.to;
    this.counters.countSent(type);
    const route: Route = {
      seq: this.nextSeq++,
      from: sender.id,
      to: typeof to === 'bigint' ? to : NONE,
      type,
      duplicate: false,
      sender,
      batch,
    };
    if (!sender.open) return this.dropped(route, 'sender-closed');
    if (typeof to !== 'bigint') return this.dropped(route, 'invalid', 'message.to must be a bigint');
    const down = this.linkDown(sender, to);
    if (down !== undefined) return this.dropped(route, down);
    const faults = this.faults.linkFaults(sender.id, to);
    if (this.rng.chance(faults.drop)) return this.dropped(route, 'fault');
    let copy: Message;
    try {
      copy = structuredClone(raw) as Message;
    } catch (err) {
      return this.dropped(route, 'invalid', `cannot be copied: ${errorText(err)}`);
    }
    this.enqueue(route, copy, faults);
    if (this.rng.chance(faults.duplicate)) {
      this.counters.countDuplicated(type);
      this.enqueue({ ...route, seq: this.nextSeq++, duplicate: true }, structuredClone(copy), faults);
    }
    return undefined;
  }

  /** Why from → to cannot carry a message now, if it cannot. */
  private linkDown(sender: Member, to: NodeId): DropReason | undefined {
    if (!sender.peers.has(to)) return 'unknown-peer';
    if (!this.members.has(to)) return 'peer-down';
    if (this.faults.isCut(sender.id, to)) return 'partitioned';
    return undefined;
  }

  private enqueue(route: Route, message: Message, faults: ResolvedLinkFaults): void {
    const now = this.virtualNow;
    let dueAt = now + this.rng.between(faults.delay[0], faults.delay[1]);
    let links = this.lastDue.get(route.from);
    if (links === undefined) {
      links = new Map();
      this.lastDue.set(route.from, links);
    }
    const last = links.get(route.to) ?? 0;
    // Without reorder, never arrive before a message sent earlier on the same link.
    if (!faults.reorder) dueAt = Math.max(dueAt, last);
    links.set(route.to, Math.max(dueAt, last));
    this.queue.push({ ...route, sentAt: now, dueAt, message });
    this.onEvent?.({
      kind: 'send',
      at: now,
      seq: route.seq,
      from: route.from,
      to: route.to,
      type: route.type,
      duplicate: route.duplicate,
      dueAt,
    });
  }

  /** Everything due by `target`, in order, at most `limit`; returns how many were taken. */
  private deliverDue(target: number, limit: number): number {
    let n = 0;
    for (
      let e = this.queue.peek();
      e !== undefined && e.dueAt <= target && n < limit;
      e = this.queue.peek()
    ) {
      this.queue.shift();
      n++;
      this.process(e, true);
    }
    return n;
  }

  /** Hands one dequeued message to its receiver (or drops it), then makes the reports due. */
  private process(e: Envelope, moveClock: boolean): DeliveryRecord['outcome'] {
    if (moveClock) this.virtualNow = Math.max(this.virtualNow, e.dueAt);
    const outcome = this.arrive(e);
    this.flushReports();
    return outcome;
  }

  private arrive(e: Envelope): DeliveryRecord['outcome'] {
    const receiver = this.members.get(e.to);
    if (receiver === undefined) return this.dropped(e, 'peer-down');
    // A link cut while the message was in flight loses it.
    if (this.faults.isCut(e.from, e.to)) return this.dropped(e, 'partitioned');
    let m: Message;
    try {
      m = validateMessage(e.message);
    } catch (err) {
      return this.dropped(e, 'invalid', errorText(err));
    }
    if (m.to !== e.to) return this.dropped(e, 'invalid', `addressed to ${m.to}, routed to ${e.to}`);
    if (m.from !== e.from)
      return this.dropped(e, 'invalid', `claims to be from ${m.from}, sent by ${e.from}`);
    this.counters.countDelivered(e.type);
    this.onEvent?.({
      kind: 'deliver',
      at: this.virtualNow,
      seq: e.seq,
      from: e.from,
      to: e.to,
      type: e.type,
      duplicate: e.duplicate,
    });
    // Queued before onMessage so the report is made exactly once even if the receiver throws.
    if (m.type === 'MsgSnap' && !e.duplicate) {
      this.reports.push(() => {
        if (e.sender.open) e.sender.handler.onSnapshotStatus(e.to, 'SnapshotFinish');
      });
    }
    // A sender the receiver does not know (it joined after the receiver's log ends) is offered to
    // it first, so that it can answer (transport.ts).
    if (!receiver.peers.has(e.from)) receiver.handler.onUnknownPeer?.(e.from, e.sender.url);
    receiver.handler.onMessage(m);
    return 'delivered';
  }

  private dropped(e: Route, reason: DropReason, detail?: string): DropReason {
    this.drop(e, reason, detail);
    return reason;
  }

  /** Counts, traces and logs a lost message, and queues the sender's reports. */
  private drop(r: Route, reason: DropReason, detail?: string): void {
    this.counters.countDropped(r.type, reason);
    this.onEvent?.({
      kind: 'drop',
      at: this.virtualNow,
      seq: r.seq,
      from: r.from,
      to: r.to,
      type: r.type,
      duplicate: r.duplicate,
      reason,
    });
    if (reason === 'invalid') {
      this.logger('warn', `memory network: dropped ${r.type} #${r.seq} ${r.from}→${r.to}: ${detail}`);
    }
    // The sender sent one message: only the original's fate is reported.
    if (r.duplicate || reason === 'sender-closed') return;
    const { sender, to } = r;
    if (reportsUnreachable(reason) && !r.batch.reported.has(to)) {
      r.batch.reported.add(to);
      this.reports.push(() => {
        if (sender.open) sender.handler.onUnreachable(to);
      });
    }
    if (r.type === 'MsgSnap') {
      this.reports.push(() => {
        if (sender.open) sender.handler.onSnapshotStatus(to, 'SnapshotFailure');
      });
    }
  }

  /** Makes the queued reports, in order; a report may send, which queues (and flushes) more. */
  private flushReports(): void {
    for (let report = this.reports.shift(); report !== undefined; report = this.reports.shift()) report();
  }

  private removePeerOf(member: Member, peer: NodeId): void {
    member.peers.delete(peer);
    for (const e of this.queue.takeWhere((x) => x.sender === member && x.to === peer))
      this.drop(e, 'removed');
    this.flushReports();
  }

  /** Closes `member`: its messages in flight are lost, and so are those to it (their senders hear). */
  private leave(member: Member): void {
    member.open = false;
    if (this.members.get(member.id) === member) this.members.delete(member.id);
    this.lastDue.delete(member.id);
    for (const links of this.lastDue.values()) links.delete(member.id);
    const gone = this.queue.takeWhere((x) => x.sender === member || x.to === member.id);
    for (const e of gone) this.drop(e, e.sender === member ? 'sender-closed' : 'peer-down');
    this.flushReports();
  }

  /** 'auto' mode: the virtual clock never lags real time. */
  private syncClock(): void {
    if (this.mode === 'auto') this.virtualNow = Math.max(this.virtualNow, this.clock() - this.epoch);
  }

  /** 'auto' mode: arms one timer for the earliest message due. */
  private schedule(): void {
    if (this.mode !== 'auto' || this.closed) return;
    const next = this.queue.peek();
    if (next === undefined || (this.timer !== undefined && this.timer.at <= next.dueAt)) return;
    this.timer?.cancel();
    const at = next.dueAt;
    const wait = at - (this.clock() - this.epoch);
    const fire = () => this.onTimer(at);
    if (wait <= 0) {
      const handle = setImmediate(fire);
      this.timer = { at, cancel: () => clearImmediate(handle) };
    } else {
      const handle = setTimeout(fire, wait);
      this.timer = { at, cancel: () => clearTimeout(handle) };
    }
  }

  private onTimer(at: number): void {
    this.timer = undefined;
    if (this.closed) return;
    this.syncClock();
    try {
      this.deliverDue(Math.max(this.virtualNow, at), this.autoBatch);
    } finally {
      this.schedule();
    }
  }
}
