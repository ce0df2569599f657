/**
 * RaftLog: the node's view of the log — stable entries in Storage, followed by unstable ones in
 * memory — plus the commit and apply cursors. Pure: reads Storage, never writes it.
 */

import { CompactedError } from './errors.js';
import { Unstable } from './log-unstable.js';
import { limitSize } from './memory-storage.js';
import type { Storage } from './storage.js';
import { type Entry, entrySize, type Index, type Snapshot, type Term } from './types.js';

/** The log as Raft sees it, with its cursors. */
export class RaftLog {
  readonly unstable: Unstable;
  /**
   * Highest index known to be committed (stored on a quorum).
   * Invariant: applied <= applying <= committed <= lastIndex().
   */
  committed: Index;
  /** Highest index handed to the host in a Ready for applying. */
  applying: Index;
  /** Highest index the host reported as applied (via advance). */
  applied: Index;

  constructor(
    readonly storage: Storage,
    private readonly maxApplyingSize: number,
  ) {
    const first = storage.firstIndex();
    const last = storage.lastIndex();
    this.unstable = new Unstable((last + 1) as Index);
    this.committed = (first - 1) as Index;
    this.applying = this.committed;
    this.applied = this.committed;
  }

  /** The first index still in the log (after the latest snapshot). */
  firstIndex(): Index {
    return this.unstable.maybeFirstIndex() ?? this.storage.firstIndex();
  }

  /** The last index in the log, stable or not. */
  lastIndex(): Index {
    return this.unstable.maybeLastIndex() ?? this.storage.lastIndex();
  }

  /** Term of the last entry. */
  lastTerm(): Term {
    const t = this.term(this.lastIndex());
    if (t === undefined)
      throw new Error(`raft: unexpected missing term for the last index ${this.lastIndex()}`);
    return t;
  }

  /**
   * The highest index such that the log up to it is durable on this node. Nothing counts while
   * a received snapshot is not yet persisted (storage then no longer describes this log).
   */
  persistedLastIndex(): Index {
    if (this.unstable.snapshot !== undefined) return 0 as Index;
    if (this.unstable.entries.length > 0) return (this.unstable.offset - 1) as Index;
    return this.lastIndex();
  }

  /** The term of entry `i`, or undefined when it is compacted or beyond the last index. */
  term(i: Index): Term | undefined {
    const dummy = this.firstIndex() - 1;
    if (i < dummy || i > this.lastIndex()) return undefined;
    const t = this.unstable.maybeTerm(i);
    if (t !== undefined) return t;
    try {
      return this.storage.term(i);
    } catch (e) {
      if (e instanceof CompactedError) return undefined;
      throw e;
    }
  }

  /** Whether entry `i` exists with term `t` (Raft §5.3 consistency check). */
  matchTerm(i: Index, t: Term): boolean {
    return this.term(i) === t;
  }

  /** Raft §5.4.1: is a log ending at (lasti, term) at least as up-to-date as ours? */
  isUpToDate(lasti: Index, term: Term): boolean {
    const ourTerm = this.lastTerm();
    return term > ourTerm || (term === ourTerm && lasti >= this.lastIndex());
  }

  /**
   * A follower's half of MsgApp (Raft §5.3): if our entry at `index` has `logTerm`, append `ents`
   * (dropping a conflicting suffix), advance commit, and return the index of the last new entry.
   * Returns undefined when the consistency check fails.
   */
  maybeAppend(index: Index, logTerm: Term, committed: Index, ents: readonly Entry[]): Index | undefined {
    if (!this.matchTerm(index, logTerm)) return undefined;
    const lastnewi = (index + ents.length) as Index;
    const ci = this.findConflict(ents);
    if (ci !== 0) {
      if (ci <= this.committed) {
        throw new Error(`raft: entry ${ci} conflicts with committed entry [committed(${this.committed})]`);
      }
      this.append(ents.slice(ci - (index + 1)));
    }
    this.commitTo((committed < lastnewi ? committed : lastnewi) as Index);
    return lastnewi;
  }

  /** Appends entries after possibly truncating a conflicting uncommitted suffix. */
  append(ents: readonly Entry[]): Index {
    if (ents.length === 0) return this.lastIndex();
    const after = ents[0]!.index - 1;
    if (after < this.committed) {
      throw new Error(`raft: after(${after}) is out of range [committed(${this.committed})]`);
    }
    this.unstable.truncateAndAppend(ents);
    return this.lastIndex();
  }

  /**
   * The index of the first entry whose term differs from ours (or that we lack), or 0 when all
   * given entries are already in the log.
   */
  findConflict(ents: readonly Entry[]): Index {
    for (const e of ents) {
      if (!this.matchTerm(e.index, e.term)) return e.index;
    }
    return 0 as Index;
  }

