/**
 * Maintenance: etcd's Maintenance service on a node — status, snapshot (a stream of this member's
 * store), defragment, hash and hashKV, alarms (list, disarm), and moving the leadership.
 */

import { type AlarmMember, type AlarmType, defragment, hashKV, snapshot, storeHash } from '@tsetcd/mvcc';
import type { MemberId } from '../ids.js';
import { BadLeaderTransfereeError, NotLeaderError, RequestTimeoutError } from '../node-errors.js';
import { type ClientContext, proposeAs } from './client-context.js';
import { type CallOptions, withDeadline } from './deadline.js';
import type { NodeResponseHeader, TsetcdNode } from './node.js';

/** The etcd API version this node speaks (what etcdctl and client libraries look at). */
export const ETCD_API_VERSION = '3.4.0';

/** Status's answer (etcd's StatusResponse). */
export interface StatusResponse {
  readonly header: NodeResponseHeader;
  readonly version: string;
  /** Backend size in bytes (sampled at the last flush). */
  readonly dbSize: number;
  readonly leader: MemberId;
  /** The raft log's committed index. */
  readonly raftIndex: number;
  readonly raftTerm: number;
  readonly raftAppliedIndex: number;
  /** Active alarms, as etcd prints them ("memberID:… alarm:NOSPACE"). */
  readonly errors: readonly string[];
  readonly isLearner: boolean;
}

/** An alarm request's answer. */
export interface AlarmResponse {
  readonly header: NodeResponseHeader;
  readonly alarms: readonly AlarmMember[];
}

/** etcd's Maintenance service on one node; see the file comment. */
export class Maintenance {
  constructor(private readonly ctx: ClientContext) {}

  private get node(): TsetcdNode {
    return this.ctx.node;
  }

  /** This member's status (the backend size measured now). */
  async status(): Promise<StatusResponse> {
    const n = this.node;
    const dbSize = await n.parts.store.kv.backend.sizeBytes();
    const st = n.parts.raft.status();
    const me = n.parts.membership.get(n.id);
    return {
      header: n.header(n.parts.store.revision),
      version: ETCD_API_VERSION,
      dbSize,
      leader: n.leaderId,
      raftIndex: st.committed,
      raftTerm: st.hardState.term,
      raftAppliedIndex: n.appliedIndex,
      // AlarmMember in protobuf's compact text, as etcd prints it: zero fields left out.
      errors: n.parts.store.alarms
        .list()
        .map(
          (a) =>
            `${a.memberId !== 0n ? `memberID:${a.memberId} ` : ''}${a.alarm !== 'NONE' ? `alarm:${a.alarm} ` : ''}`,
        ),
      isLearner: me?.isLearner ?? false,
    };
  }

  /** A consistent stream of this member's whole store (etcd's snapshot save); root only. */
  async *snapshot(): AsyncGenerator<Uint8Array> {
    this.node.authorizeAdmin(this.ctx.authInfo());
    await this.node.parts.store.commit();
    yield* snapshot(this.node.parts.store.kv);
  }

  /** Rewrites this member's backend files to reclaim space; root only. */
  async defragment(): Promise<{
    readonly header: NodeResponseHeader;
    readonly beforeBytes: number;
    readonly afterBytes: number;
  }> {
    this.node.authorizeAdmin(this.ctx.authInfo());
    const r = await defragment(this.node.parts.store.kv);
    return { header: this.node.header(this.node.parts.store.revision), ...r };
  }

  /** etcd's HashKV: a hash of the key history up to `revision` (0 = current); root only. */
  async hashKV(revision = 0): Promise<{
    readonly header: NodeResponseHeader;
    readonly hash: number;
    readonly compactRevision: number;
    readonly hashRevision: number;
  }> {
    this.node.authorizeAdmin(this.ctx.authInfo());
    const r = await hashKV(this.node.parts.store.kv, revision);
    return { header: this.node.header(this.node.parts.store.revision), ...r };
  }

