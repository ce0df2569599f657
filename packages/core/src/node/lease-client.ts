/**
 * Lease: etcd's Lease service on a node — grant, revoke, keep-alive, time-to-live, list.
 *
 * Grants and revocations are proposals. A keep-alive on the leader is not: once a ReadIndex round
 * confirms it still leads, its lessor renews the lease (TsetcdNode.renewAsLeader, as etcd 3.5),
 * and it checkpoints the renewed IDs twice a second so the others can answer time-to-live (see
 * lease-checkpoints.ts). A keep-alive on a follower is forwarded to the leader over raft's
 * ReadIndex messages and renewed there the same way (forwarded-renewals.ts); if that cannot be
 * done (no leader, no answer in time) it is proposed instead, batched with the others the
 * follower serves meanwhile (renewal-batcher.ts), and the leader's lessor renews the lease when
 * it applies it. Either way an acknowledged keep-alive is one the leader has renewed.
 * Only the leader expires leases, by proposing their revocation (see node.ts).
 */

import {
  LEASE_OVERHEAD,
  type LeaseId,
  LeaseNotFoundError,
  type LeaseTimeToLive,
  NoSpaceError,
} from '@tsetcd/mvcc';
import { EventEmitter } from 'eventemitter3';
import type { TimerHandle } from '../clock.js';
import { type ClientContext, proposeAs } from './client-context.js';
import type { CallOptions } from './deadline.js';
import type { NodeResponseHeader, TsetcdNode } from './node.js';
import type { ReplicatedRequest } from './request.js';

/** LeaseGrant's answer. */
export interface LeaseGrantResponse {
  readonly header: NodeResponseHeader;
  readonly id: LeaseId;
  /** Granted TTL in seconds (raised to the minimum TTL if lower). */
  readonly ttl: number;
}

/** LeaseKeepAlive's answer: the lease's TTL restarted from now. */
export interface LeaseKeepAliveResponse {
  readonly header: NodeResponseHeader;
  readonly id: LeaseId;
  readonly ttl: number;
}

/** LeaseTimeToLive's answer; `ttl` is -1 once expired. */
export type LeaseTimeToLiveResponse = LeaseTimeToLive & { readonly header: NodeResponseHeader };

/** Events of a running keep-alive. */
export interface KeepAliveEvents {
  /** The lease was renewed. */
  keepalive: (r: LeaseKeepAliveResponse) => void;
  /** The lease is gone (revoked, expired, or not renewed before its TTL ran out); no more renewals. */
  lost: (err: Error) => void;
}

/** A lease kept alive until close(), as clientv3's KeepAlive. */
export class LeaseKeepAlive extends EventEmitter<KeepAliveEvents> {
  private timer: TimerHandle | undefined;
  private stopped = false;
  /** When the lease expires at the latest, judging by the last acknowledged renewal (node clock, ms). */
  private deadline: number;

  /** @internal Made by Lease.keepAlive. */
  constructor(
    private readonly lease: Lease,
    private readonly node: TsetcdNode,
    readonly id: LeaseId,
    ttlSeconds: number,
  ) {
    super();
    this.deadline = node.parts.clock.now() + ttlSeconds * 1000;
    this.schedule(0);
  }

  /** Stops renewing (the lease itself lives on until it expires or is revoked). */
  close(): void {
    this.stopped = true;
    if (this.timer !== undefined) this.node.parts.clock.clearTimeout(this.timer);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = this.node.parts.clock.setTimeout(() => void this.renew(), ms);
  }

  private async renew(): Promise<void> {
    const clock = this.node.parts.clock;
    const { heartbeatMs, requestTimeoutMs } = this.node.parts.config;
    // A renewal lost with a leader that was cut off must not wait out the full request timeout:
    // give each attempt half of the time the lease has left, then try again (on the new leader).
    const timeoutMs = Math.max(heartbeatMs, Math.min(requestTimeoutMs, (this.deadline - clock.now()) / 2));
    try {
      const r = await this.lease.keepAliveOnce(this.id, { timeoutMs });
      if (this.stopped) return;
      this.deadline = clock.now() + r.ttl * 1000;
      this.emit('keepalive', r);
      this.schedule((r.ttl * 1000) / 3); // clientv3 renews after a third of the TTL
    } catch (err) {
      if (this.stopped) return;
      if (err instanceof LeaseNotFoundError || clock.now() >= this.deadline || this.node.isClosed) {
        this.stopped = true;
        this.emit('lost', err as Error);
        return;
      }
      this.schedule(Math.min(heartbeatMs, Math.max(0, this.deadline - clock.now()))); // retry soon
    }
  }
}

