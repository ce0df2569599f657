/**
 * The unstable part of the log: entries (and possibly a snapshot) Raft holds in memory that the
 * host has not yet reported as persisted. They are handed out in Ready.entries / Ready.snapshot
 * and leave this structure when `advance()` reports them stable. Pure.
 */

import type { Entry, Index, Snapshot, Term } from './types.js';

/** Entries and snapshot not yet persisted, starting at `offset`. */
export class Unstable {
  /** A snapshot received from the leader and not yet persisted. */
  snapshot: Snapshot | undefined = undefined;
  /** Invariant: entries[i].index === offset + i. */
  entries: Entry[] = [];
  /** Index of entries[0]; equals snapshot.index + 1 while a snapshot is pending. */
  offset: Index;

  constructor(offset: Index) {
    this.offset = offset;
  }

  /** The first index known from the pending snapshot, if any. */
  maybeFirstIndex(): Index | undefined {
    return this.snapshot === undefined ? undefined : ((this.snapshot.metadata.index + 1) as Index);
  }

  /** The last index held here (entries, else the snapshot), if any. */
  maybeLastIndex(): Index | undefined {
    if (this.entries.length > 0) return (this.offset + this.entries.length - 1) as Index;
    return this.snapshot?.metadata.index;
  }

  /** The term of entry `i` if this structure knows it. */
  maybeTerm(i: Index): Term | undefined {
    if (i < this.offset) {
      if (this.snapshot !== undefined && this.snapshot.metadata.index === i)
        return this.snapshot.metadata.term;
      return undefined;
    }
    const e = this.entries[i - this.offset];
    return e?.term;
  }

  /**
   * Marks entries up to `i` as persisted, if entry `i` still has term `t` (it may have been
   * overwritten by a new leader since the Ready that carried it was handed out).
   */
  stableTo(i: Index, t: Term): void {
    if (i < this.offset) return;
    if (this.maybeTerm(i) !== t) return;
    const n = i + 1 - this.offset;
    this.entries = n >= this.entries.length ? [] : this.entries.slice(n);
    this.offset = (i + 1) as Index;
  }

  /** Forgets the pending snapshot once the host persisted it. */
  stableSnapTo(i: Index): void {
    if (this.snapshot !== undefined && this.snapshot.metadata.index === i) this.snapshot = undefined;
  }

  /** Replaces everything with a snapshot from the leader. */
  restore(s: Snapshot): void {
    this.offset = (s.metadata.index + 1) as Index;
    this.entries = [];
    this.snapshot = s;
  }

  /** Appends entries, first dropping any held entries at or after the first new index. */
  truncateAndAppend(ents: readonly Entry[]): void {
    const fromIndex = ents[0]!.index;
    const end = this.offset + this.entries.length;
    if (fromIndex === end) {
      for (const e of ents) this.entries.push(e);
    } else if (fromIndex <= this.offset) {
      // The log is replaced from before our offset: the new entries become the whole tail.
      this.offset = fromIndex;
      this.entries = ents.slice();
    } else {
      this.entries = this.entries.slice(0, fromIndex - this.offset);
      for (const e of ents) this.entries.push(e);
    }
  }

  /** Entries in [lo, hi); the caller checks bounds. */
  slice(lo: Index, hi: Index): Entry[] {
    return this.entries.slice(lo - this.offset, hi - this.offset);
  }
}
