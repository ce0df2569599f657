/**
 * Raft: one node's protocol state — term, vote, log, role, progress of peers — and the rules that
 * are the same whatever the role: term handling on every message (Raft §5.1), voting (§5.2,
 * §5.4.1), role transitions, timers in ticks, and how messages are built and queued.
 *
 * Role-specific handling lives in step-leader.ts, step-candidate.ts and step-follower.ts; the role
 * is switched by swapping the `stepFn`/`tickFn` functions, as etcd-io/raft does.
 * Pure. No I/O, no timers, no global randomness.
 */

import { restoreConfig } from './confchange/restore.js';
import type { ResolvedConfig } from './config.js';
import { type ProposalDroppedError, SnapshotTemporarilyUnavailableError } from './errors.js';
import type { ForwardBatch } from './forward-proposals.js';
import type { Message, MsgReadIndex } from './messages.js';
import { RaftLog } from './raft-log.js';
import { computeConfChange, restoreSnapshot, switchToConfig } from './raft-membership.js';
import { ReadOnly, type ReadRequest } from './read-only.js';
import { stepCandidate } from './step-candidate.js';
import { stepFollower } from './step-follower.js';
import { stepLeader } from './step-leader.js';
import type { Progress } from './tracker/progress.js';
import { ProgressTracker } from './tracker/tracker.js';
import {
  type ConfChange,
  type ConfState,
  type Entry,
  type HardState,
  type Index,
  isEmptyHardState,
  isEmptySnapshot,
  NONE,
  type NodeId,
  type ReadState,
  type Snapshot,
  type SoftState,
  type StateType,
  type Term,
} from './types.js';

/** Handles a message in the current role; returns the reason a proposal was dropped, if it was. */
export type StepFn = (r: Raft, m: Message) => ProposalDroppedError | undefined;

/** Why an election is started. */
export type CampaignType = 'CampaignPreElection' | 'CampaignElection' | 'CampaignTransfer';

/** One Raft node's state and the role-independent rules. */
export class Raft {
  readonly id: NodeId;
  /** Invariant: term only grows. */
  term: Term = 0 as Term;
  /** Whom we voted for in `term` (NONE if nobody). Invariant: at most one vote per term. */
  vote: NodeId = NONE;
  readonly raftLog: RaftLog;
  readonly trk: ProgressTracker;
  state: StateType = 'StateFollower';
  /** Whether this node is a learner in the current configuration (it never campaigns). */
  isLearner = false;
  /** Messages that may be sent at once. */
  msgs: Message[] = [];
  /** Messages that may be sent only after the next Ready's entries and hard state are durable. */
  msgsAfterAppend: Message[] = [];
  /** Follower: the forwarded MsgProp later proposals may join (see forward-proposals.ts). */
  forwardBatch: ForwardBatch | undefined;
  lead: NodeId = NONE;
  /** The node a leader transfer is in progress to, or NONE. */
  leadTransferee: NodeId = NONE;
  /**
   * Index of the last conf change appended by this leader; no new one is accepted until it is
   * applied, so at most one is ever uncommitted (thesis §4.1).
   */
  pendingConfIndex: Index = 0 as Index;
  /**
   * Leader: proposals were appended since the last broadcast. Messages only leave through a
   * Ready, so one broadcast per Ready carries every proposal made since the previous one.
   */
  appendsPending = false;
  /** Bytes of entries appended by this leader and not yet committed. */
  uncommittedSize = 0;
  readOnly: ReadOnly;
  readStates: ReadState[] = [];
  /** ReadIndex requests received before this leader committed an entry of its term. */
  pendingReadIndexMessages: MsgReadIndex[] = [];
  /** Ticks since the last election timeout reset (for a leader: since the last check-quorum). */
  electionElapsed = 0;
  /** Ticks since the last heartbeat (leader only). */
  heartbeatElapsed = 0;
  /** Invariant: electionTimeout <= randomizedElectionTimeout < 2 * electionTimeout. */
  randomizedElectionTimeout = 0;
  readonly cfg: ResolvedConfig;
  stepFn: StepFn = stepFollower;
  tickFn: () => void = () => this.tickElection();

