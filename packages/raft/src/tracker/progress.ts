/**
 * Progress: the leader's view of one follower — how much of the log it has (`match`), what to send
 * next (`next`), and how to send it (probe, replicate, snapshot). Pure.
 *
 *   StateProbe      one MsgApp at a time until the follower's log position is found;
 *   StateReplicate  optimistic pipelining: `next` advances as appends are sent, bounded by inflights;
 *   StateSnapshot   the follower needs a snapshot; nothing else is sent until it is applied.
 */

import type { Index } from '../types.js';
import type { Inflights } from './inflights.js';

/** How the leader currently sends appends to a follower. */
export type ProgressStateType = 'StateProbe' | 'StateReplicate' | 'StateSnapshot';

/** Replication state of one follower (or learner) as tracked by the leader. */
export class Progress {
  /** Invariant: match < next. */
  match: Index;
  next: Index;
  state: ProgressStateType = 'StateProbe';
  /** The snapshot index being sent while in StateSnapshot. */
  pendingSnapshot: Index = 0 as Index;
  /** The highest commit index sent to this follower. */
  sentCommit: Index = 0 as Index;
  /** Heard from within the last election timeout (for check-quorum); a new peer starts active. */
  recentActive: boolean;
  /** In StateProbe: an append is outstanding. In StateReplicate: the inflights window is full. */
  msgAppFlowPaused = false;
  readonly inflights: Inflights;
  isLearner: boolean;

  constructor(next: Index, inflights: Inflights, isLearner: boolean, recentActive: boolean) {
    this.match = 0 as Index;
    this.next = next;
    this.inflights = inflights;
    this.isLearner = isLearner;
    this.recentActive = recentActive;
  }

  private resetState(state: ProgressStateType): void {
    this.msgAppFlowPaused = false;
    this.pendingSnapshot = 0 as Index;
    this.state = state;
    this.inflights.reset();
  }

  /** Forgets everything learned in an earlier term: probe again from `next`. */
  resetForTerm(next: Index, match: Index): void {
    this.resetState('StateProbe');
    this.match = match;
    this.next = next;
    this.sentCommit = 0 as Index;
  }

  /** Starts probing: after a snapshot, from just past it; otherwise from match+1. */
  becomeProbe(): void {
    if (this.state === 'StateSnapshot') {
      const pending = this.pendingSnapshot;
      this.resetState('StateProbe');
      this.next = Math.max(this.match + 1, pending + 1) as Index;
    } else {
      this.resetState('StateProbe');
      this.next = (this.match + 1) as Index;
    }
  }

  /** Starts pipelining appends from match+1. */
  becomeReplicate(): void {
    this.resetState('StateReplicate');
    this.next = (this.match + 1) as Index;
  }

  /** Waits for the follower to apply a snapshot at `snapshotIndex`. */
  becomeSnapshot(snapshotIndex: Index): void {
    this.resetState('StateSnapshot');
    this.pendingSnapshot = snapshotIndex;
  }

  /** Updates flow control after a MsgApp with `entries` entries (of `bytes` bytes) was sent. */
  sentEntries(entries: number, bytes: number): void {
    if (this.state === 'StateReplicate') {
      if (entries > 0) {
        this.next = (this.next + entries) as Index;
        this.inflights.add((this.next - 1) as Index, bytes);
      }
      this.msgAppFlowPaused = this.inflights.full();
    } else if (this.state === 'StateProbe' && entries > 0) {
      this.msgAppFlowPaused = true;
    }
  }

  /** Records an acknowledgement up to `n`; returns whether `match` grew. */
  maybeUpdate(n: Index): boolean {
    let updated = false;
    if (this.match < n) {
      this.match = n;
      updated = true;
      this.msgAppFlowPaused = false;
    }
    if (this.next < n + 1) this.next = (n + 1) as Index;
    return updated;
  }

  /**
   * Handles a rejected append of index `rejected`; `matchHint` is where the follower's log may
   * match. Returns false if the rejection is stale (already superseded).
   */
  maybeDecrTo(rejected: Index, matchHint: Index): boolean {
    if (this.state === 'StateReplicate') {
      if (rejected <= this.match) return false;
      this.next = (this.match + 1) as Index;
      return true;
    }
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, matchHint + 1), this.match + 1) as Index;
    this.msgAppFlowPaused = false;
    return true;
  }

  /** Whether sending appends to this follower must wait. */
  isPaused(): boolean {
    if (this.state === 'StateSnapshot') return true;
    return this.msgAppFlowPaused;
  }
}
