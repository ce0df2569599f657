/**
 * MemoryStorage: a Storage kept in memory, for tests and for hosts that make the log durable
 * elsewhere (a WAL) and rebuild this on restart. Not thread-safe; not durable on its own.
 */

import { CompactedError, SnapOutOfDateError, UnavailableError } from './errors.js';
import type { InitialState, Storage } from './storage.js';
import {
  type ConfState,
  EMPTY_CONF_STATE,
  EMPTY_HARD_STATE,
  EMPTY_SNAPSHOT,
  type Entry,
  entrySize,
  type HardState,
  type Index,
  type NodeId,
  type Snapshot,
  type Term,
} from './types.js';

/** An in-memory Storage with the write methods a host calls while handling a Ready. */
export class MemoryStorage implements Storage {
  private hardState: HardState = EMPTY_HARD_STATE;
  private snap: Snapshot = EMPTY_SNAPSHOT;
  /**
   * ents[0] is a dummy standing for the snapshot's (index, term); ents[i] has index offset + i.
   * Invariant: ents.length >= 1 and ents[i].index === ents[0].index + i.
   */
  private ents: Entry[] = [dummyEntry(0 as Index, 0 as Term)];

  /**
   * An empty log. `initial` gives the membership of a brand-new cluster (as the metadata of an
   * empty snapshot at index 0); a node joining an existing cluster passes nothing and learns the
   * membership from the leader's snapshot.
   */
  constructor(initial?: { readonly voters?: readonly NodeId[]; readonly learners?: readonly NodeId[] }) {
    if (initial !== undefined) {
      const confState: ConfState = {
        ...EMPTY_CONF_STATE,
        voters: [...(initial.voters ?? [])],
        learners: [...(initial.learners ?? [])],
      };
      this.snap = { ...EMPTY_SNAPSHOT, metadata: { ...EMPTY_SNAPSHOT.metadata, confState } };
    }
  }

  /** The hard state last set, with the snapshot's membership. */
  initialState(): InitialState {
    return { hardState: this.hardState, confState: this.snap.metadata.confState };
  }

  /** Records the hard state; the host calls this for every Ready carrying one. */
  setHardState(hs: HardState): void {
    this.hardState = hs;
  }

  entries(lo: Index, hi: Index, maxSize: number): Entry[] {
    const offset = this.ents[0]!.index;
    if (lo <= offset) throw new CompactedError();
    if (hi > this.lastIndex() + 1) throw new UnavailableError();
    if (lo >= hi) return [];
    return limitSize(this.ents.slice(lo - offset, hi - offset), maxSize);
  }

  term(i: Index): Term {
    const offset = this.ents[0]!.index;
    if (i < offset) throw new CompactedError();
    const e = this.ents[i - offset];
    if (e === undefined) throw new UnavailableError();
    return e.term;
  }

  firstIndex(): Index {
    return (this.ents[0]!.index + 1) as Index;
  }

  lastIndex(): Index {
    return (this.ents[0]!.index + this.ents.length - 1) as Index;
  }

  snapshot(): Snapshot {
    return this.snap;
  }

  /** Replaces the whole contents with a snapshot received from the leader. */
  applySnapshot(snap: Snapshot): void {
    if (snap.metadata.index <= this.snap.metadata.index) throw new SnapOutOfDateError();
    this.snap = snap;
    this.ents = [dummyEntry(snap.metadata.index, snap.metadata.term)];
  }

  /**
   * Records a snapshot of the state machine at `index` (which must be retained) so it can be
   * sent to slow followers. Follow with `compact` to drop the entries it covers.
   */
  createSnapshot(index: Index, confState: ConfState, data: Uint8Array): Snapshot {
    if (index <= this.snap.metadata.index) throw new SnapOutOfDateError();
    if (index > this.lastIndex()) {
      throw new RangeError(`raft: snapshot index ${index} is beyond the last index ${this.lastIndex()}`);
    }
    this.snap = { metadata: { index, term: this.term(index), confState }, data };
    return this.snap;
  }

  /** Drops every entry before `compactIndex`; it becomes the dummy entry. */
  compact(compactIndex: Index): void {
    const offset = this.ents[0]!.index;
    if (compactIndex <= offset) throw new CompactedError();
    if (compactIndex > this.lastIndex()) {
      throw new RangeError(`raft: compact ${compactIndex} is beyond the last index ${this.lastIndex()}`);
    }
    const first = this.ents[compactIndex - offset]!;
    this.ents = [dummyEntry(first.index, first.term), ...this.ents.slice(compactIndex - offset + 1)];
  }

  /**
   * Appends entries, replacing any retained entries at or after the first new index (a new
   * leader may overwrite an uncommitted tail). Entries already compacted are skipped.
   */
  append(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const first = this.firstIndex();
    const last = entries[entries.length - 1]!.index;
    if (last < first) return;
    const toAppend = entries[0]!.index < first ? entries.slice(first - entries[0]!.index) : entries;
    const offset = toAppend[0]!.index - this.ents[0]!.index;
    if (offset > this.ents.length) {
      throw new RangeError(
        `raft: missing log entry [last: ${this.lastIndex()}, append at: ${toAppend[0]!.index}]`,
      );
    }
    // Truncate only when overwriting: assigning `length` is a slow runtime call even when unchanged.
    if (this.ents.length !== offset) this.ents.length = offset;
    for (const e of toAppend) this.ents.push(e);
  }
}

function dummyEntry(index: Index, term: Term): Entry {
  return { type: 'EntryNormal', index, term, data: new Uint8Array(0) };
}

/** Keeps the longest prefix within `maxSize` bytes, but always the first entry. */
export function limitSize<T extends Entry>(ents: T[], maxSize: number): T[] {
  if (ents.length === 0) return ents;
  let size = entrySize(ents[0]!);
  let n = 1;
  for (; n < ents.length; n++) {
    size += entrySize(ents[n]!);
    if (size > maxSize) break;
  }
  return n === ents.length ? ents : ents.slice(0, n);
}