  /** etcd's Hash: a hash of the whole backend image; root only. */
  async hash(): Promise<{ readonly header: NodeResponseHeader; readonly hash: number }> {
    this.node.authorizeAdmin(this.ctx.authInfo());
    await this.node.parts.store.commit();
    const r = await storeHash(this.node.parts.store.kv);
    return { header: this.node.header(this.node.parts.store.revision), hash: r.hash };
  }

  /** Active alarms, cluster-wide. */
  async alarms(opts: CallOptions = {}): Promise<AlarmResponse> {
    return this.alarm('GET', 0n, 'NONE', opts);
  }

  /** Clears an alarm (etcdctl alarm disarm); every alarm of that type when `memberId` is 0n. */
  async disarm(alarm: AlarmType, memberId: MemberId = 0n, opts: CallOptions = {}): Promise<AlarmResponse> {
    if (memberId !== 0n) return this.deactivate(memberId, alarm, opts);
    const cleared: AlarmMember[] = [];
    let header = this.node.header(this.node.parts.store.revision);
    for (const a of this.node.parts.store.alarms.list(alarm)) {
      const r = await this.deactivate(a.memberId, a.alarm, opts);
      cleared.push(...r.alarms);
      header = r.header;
    }
    return { header, alarms: cleared };
  }

  /** etcd's Alarm ACTIVATE: raises `alarm` for `memberId` (the member raising it names itself). */
  async activate(memberId: MemberId, alarm: AlarmType, opts: CallOptions = {}): Promise<AlarmResponse> {
    return this.alarm('ACTIVATE', memberId, alarm, opts);
  }

  /**
   * etcd's Alarm DEACTIVATE as it is on the wire: clears the alarm of exactly this member and type,
   * if raised (member 0 is a member ID like any other, so it clears only an alarm raised for 0).
   */
  async deactivate(memberId: MemberId, alarm: AlarmType, opts: CallOptions = {}): Promise<AlarmResponse> {
    return this.alarm('DEACTIVATE', memberId, alarm, opts);
  }

  /**
   * Hands leadership to `target` (etcd's MoveLeader): only the leader can, the target must be a
   * voter; resolves once the target leads, or fails with RequestTimeoutError.
   */
  async moveLeader(
    target: MemberId,
    opts: CallOptions = {},
  ): Promise<{ readonly header: NodeResponseHeader }> {
    const n = this.node;
    n.authorizeAdmin(this.ctx.authInfo());
    if (!n.isLeader) throw new NotLeaderError();
    const m = n.parts.membership.get(target);
    if (m === undefined || m.isLearner) throw new BadLeaderTransfereeError();
    if (target === n.id) return { header: n.header(n.parts.store.revision) };
    const moved = new Promise<void>((resolve) => {
      const onLeader = (e: { leader: MemberId }) => {
        if (e.leader !== target) return;
        n.off('leader', onLeader);
        resolve();
      };
      n.on('leader', onLeader);
    });
    n.parts.raft.transferLeader(target);
    void n.parts.loop.kick();
    await withDeadline(
      n.parts.clock,
      opts.timeoutMs ?? n.parts.config.requestTimeoutMs,
      opts.signal,
      moved,
      undefined,
      () => new RequestTimeoutError(),
    );
    return { header: n.header(n.parts.store.revision) };
  }

  private async alarm(
    action: 'GET' | 'ACTIVATE' | 'DEACTIVATE',
    memberId: MemberId,
    alarm: AlarmType,
    opts: CallOptions,
  ): Promise<AlarmResponse> {
    const r = (await proposeAs(this.ctx, { op: 'alarm', action, memberId, alarm }, opts)) as {
      header: { revision: number };
      alarms: AlarmMember[];
    };
    return { header: this.node.header(r.header.revision), alarms: r.alarms };
  }
}
