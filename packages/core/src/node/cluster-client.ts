/**
 * Cluster: etcd's Cluster service on a node — list members, add one (voter or learner), promote
 * a learner, remove a member, update its peer URLs. Changes are raft ConfChanges, one at a time
 * (raft refuses a second while one is pending; the proposer retries it). With strictReconfigCheck
 * (etcd's --strict-reconfig-check, on by default) a voter is added or removed only if the started
 * members (those that have published their name) stay a quorum of the voters after the change —
 * except that a one-member cluster may add a second voter, the documented way to grow it — and,
 * on the leader, only if the members it hears from allow it (etcd's health checks). A learner is
 * promoted only once it has caught up.
 */

import type { ConfChangeSingle } from '@tsetcd/raft';
import { type MemberId, memberIdFor } from '../ids.js';
import {
  BadPeerUrlsError,
  LearnerNotReadyError,
  MemberExistsError,
  MemberNotFoundError,
  MemberNotLearnerError,
  MemberRemovedError,
  NotEnoughStartedMembersError,
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

/**
 * Why `url` is not a peer URL a member can be added with, or undefined if it is one: etcd's rules
 * (a known scheme, host:port, no path), with our transports' schemes (the gRPC layer maps etcd's
 * http:// and https:// to tcp:// and tls://). A mem:// URL names an in-process member: no port.
 */
export function badPeerUrl(url: string): string | undefined {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return `${JSON.stringify(url)} is not a URL`;
  }
  if (u.protocol === 'mem:') return u.host === '' ? `${JSON.stringify(url)} names no member` : undefined;
  if (u.protocol !== 'tcp:' && u.protocol !== 'tls:') {
    return `${JSON.stringify(url)}: a peer URL must be tcp://, tls:// or mem://`;
  }
  if (u.hostname === '' || u.port === '') return `${JSON.stringify(url)} does not have the form host:port`;
  if (u.pathname !== '') return `${JSON.stringify(url)} must not contain a path`;
  return undefined;
}

/** etcd's Cluster service on one node; see the file comment. */
export class Cluster {
  constructor(private readonly ctx: ClientContext) {}

  private get node(): TsetcdNode {
    return this.ctx.node;
  }

  /**
   * Every member, by ID: linearizable by default; with `serializable`, this member's own view,
   * answered without a quorum (etcd 3.4's MemberList, which `etcdctl member list` relies on to
   * inspect a cluster that has lost its quorum).
   */
  async members(opts: CallOptions & { readonly serializable?: boolean } = {}): Promise<MemberListResponse> {
    if (opts.serializable !== true) await this.node.linearizableBarrier(opts);
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
    // In etcd's order: the URLs (checked before the request reaches the server), permission, the
    // strict check, then what applying the change would refuse.
    if (peerUrls.length === 0) throw new BadPeerUrlsError('no peer URL given');
    for (const u of peerUrls) {
      const why = badPeerUrl(u);
      if (why !== undefined) throw new BadPeerUrlsError(why);
    }
    this.node.authorizeAdmin(this.ctx.authInfo());
    const isLearner = opts.isLearner ?? false;
    if (!isLearner) this.checkCanAddVoter();
    // Sorted, as etcd keeps a new member's URLs (and derives its ID from them).
    const urls = [...peerUrls].sort();
    const ms = this.node.parts.membership;
    if (urls.some((u) => ms.byPeerUrl(u) !== undefined)) throw new PeerUrlExistsError();
    if (isLearner && ms.list().filter((m) => m.isLearner).length >= this.node.parts.config.maxLearners) {
      throw new TooManyLearnersError();
    }
    const token = this.node.parts.config.initialClusterToken;
    // The URL-derived ID lets the new member find its own ID from its flags; a re-used URL (its
    // old ID removed) gets a time-salted one, which the new member must be given as memberId.
    let id = memberIdFor(urls, token);
    if (ms.isRemoved(id) || ms.get(id) !== undefined)
      id = memberIdFor(urls, token, this.node.parts.clock.now());
    if (ms.get(id) !== undefined) throw new MemberExistsError();
    const member: Member = { id, name: '', peerUrls: urls, clientUrls: [], isLearner };
    const type = isLearner ? 'ConfChangeAddLearnerNode' : 'ConfChangeAddNode';
    return this.change([{ type, nodeId: id }], member, opts, id);
  }

  /** Removes a member for good. */
  async remove(id: MemberId, opts: CallOptions = {}): Promise<MemberChangeResponse> {
    this.node.authorizeAdmin(this.ctx.authInfo());
    const m = this.known(id);
    if (!m.isLearner) this.checkCanRemoveVoter(id);
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

  /** The voters (not learners) as membership has them. */
  private voters(): Member[] {
    return this.node.parts.membership.list().filter((m) => !m.isLearner);
  }

  /**
   * Whether each voter is active as the leader sees it (itself, or heard from recently), or
   * undefined on a follower, which does not know.
   */
  private activity(): ((id: MemberId) => boolean) | undefined {
    const status = this.node.parts.raft.status();
    if (status.softState.raftState !== 'StateLeader') return undefined;
    return (id) => id === this.node.id || status.progress.get(id)?.recentActive === true;
  }

  /** etcd's strict check before adding a voter (see the file comment). */
  private checkCanAddVoter(): void {
    if (!this.node.parts.config.strictReconfigCheck) return;
    const voters = this.voters();
    const started = voters.filter((m) => m.name !== '').length;
    const after = voters.length + 1;
    const growingFromOne = started === 1 && after === 2;
    if (!growingFromOne && started < quorum(after)) throw new NotEnoughStartedMembersError();
    const active = this.activity();
    if (active !== undefined && !voters.every((m) => active(m.id))) throw new UnhealthyClusterError();
  }

  /** etcd's strict check before removing the voter `id` (see the file comment). */
  private checkCanRemoveVoter(id: MemberId): void {
    if (!this.node.parts.config.strictReconfigCheck) return;
    const voters = this.voters();
    const rest = voters.filter((m) => m.id !== id);
    if (rest.filter((m) => m.name !== '').length < quorum(rest.length)) {
      throw new NotEnoughStartedMembersError();
    }
    const active = this.activity();
    // A member that is down is not part of the active quorum: removing it is safe.
    if (active === undefined || !active(id)) return;
    const activeVoters = voters.filter((m) => active(m.id)).length;
    if (activeVoters - 1 < quorum(voters.length - 1)) throw new UnhealthyClusterError();
  }
}

/** A majority of `n` voters. */
function quorum(n: number): number {
  return Math.floor(n / 2) + 1;
}
