/**
 * One simulated host: a RawNode, its "disk" (a MemoryStorage that survives crashes), its state
 * machine, and the Ready loop split into three stages so a crash can land between any two:
 *   (a) retrieve: `ready()`, send `rd.messages` at once;
 *   (b) persist: snapshot, then entries, then hard state, to the disk (atomically, as one batch);
 *   (c) finish: send `rd.persistedMessages`, restore a received snapshot, apply the committed
 *       entries in order (conf changes through `applyConfChange`), `advance()`, and maybe take a
 *       snapshot and compact.
 * A crash drops the RawNode, the in-flight Ready and the state machine; a restart rebuilds them
 * from the disk alone, with `applied` = the disk's snapshot index. Every stage runs the checks
 * that belong to it (durability contract, log matching, leader completeness, state machine
 * safety) against the run's History.
 */

import { MemoryStorage } from '../../memory-storage.js';
import type { Message } from '../../messages.js';
import { RawNode } from '../../raw-node.js';
import type { Ready } from '../../ready.js';
import { asIndex, type ConfState, type Entry, NONE, type NodeId, type Term } from '../../types.js';
import { describeConfState, describeEntry, describeReady } from './describe.js';
import type { History } from './history.js';
import type { SimOptions } from './options.js';
import { deriveSeed, SimRandom } from './random.js';
import { StateMachine, StateMachineError } from './state-machine.js';
import type { Trace } from './trace.js';
import { violation } from './violation.js';

/** What a node needs from the cluster around it. */
export interface NodeContext {
  readonly options: SimOptions;
  readonly history: History;
  readonly trace: Trace;
  /** Puts a message on the network, sent by the given incarnation of its sender. */
  send(m: Message, senderIncarnation: number): void;
}

/** A Ready handed out by the RawNode and not yet advanced. */
interface InflightReady {
  readonly rd: Ready;
  /** Stage (b) done. */
  persisted: boolean;
  /** The term the node led when the Ready was retrieved, or 0 if it was not leader. */
  readonly leaderTerm: number;
}

/** Counters a run reports, to show what the seeds exercised. */
export interface NodeStats {
  snapshotsTaken: number;
  snapshotsInstalled: number;
  confChangesApplied: number;
}

/** One simulated host; see the file comment for the loop it runs. */
export class SimNode {
  /** The durable state: survives crashes (the WAL + snapshot files of a real host). */
  readonly disk: MemoryStorage;
  /** Bumped on every crash, so late snapshot reports never reach a newer RawNode. */
  incarnation = 0;
  /** The step at which a crashed node restarts; -1 when up or never coming back. */
  restartAt = -1;
  /** Permanently stopped (removed from the cluster); never restarts. */
  decommissioned = false;
  /** What this node's host did, for the run's statistics. */
  readonly stats: NodeStats = {
    snapshotsTaken: 0,
    snapshotsInstalled: 0,
    confChangesApplied: 0,
  };
  private raw: RawNode | null = null;
  private sm = StateMachine.empty();
  private conf: ConfState;
  private inflight: InflightReady | null = null;
  /**
   * Set when a conf change is applied. Raft sends a new member the storage's latest snapshot,
   * and the member refuses one whose membership lacks it (as etcd-io/raft does), so the host
   * must snapshot right after a membership change, as etcd's server does in effect by building
   * every outgoing MsgSnap from its current applied state.
   */
  private snapshotSoon = false;

  constructor(
    readonly id: NodeId,
    private readonly ctx: NodeContext,
    initialVoters: readonly NodeId[] | undefined,
  ) {
    this.disk =
      initialVoters === undefined ? new MemoryStorage() : new MemoryStorage({ voters: [...initialVoters] });
    this.conf = this.disk.snapshot().metadata.confState;
  }

  /** Whether the host process is running. */
  get up(): boolean {
    return this.raw !== null;
  }

  /** The running RawNode; only call while `up`. */
  get node(): RawNode {
    if (this.raw === null) throw new Error(`sim: node ${this.id} is down`);
    return this.raw;
  }

