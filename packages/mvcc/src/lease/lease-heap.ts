/**
 * LeaseHeap: a binary min-heap of (lease ID, time), ordered by time then ID, with a position index
 * so one lease's time can be changed or removed in O(log n). The lessor keeps one entry per lease
 * while it is primary: the time is when to look at that lease next (its expiry, or a retry time
 * once it has been reported expired). etcd's LeaseExpiredNotifier plays this role. Pure.
 *
 * Ties on time are broken by ID so the order — and therefore what `expired()` reports — does not
 * depend on insertion history.
 */

import type { LeaseId } from '../types.js';

/** One heap entry. */
export interface LeaseWithTime {
  readonly id: LeaseId;
  /** Milliseconds on the lessor's clock. */
  readonly time: number;
}

interface Slot {
  id: LeaseId;
  time: number;
}

/** An indexed min-heap of leases by time. */
export class LeaseHeap {
  private readonly slots: Slot[] = [];
  // Invariant: pos.get(slots[i].id) === i for every i.
  private readonly pos = new Map<LeaseId, number>();

  /** Number of entries. */
  get size(): number {
    return this.slots.length;
  }

  /** Whether lease `id` has an entry. */
  has(id: LeaseId): boolean {
    return this.pos.has(id);
  }

  /** The entry with the earliest time (lowest ID on ties), if any. */
  peek(): LeaseWithTime | undefined {
    const top = this.slots[0];
    return top === undefined ? undefined : { id: top.id, time: top.time };
  }

  /** Inserts lease `id` at `time`, or moves it there if it is already in the heap. */
  set(id: LeaseId, time: number): void {
    const at = this.pos.get(id);
    if (at === undefined) {
      this.slots.push({ id, time });
      this.pos.set(id, this.slots.length - 1);
      this.up(this.slots.length - 1);
      return;
    }
    const slot = this.slots[at]!;
    const earlier = time < slot.time;
    slot.time = time;
    if (earlier) this.up(at);
    else this.down(at);
  }

  /** Removes lease `id` (no-op if absent). */
  remove(id: LeaseId): void {
    const at = this.pos.get(id);
    if (at === undefined) return;
    const last = this.slots.pop()!;
    this.pos.delete(id);
    if (at === this.slots.length) return;
    this.slots[at] = last;
    this.pos.set(last.id, at);
    this.up(at);
    this.down(this.pos.get(last.id)!);
  }

  /** Removes every entry. */
  clear(): void {
    this.slots.length = 0;
    this.pos.clear();
  }

  private less(i: number, j: number): boolean {
    const a = this.slots[i]!;
    const b = this.slots[j]!;
    return a.time !== b.time ? a.time < b.time : a.id < b.id;
  }

  private swap(i: number, j: number): void {
    const a = this.slots[i]!;
    const b = this.slots[j]!;
    this.slots[i] = b;
    this.slots[j] = a;
    this.pos.set(b.id, i);
    this.pos.set(a.id, j);
  }

  private up(i: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(i, parent)) return;
      this.swap(i, parent);
      i = parent;
    }
  }

  private down(i: number): void {
    const n = this.slots.length;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) return;
      const r = l + 1;
      const child = r < n && this.less(r, l) ? r : l;
      if (!this.less(child, i)) return;
      this.swap(i, child);
      i = child;
    }
  }
}
