/**
 * Ready: everything the host must do after a batch of tick/step/propose calls, and in what order.
 *
 * The contract, for one Ready `rd` (then call `advance()` before asking for the next one):
 *   1. Send `rd.messages` at once — BEFORE or WHILE persisting. They promise nothing that depends
 *      on this node's disk (the leader replicating entries it is still writing, thesis §10.2.1).
 *   2. Persist, durably (fsync): `rd.snapshot` first, then `rd.entries` (replacing any stored entries
 *      at the same or later indexes), then `rd.hardState`. Entries and hard state may be written in
 *      one atomic batch; the hard state must never be durable without the entries it commits.
 *   3. Only AFTER step 2 is durable: send `rd.persistedMessages` (acknowledgements and votes, which
 *      promise that the entries or the vote are on disk).
 *   4. Apply `rd.committedEntries` to the state machine, in order. They are already durable on
 *      this node, so this may overlap with step 2. For EntryConfChange call `applyConfChange`.
 *   5. Serve `rd.readStates` once the applied index reaches each one's `index`.
 *   6. Call `advance()`: it tells Raft the entries and snapshot are persisted and the committed
 *      entries applied.
 */

import type { Message } from './messages.js';
import type { Entry, HardState, ReadState, Snapshot, SoftState } from './types.js';

/** The work a host must do, produced by `RawNode.ready()`. */
export interface Ready {
  /** Present when the leader or role changed since the last Ready. Volatile: never persist it. */
  readonly softState?: SoftState;
  /** Present when term, vote or commit changed. Persist it AFTER `entries` (or atomically with them). */
  readonly hardState?: HardState;
  /** Entries to append to stable storage BEFORE sending `persistedMessages`. */
  readonly entries: readonly Entry[];
  /** A snapshot to install in stable storage BEFORE appending `entries`. */
  readonly snapshot?: Snapshot;
  /** Committed entries to apply to the state machine; all are already in stable storage. */
  readonly committedEntries: readonly Entry[];
  /** Messages that may be sent NOW, before the persistence of this Ready completes. */
  readonly messages: readonly Message[];
  /** Messages that may be sent only AFTER `snapshot`, `entries` and `hardState` are durable. */
  readonly persistedMessages: readonly Message[];
  /** ReadIndex answers; serve each once the applied index reaches its `index`. */
  readonly readStates: readonly ReadState[];
  /** Whether step 2 needs an fsync (false when only the commit index changed). */
  readonly mustSync: boolean;
}