  /** The index of the last entry the state machine applied. */
  get appliedIndex(): number {
    return this.sm.appliedIndex;
  }

  /** The state machine digest (equal digests at equal indexes: equal states). */
  get digest(): number {
    return this.sm.digest;
  }

  /** The membership as of the applied index (what the host's last applyConfChange returned). */
  get confState(): ConfState {
    return this.conf;
  }

  /** Whether a Ready is between retrieval and advance. */
  get busy(): boolean {
    return this.inflight !== null;
  }

  /** Boots (or reboots) from the disk alone. */
  start(): void {
    const snap = this.disk.snapshot();
    this.sm = this.restoreStateMachine(snap, 'its own snapshot');
    this.conf = snap.metadata.confState;
    const r = this.ctx.options.raft;
    this.raw = new RawNode({
      id: this.id,
      storage: this.disk,
      applied: snap.metadata.index,
      electionTick: r.electionTick,
      heartbeatTick: r.heartbeatTick,
      checkQuorum: r.checkQuorum,
      preVote: r.preVote,
      forwarderAcksReadIndex: r.forwarderAcksReadIndex,
      maxSizePerMsg: r.maxSizePerMsg,
      maxInflightMsgs: r.maxInflightMsgs,
      maxCommittedSizePerReady: r.maxCommittedSizePerReady,
      rand: raftRand(this.ctx.options.seed, this.id, this.incarnation),
    });
    const hs = this.disk.initialState().hardState;
    const applied = snap.metadata.index;
    this.ctx.trace.add(
      () =>
        `n${this.id} start #${this.incarnation} applied ${applied} hs t${hs.term} vote ${hs.vote} c${hs.commit}`,
    );
  }

  /** Kills the process: everything not on the disk is gone. */
  crash(): void {
    const stage = this.inflight === null ? 'idle' : this.inflight.persisted ? 'persisted' : 'retrieved';
    this.ctx.trace.add(() => `n${this.id} crashed (Ready ${stage})`);
    this.raw = null;
    this.inflight = null;
    this.sm = StateMachine.empty();
    this.snapshotSoon = false;
    this.incarnation++;
  }

  /** Advances the host loop by one stage: (a), (b) or (c), whichever is next. */
  hostStage(): void {
    const raw = this.node;
    const inf = this.inflight;
    if (inf === null) this.retrieve(raw);
    else if (!inf.persisted) this.persist(inf);
    else this.finish(raw, inf);
  }

  // Stage (a): retrieve the Ready and send the messages that promise nothing about our disk.
  private retrieve(raw: RawNode): void {
    if (!raw.hasReady()) return;
    const rd = raw.ready();
    const st = raw.status();
    let leaderTerm = 0;
    if (st.softState.raftState === 'StateLeader') {
      leaderTerm = st.hardState.term;
      if (this.ctx.history.observeLeader(this.id, st.hardState.term)) {
        this.ctx.trace.add(() => `n${this.id} LEADER of term ${leaderTerm} (last ${st.lastIndex})`);
      }
    }
    this.ctx.trace.add(() => `n${this.id} ready ${describeReady(rd)}`);
    for (const rs of rd.readStates) this.ctx.history.checkReadState(this.id, rs);
    for (const m of rd.messages) this.send(m, 'before persisting');
    if (this.ctx.options.mutant === 'ack-before-persist') {
      for (const m of rd.persistedMessages) this.send(m, 'before persisting');
    }
    this.inflight = { rd, persisted: false, leaderTerm };
  }

