/**
 * What the in-memory network tells its observers: per-type counters (sent, delivered, dropped,
 * duplicated) and a stream of trace events with a one-line text form, so a test can compare two
 * runs and the simulator can print what the network did. Pure bookkeeping.
 */

import type { NodeId } from '@tsetcd/raft';

/**
 * Why a message was not delivered. The first five are reported to the sender as unreachable:
 * - 'unknown-peer': the sender never called addPeer for it;
 * - 'peer-down': no open member with that ID (never joined, closed or crashed);
 * - 'partitioned': the link was cut when it was sent or when it arrived;
 * - 'fault': lost to the link's drop rate;
 * - 'discarded': thrown away by the test or simulator (`network.discard(seq)`).
 * The others are not network failures, so the sender hears nothing (except SnapshotFailure):
 * - 'invalid': failed validation (`validateMessage`, or from/to not matching the link);
 * - 'removed': the sender removed the peer while the message was in flight;
 * - 'sender-closed': the sender closed or crashed.
 */
export type DropReason =
  | 'unknown-peer'
  | 'peer-down'
  | 'partitioned'
  | 'fault'
  | 'discarded'
  | 'invalid'
  | 'removed'
  | 'sender-closed';

/** Whether a drop for this reason is reported to the sender through onUnreachable. */
export function reportsUnreachable(reason: DropReason): boolean {
  return (
    reason === 'unknown-peer' ||
    reason === 'peer-down' ||
    reason === 'partitioned' ||
    reason === 'fault' ||
    reason === 'discarded'
  );
}

interface EventBase {
  /** Virtual time, in ms. */
  readonly at: number;
  readonly seq: number;
  readonly from: NodeId;
  readonly to: NodeId;
  readonly type: string;
  readonly duplicate: boolean;
}

/** One thing the network did, in the order it did it. */
export type NetworkEvent =
  | (EventBase & { readonly kind: 'send'; readonly dueAt: number })
  | (EventBase & { readonly kind: 'deliver' })
  | (EventBase & { readonly kind: 'drop'; readonly reason: DropReason });

/** A NetworkEvent as one deterministic line, e.g. `12ms deliver #7 MsgApp 1→2`. */
export function describeNetworkEvent(e: NetworkEvent): string {
  const head = `${e.at}ms ${e.kind} #${e.seq}${e.duplicate ? '(dup)' : ''} ${e.type} ${e.from}→${e.to}`;
  if (e.kind === 'send') return `${head} due ${e.dueAt}ms`;
  if (e.kind === 'drop') return `${head}: ${e.reason}`;
  return head;
}

/** Counts by message type; a missing type means zero. */
export type CountsByType = Readonly<Record<string, number>>;

/**
 * What the network did so far. Invariant: for each type,
 * sent + duplicated = delivered + dropped + (still in flight).
 */
export interface NetworkStats {
  /** Messages handed to `send`, including those dropped at once. */
  readonly sent: CountsByType;
  /** Messages (and duplicate copies) handed to a member's onMessage. */
  readonly delivered: CountsByType;
  /** Messages (and duplicate copies) that never reached onMessage. */
  readonly dropped: CountsByType;
  /** Extra copies made by duplication faults. */
  readonly duplicated: CountsByType;
  /** Drops by reason. */
  readonly droppedByReason: Readonly<Partial<Record<DropReason, number>>>;
}

/** The sum of a CountsByType. */
export function sumCounts(counts: CountsByType): number {
  let n = 0;
  for (const v of Object.values(counts)) n += v;
  return n;
}

function bump(counts: Record<string, number>, key: string): void {
  counts[key] = (counts[key] ?? 0) + 1;
}

/** Mutable counters behind NetworkStats. */
export class NetworkCounters {
  private sent: Record<string, number> = {};
  private delivered: Record<string, number> = {};
  private dropped: Record<string, number> = {};
  private duplicated: Record<string, number> = {};
  private byReason: Partial<Record<DropReason, number>> = {};

  /** A message handed to send. */
  countSent(type: string): void {
    bump(this.sent, type);
  }

  /** A message handed to onMessage. */
  countDelivered(type: string): void {
    bump(this.delivered, type);
  }

  /** A message lost, for `reason`. */
  countDropped(type: string, reason: DropReason): void {
    bump(this.dropped, type);
    this.byReason[reason] = (this.byReason[reason] ?? 0) + 1;
  }

  /** An extra copy queued. */
  countDuplicated(type: string): void {
    bump(this.duplicated, type);
  }

  /** A copy of the counters as they are now. */
  snapshot(): NetworkStats {
    return {
      sent: { ...this.sent },
      delivered: { ...this.delivered },
      dropped: { ...this.dropped },
      duplicated: { ...this.duplicated },
      droppedByReason: { ...this.byReason },
    };
  }

  /** Zeroes every counter. */
  reset(): void {
    this.sent = {};
    this.delivered = {};
    this.dropped = {};
    this.duplicated = {};
    this.byReason = {};
  }
}