  /**
   * The largest (index, term) with index <= `index` and term <= `term`: where a log whose entry at
   * `index` has `term` can first match ours. Used to skip a whole term per probe (fast backtracking).
   */
  findConflictByTerm(index: Index, term: Term): { index: Index; term: Term } {
    let i = index;
    for (;;) {
      const t = this.term(i);
      if (t === undefined) return { index: i, term: 0 as Term };
      if (t <= term) return { index: i, term: t };
      i = (i - 1) as Index;
    }
  }

  /** Entries not yet persisted. */
  unstableEntries(): readonly Entry[] {
    return this.unstable.entries;
  }

  /** Whether a received snapshot waits to be persisted. */
  hasPendingSnapshot(): boolean {
    return this.unstable.snapshot !== undefined;
  }

  /** The highest index that may be handed out for applying: committed and durable here. */
  private maxAppliableIndex(): Index {
    const persisted = this.persistedLastIndex();
    return Math.min(this.committed, persisted) as Index;
  }

  /** Whether committed entries wait to be applied. */
  hasNextCommittedEnts(): boolean {
    if (this.hasPendingSnapshot()) return false;
    return this.maxAppliableIndex() > this.applying;
  }

  /** The next committed, durable entries to apply, bounded in bytes. */
  nextCommittedEnts(): Entry[] {
    if (this.hasPendingSnapshot()) return [];
    const hi = this.maxAppliableIndex();
    if (hi <= this.applying) return [];
    return this.slice((this.applying + 1) as Index, (hi + 1) as Index, this.maxApplyingSize);
  }

  /** The latest snapshot, pending or stored. */
  snapshot(): Snapshot {
    return this.unstable.snapshot ?? this.storage.snapshot();
  }

  /** Raises the commit index. */
  commitTo(tocommit: Index): void {
    if (this.committed >= tocommit) return;
    if (this.lastIndex() < tocommit) {
      throw new Error(
        `raft: tocommit(${tocommit}) is out of range [lastIndex(${this.lastIndex()})]. Was the raft log corrupted, truncated, or lost?`,
      );
    }
    this.committed = tocommit;
  }

  /** Leader: commit `maxIndex` only if it is from the current term (Raft §5.4.2, Figure 8). */
  maybeCommit(maxIndex: Index, term: Term): boolean {
    if (maxIndex > this.committed && this.term(maxIndex) === term) {
      this.commitTo(maxIndex);
      return true;
    }
    return false;
  }

  /** Records that entries up to `i` were handed out for applying. */
  acceptApplying(i: Index): void {
    if (i > this.applying) this.applying = i;
  }

  /** Records that the host applied entries up to `i`. */
  appliedTo(i: Index): void {
    if (i === 0) return;
    if (this.committed < i || i < this.applied) {
      throw new Error(
        `raft: applied(${i}) is out of range [prevApplied(${this.applied}), committed(${this.committed})]`,
      );
    }
    this.applied = i;
    if (this.applying < i) this.applying = i;
  }

  /** Marks entries up to (i, t) as persisted. */
  stableTo(i: Index, t: Term): void {
    this.unstable.stableTo(i, t);
  }

  /** Marks the pending snapshot as persisted. */
  stableSnapTo(i: Index): void {
    this.unstable.stableSnapTo(i);
  }

  /** Replaces the log with a snapshot from the leader; everything it covers is committed. */
  restore(s: Snapshot): void {
    this.committed = s.metadata.index;
    this.unstable.restore(s);
  }

  /** Entries from `i` to the end, at most `maxSize` bytes (at least one). Throws CompactedError. */
  entries(i: Index, maxSize: number): Entry[] {
    const last = this.lastIndex();
    if (i > last) return [];
    return this.slice(i, (last + 1) as Index, maxSize);
  }

  /** Entries in [lo, hi), at most `maxSize` bytes (at least one). Throws CompactedError if lo is compacted. */
  slice(lo: Index, hi: Index, maxSize: number): Entry[] {
    if (lo < this.firstIndex()) throw new CompactedError();
    if (hi > this.lastIndex() + 1) {
      throw new RangeError(
        `raft: slice[${lo},${hi}) out of bound [${this.firstIndex()},${this.lastIndex()}]`,
      );
    }
    if (lo >= hi) return [];
    const off = this.unstable.offset;
    let ents: Entry[] = [];
    if (lo < off) {
      ents = this.storage.entries(lo, (hi < off ? hi : off) as Index, maxSize);
      // Storage returned fewer than asked because of the size limit: stop there.
      if (ents.length < Math.min(hi, off) - lo) return ents;
    }
    if (hi > off) {
      const uns = this.unstable.slice((lo > off ? lo : off) as Index, hi);
      ents = ents.length > 0 ? ents.concat(uns) : uns;
    }
    return limitSize(ents, maxSize);
  }

  /** Total byte size of entries, as counted by size limits. */
  static sizeOf(ents: readonly Entry[]): number {
    let n = 0;
    for (const e of ents) n += entrySize(e);
    return n;
  }
}
