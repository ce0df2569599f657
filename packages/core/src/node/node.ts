/**
 * TsetcdNode: one member of a replicated etcd — raft, the durable log, the transport and the mvcc
 * store composed, with etcd's client API on top. Made by createNode (create-node.ts), which opens
 * everything in order and hands the parts to this class; this class runs them:
 *
 * - the raft loop (raft-loop.ts) persists, sends and hands committed entries to the Applier;
 * - a ticker on the injected clock ticks raft every heartbeat, retries dropped proposals and
 *   unanswered read rounds, expires leases on the leader and flushes the backend;
 * - the leader's lessor is primary (leases expire only there, by proposing their revocation);
 * - every client call is either a proposal (Proposer) or a local read, linearizable by default
 *   (ReadBarrier) or serializable on request.
 */

import {
  type LeaseId,
  LeaseNotFoundError,
  type MvccStore,
  RestoringError,
  type Watcher,
  type WatchFilter,
} from '@tsetcd/mvcc';
import {
  type ConfChange,
  type ConfState,
  type Entry,
  NONE,
  type RawNode,
  type SoftState,
} from '@tsetcd/raft';
import type { Transport } from '@tsetcd/transport';
import { EventEmitter } from 'eventemitter3';
import type { AuthInfo } from '../auth/types.js';
import type { Clock, TimerHandle } from '../clock.js';
import { type Compactor, newCompactor, parseAutoCompaction } from '../compactor.js';
import { type NodeConfig, quotaBytes } from '../config.js';
import type { ClusterId, MemberId } from '../ids.js';
import { Metrics } from '../metrics/metrics.js';
import { NodeStoppedError } from '../node-errors.js';
import type { RaftLoop } from '../raft-loop.js';
import type { Applier } from './applier.js';
import type { NodeAuth } from './auth-apply.js';
import type { Auth } from './auth-client.js';
import { Client } from './client.js';
import type { Cluster } from './cluster-client.js';
import { type CallOptions, withDeadline } from './deadline.js';
import { type ForwardedRenewals, RENEWAL_NOT_FOUND, RENEWAL_NOT_PRIMARY } from './forwarded-renewals.js';
import type { Bytes, KeyRangeOptions, KV } from './kv-client.js';
import { LEASE_CHECKPOINT_MS, LeaseCheckpoints } from './lease-checkpoints.js';
import type { Lease } from './lease-client.js';
import type { Maintenance } from './maintenance-client.js';
import type { Member, Membership } from './membership.js';
import type { MembershipApplier } from './membership-apply.js';
import type { ProposeOptions, Proposer } from './proposer.js';
import type { ReadBarrier } from './read-barrier.js';
import { RenewalBatcher } from './renewal-batcher.js';
import type { ReplicatedRequest } from './request.js';
import type { Snapshotter } from './snapshotter.js';
import type { AppliedIndexWaits, ProposalWaits } from './wait.js';

/** Events a node emits. */
export interface NodeEvents {
  /** The leader changed; `leader` is 0n while there is none. */
  leader: (e: { readonly leader: MemberId; readonly term: number; readonly isLeader: boolean }) => void;
  memberAdded: (m: Member) => void;
  memberRemoved: (id: MemberId) => void;
  memberUpdated: (m: Member) => void;
  /** An alarm was raised or cleared cluster-wide. */
  alarm: (e: {
    readonly action: 'ACTIVATE' | 'DEACTIVATE';
    readonly memberId: MemberId;
    readonly alarm: string;
  }) => void;
  /** The member failed (persisting or applying) and stopped serving. */
  error: (err: unknown) => void;
  /** This member was removed from the cluster and stopped. */
  removed: () => void;
}

/** Options of TsetcdNode.watch. */
export interface NodeWatchOptions extends KeyRangeOptions {
  /** First revision to deliver; 0 (default) = the next write. */
  readonly startRevision?: number;
  /** Attach each key's previous version to its event. */
  readonly prevKv?: boolean;
  /** Leave out puts ('NOPUT') or deletes ('NODELETE'). */
  readonly filters?: readonly WatchFilter[];
  /** Send an empty response after each quiet progress interval. */
  readonly progressNotify?: boolean;
  /** Aborting it cancels the watch. */
  readonly signal?: AbortSignal;
  /** Responses buffered before the watcher falls behind and catches up from the store. */
  readonly bufferSize?: number;
}

