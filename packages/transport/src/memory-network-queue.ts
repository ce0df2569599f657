/**
 * The in-memory network's wire: messages in flight, kept sorted by (dueAt, seq) so delivery
 * order is a pure function of the virtual clock and the send order. Ties on dueAt go to the
 * message sent first, which is what keeps a non-reordering link FIFO.
 *
 * A sorted array rather than a heap: `pending()` lists it in order for free, and the queues of
 * tests and the simulator hold tens to thousands of messages. No clock, no delivery.
 */

import type { Message, NodeId } from '@tsetcd/raft';

/** One message on the wire (or the extra copy of a duplicated one), as tests and the simulator see it. */
export interface InFlightMessage {
  /** Unique, increasing in send order; names the message for `deliver(seq)` and `discard(seq)`. */
  readonly seq: number;
  /** The sending member. */
  readonly from: NodeId;
  /** The member it is routed to. */
  readonly to: NodeId;
  /** The message type, for stats and traces. */
  readonly type: string;
  /** Virtual time it was sent at, in ms. */
  readonly sentAt: number;
  /** Virtual time it arrives at, in ms. */
  readonly dueAt: number;
  /** Whether this is the extra copy of a duplicated message. */
  readonly duplicate: boolean;
  /** The network's own copy; validated again on arrival. */
  readonly message: Message;
}

/** Messages in flight in (dueAt, seq) order. */
export class DeliveryQueue<T extends InFlightMessage> {
  // Invariant: sorted by (dueAt, seq), seq unique.
  private items: T[] = [];

  /** How many messages are in flight. */
  get size(): number {
    return this.items.length;
  }

  /** Queues `item`; its seq must be larger than every queued seq. */
  push(item: T): void {
    // Upper bound on dueAt: every queued item with the same dueAt has a smaller seq.
    let lo = 0;
    let hi = this.items.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.items[mid]!.dueAt <= item.dueAt) lo = mid + 1;
      else hi = mid;
    }
    this.items.splice(lo, 0, item);
  }

  /** The next message due, without removing it. */
  peek(): T | undefined {
    return this.items[0];
  }

  /** Removes and returns the next message due. */
  shift(): T | undefined {
    return this.items.shift();
  }

  /** Removes and returns the message with this seq, if queued. */
  take(seq: number): T | undefined {
    const i = this.items.findIndex((x) => x.seq === seq);
    return i < 0 ? undefined : this.items.splice(i, 1)[0];
  }

  /** Removes and returns, in order, every message matching `pred`. */
  takeWhere(pred: (item: T) => boolean): T[] {
    const taken: T[] = [];
    const kept: T[] = [];
    for (const x of this.items) (pred(x) ? taken : kept).push(x);
    this.items = kept;
    return taken;
  }

  /** Every message in flight, in delivery order. */
  list(): readonly T[] {
    return this.items.slice();
  }
}
