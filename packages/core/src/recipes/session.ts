/**
 * Session: a lease kept alive for as long as its owner runs, as etcd's concurrency.Session — the
 * liveness everything in recipes/ (Mutex, Election) hangs its keys on. When the lease cannot be
 * renewed in time, or is revoked, the session is lost: `lost` is emitted once and `signal` aborts,
 * so every lock and campaign built on it stops believing in itself.
 *
 * How loss is judged (conservatively, so a lost holder gives up no later than the cluster does):
 * 1. The leader renews a lease when it applies the renewal, which is after we sent it; so the
 *    lease lives at least until `sentAt + ttl`. That is our `deadline`, moved forward only by
 *    acknowledged renewals.
 * 2. Renewals go out every ttl/3 (clientv3's pace); one that fails is retried every
 *    SESSION_RETRY_MS, each attempt bounded by half the time left before the deadline (so an
 *    attempt lost with a cut-off raft leader leaves time to retry on its successor).
 * 3. When the deadline passes unrenewed, or the lease is reported gone (LeaseNotFoundError), or
 *    the member we talk to has stopped, the session is lost. A lease we merely failed to renew is
 *    then revoked, best effort, so its keys go at once instead of at the cluster's expiry.
 *
 * Not done here: reconnecting to another member (a Client is bound to one member — a session on
 * a member cut off from the majority is lost after its TTL, by design).
 */

import { type LeaseId, LeaseNotFoundError } from '@tsetcd/mvcc';
import { EventEmitter } from 'eventemitter3';
import type { Clock, TimerHandle } from '../clock.js';
import { CoreError } from '../errors.js';
import type { Client } from '../node/client.js';
import { NodeStoppedError } from '../node-errors.js';

/** TTL of a session's lease in seconds when none is given (etcd's concurrency defaultSessionTTL). */
export const DEFAULT_SESSION_TTL = 60;
/** How long to wait before retrying a failed renewal, ms (never past the deadline). */
export const SESSION_RETRY_MS = 500;

/** The session's lease is gone, or could not be renewed in time (etcd's ErrSessionExpired). */
export class SessionExpiredError extends CoreError {
  readonly code = 'ErrSessionExpired';
  constructor(options?: ErrorOptions) {
    super('session is expired', options);
    this.name = 'SessionExpiredError';
  }
}

/** The session was closed or orphaned by its owner: what it held is no longer kept alive. */
export class SessionClosedError extends CoreError {
  readonly code = 'ErrSessionClosed';
  constructor(how: 'closed' | 'orphaned') {
    super(`session is ${how}`);
    this.name = 'SessionClosedError';
  }
}

/** Options of Session.create. */
export interface SessionOptions {
  /** Lease TTL in seconds; default DEFAULT_SESSION_TTL. Ignored when `leaseId` is given. */
  readonly ttl?: number;
  /** Keep an existing lease alive instead of granting a new one (etcd's WithLease). */
  readonly leaseId?: LeaseId;
  /** Timers and time; default the clock of the member `client` talks to. */
  readonly clock?: Clock;
  /** Aborts the grant (not the session once created). */
  readonly signal?: AbortSignal;
}

/** Events of a Session. */
export interface SessionEvents {
  /** Once: the lease is gone or could not be kept alive in time; nothing built on it holds. */
  lost: (err: SessionExpiredError) => void;
}

/** A lease with automatic keep-alive; see the file comment. */
export class Session extends EventEmitter<SessionEvents> implements AsyncDisposable {
  private readonly controller = new AbortController();
  private renewTimer: TimerHandle | undefined;
  private expiryTimer: TimerHandle | undefined;
  /** Set by close() and orphan(): no more renewals, no more loss detection. */
  private stopped = false;
  private lost = false;
  private renewing = false;

  private constructor(
    /** The client the session's lease and keys are written through. */
    readonly client: Client,
    /** The session's lease. */
    readonly lease: LeaseId,
    /** The lease's TTL in seconds. */
    readonly ttl: number,
    private readonly clock: Clock,
    /** Invariant: the lease lives at least until `deadline` (clock ms), unless revoked. */
    private deadline: number,
  ) {
    super();
    this.scheduleExpiry();
    this.scheduleRenew(0);
  }

