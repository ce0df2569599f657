/**
 * A peer's FIFO of messages waiting for the socket: O(1) push and shift (a head index, compacted
 * now and then, instead of Array.shift). Bounding it is the peer's job. Pure.
 */

import type { Message } from '@tsetcd/raft';

/** How far the head may run before the consumed prefix is cut off. */
const COMPACT_AFTER = 1024;

/** Messages queued for one peer, oldest first. */
export class SendQueue {
  private items: Message[] = [];
  private head = 0;

  /** Messages waiting. */
  get length(): number {
    return this.items.length - this.head;
  }

  /** Appends a message. */
  push(m: Message): void {
    this.items.push(m);
  }

  /** The oldest message, without removing it. */
  peek(): Message | undefined {
    return this.items[this.head];
  }

  /** Removes and returns the oldest message. */
  shift(): Message | undefined {
    const m = this.items[this.head];
    if (m === undefined) return undefined;
    this.head += 1;
    if (this.head === this.items.length) this.clear();
    else if (this.head > COMPACT_AFTER && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return m;
  }

  /** Empties the queue; returns how many messages and how many of them MsgSnaps it held. */
  clear(): { messages: number; snapshots: number } {
    let snapshots = 0;
    for (let i = this.head; i < this.items.length; i++) if (this.items[i]?.type === 'MsgSnap') snapshots += 1;
    const messages = this.length;
    this.items = [];
    this.head = 0;
    return { messages, snapshots };
  }
}
