/**
 * WatcherGroup: a set of watchers indexed by what they watch, so a write finds the watchers of
 * its keys without visiting every watcher (etcd's watcherGroup). Single-key watchers are found
 * by a map lookup; range watchers (range, prefix, from-key) are scanned. etcd keeps ranges in an
 * interval tree; a scan is simpler and fast enough for hundreds of range watchers — replace it
 * if profiles say otherwise.
 *
 * Pure bookkeeping: it never sends anything and knows nothing of revisions.
 */

import { inRange, type KeyRange, toBinary } from './bytes.js';
import type { Event } from './types.js';

/** What the group needs of a member: the keys it watches. */
export interface GroupMember {
  readonly range: KeyRange;
}

/** The events of one batch that each interested member must see, in the batch's order. */
export type MemberBatches<M> = Map<M, Event[]>;

/** A set of watchers, indexed by key. Iterates in insertion order. */
export class WatcherGroup<M extends GroupMember> implements Iterable<M> {
  /** Single-key members by their key (binary string). */
  private readonly keyMembers = new Map<string, Set<M>>();
  /** Members watching a range, a prefix or every key from a key. */
  private readonly rangeMembers = new Set<M>();
  /** Every member, in insertion order (what iteration and `size` use). */
  private readonly all = new Set<M>();

  /** The number of members. */
  get size(): number {
    return this.all.size;
  }

  /** Whether `m` is a member. */
  has(m: M): boolean {
    return this.all.has(m);
  }

  /** Adds `m`; adding a member twice is a no-op. */
  add(m: M): void {
    if (this.all.has(m)) return;
    this.all.add(m);
    if (m.range.kind === 'single') {
      const set = this.keyMembers.get(m.range.key);
      if (set === undefined) this.keyMembers.set(m.range.key, new Set([m]));
      else set.add(m);
    } else {
      this.rangeMembers.add(m);
    }
  }

  /** Removes `m`; returns whether it was a member. */
  delete(m: M): boolean {
    if (!this.all.delete(m)) return false;
    if (m.range.kind === 'single') {
      const set = this.keyMembers.get(m.range.key);
      set?.delete(m);
      if (set?.size === 0) this.keyMembers.delete(m.range.key);
    } else {
      this.rangeMembers.delete(m);
    }
    return true;
  }

  /**
   * Groups `events` by interested member (etcd's newWatcherBatch): each member gets the events
   * whose key it watches, in their original order. Members that want none are absent.
   */
  match(events: readonly Event[]): MemberBatches<M> {
    const out: MemberBatches<M> = new Map();
    if (this.all.size === 0) return out;
    for (const ev of events) {
      const key = toBinary(ev.kv.key);
      const exact = this.keyMembers.get(key);
      if (exact !== undefined) for (const m of exact) push(out, m, ev);
      for (const m of this.rangeMembers) if (inRange(m.range, key)) push(out, m, ev);
    }
    return out;
  }

  [Symbol.iterator](): Iterator<M> {
    return this.all[Symbol.iterator]();
  }
}

function push<M>(out: MemberBatches<M>, m: M, ev: Event): void {
  const evs = out.get(m);
  if (evs === undefined) out.set(m, [ev]);
  else evs.push(ev);
}