  /** Grants a lease (or adopts `leaseId`) and starts keeping it alive. */
  static async create(client: Client, opts: SessionOptions = {}): Promise<Session> {
    const clock = opts.clock ?? clockOf(client);
    const callOpts = opts.signal !== undefined ? { signal: opts.signal } : {};
    const sentAt = clock.now();
    if (opts.leaseId !== undefined) {
      const t = await client.lease.timeToLive(opts.leaseId, callOpts).catch((err: unknown) => {
        throw err instanceof LeaseNotFoundError ? new SessionExpiredError({ cause: err }) : err;
      });
      if (t.ttl < 0) throw new SessionExpiredError({ cause: new LeaseNotFoundError() });
      return new Session(client, opts.leaseId, t.grantedTtl, clock, sentAt + t.ttl * 1000);
    }
    const ttl = opts.ttl ?? DEFAULT_SESSION_TTL;
    const g = await client.lease.grant(ttl, callOpts);
    return new Session(client, g.id, g.ttl, clock, sentAt + g.ttl * 1000);
  }

  /**
   * Aborted when the session ends: lost (reason: SessionExpiredError), closed or orphaned — as
   * etcd's Session.Done(), the moment nothing built on it may be trusted any more.
   */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Whether the session was lost (not merely closed or orphaned). */
  get isLost(): boolean {
    return this.lost;
  }

  /** Stops keeping the lease alive and revokes it, deleting every key attached to it. */
  async close(): Promise<void> {
    if (this.stopped) return;
    this.stop(new SessionClosedError('closed'));
    if (this.lost) return;
    try {
      await this.client.lease.revoke(this.lease, {
        timeoutMs: Math.max(1, this.deadline - this.clock.now()),
      });
    } catch (err) {
      if (!(err instanceof LeaseNotFoundError)) throw err;
    }
  }

  /** Stops keeping the lease alive but leaves it (and its keys) to live out its TTL (etcd's Orphan). */
  orphan(): void {
    this.stop(new SessionClosedError('orphaned'));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  private stop(reason: Error): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.renewTimer !== undefined) this.clock.clearTimeout(this.renewTimer);
    if (this.expiryTimer !== undefined) this.clock.clearTimeout(this.expiryTimer);
    this.controller.abort(reason);
  }

  private scheduleRenew(ms: number): void {
    if (this.stopped) return;
    if (this.renewTimer !== undefined) this.clock.clearTimeout(this.renewTimer);
    this.renewTimer = this.clock.setTimeout(() => void this.renew(), ms);
  }

  private scheduleExpiry(): void {
    if (this.expiryTimer !== undefined) this.clock.clearTimeout(this.expiryTimer);
    this.expiryTimer = this.clock.setTimeout(
      () => this.lose(new SessionExpiredError(), true),
      Math.max(0, this.deadline - this.clock.now()),
    );
  }

  /** Step 2 of the file comment: one renewal, bounded by the deadline. */
  private async renew(): Promise<void> {
    if (this.stopped || this.renewing) return;
    this.renewing = true;
    const sentAt = this.clock.now();
    try {
      // Half the time left per attempt: a renewal lost with a leader that was cut off must leave
      // time to retry on the new one (it may be elected within milliseconds).
      const r = await this.client.lease.keepAliveOnce(this.lease, {
        timeoutMs: Math.max(1, (this.deadline - sentAt) / 2),
      });
      if (this.stopped) return;
      if (r.ttl <= 0) throw new LeaseNotFoundError();
      this.deadline = Math.max(this.deadline, sentAt + r.ttl * 1000);
      this.scheduleExpiry();
      this.scheduleRenew((r.ttl * 1000) / 3);
    } catch (err) {
      if (this.stopped) return;
      if (err instanceof LeaseNotFoundError || err instanceof NodeStoppedError) {
        this.lose(new SessionExpiredError({ cause: err }), false);
        return;
      }
      this.scheduleRenew(Math.min(SESSION_RETRY_MS, Math.max(0, this.deadline - this.clock.now())));
    } finally {
      this.renewing = false;
    }
  }

  /** Step 3 of the file comment. */
  private lose(err: SessionExpiredError, revoke: boolean): void {
    if (this.stopped) return;
    this.lost = true;
    this.stop(err);
    if (revoke) this.client.lease.revoke(this.lease).catch(() => undefined);
    this.emit('lost', err);
  }
}

/** The clock of the member a client talks to: recipes run on the member's (possibly virtual) time. */
function clockOf(client: Client): Clock {
  return client.clock;
}
