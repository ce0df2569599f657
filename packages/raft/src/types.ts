/**
 * Raft's value types: terms, log indexes, node IDs, hard/soft state and membership.
 *
 * Terms and indexes are counters that never reach 2^53, so they are branded `number`s (cheap on the
 * hot path) checked as safe integers where they enter. Node IDs are opaque 64-bit identifiers, so
 * they are `bigint`. Pure. No I/O.
 */

declare const termBrand: unique symbol;
declare const indexBrand: unique symbol;

/** A Raft term (§5.1): a logical clock that only grows. */
export type Term = number & { readonly [termBrand]: true };

/** A position in the replicated log (1-based; 0 means "before the first entry"). */
export type Index = number & { readonly [indexBrand]: true };

/** A member's opaque 64-bit ID. `NONE` (0n) means "no node". */
export type NodeId = bigint;

/** The absent node ID, as etcd's `None`: no leader known, no vote cast. */
export const NONE: NodeId = 0n;

function checkCounter(n: number, what: string): void {
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new RangeError(`raft: ${what} must be a non-negative safe integer, got ${n}`);
  }
}

/** Brands a number as a Term after checking it is a non-negative safe integer. */
export function asTerm(n: number): Term {
  checkCounter(n, 'term');
  return n as Term;
}

/** Brands a number as an Index after checking it is a non-negative safe integer. */
export function asIndex(n: number): Index {
  checkCounter(n, 'index');
  return n as Index;
}

/** The role a node plays, named as in etcd-io/raft. */
export type StateType = 'StateFollower' | 'StateCandidate' | 'StateLeader' | 'StatePreCandidate';

/** The state that must be persisted before messages that depend on it are sent (Raft §5, Figure 2). */
export interface HardState {
  readonly term: Term;
  readonly vote: NodeId;
  readonly commit: Index;
}

/** Volatile state the host may want to observe (who leads, what role we play); never persisted. */
export interface SoftState {
  readonly lead: NodeId;
  readonly raftState: StateType;
}

/** The hard state of a node that has never persisted anything. */
export const EMPTY_HARD_STATE: HardState = { term: 0 as Term, vote: NONE, commit: 0 as Index };

/** True when two hard states are field-for-field equal. */
export function hardStateEqual(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}

/** True for the hard state of a node that has never persisted anything. */
export function isEmptyHardState(hs: HardState): boolean {
  return hardStateEqual(hs, EMPTY_HARD_STATE);
}

/**
 * The membership of the group. When `votersOutgoing` is non-empty the group is in a joint
 * configuration (thesis §4.3): decisions need a majority of `voters` AND of `votersOutgoing`.
 */
export interface ConfState {
  readonly voters: readonly NodeId[];
  readonly learners: readonly NodeId[];
  /** The outgoing voters of a joint configuration; empty when not joint. */
  readonly votersOutgoing: readonly NodeId[];
  /** Voters of the outgoing config that become learners when the joint config is left. */
  readonly learnersNext: readonly NodeId[];
  /** Whether the leader leaves the joint configuration on its own once it is committed. */
  readonly autoLeave: boolean;
}

/** A configuration with no members at all. */
export const EMPTY_CONF_STATE: ConfState = {
  voters: [],
  learners: [],
  votersOutgoing: [],
  learnersNext: [],
  autoLeave: false,
};

/** One membership change of a ConfChange. `ConfChangeUpdateNode` changes nothing in raft itself. */
export type ConfChangeType =
  | 'ConfChangeAddNode'
  | 'ConfChangeRemoveNode'
  | 'ConfChangeAddLearnerNode'
  | 'ConfChangeUpdateNode';

/** A single add/remove/demote of one node. */
export interface ConfChangeSingle {
  readonly type: ConfChangeType;
  readonly nodeId: NodeId;
}

/**
 * How a ConfChange moves between configurations:
 * - `auto`: one simple change is applied directly, several go through a joint config that the
 *   leader leaves on its own;
 * - `implicit`: always joint, left automatically;
 * - `explicit`: always joint, left only by proposing an empty ConfChange.
 */
export type ConfChangeTransition = 'auto' | 'implicit' | 'explicit';

/** A membership change proposal (etcd's ConfChangeV2). Empty `changes` means "leave joint". */
export interface ConfChange {
  readonly transition: ConfChangeTransition;
  readonly changes: readonly ConfChangeSingle[];
  /** Opaque bytes for the host (etcd puts the member's peer URLs here). */
  readonly context: Uint8Array;
}

/** A normal log entry; empty `data` is the no-op a new leader appends (Raft §8). */
export interface NormalEntry {
  readonly type: 'EntryNormal';
  readonly term: Term;
  readonly index: Index;
  readonly data: Uint8Array;
}

/** A log entry that changes membership once applied. */
export interface ConfChangeEntry {
  readonly type: 'EntryConfChange';
  readonly term: Term;
  readonly index: Index;
  readonly change: ConfChange;
}

/** An entry of the replicated log. */
export type Entry = NormalEntry | ConfChangeEntry;

/** Fixed per-entry overhead counted by size limits, so empty entries still cost something. */
export const ENTRY_OVERHEAD_BYTES = 16;

/** The number of bytes an entry counts for in size limits (payload plus a fixed overhead). */
export function entrySize(e: Entry): number {
  if (e.type === 'EntryNormal') return e.data.length + ENTRY_OVERHEAD_BYTES;
  return e.change.context.length + e.change.changes.length * 16 + ENTRY_OVERHEAD_BYTES;
}

/** What a snapshot covers: every entry up to and including `index`, and the membership then. */
export interface SnapshotMetadata {
  readonly index: Index;
  readonly term: Term;
  readonly confState: ConfState;
}

/** A point-in-time image of the state machine that replaces the log prefix it covers. */
export interface Snapshot {
  readonly metadata: SnapshotMetadata;
  readonly data: Uint8Array;
}

/** The snapshot of a node that has none. */
export const EMPTY_SNAPSHOT: Snapshot = {
  metadata: { index: 0 as Index, term: 0 as Term, confState: EMPTY_CONF_STATE },
  data: new Uint8Array(0),
};

/** True when the snapshot covers nothing (index 0). */
export function isEmptySnapshot(s: Snapshot): boolean {
  return s.metadata.index === 0;
}

/**
 * The answer to a `readIndex` request: once the state machine has applied `index`, a read
 * issued with `requestCtx` may be served and is linearizable (thesis §6.4).
 */
export interface ReadState {
  readonly index: Index;
  readonly requestCtx: Uint8Array;
}