/** etcd's Lease service on one node; see the file comment. */
export class Lease {
  constructor(private readonly ctx: ClientContext) {}

  private get node(): TsetcdNode {
    return this.ctx.node;
  }

  private write(req: ReplicatedRequest, opts: CallOptions): Promise<unknown> {
    return proposeAs(this.ctx, req, opts);
  }

  /** Grants a lease of `ttl` seconds; `id` 0 (default) lets the cluster pick one. */
  async grant(ttl: number, opts: CallOptions & { readonly id?: LeaseId } = {}): Promise<LeaseGrantResponse> {
    if (!Number.isSafeInteger(ttl) || ttl < 0)
      throw new RangeError(`lease: TTL must be a non-negative integer, got ${ttl}`);
    if (!this.node.quotaAllows(LEASE_OVERHEAD)) throw new NoSpaceError();
    const id = opts.id !== undefined && opts.id !== 0n ? opts.id : this.node.parts.store.lessor.newId();
    const r = (await this.write({ op: 'leaseGrant', id, ttl }, opts)) as {
      header: { revision: number };
      id: LeaseId;
      ttl: number;
    };
    return { header: this.node.header(r.header.revision), id: r.id, ttl: r.ttl };
  }

  /** Revokes a lease, deleting every key attached to it in one revision. */
  async revoke(id: LeaseId, opts: CallOptions = {}): Promise<{ readonly header: NodeResponseHeader }> {
    const r = (await this.write({ op: 'leaseRevoke', id }, opts)) as { header: { revision: number } };
    return { header: this.node.header(r.header.revision) };
  }

  /** Renews a lease once; LeaseNotFoundError if it does not exist (or has expired). */
  async keepAliveOnce(id: LeaseId, opts: CallOptions = {}): Promise<LeaseKeepAliveResponse> {
    this.node.authorize(this.ctx.authInfo(), { op: 'leaseRenew', id });
    const { clock, config } = this.node.parts;
    const deadline = clock.now() + (opts.timeoutMs ?? config.requestTimeoutMs);
    let ttl: number | undefined;
    if (this.node.isLeader) ttl = await this.node.renewAsLeader(id, opts);
    else {
      ttl = await this.node.renewThroughLeader(id, opts);
      if (ttl === 0) throw new LeaseNotFoundError();
    }
    // Proposed instead, in what is left of the caller's time.
    ttl ??= await this.node.followerRenewals.renew(id, {
      ...opts,
      timeoutMs: Math.max(config.heartbeatMs, deadline - clock.now()),
    });
    return { header: this.node.header(this.node.parts.store.revision), id, ttl };
  }

  /** Keeps a lease alive until close() or until it is lost; see LeaseKeepAlive. */
  keepAlive(id: LeaseId, opts: { readonly signal?: AbortSignal } = {}): LeaseKeepAlive {
    // Until the first renewal answers, the lease is assumed to live its granted TTL (as this
    // member knows it); an unknown lease fails at the first renewal with LeaseNotFoundError.
    let ttl = 1;
    try {
      ttl = this.node.parts.store.lessor.timeToLive(id).grantedTtl;
    } catch {
      // unknown here: the first renewal tells
    }
    const ka = new LeaseKeepAlive(this, this.node, id, ttl);
    opts.signal?.addEventListener('abort', () => ka.close(), { once: true });
    return ka;
  }

  /** The lease's remaining TTL (and attached keys with `keys`); linearizable. */
  async timeToLive(
    id: LeaseId,
    opts: CallOptions & { readonly keys?: boolean } = {},
  ): Promise<LeaseTimeToLiveResponse> {
    await this.node.linearizableBarrier(opts);
    const store = this.node.parts.store;
    const r = store.lessor.timeToLive(id, { keys: opts.keys ?? false });
    return { ...r, header: this.node.header(store.revision) };
  }

  /** Every lease ID; linearizable. */
  async leases(
    opts: CallOptions = {},
  ): Promise<{ readonly header: NodeResponseHeader; readonly leases: LeaseId[] }> {
    await this.node.linearizableBarrier(opts);
    const store = this.node.parts.store;
    return { header: this.node.header(store.revision), leases: store.lessor.leases() };
  }
}