/** Something the node logs. */
export type NodeLogger = (level: 'debug' | 'info' | 'warn' | 'error', message: string) => void;

/** etcd's ResponseHeader, as every response carries it. */
export interface NodeResponseHeader {
  readonly clusterId: ClusterId;
  readonly memberId: MemberId;
  readonly revision: number;
  readonly raftTerm: number;
}

/** The parts createNode assembles, handed over in one piece. */
export interface NodeParts {
  readonly config: NodeConfig;
  readonly id: MemberId;
  readonly clusterId: ClusterId;
  readonly clock: Clock;
  readonly logger: NodeLogger;
  readonly raft: RawNode;
  readonly loop: RaftLoop;
  readonly transport: Transport;
  readonly store: MvccStore;
  readonly membership: Membership;
  readonly membershipApplier: MembershipApplier;
  readonly applier: Applier;
  readonly proposer: Proposer;
  readonly reads: ReadBarrier;
  readonly forwarded: ForwardedRenewals;
  readonly waits: ProposalWaits;
  readonly applied: AppliedIndexWaits;
  readonly snapshotter: Snapshotter;
  readonly auth: NodeAuth;
  /** Closes what createNode opened besides the store and transport (the raft storage). */
  readonly closeStorage: () => Promise<void>;
}

/** How often (ms) the backend size is sampled for the quota check and status (a directory scan). */
export const DB_SIZE_SAMPLE_MS = 1000;

/** An apply batch slower than this counts in etcd_server_slow_apply_total (etcd warns at 100 ms). */
export const SLOW_APPLY_MS = 100;

/** How often (ms) the leader looks for expired leases (etcd checks every 500 ms). */
export const LEASE_EXPIRY_CHECK_MS = 500;

/** A running member; see the file comment. */
export class TsetcdNode extends EventEmitter<NodeEvents> implements AsyncDisposable {
  /** This member's ID. */
  readonly id: MemberId;
  private readonly initialClusterId: ClusterId;
  /** @internal The assembled parts: the client facades and tests use them. */
  readonly parts: NodeParts;
  /** The node's own client (acting as no user). */
  readonly client: Client;
  /** etcd's KV service: put, get, delete, txn, compact. */
  readonly kv: KV;
  /** etcd's Lease service: grant, revoke, keepAlive, timeToLive, leases. */
  readonly lease: Lease;
  /** etcd's Auth service. */
  readonly auth: Auth;
  /** etcd's Cluster service: members, add, remove, update, promote. */
  readonly cluster: Cluster;
  /** etcd's Maintenance service: status, snapshot, defragment, hashes, alarms, move leader. */
  readonly maintenance: Maintenance;
  private ticker: TimerHandle | undefined;
  private ticks = 0;
  private lastLeaseCheck = 0;
  private lastLeaseCheckpoint = 0;
  /** Leases this member renewed as leader and has not yet checkpointed. */
  private readonly leaseCheckpoints = new LeaseCheckpoints();
  /** @internal Keep-alives served as a follower, proposed in batches. */
  readonly followerRenewals: RenewalBatcher;
  private lastCommit = 0;
  private committing: Promise<void> | undefined;
  private leader: MemberId = NONE;
  private leaderChangeCount = 0;
  private closed = false;
  private dbSizeBytes = 0;
  private lastSizeSample = Number.NEGATIVE_INFINITY;
  /** etcd's metrics for this member; gauges are refreshed every tick (see refreshMetrics). */
  readonly metrics = new Metrics();
  private readonly compactor: Compactor | undefined;
  private compacting: Promise<void> | undefined;
  private publishing = false;
  private closing: Promise<void> | undefined;

  constructor(parts: NodeParts) {
    super();
    this.parts = parts;
    this.id = parts.id;
    this.initialClusterId = parts.clusterId;
    const auto = parseAutoCompaction(parts.config.autoCompactionMode, parts.config.autoCompactionRetention);
    this.compactor =
      auto === undefined
        ? undefined
        : newCompactor(auto, {
            currentRevision: () => this.parts.store.revision,
            compact: async (revision) => {
              await this.propose({ op: 'compaction', compaction: { revision } });
            },
            onEvent: (e) => this.parts.logger('info', `auto compaction: ${JSON.stringify(e)}`),
          });
    this.followerRenewals = new RenewalBatcher(async (ids, opts) => {
      const r = (await this.propose({ op: 'leaseRenewBatch', ids }, opts)) as { ttls: readonly number[] };
      return r.ttls;
    });
    this.client = new Client({ node: this, authInfo: () => undefined });
    this.kv = this.client.kv;
    this.lease = this.client.lease;
    this.auth = this.client.auth;
    this.cluster = this.client.cluster;
    this.maintenance = this.client.maintenance;
  }

