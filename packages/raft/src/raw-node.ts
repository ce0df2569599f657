/**
 * RawNode: the API a host drives Raft through (etcd-io/raft's RawNode). The host calls tick() on
 * its clock, step() for each message received, propose()/readIndex()/… for local requests, and
 * whenever hasReady() is true: ready(), does what the Ready says (see ready.ts), then advance().
 *
 * Pure and synchronous: no I/O, no timers, no randomness except the injected `rand`.
 */

import { type Config, resolveConfig } from './config.js';
import { type ProposalDroppedError, ReadyProtocolError } from './errors.js';
import type { Message } from './messages.js';
import { Raft } from './raft.js';
import type { Ready } from './ready.js';
import { reportSnapshot, reportUnreachable } from './step-leader.js';
import type { ProgressStateType } from './tracker/progress.js';
import {
  type ConfChange,
  type ConfState,
  type Entry,
  type HardState,
  hardStateEqual,
  type Index,
  isEmptyHardState,
  NONE,
  type NodeId,
  type SoftState,
  type Term,
} from './types.js';

/** A follower's replication state as the leader sees it. */
export interface ProgressStatus {
  readonly match: Index;
  readonly next: Index;
  readonly state: ProgressStateType;
  readonly isLearner: boolean;
  readonly recentActive: boolean;
}

/** A read-only view of a node, for hosts, metrics and tests. */
export interface Status {
  readonly id: NodeId;
  readonly hardState: HardState;
  readonly softState: SoftState;
  readonly applied: Index;
  readonly committed: Index;
  readonly lastIndex: Index;
  /** Every member's progress; non-empty only on the leader. */
  readonly progress: ReadonlyMap<NodeId, ProgressStatus>;
  readonly leadTransferee: NodeId;
  readonly confState: ConfState;
}

/** Outcome of sending a snapshot, reported by the host to the leader. */
export type SnapshotStatus = 'SnapshotFinish' | 'SnapshotFailure';

/** What a handed-out Ready contained, so advance() knows what became durable and applied. */
interface InFlightReady {
  readonly lastEntry: { readonly index: Index; readonly term: Term } | undefined;
  readonly snapshotIndex: Index | undefined;
  readonly lastCommitted: Index | undefined;
}

/** The host-facing Raft node. */
export class RawNode {
  private readonly raft: Raft;
  private prevSoftState: SoftState;
  private prevHardState: HardState;
  private inFlight: InFlightReady | undefined;

  /** Creates a node from its config; it resumes from whatever `config.storage` holds. */
  constructor(config: Config) {
    this.raft = new Raft(resolveConfig(config));
    this.prevSoftState = this.raft.softState();
    this.prevHardState = this.raft.hardState();
  }

  /**
   * Starts a brand-new cluster whose initial voters are `peers`: appends one committed
   * ConfChangeAddNode entry per peer (in order), as etcd's Bootstrap does, so the membership is in
   * the log like any later change; `contexts[i]` (host bytes, e.g. the member's URLs) becomes the
   * i-th entry's context. Only valid on empty storage.
   */
  bootstrap(peers: readonly NodeId[], contexts?: readonly Uint8Array[]): void {
    const r = this.raft;
    if (peers.length === 0) throw new RangeError('raft: bootstrap needs at least one peer');
    if (contexts !== undefined && contexts.length !== peers.length) {
      throw new RangeError('raft: bootstrap needs one context per peer');
    }
    if (r.raftLog.lastIndex() !== 0 || !isEmptyHardState(this.prevHardState)) {
      throw new ReadyProtocolError('can only bootstrap an empty node');
    }
    r.becomeFollower(1 as Term, NONE);
    const ents: Entry[] = peers.map((id, i) => ({
      type: 'EntryConfChange',
      term: 1 as Term,
      index: (i + 1) as Index,
      change: {
        transition: 'auto',
        changes: [{ type: 'ConfChangeAddNode', nodeId: id }],
        context: contexts?.[i] ?? new Uint8Array(0),
      },
    }));
    r.raftLog.append(ents);
    r.raftLog.committed = ents.length as Index;
    // Apply them now so the node knows its peers at once. It may campaign only after the host has
    // applied them from ready() (idempotently): hup() refuses while conf changes are unapplied.
    for (const e of ents) if (e.type === 'EntryConfChange') r.applyConfChange(e.change);
  }

  /** Advances the logical clock by one tick (elections, heartbeats, check-quorum). */
  tick(): void {
    this.raft.tick();
  }

  /** Starts an election now (pre-vote first if enabled). */
  campaign(): void {
    this.raft.hup('CampaignElection');
  }

