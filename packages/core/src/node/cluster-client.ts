/**
 * Cluster: etcd's Cluster service on a node — list members, add one (voter or learner), promote
 * a learner, remove a member, update its peer URLs. Changes are raft ConfChanges, one at a time
 * (raft refuses a second while one is pending; the proposer retries it). With strictReconfigCheck
 * (etcd's --strict-reconfig-check, on by default) the leader refuses a change that would leave
 * fewer active voters than a quorum, and a learner is promoted only once it has caught up.
 */

import type { ConfChangeSingle } from '@tsetcd/raft';
import { type MemberId, memberIdFor } from '../ids.js';
import {
  LearnerNotReadyError,
  MemberExistsError,
  MemberNotFoundError,
  MemberNotLearnerError,
  MemberRemovedError,
  PeerUrlExistsError,
  TooManyLearnersError,
  UnhealthyClusterError,
} from '../node-errors.js';
import type { ClientContext } from './client-context.js';
import type { CallOptions } from './deadline.js';
import type { Member } from './membership.js';
import type { NodeResponseHeader, TsetcdNode } from './node.js';

/** MemberList's answer. */
export interface MemberListResponse {
  readonly header: NodeResponseHeader;
  readonly members: readonly Member[];
}

/** MemberAdd's (and MemberPromote's…) answer: the member concerned and the new list. */
export interface MemberChangeResponse extends MemberListResponse {
  readonly member?: Member;
}

/** A learner may be promoted once its log is within this fraction of the leader's (etcd's 90%). */
export const LEARNER_READY_PERCENT = 0.9;

const URL_RE = /^(tcp|tls|mem):\/\/\S+$/;

/** etcd's Cluster service on one node; see the file comment. */
export class Cluster {
  constructor(private readonly ctx: ClientContext) {}

  private get node(): TsetcdNode {
    return this.ctx.node;
  }

  /** Every member, by ID; linearizable. */
  async members(opts: CallOptions = {}): Promise<MemberListResponse> {
    await this.node.linearizableBarrier(opts);
    return {
      header: this.node.header(this.node.parts.store.revision),
      members: this.node.parts.membership.list(),
    };
  }

  /** Adds a member with `peerUrls`; start it with `initialClusterState: 'existing'` afterwards. */
  async add(
    peerUrls: readonly string[],
    opts: CallOptions & { readonly isLearner?: boolean } = {},
  ): Promise<MemberChangeResponse> {
    this.node.authorizeAdmin(this.ctx.authInfo());
    if (peerUrls.length === 0 || !peerUrls.every((u) => URL_RE.test(u))) {
      throw new TypeError(
        `member add: peer URLs must be tcp://, tls:// or mem:// URLs, got ${JSON.stringify(peerUrls)}`,
      );
    }
    const ms = this.node.parts.membership;
    if (peerUrls.some((u) => ms.byPeerUrl(u) !== undefined)) throw new PeerUrlExistsError();
    const isLearner = opts.isLearner ?? false;
    if (isLearner && ms.list().filter((m) => m.isLearner).length >= this.node.parts.config.maxLearners) {
      throw new TooManyLearnersError();
    }
    const token = this.node.parts.config.initialClusterToken;
    // The URL-derived ID lets the new member find its own ID from its flags; a re-used URL (its
    // old ID removed) gets a time-salted one, which the new member must be given as memberId.
    let id = memberIdFor(peerUrls, token);
    if (ms.isRemoved(id) || ms.get(id) !== undefined)
      id = memberIdFor(peerUrls, token, this.node.parts.clock.now());
    if (ms.get(id) !== undefined) throw new MemberExistsError();
    if (!isLearner) this.checkQuorumAfter(+1);
    const member: Member = { id, name: '', peerUrls: [...peerUrls], clientUrls: [], isLearner };
    const type = isLearner ? 'ConfChangeAddLearnerNode' : 'ConfChangeAddNode';
    return this.change([{ type, nodeId: id }], member, opts, id);
  }

  /** Removes a member for good. */
  async remove(id: MemberId, opts: CallOptions = {}): Promise<MemberChangeResponse> {
    this.node.authorizeAdmin(this.ctx.authInfo());
    const m = this.known(id);
    if (!m.isLearner) this.checkQuorumAfter(-1, id);
    return this.change([{ type: 'ConfChangeRemoveNode', nodeId: id }], undefined, opts, id);
  }

  /** Changes a member's peer URLs. */
  async update(
    id: MemberId,
    peerUrls: readonly string[],
    opts: CallOptions = {},
  ): Promise<MemberChangeResponse> {
    this.node.authorizeAdmin(this.ctx.authInfo());
    const m = this.known(id);
    for (const u of peerUrls) {
      const other = this.node.parts.membership.byPeerUrl(u);
      if (other !== undefined && other.id !== id) throw new PeerUrlExistsError();
    }
    return this.change(
      [{ type: 'ConfChangeUpdateNode', nodeId: id }],
      { ...m, peerUrls: [...peerUrls] },
      opts,
      id,
    );
  }

  /** Makes a learner a voter, once it has caught up with the leader. */
  async promote(id: MemberId, opts: CallOptions = {}): Promise<MemberChangeResponse> {
    this.node.authorizeAdmin(this.ctx.authInfo());
    const m = this.known(id);
    if (!m.isLearner) throw new MemberNotLearnerError();
    const status = this.node.parts.raft.status();
    if (status.softState.raftState === 'StateLeader') {
      const match = status.progress.get(id)?.match ?? 0;
      const own = status.progress.get(this.node.id)?.match ?? status.committed;
      if (match < own * LEARNER_READY_PERCENT) throw new LearnerNotReadyError();
    }
    return this.change([{ type: 'ConfChangeAddNode', nodeId: id }], { ...m, isLearner: false }, opts, id);
  }

  private known(id: MemberId): Member {
    const ms = this.node.parts.membership;
    if (ms.isRemoved(id)) throw new MemberRemovedError();
    const m = ms.get(id);
    if (m === undefined) throw new MemberNotFoundError();
    return m;
  }

  private async change(
    changes: readonly ConfChangeSingle[],
    member: Member | undefined,
    opts: CallOptions,
    id: MemberId,
  ): Promise<MemberChangeResponse> {
    const r = (await this.node.parts.proposer.proposeConfChange(changes, member, opts)) as {
      members: Member[];
    };
    const after = r.members.find((m) => m.id === id);
    return {
      header: this.node.header(this.node.parts.store.revision),
      members: r.members,
      ...(after !== undefined ? { member: after } : member !== undefined ? { member } : {}),
    };
  }

  /**
   * etcd's strict reconfiguration check, run on the leader (the only member that knows who is
   * active): after adding (+1) or removing (-1, `removing`) a voter, the voters active now must
   * still be a quorum of the new voter set.
   */
  private checkQuorumAfter(delta: 1 | -1, removing?: MemberId): void {
    if (!this.node.parts.config.strictReconfigCheck) return;
    const status = this.node.parts.raft.status();
    if (status.softState.raftState !== 'StateLeader') return;
    const voters = [...status.progress.entries()].filter(([, p]) => !p.isLearner);
    const active = voters.filter(
      ([vid, p]) => vid !== removing && (vid === this.node.id || p.recentActive),
    ).length;
    const after = voters.length + delta;
    if (active < Math.floor(after / 2) + 1) throw new UnhealthyClusterError();
  }
}