  // Stage (b): make the Ready durable, in the order ready.ts prescribes.
  private persist(inf: InflightReady): void {
    const { rd } = inf;
    const disk = this.disk;
    if (rd.snapshot !== undefined) {
      const have = disk.snapshot().metadata.index;
      if (rd.snapshot.metadata.index <= have) {
        violation(
          'integrity',
          `node ${this.id} got snapshot ${rd.snapshot.metadata.index} in a Ready but already stores snapshot ${have}`,
        );
      }
      disk.applySnapshot(rd.snapshot);
    }
    if (rd.entries.length > 0) {
      disk.append(rd.entries);
      this.recordPersistedEntries(rd.entries);
    }
    if (rd.hardState !== undefined) {
      const prev = disk.initialState().hardState;
      const hs = this.ctx.options.mutant === 'forget-vote' ? { ...rd.hardState, vote: NONE } : rd.hardState;
      if (hs.term < prev.term || (hs.term === prev.term && prev.vote !== NONE && hs.vote !== prev.vote)) {
        violation(
          'hard state monotonicity',
          `node ${this.id} persisted t${hs.term} vote ${hs.vote} over t${prev.term} vote ${prev.vote}`,
        );
      }
      if (hs.commit < prev.commit) {
        violation(
          'hard state monotonicity',
          `node ${this.id} commit went from ${prev.commit} to ${hs.commit}`,
        );
      }
      if (hs.commit > disk.lastIndex()) {
        violation(
          'durability contract',
          `node ${this.id} persisted commit ${hs.commit} but its log ends at ${disk.lastIndex()}`,
        );
      }
      disk.setHardState(hs);
    }
    inf.persisted = true;
    this.ctx.trace.add(() => `n${this.id} persisted`);
    if (inf.leaderTerm > 0) {
      // Every Ready retrieved before this one is persisted, so the disk now holds the leader's
      // whole log as of retrieval: the right moment for the leader completeness check.
      this.ctx.history.checkLeaderLog(this.id, inf.leaderTerm as Term, disk);
    }
  }

  // Stage (c): send acknowledgements, apply, advance, maybe snapshot.
  private finish(raw: RawNode, inf: InflightReady): void {
    const { rd } = inf;
    if (this.ctx.options.mutant !== 'ack-before-persist') {
      for (const m of rd.persistedMessages) this.send(m, 'after persisting');
    }
    if (rd.snapshot !== undefined) {
      this.sm = this.restoreStateMachine(rd.snapshot, `the snapshot from the leader`);
      this.conf = rd.snapshot.metadata.confState;
      this.stats.snapshotsInstalled++;
      const md = rd.snapshot.metadata;
      this.ctx.trace.add(
        () => `n${this.id} installed snapshot ${md.index}/${md.term} ${describeConfState(md.confState)}`,
      );
    }
    if (rd.committedEntries.length > 0) {
      const term = raw.status().hardState.term;
      for (const e of rd.committedEntries) this.applyEntry(raw, e, term);
    }
    raw.advance();
    this.inflight = null;
    const applied = this.sm.appliedIndex;
    this.ctx.trace.add(() => `n${this.id} advanced, applied ${applied}`);
    this.maybeSnapshot();
  }

  private applyEntry(raw: RawNode, e: Entry, term: Term): void {
    const disk = this.disk;
    if (e.index > disk.lastIndex() || (e.index >= disk.firstIndex() && disk.term(e.index) !== e.term)) {
      violation(
        'durability contract',
        `node ${this.id} was told to apply ${describeEntry(e)}, which is not in its persisted log ` +
          `(last ${disk.lastIndex()})`,
      );
    }
    try {
      this.sm.apply(e);
    } catch (err) {
      if (err instanceof StateMachineError) violation('apply order', `node ${this.id}: ${err.message}`);
      throw err;
    }
    this.ctx.history.recordApply(this.id, e, this.sm.digest, term);
    if (e.type === 'EntryConfChange') {
      this.conf = raw.applyConfChange(e.change);
      this.snapshotSoon = true;
      this.stats.confChangesApplied++;
      const cs = this.conf;
      this.ctx.trace.add(() => `n${this.id} applied ${describeEntry(e)} → ${describeConfState(cs)}`);
    }
  }