  /** Starts ticking. Called once by createNode. */
  start(): void {
    const { clock, config } = this.parts;
    this.lastLeaseCheck = clock.now();
    this.lastLeaseCheckpoint = clock.now();
    this.lastCommit = clock.now();
    if (this.compactor !== undefined) {
      this.compactor.run(clock.now());
      if (!this.isLeader) this.compactor.pause();
    }
    const tick = () => {
      if (this.closed) return;
      this.onTick();
      this.ticker = clock.setTimeout(tick, config.heartbeatMs);
    };
    this.ticker = clock.setTimeout(tick, config.heartbeatMs);
  }

  /** Watches a key or range as the node's own client; see Client.watch. */
  watch(key: Bytes, opts: NodeWatchOptions = {}): Watcher {
    return this.client.watch(key, opts);
  }

  /** @internal Opens a watcher on the store (permissions already checked). */
  openWatch(key: Uint8Array, rangeEnd: Uint8Array | undefined, opts: NodeWatchOptions): Watcher {
    if (this.closed) throw new NodeStoppedError();
    return this.parts.store.watch(
      {
        key,
        ...(rangeEnd !== undefined ? { rangeEnd } : {}),
        ...(opts.startRevision !== undefined ? { startRevision: opts.startRevision } : {}),
        ...(opts.prevKv ? { prevKv: true } : {}),
        ...(opts.filters !== undefined ? { filters: opts.filters } : {}),
        ...(opts.progressNotify ? { progressNotify: true } : {}),
      },
      {
        ...(opts.signal !== undefined ? { signal: opts.signal } : {}),
        ...(opts.bufferSize !== undefined ? { bufferSize: opts.bufferSize } : {}),
      },
    );
  }

  /** A client acting as the user `token` was issued to (see Auth.authenticate). */
  withToken(token: string): Client {
    return new Client({ node: this, authInfo: () => this.parts.auth.store.authInfoFromToken(token) });
  }

  /** @internal Throws the auth error `auth` gets for `req` where it is taken, if any. */
  authorize(auth: AuthInfo | undefined, req: ReplicatedRequest): void {
    const err = this.parts.auth.requestError(auth, req);
    if (err !== undefined) throw err;
  }

  /** @internal Throws the auth error `auth` gets reading [key, rangeEnd), if any. */
  authorizeRange(auth: AuthInfo | undefined, key: Uint8Array, rangeEnd: Uint8Array | undefined): void {
    const err = this.parts.auth.rangeError(auth, key, rangeEnd);
    if (err !== undefined) throw err;
  }

  /** @internal Throws unless `auth` may make admin calls (always may while auth is off). */
  authorizeAdmin(auth: AuthInfo | undefined): void {
    const err = this.parts.auth.adminError(auth);
    if (err !== undefined) throw err;
  }

  // ---- state -------------------------------------------------------------------------------------

  /** The cluster's ID (learned from the log by a member that joined an existing cluster). */
  get clusterId(): ClusterId {
    return this.parts.membership.clusterId ?? this.initialClusterId;
  }

  /** The leader this member knows of (0n if none). */
  get leaderId(): MemberId {
    return this.leader;
  }

  /** Whether this member is the leader now. */
  get isLeader(): boolean {
    return this.leader === this.id;
  }

  /** The raft term. */
  get term(): number {
    return this.parts.raft.term;
  }

  /** Entries applied to the store on this member. */
  get appliedIndex(): number {
    return this.parts.applied.applied;
  }

  /** How many leader changes this member has seen. */
  get leaderChanges(): number {
    return this.leaderChangeCount;
  }

  /** Whether the member is waiting on its own I/O (a raft save, an apply, a backend flush). */
  get busy(): boolean {
    return this.parts.loop.busy || this.committing !== undefined;
  }

  /** Whether close() was called or the member failed. */
  get isClosed(): boolean {
    return this.closed;
  }

  /** The header a response gets, at `revision`. */
  header(revision: number): NodeResponseHeader {
    return { clusterId: this.clusterId, memberId: this.id, revision, raftTerm: this.parts.raft.term };
  }

  // ---- requests ----------------------------------------------------------------------------------