  /**
   * Handles a message from a peer. Messages from unknown peers and stale terms are ignored;
   * a forwarded proposal the leader cannot take is dropped (the proposer times out and retries).
   */
  step(m: Message): void {
    if (m.type === 'MsgProp' || m.type === 'MsgReadIndex' || m.type === 'MsgTransferLeader') {
      // Requests from another node are only meaningful to a member.
      if (m.from === this.raft.id) return;
    } else if (
      !this.raft.trk.progress.has(m.from) &&
      (m.type === 'MsgAppResp' || m.type === 'MsgHeartbeatResp')
    ) {
      return;
    }
    this.raft.step(m);
  }

  /** Proposes `data` for the log; throws ProposalDroppedError if it cannot be appended or forwarded. */
  propose(data: Uint8Array): void {
    const r = this.raft;
    const e: Entry = { type: 'EntryNormal', term: 0 as Term, index: 0 as Index, data };
    this.throwIfDropped(r.step({ type: 'MsgProp', from: r.id, to: r.id, term: 0 as Term, entries: [e] }));
  }

  /**
   * Proposes several entries as one MsgProp: one append and one broadcast for the batch, as a host
   * does with the requests that arrived since its last Ready. All or none are appended.
   */
  proposeBatch(datas: readonly Uint8Array[]): void {
    if (datas.length === 0) return;
    const r = this.raft;
    const entries: Entry[] = new Array(datas.length);
    for (let i = 0; i < datas.length; i++) {
      entries[i] = { type: 'EntryNormal', term: 0 as Term, index: 0 as Index, data: datas[i]! };
    }
    this.throwIfDropped(r.step({ type: 'MsgProp', from: r.id, to: r.id, term: 0 as Term, entries }));
  }

  /** Proposes a membership change; apply it with applyConfChange() once it is committed. */
  proposeConfChange(cc: ConfChange): void {
    const r = this.raft;
    const e: Entry = { type: 'EntryConfChange', term: 0 as Term, index: 0 as Index, change: cc };
    this.throwIfDropped(r.step({ type: 'MsgProp', from: r.id, to: r.id, term: 0 as Term, entries: [e] }));
  }

  /** Applies a committed ConfChange entry's change and returns the new membership. */
  applyConfChange(cc: ConfChange): ConfState {
    return this.raft.applyConfChange(cc);
  }

  /**
   * Requests a linearizable read point. The answer arrives as a ReadState with the same
   * `requestCtx` in a later Ready; contexts should be unique. Throws when there is no leader.
   */
  readIndex(requestCtx: Uint8Array): void {
    const r = this.raft;
    this.throwIfDropped(
      r.step({ type: 'MsgReadIndex', from: r.id, to: r.id, term: 0 as Term, context: requestCtx }),
    );
  }

  /**
   * The index a linearizable read may be served at right now, without a ReadIndex round: set only
   * on the leader of a single-voter configuration that has committed an entry of its term — what
   * `readIndex` would answer there, minus the Ready that carries the answer. Undefined otherwise.
   */
  localReadIndex(): Index | undefined {
    const r = this.raft;
    if (r.state !== 'StateLeader' || !r.trk.isSingleton() || !r.committedEntryInCurrentTerm())
      return undefined;
    return r.raftLog.committed;
  }

  /** Asks the leader to hand leadership to `transferee` (thesis §3.10). */
  transferLeader(transferee: NodeId): void {
    const r = this.raft;
    this.throwIfDropped(
      r.step({ type: 'MsgTransferLeader', from: r.id, to: r.id, term: 0 as Term, transferee }),
    );
  }

  /** The host failed to deliver a message to `id`: the leader probes it instead of pipelining. */
  reportUnreachable(id: NodeId): void {
    reportUnreachable(this.raft, id);
  }

  /** The host reports whether a MsgSnap to `id` was delivered. */
  reportSnapshot(id: NodeId, status: SnapshotStatus): void {
    reportSnapshot(this.raft, id, status === 'SnapshotFailure');
  }

  private throwIfDropped(err: ProposalDroppedError | undefined): void {
    if (err !== undefined) throw err;
  }

