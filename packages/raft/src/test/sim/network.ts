/**
 * The simulated network: messages in flight, bucketed by the step they arrive at, plus the set of
 * blocked directed links that partitions install. Delay is drawn per message, so two messages on
 * one link overtake each other (reordering); a duplicated message is queued twice with independent
 * delays. Loss is decided by the cluster at delivery time (it also has to tell the sender about a
 * lost snapshot), so this module only queues, blocks and hands out what is due. No Raft logic.
 */

import type { Message } from '../../messages.js';
import type { NodeId } from '../../types.js';
import type { SimNetOptions } from './options.js';
import type { SimRandom } from './random.js';

/** A message on the wire, remembering which incarnation of its sender sent it. */
export interface InFlight {
  readonly msg: Message;
  /** The sender's incarnation: snapshot reports go only to the RawNode that sent the snapshot. */
  readonly senderIncarnation: number;
  /** Whether this is the extra copy of a duplicated message (for the trace). */
  readonly duplicate: boolean;
}

/** A link key: node IDs in the simulator are small, so a number is enough. */
function linkKey(from: NodeId, to: NodeId): number {
  return Number(from) * 65536 + Number(to);
}

/** Queues messages with per-message delay and duplication, and blocks partitioned links. */
export class Network {
  /** Current misbehaviour; the final phase replaces it with a calm network. */
  settings: SimNetOptions;
  private readonly buckets = new Map<number, InFlight[]>();
  private readonly blocked = new Set<number>();
  private inFlight = 0;

  constructor(
    settings: SimNetOptions,
    private readonly rng: SimRandom,
  ) {
    this.settings = settings;
  }

  /** Queues `msg` sent at step `now`; returns the delays drawn (two when duplicated). */
  send(msg: Message, senderIncarnation: number, now: number): number[] {
    const { minDelay, maxDelay, dupRate } = this.settings;
    const delays = [this.rng.between(minDelay, maxDelay)];
    if (this.rng.chance(dupRate)) delays.push(this.rng.between(minDelay, maxDelay));
    delays.forEach((d, i) => {
      this.enqueue(now + d, { msg, senderIncarnation, duplicate: i > 0 });
    });
    return delays;
  }

  /** Removes and returns the messages arriving at step `now`, in random order. */
  due(now: number): InFlight[] {
    const bucket = this.buckets.get(now);
    if (bucket === undefined) return [];
    this.buckets.delete(now);
    this.inFlight -= bucket.length;
    return this.rng.shuffle(bucket);
  }

  /** How many messages are queued. */
  get size(): number {
    return this.inFlight;
  }

  /** Whether messages from `from` to `to` are currently cut. */
  isBlocked(from: NodeId, to: NodeId): boolean {
    return this.blocked.size > 0 && this.blocked.has(linkKey(from, to));
  }

  /** Cuts the directed link from → to. */
  block(from: NodeId, to: NodeId): void {
    this.blocked.add(linkKey(from, to));
  }

  /** Cuts every link between the two groups, both ways. */
  split(a: readonly NodeId[], b: readonly NodeId[]): void {
    for (const x of a) {
      for (const y of b) {
        this.block(x, y);
        this.block(y, x);
      }
    }
  }

  /** Whether any link is cut. */
  get partitioned(): boolean {
    return this.blocked.size > 0;
  }

  /** Restores every link. */
  heal(): void {
    this.blocked.clear();
  }

  private enqueue(at: number, f: InFlight): void {
    const bucket = this.buckets.get(at);
    if (bucket === undefined) this.buckets.set(at, [f]);
    else bucket.push(f);
    this.inFlight++;
  }
}