  constructor(cfg: ResolvedConfig) {
    this.cfg = cfg;
    this.id = cfg.id;
    this.raftLog = new RaftLog(cfg.storage, cfg.maxCommittedSizePerReady);
    this.trk = new ProgressTracker();
    this.readOnly = new ReadOnly(cfg.readOnlyOption);
    const { hardState, confState } = cfg.storage.initialState();
    const restored = restoreConfig(
      confState,
      this.raftLog.lastIndex(),
      cfg.maxInflightMsgs,
      cfg.maxInflightBytes,
    );
    switchToConfig(this, restored.config, restored.progress);
    if (!isEmptyHardState(hardState)) this.loadState(hardState);
    if (cfg.applied > 0) this.raftLog.appliedTo(cfg.applied);
    this.becomeFollower(this.term, NONE);
  }

  // ---- state snapshots for the host -------------------------------------------------------

  /** The soft state right now. */
  softState(): SoftState {
    return { lead: this.lead, raftState: this.state };
  }

  /** The hard state right now. */
  hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.raftLog.committed };
  }

  private loadState(hs: HardState): void {
    if (hs.commit < this.raftLog.committed || hs.commit > this.raftLog.lastIndex()) {
      throw new Error(
        `raft: ${this.id} state.commit ${hs.commit} is out of range [${this.raftLog.committed}, ${this.raftLog.lastIndex()}]`,
      );
    }
    this.raftLog.committed = hs.commit;
    this.term = hs.term;
    this.vote = hs.vote;
  }

  // ---- role transitions ---------------------------------------------------------------------

  /** Whether this node may campaign: a voter with no snapshot waiting to be persisted. */
  promotable(): boolean {
    const pr = this.trk.progress.get(this.id);
    return pr !== undefined && !pr.isLearner && !this.raftLog.hasPendingSnapshot();
  }

  private reset(term: Term): void {
    if (this.term !== term) {
      this.term = term;
      this.vote = NONE;
    }
    this.lead = NONE;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.resetRandomizedElectionTimeout();
    this.abortLeaderTransfer();
    this.trk.resetVotes();
    const next = (this.raftLog.lastIndex() + 1) as Index;
    for (const [id, pr] of this.trk.progress) {
      pr.resetForTerm(next, id === this.id ? this.raftLog.persistedLastIndex() : (0 as Index));
      pr.recentActive = id === this.id;
    }
    this.pendingConfIndex = 0 as Index;
    this.appendsPending = false;
    this.uncommittedSize = 0;
    this.readOnly = new ReadOnly(this.cfg.readOnlyOption);
    this.pendingReadIndexMessages = [];
  }

  /** Follows `lead` (NONE if unknown) in `term`. */
  becomeFollower(term: Term, lead: NodeId): void {
    this.stepFn = stepFollower;
    this.reset(term);
    this.tickFn = () => this.tickElection();
    this.lead = lead;
    this.state = 'StateFollower';
  }

  /** Starts a real election: new term, vote for self (Raft §5.2). */
  becomeCandidate(): void {
    if (this.state === 'StateLeader') throw new Error('raft: invalid transition [leader -> candidate]');
    this.stepFn = stepCandidate;
    this.reset((this.term + 1) as Term);
    this.tickFn = () => this.tickElection();
    this.vote = this.id;
    this.state = 'StateCandidate';
  }

  /**
   * Starts a pre-vote round (thesis §9.6): the role and step function change, but not the term or
   * the vote, so a node that cannot win never disturbs the cluster.
   */
  becomePreCandidate(): void {
    if (this.state === 'StateLeader') throw new Error('raft: invalid transition [leader -> pre-candidate]');
    this.stepFn = stepCandidate;
    this.trk.resetVotes();
    this.tickFn = () => this.tickElection();
    this.lead = NONE;
    this.state = 'StatePreCandidate';
  }

  /** Takes leadership and appends an empty entry of the new term so earlier ones can commit (§8). */
  becomeLeader(): void {
    if (this.state === 'StateFollower') throw new Error('raft: invalid transition [follower -> leader]');
    this.stepFn = stepLeader;
    this.reset(this.term);
    this.tickFn = () => this.tickHeartbeat();
    this.lead = this.id;
    this.state = 'StateLeader';
    this.trk.progress.get(this.id)?.becomeReplicate();
    // Conservatively assume an unapplied conf change may be in the log: no new one until it applies.
    this.pendingConfIndex = this.raftLog.lastIndex();
    const empty: Entry = { type: 'EntryNormal', term: this.term, index: 0 as Index, data: new Uint8Array(0) };
    this.appendEntries([empty]);
  }

  private resetRandomizedElectionTimeout(): void {
    this.randomizedElectionTimeout = this.cfg.electionTick + this.cfg.rand(this.cfg.electionTick);
  }

  // ---- ticks ----------------------------------------------------------------------------------

  /** Advances the logical clock by one tick. */
  tick(): void {
    this.tickFn();
  }

  /** Follower/candidate tick: campaign once the randomized election timeout passes (§5.2). */
  private tickElection(): void {
    this.electionElapsed++;
    if (this.promotable() && this.electionElapsed >= this.randomizedElectionTimeout) {
      this.electionElapsed = 0;
      this.hup('CampaignElection');
    }
  }

  /** Leader tick: heartbeats, check-quorum and the leader-transfer deadline. */
  private tickHeartbeat(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.cfg.electionTick) {
      this.electionElapsed = 0;
      if (this.cfg.checkQuorum) this.checkQuorumActive();
      // A transfer that did not finish within an election timeout is abandoned (thesis §3.10).
      if (this.state === 'StateLeader' && this.leadTransferee !== NONE) this.abortLeaderTransfer();
    }
    if (this.state !== 'StateLeader') return;
    if (this.heartbeatElapsed >= this.cfg.heartbeatTick) {
      this.heartbeatElapsed = 0;
      this.bcastHeartbeat();
    }
  }

  /** Check-quorum (thesis §6.2): step down unless a quorum was heard from since the last check. */
  private checkQuorumActive(): void {
    if (!this.trk.quorumActive()) {
      this.becomeFollower(this.term, NONE);
      return;
    }
    for (const [id, pr] of this.trk.progress) {
      if (id !== this.id) pr.recentActive = false;
    }
  }

  // ---- elections ----------------------------------------------------------------------------

  /** Starts an election if allowed (the MsgHup of etcd). */
  hup(t: CampaignType): void {
    if (this.state === 'StateLeader') return;
    if (!this.promotable()) return;
    if (this.hasUnappliedConfChanges()) return;
    this.campaign(this.cfg.preVote && t === 'CampaignElection' ? 'CampaignPreElection' : t);
  }

  /** A node must not campaign before applying committed conf changes: it may not be a voter. */
  private hasUnappliedConfChanges(): boolean {
    const lo = this.raftLog.applied + 1;
    const hi = this.raftLog.committed + 1;
    if (lo >= hi) return false;
    const ents = this.raftLog.slice(lo as Index, hi as Index, Number.MAX_SAFE_INTEGER);
    return ents.some((e) => e.type === 'EntryConfChange');
  }

  /** Runs a (pre-)election: vote for ourselves, then ask every other voter (§5.2, thesis §9.6). */
  campaign(t: CampaignType): void {
    let term: Term;
    let voteType: 'MsgVote' | 'MsgPreVote';
    if (t === 'CampaignPreElection') {
      this.becomePreCandidate();
      voteType = 'MsgPreVote';
      term = (this.term + 1) as Term; // the term we would campaign in; ours does not change
    } else {
      this.becomeCandidate();
      voteType = 'MsgVote';
      term = this.term;
    }
    const { result } = this.poll(this.id, true);
    if (result === 'VoteWon') {
      // Only possible for a single-voter group.
      if (t === 'CampaignPreElection') this.campaign('CampaignElection');
      else this.becomeLeader();
      return;
    }
    const index = this.raftLog.lastIndex();
    const logTerm = this.raftLog.lastTerm();
    for (const id of this.trk.ids) {
      if (id === this.id || !this.trk.isVoter(id)) continue;
      this.send({
        type: voteType,
        from: this.id,
        to: id,
        term,
        index,
        logTerm,
        transfer: t === 'CampaignTransfer',
      });
    }
  }

  /** Records a vote and returns the tally. */
  poll(id: NodeId, granted: boolean): ReturnType<ProgressTracker['tallyVotes']> {
    this.trk.recordVote(id, granted);
    return this.trk.tallyVotes();
  }

  // ---- step: the term rules shared by all roles ----------------------------------------------

  /**
   * Handles one message. Term 0 marks messages outside the term protocol (proposals, forwarded
   * reads, local requests). Returns a ProposalDroppedError when a proposal was refused.
   */
  step(m: Message): ProposalDroppedError | undefined {
    if (m.term === 0) {
      // Local or forwarded request: handled by the role below.
    } else if (m.term > this.term) {
      if (m.type === 'MsgVote' || m.type === 'MsgPreVote') {
        // Thesis §4.2.3: while we believe a leader is alive, ignore candidates, unless the leader
        // itself asked for the election (transfer).
        const inLease =
          this.cfg.checkQuorum && this.lead !== NONE && this.electionElapsed < this.cfg.electionTick;
        if (!m.transfer && inLease) return undefined;
      }
      if (m.type === 'MsgPreVote') {
        // A pre-vote never changes our term.
      } else if (m.type === 'MsgPreVoteResp' && !m.reject) {
        // Granted pre-votes carry the future term; we move to it only once we win the pre-vote.
      } else if (m.type === 'MsgApp' || m.type === 'MsgHeartbeat' || m.type === 'MsgSnap') {
        this.becomeFollower(m.term, m.from);
      } else {
        this.becomeFollower(m.term, NONE);
      }
    } else if (m.term < this.term) {
      if (m.type === 'MsgHeartbeat' || m.type === 'MsgApp') {
        // Raft §5.1: reject a stale leader with our term so it steps down. etcd answers only with
        // checkQuorum or preVote on, trusting our MsgVote to reach the leader otherwise; the
        // simulator showed it may not (a node with outdated membership never asks the leader),
        // leaving the cluster stuck. A removed node gets no MsgApp, so this disrupts nothing.
        // Sent as a rejection of index 0 ("reply false"), which no leader handler can mistake for
        // progress should it arrive after the sender reached our term.
        this.send(this.appResp(m.from, 0 as Index, true));
      } else if (m.type === 'MsgPreVote') {
        this.send({ type: 'MsgPreVoteResp', from: this.id, to: m.from, term: this.term, reject: true });
      }
      return undefined;
    }

    if (m.type === 'MsgVote' || m.type === 'MsgPreVote') {
      this.handleVoteRequest(m.type, m.from, m.term, m.index, m.logTerm);
      return undefined;
    }
    return this.stepFn(this, m);
  }

  /** Raft §5.2 / §5.4.1: grant at most one vote per term, only to an up-to-date log. */
  private handleVoteRequest(
    type: 'MsgVote' | 'MsgPreVote',
    from: NodeId,
    term: Term,
    index: Index,
    logTerm: Term,
  ) {
    const canVote =
      this.vote === from ||
      (this.vote === NONE && this.lead === NONE) ||
      (type === 'MsgPreVote' && term > this.term);
    const respType = type === 'MsgVote' ? 'MsgVoteResp' : 'MsgPreVoteResp';
    if (canVote && this.raftLog.isUpToDate(index, logTerm)) {
      // The response carries the candidate's term so it is not discarded as stale (for a pre-vote
      // our term is lower than the one it campaigns for).
      this.send({ type: respType, from: this.id, to: from, term, reject: false });
      if (type === 'MsgVote') {
        this.electionElapsed = 0;
        this.vote = from;
      }
    } else {
      this.send({ type: respType, from: this.id, to: from, term: this.term, reject: true });
    }
  }

  // ---- log appends ----------------------------------------------------------------------------

  /**
   * Leader: assigns term and index to `es` and appends them. Returns false when the uncommitted
   * size limit refuses them. The leader's own `match` advances only when the host reports them
   * persisted (`onPersisted`), so a commit always means durable on a quorum.
   */
  appendEntries(es: readonly Entry[]): boolean {
    let size = 0;
    for (const e of es) if (e.type === 'EntryNormal') size += e.data.length;
    const limit = this.cfg.maxUncommittedEntriesSize;
    // An empty batch (the new leader's no-op) and the first batch are always allowed.
    if (limit > 0 && size > 0 && this.uncommittedSize > 0 && this.uncommittedSize + size > limit)
      return false;
    this.uncommittedSize += size;
    let li = this.raftLog.lastIndex();
    const stamped: Entry[] = new Array(es.length);
    for (let i = 0; i < es.length; i++) {
      li = (li + 1) as Index;
      // Built explicitly rather than by spread: one object shape per entry type on the hot path.
      const e = es[i]!;
      stamped[i] =
        e.type === 'EntryNormal'
          ? { type: 'EntryNormal', term: this.term, index: li, data: e.data }
          : { type: 'EntryConfChange', term: this.term, index: li, change: e.change };
    }
    this.raftLog.append(stamped);
    return true;
  }

  /** Releases uncommitted-size budget for entries being applied. */
  reduceUncommittedSize(ents: readonly Entry[]): void {
    if (this.uncommittedSize === 0) return;
    let size = 0;
    for (const e of ents) if (e.type === 'EntryNormal') size += e.data.length;
    this.uncommittedSize = size > this.uncommittedSize ? 0 : this.uncommittedSize - size;
  }

  /**
   * Called by the host via advance(): the log up to `persistedLastIndex()` is durable and entries
   * up to `applied` are applied. A leader counts its own persisted entries toward the commit quorum.
   */
  onAdvance(applied: Index | undefined): void {
    if (applied !== undefined) {
      this.raftLog.appliedTo(applied);
      this.maybeAutoLeaveJoint();
    }
    if (this.state !== 'StateLeader') return;
    const self = this.trk.progress.get(this.id);
    if (self?.maybeUpdate(this.raftLog.persistedLastIndex()) && this.maybeCommit()) {
      this.onCommitAdvanced();
    }
  }

  /** A joint config with autoLeave is left by the leader as soon as entering it is applied. */
  private maybeAutoLeaveJoint(): void {
    if (
      this.state === 'StateLeader' &&
      this.trk.config.autoLeave &&
      this.raftLog.applied >= this.pendingConfIndex
    ) {
      const leave: Entry = {
        type: 'EntryConfChange',
        term: this.term,
        index: 0 as Index,
        change: { transition: 'auto', changes: [], context: new Uint8Array(0) },
      };
      if (this.appendEntries([leave])) {
        this.pendingConfIndex = this.raftLog.lastIndex();
        this.bcastAppend();
      }
    }
  }

  /** Leader: raise the commit index to what a quorum has (current-term entries only, §5.4.2). */
  maybeCommit(): boolean {
    return this.raftLog.maybeCommit(this.trk.committed(), this.term);
  }

  /** Leader: after the commit index grew, tell followers and answer reads that waited for it. */
  onCommitAdvanced(): void {
    this.bcastAppend();
    this.releasePendingReadIndexMessages();
  }

  // ---- sending --------------------------------------------------------------------------------

  /**
   * Queues a message. Acknowledgements of appended entries and votes promise durable state, so
   * they wait for the next Ready's persistence (persistedMessages); everything else may go now.
   */
  send(m: Message): void {
    if (m.type === 'MsgAppResp' || m.type === 'MsgVote' || m.type === 'MsgVoteResp') {
      this.msgsAfterAppend.push(m);
    } else {
      this.msgs.push(m);
    }
  }

  /** A MsgAppResp from this node. */
  appResp(to: NodeId, index: Index, reject: boolean, rejectHint = 0 as Index, logTerm = 0 as Term): Message {
    return { type: 'MsgAppResp', from: this.id, to, term: this.term, index, reject, rejectHint, logTerm };
  }

  /** Sends an append (or a snapshot) to `to` even if it carries no entries. */
  sendAppend(to: NodeId): void {
    this.maybeSendAppend(to, true);
  }

  /**
   * Sends `to` the entries it lacks, a snapshot if they were compacted, or, when `sendIfEmpty` or
   * it has not yet heard the current commit index, an empty append. Returns whether anything was sent.
   */
  maybeSendAppend(to: NodeId, sendIfEmpty: boolean): boolean {
    const pr = this.trk.progress.get(to);
    if (pr === undefined || pr.isPaused()) return false;
    const prevIndex = (pr.next - 1) as Index;
    const prevTerm = this.raftLog.term(prevIndex);
    let ents: Entry[] = [];
    const canSendEntries =
      pr.next <= this.raftLog.lastIndex() && !(pr.state === 'StateReplicate' && pr.inflights.full());
    if (prevTerm === undefined) return this.sendSnapshot(to, pr);
    if (canSendEntries) {
      if (pr.next < this.raftLog.firstIndex()) return this.sendSnapshot(to, pr);
      ents = this.raftLog.entries(pr.next, this.cfg.maxSizePerMsg);
    }
    if (ents.length === 0 && !sendIfEmpty && pr.sentCommit >= this.raftLog.committed) return false;
    const commit = this.raftLog.committed;
    this.send({
      type: 'MsgApp',
      from: this.id,
      to,
      term: this.term,
      index: prevIndex,
      logTerm: prevTerm,
      entries: ents,
      commit,
    });
    pr.sentEntries(ents.length, RaftLog.sizeOf(ents));
    if (pr.sentCommit < commit) pr.sentCommit = commit;
    return true;
  }

  /** Sends the latest snapshot to a follower whose needed entries were compacted (§7). */
  private sendSnapshot(to: NodeId, pr: Progress): boolean {
    if (!pr.recentActive) return false;
    let snapshot: Snapshot;
    try {
      snapshot = this.raftLog.snapshot();
    } catch (e) {
      if (e instanceof SnapshotTemporarilyUnavailableError) return false; // retried on a later heartbeat
      throw e;
    }
    if (isEmptySnapshot(snapshot)) throw new Error('raft: need a non-empty snapshot to catch up a follower');
    pr.becomeSnapshot(snapshot.metadata.index);
    this.send({ type: 'MsgSnap', from: this.id, to, term: this.term, snapshot });
    return true;
  }

  /** Sends the appends coalesced since the last Ready (see appendsPending). */
  flushAppends(): void {
    if (!this.appendsPending) return;
    this.appendsPending = false;
    if (this.state === 'StateLeader') this.bcastAppend();
  }

  /** Appends to every follower that can take more. */
  bcastAppend(): void {
    for (const id of this.trk.ids) {
      if (id !== this.id) this.maybeSendAppend(id, false);
    }
  }

  /** Heartbeats to every follower, carrying the newest pending ReadIndex context. */
  bcastHeartbeat(): void {
    const ctx = this.readOnly.lastPendingRequestCtx() ?? new Uint8Array(0);
    for (const id of this.trk.ids) {
      if (id !== this.id) this.sendHeartbeat(id, ctx);
    }
  }

  /** A heartbeat never claims a commit index beyond what the follower is known to hold. */
  sendHeartbeat(to: NodeId, context: Uint8Array): void {
    const pr = this.trk.progress.get(to);
    if (pr === undefined) return;
    const commit = Math.min(pr.match, this.raftLog.committed) as Index;
    this.send({ type: 'MsgHeartbeat', from: this.id, to, term: this.term, commit, context });
  }

  /** Tells the transferee to campaign now (thesis §3.10). */
  sendTimeoutNow(to: NodeId): void {
    this.send({ type: 'MsgTimeoutNow', from: this.id, to, term: this.term });
  }

  /** Gives up an ongoing leader transfer. */
  abortLeaderTransfer(): void {
    this.leadTransferee = NONE;
  }

  // ---- reads ----------------------------------------------------------------------------------

  /** Whether this leader has committed an entry of its own term (required before ReadIndex, §6.4). */
  committedEntryInCurrentTerm(): boolean {
    return this.raftLog.term(this.raftLog.committed) === this.term;
  }

  /** Answers a read request at `index`: locally as a ReadState, or to the follower that asked. */
  respondToReadIndex(req: ReadRequest, index: Index): void {
    if (req.from === NONE || req.from === this.id) {
      this.readStates.push({ index, requestCtx: req.context });
    } else {
      this.send({
        type: 'MsgReadIndexResp',
        from: this.id,
        to: req.from,
        term: this.term,
        index,
        context: req.context,
      });
    }
  }

  /** Answers reads that waited for this leader's first commit. */
  private releasePendingReadIndexMessages(): void {
    if (this.pendingReadIndexMessages.length === 0 || !this.committedEntryInCurrentTerm()) return;
    const pending = this.pendingReadIndexMessages;
    this.pendingReadIndexMessages = [];
    for (const m of pending) this.stepFn(this, m);
  }

  // ---- snapshots and membership: see raft-membership.ts ------------------------------------

  /** Follower: installs snapshot `s` if newer than our log (see restoreSnapshot). */
  restore(s: Snapshot): boolean {
    return restoreSnapshot(this, s);
  }

  /** Applies a committed ConfChange and returns the new membership. */
  applyConfChange(cc: ConfChange): ConfState {
    const { config, progress } = computeConfChange(this, cc);
    return switchToConfig(this, config, progress);
  }
}
