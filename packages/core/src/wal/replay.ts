/**
 * Replay: turns the WAL's records into the log a restarted node resumes from (etcd's
 * `wal.ReadAll`). Semantics, in record order:
 *   1. An entry at index i replaces every entry from i on (a new leader truncated our tail).
 *   2. A snapshot marker at (S, T): if the log holds entry S with term T, entries up to S are
 *      dropped and the rest kept (a local snapshot); otherwise the whole log is dropped (a
 *      snapshot received from the leader replaced it). Raft §7. This holds for every marker, not
 *      only the one being restored from: a follower that received a snapshot and later made its
 *      own has both, and the log between them starts at the received one.
 *   3. The last hard state wins, its commit index raised to the snapshot's if below it.
 * Pure. No I/O.
 */

import { EMPTY_HARD_STATE, type Entry, type HardState, MemoryStorage, type Snapshot } from '@tsetcd/raft';
import { WalGapError } from '../errors.js';
import type { SnapshotRecord, WalRecord } from './wal-record.js';

/** What the WAL says past the snapshot. */
export interface ReplayResult {
  /** Entries after the snapshot index, contiguous from snapshot index + 1. */
  readonly entries: Entry[];
  readonly hardState: HardState;
}

/** The marker of the newest snapshot the WAL knows to be durable, if any. */
export function latestSnapshotMarker(records: readonly WalRecord[]): SnapshotRecord | undefined {
  let marker: SnapshotRecord | undefined;
  for (const r of records) {
    if (r.type === 'snapshot' && (marker === undefined || r.index >= marker.index)) marker = r;
  }
  return marker;
}

/** Replays `records` on top of the snapshot at `snap` (index 0, term 0 when there is none). */
export function replay(records: readonly WalRecord[], snap: { index: number; term: number }): ReplayResult {
  // Invariant: ents[k].index === base.index + 1 + k. `base` is the position before ents[0];
  // its term is -1 when unknown (the WAL's first segments were released).
  let base: { index: number; term: number } | undefined;
  let ents: Entry[] = [];
  let hardState = EMPTY_HARD_STATE;
  for (const r of records) {
    if (r.type === 'snapshot') {
      const k = r.index - (base?.index ?? 0) - 1;
      // An older snapshot's marker still says what happened to the log then: a snapshot received
      // from the leader replaced it (the entries after it follow the snapshot, not the old log).
      // One before everything kept says nothing any more.
      const chosen = r.index === snap.index && r.term === snap.term;
      if (!chosen && k < -1) continue;
      // An unknown base term (released segments) is trusted, as etcd's ReadAll trusts every entry.
      const baseMatches = base !== undefined && (base.term === r.term || base.term === -1);
      const matches = base !== undefined && (k === -1 ? baseMatches : ents[k]?.term === r.term);
      ents = matches && k >= 0 ? ents.slice(k + 1) : matches ? ents : [];
      base = { index: r.index, term: r.term };
    } else if (r.type === 'state') {
      for (const e of r.entries) {
        if (base === undefined) base = { index: e.index - 1, term: -1 };
        if (e.index <= base.index) {
          // Rewrites a position before everything kept: only the new suffix is valid now.
          base = { index: e.index - 1, term: -1 };
          ents = [e];
          continue;
        }
        const k = e.index - base.index - 1;
        if (k > ents.length) {
          throw new WalGapError(`entry ${e.index} follows ${base.index + ents.length}`);
        }
        if (k < ents.length) ents.length = k;
        ents.push(e);
      }
      if (r.hardState !== undefined) hardState = r.hardState;
    }
  }
  const first = base === undefined ? snap.index + 1 : base.index + 1;
  const entries = ents.filter((e) => e.index > snap.index);
  if (entries.length > 0 && first > snap.index + 1) {
    throw new WalGapError(`the log resumes at ${first}, after the snapshot at ${snap.index}`);
  }
  // A snapshot holds only committed state, so the commit index is at least its index — even
  // when a crash kept the snapshot's marker but tore the hard state written after it in the
  // same save (found by the simulator, seeds 30 and 46: raft refused the older commit index).
  if (hardState.commit < snap.index) hardState = { ...hardState, commit: snap.index as HardState['commit'] };
  return { entries, hardState };
}

/** Raft's view of a reopened log: the snapshot it resumes from, the entries after it, the hard state. */
export function restoreLog(records: readonly WalRecord[], snapshot: Snapshot | undefined): MemoryStorage {
  const base = snapshot === undefined ? { index: 0, term: 0 } : snapshot.metadata;
  const { entries, hardState } = replay(records, base);
  const storage = new MemoryStorage();
  if (snapshot !== undefined && snapshot.metadata.index > 0) storage.applySnapshot(snapshot);
  storage.append(entries);
  storage.setHardState(hardState);
  return storage;
}
