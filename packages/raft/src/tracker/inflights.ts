/**
 * Inflights: the MsgApp sent to one follower and not yet acknowledged, bounded in count and bytes.
 * It is the flow-control window that lets the leader pipeline appends without flooding a slow
 * follower. A ring buffer of (last index, bytes) pairs. Pure.
 */

import type { Index } from '../types.js';

/** A bounded window of in-flight appends, each identified by its last entry index. */
export class Inflights {
  private start = 0;
  private count = 0;
  private bytes = 0;
  private readonly indexes: number[];
  private readonly sizes: number[];

  /**
   * @param size max messages in flight
   * @param maxBytes max entry bytes in flight; 0 means unlimited
   */
  constructor(
    readonly size: number,
    readonly maxBytes: number,
  ) {
    this.indexes = new Array<number>(size).fill(0);
    this.sizes = new Array<number>(size).fill(0);
  }

  /** Records an append whose last entry is `index` carrying `bytes` of entries. */
  add(index: Index, bytes: number): void {
    if (this.full()) throw new RangeError('raft: cannot add into a full inflights window');
    const i = (this.start + this.count) % this.size;
    this.indexes[i] = index;
    this.sizes[i] = bytes;
    this.count++;
    this.bytes += bytes;
  }

  /** Frees every in-flight append whose last index is <= `to` (they are acknowledged). */
  freeLE(to: Index): void {
    if (this.count === 0 || to < this.indexes[this.start]!) return;
    let i = 0;
    let idx = this.start;
    let freedBytes = 0;
    for (; i < this.count; i++) {
      if (to < this.indexes[idx]!) break;
      freedBytes += this.sizes[idx]!;
      idx = (idx + 1) % this.size;
    }
    this.count -= i;
    this.bytes -= freedBytes;
    this.start = this.count === 0 ? 0 : idx;
  }

  /** True when no more appends may be sent until some are acknowledged. */
  full(): boolean {
    return this.count === this.size || (this.maxBytes !== 0 && this.bytes >= this.maxBytes);
  }

  /** How many appends are in flight. */
  get length(): number {
    return this.count;
  }

  /** Forgets everything in flight (the follower is being probed again). */
  reset(): void {
    this.start = 0;
    this.count = 0;
    this.bytes = 0;
  }
}