  /** @internal Proposes a replicated request and resolves with what applying it returned. */
  propose(req: ReplicatedRequest, opts: ProposeOptions = {}): Promise<unknown> {
    if (this.closed) return Promise.reject(new NodeStoppedError());
    return this.parts.proposer.propose(req, opts);
  }

  /** @internal Resolves once a linearizable read may be served locally. */
  linearizableBarrier(opts: CallOptions = {}): Promise<void> {
    if (this.closed) return Promise.reject(new NodeStoppedError());
    const { clock, config, reads } = this.parts;
    const timeout = opts.timeoutMs ?? config.requestTimeoutMs;
    if (timeout >= config.heartbeatMs) return reads.wait(clock.now() + timeout, opts.signal);
    // Shorter than a tick: the barrier's sweep would be late; race a timer.
    return withDeadline(clock, timeout, opts.signal, reads.wait(Number.POSITIVE_INFINITY, opts.signal));
  }

  /**
   * @internal etcd 3.5's LeaseRenew on the leader: once a ReadIndex round that started after this
   * call confirms this member still leads (and it has applied everything committed before, such as
   * a revocation an earlier leader decided), its primary lessor renews the lease — no proposal, no
   * fsync. Safe though leadership may be lost right after: a new leader's votes came after that
   * confirmation, and its promotion restarts every lease from its full TTL. Answers the TTL, or
   * undefined when this member turned out not to lead (the caller proposes the renewal instead);
   * LeaseNotFoundError for an unknown or expired lease.
   */
  async renewAsLeader(id: LeaseId, opts: CallOptions): Promise<number | undefined> {
    await this.linearizableBarrier(opts);
    return this.leadsLeases() ? this.renewAsPrimary(id) : undefined;
  }

  /** Whether this member leads and its lessor decides expiry: raft's view, not only the lessor's. */
  private leadsLeases(): boolean {
    return !this.closed && this.parts.raft.lead === this.id && this.parts.store.lessor.isPrimary;
  }

  /** Renews `id` on the primary lessor and notes it for the next checkpoint; LeaseNotFoundError if gone. */
  private renewAsPrimary(id: LeaseId): number {
    const ttl = this.parts.store.lessor.renew(id);
    this.leaseCheckpoints.note(id);
    return ttl;
  }

  /**
   * @internal A follower's forwarded keep-alive, answered by the leader (forwarded-renewals.ts):
   * raft has confirmed this member leads (a heartbeat round that started after the request
   * arrived, or on three members the forwarded request itself: raft's forwarderAcksReadIndex);
   * once everything up to the follower's read index is applied, the primary lessor renews the
   * leases as for renewAsLeader. Per lease: the TTL, RENEWAL_NOT_FOUND, or RENEWAL_NOT_PRIMARY.
   */
  async renewForFollower(ids: readonly LeaseId[], index: number): Promise<number[]> {
    await this.parts.applied.wait(index);
    if (!this.leadsLeases()) return ids.map(() => RENEWAL_NOT_PRIMARY);
    return ids.map((id) => {
      try {
        return this.renewAsPrimary(id);
      } catch (err) {
        if (err instanceof LeaseNotFoundError) return RENEWAL_NOT_FOUND;
        throw err;
      }
    });
  }

  /**
   * @internal A follower's keep-alive, forwarded to the leader (forwarded-renewals.ts): the TTL,
   * or undefined when the caller should propose it instead. Gives the forward at most half the
   * caller's time, so a proposal can still follow.
   */
  renewThroughLeader(id: LeaseId, opts: CallOptions): Promise<number | undefined> {
    const { clock, config } = this.parts;
    const timeout = opts.timeoutMs ?? config.requestTimeoutMs;
    return this.parts.forwarded.renew(
      id,
      clock.now() + Math.max(config.heartbeatMs, timeout / 2),
      opts.signal,
    );
  }

  /**
   * @internal The quota check etcd runs before proposing a write: whether `cost` more bytes fit
   * under --quota-backend-bytes (by the backend size sampled at the last flush). When they do not,
   * this member raises the NOSPACE alarm cluster-wide.
   */
  quotaAllows(cost: number): boolean {
    if (cost <= 0 || this.dbSizeBytes + cost <= quotaBytes(this.parts.config)) return true;
    if (!this.parts.store.alarms.has('NOSPACE')) {
      this.propose({ op: 'alarm', action: 'ACTIVATE', memberId: this.id, alarm: 'NOSPACE' }).catch(
        () => undefined,
      );
    }
    return false;
  }