  /** Whether ready() would return any work. */
  hasReady(): boolean {
    const r = this.raft;
    // Field by field: this runs once per host loop iteration, so it allocates nothing.
    const prevSs = this.prevSoftState;
    if (r.lead !== prevSs.lead || r.state !== prevSs.raftState) return true;
    const prevHs = this.prevHardState;
    const commit = r.raftLog.committed;
    const hsChanged = r.term !== prevHs.term || r.vote !== prevHs.vote || commit !== prevHs.commit;
    if (hsChanged && (r.term !== 0 || r.vote !== NONE || commit !== 0)) return true;
    if (r.raftLog.hasPendingSnapshot()) return true;
    if (r.msgs.length > 0 || r.msgsAfterAppend.length > 0) return true;
    if (r.raftLog.unstableEntries().length > 0 || r.raftLog.hasNextCommittedEnts()) return true;
    return r.readStates.length > 0;
  }

  /**
   * Returns the pending work and takes ownership of its messages. The host must finish it and
   * call advance() before calling ready() again.
   */
  ready(): Ready {
    if (this.inFlight !== undefined) throw new ReadyProtocolError('ready() called again before advance()');
    const r = this.raft;
    r.flushAppends();
    const entries = r.raftLog.unstableEntries().slice();
    const snapshot = r.raftLog.unstable.snapshot;
    const committedEntries = r.raftLog.nextCommittedEnts();
    const ss = r.softState();
    const hs = r.hardState();
    const softChanged = ss.lead !== this.prevSoftState.lead || ss.raftState !== this.prevSoftState.raftState;
    const hardChanged = !isEmptyHardState(hs) && !hardStateEqual(hs, this.prevHardState);
    const mustSync =
      entries.length > 0 ||
      snapshot !== undefined ||
      hs.term !== this.prevHardState.term ||
      hs.vote !== this.prevHardState.vote;

    // Built field by field: spreading conditional object literals hits V8's slow clone path.
    const rd: { -readonly [K in keyof Ready]: Ready[K] } = {
      entries,
      committedEntries,
      messages: r.msgs,
      persistedMessages: r.msgsAfterAppend,
      readStates: r.readStates,
      mustSync,
    };
    if (softChanged) rd.softState = ss;
    if (hardChanged) rd.hardState = hs;
    if (snapshot !== undefined) rd.snapshot = snapshot;
    r.msgs = [];
    r.msgsAfterAppend = [];
    r.readStates = [];
    if (softChanged) this.prevSoftState = ss;
    if (hardChanged) this.prevHardState = hs;
    const last = entries[entries.length - 1];
    const lastCommitted = committedEntries[committedEntries.length - 1]?.index;
    if (lastCommitted !== undefined) {
      r.raftLog.acceptApplying(lastCommitted);
      r.reduceUncommittedSize(committedEntries);
    }
    this.inFlight = {
      lastEntry: last === undefined ? undefined : { index: last.index, term: last.term },
      snapshotIndex: snapshot?.metadata.index,
      lastCommitted,
    };
    return rd;
  }

  /**
   * Tells Raft the last Ready was handled: its snapshot and entries are durable, its committed
   * entries applied. Entries a newer leader overwrote in the meantime are not marked durable.
   */
  advance(): void {
    const done = this.inFlight;
    if (done === undefined) throw new ReadyProtocolError('advance() called without a ready()');
    this.inFlight = undefined;
    const log = this.raft.raftLog;
    if (done.snapshotIndex !== undefined) {
      log.stableSnapTo(done.snapshotIndex);
      // The host restored its state machine from the snapshot: everything it covers is applied.
      if (done.snapshotIndex > log.applied && done.snapshotIndex <= log.committed)
        log.appliedTo(done.snapshotIndex);
    }
    if (done.lastEntry !== undefined) log.stableTo(done.lastEntry.index, done.lastEntry.term);
    this.raft.onAdvance(done.lastCommitted);
  }

  /** A snapshot of the node's state. */
  /** The current term (cheap: no Status object), for response headers. */
  get term(): Term {
    return this.raft.term;
  }

  /** The leader this node knows of, or NONE (cheap: no Status object). */
  get lead(): NodeId {
    return this.raft.lead;
  }

  status(): Status {
    const r = this.raft;
    const progress = new Map<NodeId, ProgressStatus>();
    if (r.state === 'StateLeader') {
      for (const id of r.trk.ids) {
        const pr = r.trk.progress.get(id)!;
        progress.set(id, {
          match: pr.match,
          next: pr.next,
          state: pr.state,
          isLearner: pr.isLearner,
          recentActive: pr.recentActive,
        });
      }
    }
    return {
      id: r.id,
      hardState: r.hardState(),
      softState: r.softState(),
      applied: r.raftLog.applied,
      committed: r.raftLog.committed,
      lastIndex: r.raftLog.lastIndex(),
      progress,
      leadTransferee: r.leadTransferee,
      confState: r.trk.confState(),
    };
  }
}