  private maybeSnapshot(): void {
    const disk = this.disk;
    const snapIndex = disk.snapshot().metadata.index;
    const applied = this.sm.appliedIndex;
    const { snapshotInterval, snapshotKeep } = this.ctx.options.host;
    // The first snapshot is taken as soon as anything is applied: a node added later can only
    // learn the bootstrap membership (snapshot metadata at index 0) from a snapshot, so no voter
    // may still be able to send it entries from index 1.
    if (applied <= snapIndex) return;
    if (applied - snapIndex < snapshotInterval && snapIndex > 0 && !this.snapshotSoon) return;
    this.snapshotSoon = false;
    if (applied > disk.lastIndex()) {
      violation(
        'durability contract',
        `node ${this.id} applied ${applied} beyond its persisted log ${disk.lastIndex()}`,
      );
    }
    disk.createSnapshot(asIndex(applied), this.conf, this.sm.encode());
    const compactTo = applied - snapshotKeep;
    if (compactTo > disk.firstIndex() - 1) disk.compact(asIndex(compactTo));
    this.stats.snapshotsTaken++;
    const first = disk.firstIndex();
    this.ctx.trace.add(() => `n${this.id} snapshot at ${applied}, log now starts at ${first}`);
  }

  private recordPersistedEntries(entries: readonly Entry[]): void {
    const disk = this.disk;
    const first = disk.firstIndex();
    for (const e of entries) {
      if (e.index < first) continue;
      const prevTerm = e.index - 1 >= first - 1 ? disk.term(asIndex(e.index - 1)) : -1;
      this.ctx.history.recordLogEntry(this.id, e, prevTerm);
    }
  }

  private restoreStateMachine(snap: Parameters<typeof StateMachine.restore>[0], from: string): StateMachine {
    let sm: StateMachine;
    try {
      sm = StateMachine.restore(snap);
    } catch (err) {
      if (err instanceof StateMachineError)
        violation('integrity', `node ${this.id} restoring ${from}: ${err.message}`);
      throw err;
    }
    this.ctx.history.checkRestore(this.id, sm.appliedIndex, sm.digest, from);
    return sm;
  }

  // Sends a message. Under a mutant the direct promise check is off: the mutant test wants the
  // end-to-end invariants to notice the broken host.
  private send(m: Message, when: string): void {
    if (m.type === 'MsgVoteResp' && !m.reject) this.ctx.history.recordVote(this.id, m.term, m.to);
    if (this.ctx.options.mutant === 'none') this.checkPromise(m, when);
    this.ctx.send(m, this.incarnation);
  }

  // What a vote or an append acknowledgement promises must already be on our disk (ready.ts).
  // A promise made in a term the disk has since left behind is moot: the node can never vote in
  // that term again, and it only drops acknowledged entries for a leader of a later term, which
  // was elected without its vote. So only promises of the disk's current term are checked.
  private checkPromise(m: Message, when: string): void {
    if (m.type !== 'MsgVoteResp' && m.type !== 'MsgAppResp') return;
    if (m.reject) return;
    const hs = this.disk.initialState().hardState;
    if (hs.term > m.term) return;
    if (m.type === 'MsgVoteResp' && (hs.term !== m.term || hs.vote !== m.to)) {
      violation(
        'durability contract',
        `node ${this.id} grants its term-${m.term} vote to ${m.to} ${when}, but its disk says term ` +
          `${hs.term} vote ${hs.vote}`,
      );
    }
    if (m.type === 'MsgAppResp' && m.index > this.disk.lastIndex()) {
      violation(
        'durability contract',
        `node ${this.id} acknowledges index ${m.index} in term ${m.term} ${when}, but its disk ends at ` +
          `${this.disk.lastIndex()}`,
      );
    }
  }
}

/** Each incarnation of each node draws its election jitter from its own stream. */
function raftRand(seed: number, id: NodeId, incarnation: number) {
  const r = new SimRandom(deriveSeed(seed, Number(id), incarnation, 0x7a4d));
  return (n: number) => r.int(n);
}