  /** Backend size in bytes, sampled at the last flush. */
  get dbSize(): number {
    return this.dbSizeBytes;
  }

  // ---- raft loop host callbacks (wired by createNode) -------------------------------------------

  /** @internal Applies committed normal entries; see Applier. */
  async onApply(entries: readonly Entry[]): Promise<void> {
    // A snapshot image for a follower is being made: it must hold exactly its index's state.
    const building = this.parts.snapshotter.building;
    if (building !== undefined) await building;
    this.parts.applier.applyEntries(entries);
    const last = entries[entries.length - 1];
    if (last !== undefined) await this.afterApply(last.index);
  }

  /** @internal A committed conf change was applied to raft. */
  onConfChange(change: ConfChange, confState: ConfState, entry: Entry): void {
    const outcome = this.parts.membershipApplier.apply(change, confState, entry);
    for (const m of outcome.added) this.emit('memberAdded', m);
    for (const m of outcome.updated) this.emit('memberUpdated', m);
    for (const id of outcome.removed) this.emit('memberRemoved', id);
    if (outcome.selfRemoved) {
      this.parts.logger('warn', `member ${this.id.toString(16)} was removed from the cluster; stopping`);
      queueMicrotask(() => {
        this.emit('removed');
        void this.close();
      });
    }
    // Not awaited by the raft loop: a failure here (a snapshot that cannot be saved) must still
    // stop the member, never surface as an unhandled rejection that ends the process.
    this.afterApply(entry.index).catch((err: unknown) => this.onFatal(err));
  }

  /** @internal Leader or role changed. */
  onSoftState(s: SoftState): void {
    const { store, config } = this.parts;
    if (s.lead !== this.leader) {
      this.leader = s.lead;
      if (s.lead !== NONE) {
        this.leaderChangeCount++;
        this.metrics.leaderChanges.inc();
      }
      this.metrics.hasLeader.set(s.lead !== NONE ? 1 : 0);
      this.metrics.isLeader.set(s.lead === this.id ? 1 : 0);
      if (s.lead === this.id) this.compactor?.resume();
      else this.compactor?.pause();
      this.emit('leader', { leader: s.lead, term: this.parts.raft.term, isLeader: s.lead === this.id });
      this.parts.proposer.retry();
      if (s.lead !== NONE) this.publish();
    }
    const leading = s.raftState === 'StateLeader';
    if (leading && !store.lessor.isPrimary) store.lessor.promote(config.electionMs);
    else if (!leading && store.lessor.isPrimary) {
      store.lessor.demote();
      this.leaseCheckpoints.clear();
    }
  }

  /**
   * etcd's publish: once there is a leader, records this member's name and client URLs in the
   * replicated member list (if they are not there yet), so other members and clients see them.
   */
  private publish(): void {
    const { membership, config } = this.parts;
    const me = membership.get(this.id);
    if (this.publishing || me === undefined) return;
    const same = me.name === config.name && me.clientUrls.join(',') === config.clientUrls.join(',');
    if (same) return;
    this.publishing = true;
    this.propose({
      op: 'memberAttrs',
      memberId: this.id,
      attrs: { name: config.name, clientUrls: config.clientUrls },
    })
      .catch(() => undefined)
      .finally(() => {
        this.publishing = false;
      });
  }

  /** @internal The loop stopped on a persist or apply failure. */
  onFatal(err: unknown): void {
    this.parts.logger('error', `member ${this.id.toString(16)} stopped: ${(err as Error)?.message ?? err}`);
    this.emit('error', err);
    void this.close();
  }

  private async afterApply(index: number): Promise<void> {
    this.parts.applied.advance(index);
    await this.parts.snapshotter.maybeSnapshot(index);
  }

  // ---- the ticker --------------------------------------------------------------------------------

  private onTick(): void {
    const { loop, proposer, reads, clock, config, store } = this.parts;
    this.ticks++;
    loop.tick();
    proposer.retry();
    proposer.expire();
    reads.retry();
    this.parts.forwarded.retry();
    const now = clock.now();
    // A member added to a running cluster may learn the leader before it has applied its own
    // addition: keep trying to publish until its entry carries its name and client URLs.
    if (this.leader !== NONE) this.publish();
    // Raft's own view, not the lessor's: the lessor is demoted only when the leader change is
    // handled, and a member that just learned of a newer leader (after a pause, say) must not
    // decide expiries on its stale clock in the meantime.
    const leading = this.parts.raft.lead === this.id;
    if (leading && store.lessor.isPrimary && now - this.lastLeaseCheck >= LEASE_EXPIRY_CHECK_MS) {
      this.lastLeaseCheck = now;
      const term = this.parts.raft.term;
      for (const id of store.lessor.expired()) {
        this.propose({
          op: 'leaseRevoke',
          id,
          expiredInTerm: term,
          decidedAt: this.parts.applied.applied,
        }).catch(() => undefined);
      }
    }
    if (leading && now - this.lastLeaseCheckpoint >= LEASE_CHECKPOINT_MS && this.leaseCheckpoints.pending) {
      this.lastLeaseCheckpoint = now;
      this.propose({ op: 'leaseCheckpoint', ids: this.leaseCheckpoints.take() }).catch(() => undefined);
    }
    const wake = this.compactor?.nextWakeMs();
    if (wake !== undefined && wake <= now && this.compacting === undefined) {
      this.compacting = this.compactor!.tick(now)
        .catch(() => undefined)
        .finally(() => {
          this.compacting = undefined;
        });
    }
    this.refreshMetrics();
    if (now - this.lastCommit >= config.backendCommitMs && this.committing === undefined) {
      this.lastCommit = now;
      this.committing = this.commitBackend().finally(() => {
        this.committing = undefined;
      });
    }
  }

  /** @internal Ticks elapsed since start (the read barrier's clock). */
  tickCount(): number {
    return this.ticks;
  }

  /** Sets the gauges that mirror live state (proposals, sizes, keys). */
  private refreshMetrics(): void {
    const m = this.metrics;
    m.proposalsCommitted.set(this.parts.raft.status().committed);
    m.proposalsApplied.set(this.parts.applied.applied);
    m.proposalsPending.set(this.parts.waits.size);
    m.dbTotalSize.set(this.dbSizeBytes);
    m.keysTotal.set(this.parts.store.kv.indexedKeys);
  }

  /** @internal A Ready was saved (one fsync on disk). */
  onSaved(ms: number): void {
    this.metrics.walFsyncSec.observe(ms / 1000);
  }

  /** @internal Committed entries were applied. */
  onApplied(ms: number): void {
    if (ms > SLOW_APPLY_MS) this.metrics.slowApplies.inc();
  }

  /** Flushes applied state (with its applied index) to the mvcc backend. */
  private async commitBackend(): Promise<void> {
    try {
      const t0 = performance.now();
      await this.parts.store.commit();
      this.metrics.backendCommitSec.observe((performance.now() - t0) / 1000);
      const now = this.parts.clock.now();
      if (now - this.lastSizeSample >= DB_SIZE_SAMPLE_MS) {
        this.lastSizeSample = now;
        this.dbSizeBytes = await this.parts.store.kv.backend.sizeBytes();
      }
    } catch (err) {
      // A snapshot being installed holds the store; its own flush covers what this one would.
      if (err instanceof RestoringError) return;
      this.onFatal(err);
    }
  }

  // ---- lifecycle ---------------------------------------------------------------------------------

  /** Stops the member: pending calls fail with NodeStoppedError; everything applied is flushed. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  /**
   * Stops the member as a crash would, for tests and simulations: applied state not yet flushed
   * to the store's backend is dropped (the raft log holds it, fsynced, and replays it on restart);
   * pending calls fail with NodeStoppedError.
   */
  kill(): Promise<void> {
    this.closing ??= this.shutdown(true);
    return this.closing;
  }

  private async shutdown(crash = false): Promise<void> {
    this.closed = true;
    const { clock, loop, transport, store, waits, applied } = this.parts;
    if (this.ticker !== undefined) clock.clearTimeout(this.ticker);
    this.compactor?.stop();
    await loop.stop(!crash);
    await transport.close().catch(() => undefined);
    const stopped = new NodeStoppedError();
    waits.failAll(stopped);
    this.parts.reads.failAll(stopped);
    this.parts.forwarded.failAll(stopped);
    applied.failAll(stopped);
    if (!crash) await this.committing;
    await store
      .close({ discard: crash })
      .catch((err) => this.parts.logger('warn', `closing the store: ${(err as Error).message}`));
    await this.parts.closeStorage().catch(() => undefined);
    this.removeAllListeners();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
