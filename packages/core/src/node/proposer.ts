/**
 * Proposer: gets a request into the replicated log and its result back to the caller.
 *
 *   1. give the request a cluster-unique ID, encode it, refuse it if it exceeds the request limit;
 *   2. register a waiter for the ID, then propose: raft appends it on the leader or forwards it
 *      there from a follower;
 *   3. if raft drops it (no leader yet, a leader transfer in progress), keep it and propose again
 *      at every retry() — the host calls that on each tick and when a leader appears;
 *   4. the caller gets the result when THIS member applies the entry (ProposalWaits), or a
 *      timeout: NoLeaderError if no leader ever took it, LeaderFailTimeoutError if the leader
 *      changed meanwhile, RequestTimeoutError otherwise (the request may still be applied).
 */

import { type ConfChange, ProposalDroppedError } from '@tsetcd/raft';
import type { AuthInfo } from '../auth/types.js';
import type { Clock } from '../clock.js';
import {
  LeaderFailTimeoutError,
  NoLeaderError,
  RequestCanceledError,
  RequestTimeoutError,
  RequestTooLargeError,
} from '../node-errors.js';
import type { CallOptions } from './deadline.js';
import { etcdRequestBytes } from './etcd-request-size.js';
import type { Member } from './membership.js';
import { encodeConfChangeContext } from './membership-apply.js';
import { encodeRequest, joinRequestId, type ReplicatedRequest, type RequestIdGenerator } from './request.js';
import type { ApplyResult, ProposalWaits } from './wait.js';

/** What the proposer needs from the node. */
export interface ProposerHost {
  /** Proposes `data` to raft and schedules the raft loop; throws ProposalDroppedError if dropped. */
  propose(data: Uint8Array): void;
  /** Proposes a membership change, likewise. */
  proposeConfChange(cc: ConfChange): void;
  /** The leader's term-change counter: how many leader changes this member has seen. */
  leaderChanges(): number;
  /** Whether a leader is known now. */
  hasLeader(): boolean;
  /** Told of every error the caller of a normal (not membership) proposal gets (etcd_server_proposals_failed_total). */
  onFailed?(err: unknown): void;
}

/** Options of one proposal. */
export interface ProposeOptions extends CallOptions {
  /** The user the request runs as (checked again when applied). */
  readonly auth?: AuthInfo;
}

/** A proposal to hand to raft (again, once raft dropped it): a normal entry's data or a conf change. */
interface Submission {
  /** The counter of the proposal's request ID. */
  readonly id: number;
  readonly data?: Uint8Array;
  readonly cc?: ConfChange;
}

/** Proposes requests and waits for their results; see the file comment. */
export class Proposer {
  private dropped: Submission[] = [];

  constructor(
    private readonly host: ProposerHost,
    private readonly waits: ProposalWaits,
    private readonly ids: RequestIdGenerator,
    private readonly clock: Clock,
    private readonly limits: { readonly maxRequestBytes: number; readonly timeoutMs: number },
    /** How often the host calls expire(). */
    private readonly tickMs: number,
  ) {}

  /**
   * Steps 1–4: resolves with the applied response, or rejects with the error it produced. Not
   * async itself (one promise per request fewer: this is every write's path).
   */
  propose(req: ReplicatedRequest, opts: ProposeOptions = {}): Promise<unknown> {
    const id = this.ids.next();
    const ai = opts.auth;
    let data: Uint8Array;
    try {
      data = encodeRequest({
        proposer: this.ids.prefix,
        counter: id,
        req,
        ...(ai !== undefined ? { user: ai.username, authRevision: ai.revision } : {}),
      });
    } catch (err) {
      // Callers get every error as a rejection, never a throw.
      return Promise.reject(err);
    }
    if (this.tooLarge(req, data.length, ai)) return Promise.reject(new RequestTooLargeError());
    return this.submitAndWait(id, data, undefined, opts);
  }

  /**
   * Whether etcd would refuse `req` as larger than --max-request-bytes. A KV request is sized as
   * etcd sizes it (etcdRequestBytes) once its entry is big enough to come near the limit (etcd's
   * protobuf is never twice our encoding plus a few KiB); any other is judged by its entry, with
   * a little room for the envelope our encoding adds.
   */
  private tooLarge(req: ReplicatedRequest, entryBytes: number, ai: AuthInfo | undefined): boolean {
    const max = this.limits.maxRequestBytes;
    if (req.op !== 'put' && req.op !== 'deleteRange' && req.op !== 'txn') return entryBytes > max + 1024;
    if (2 * entryBytes + 4096 <= max) return false;
    const author = {
      idPrefix: this.ids.prefix,
      ...(ai !== undefined ? { user: ai.username, authRevision: ai.revision } : {}),
    };
    return etcdRequestBytes(req, author) > max;
  }

  /**
   * Proposes a membership change; its context carries the request ID (and `member`), and the
   * caller gets what the MembershipApplier reports once it is applied here.
   */
  proposeConfChange(
    changes: ConfChange['changes'],
    member: Member | undefined,
    opts: CallOptions = {},
  ): Promise<unknown> {
    const id = this.ids.next();
    const context = encodeConfChangeContext({
      id: joinRequestId(this.ids.prefix, id),
      ...(member !== undefined ? { member } : {}),
    });
    const cc: ConfChange = { transition: 'auto', changes, context };
    return this.submitAndWait(id, undefined, cc, opts);
  }

  /** Proposes `data` (a normal entry) or `cc`; a normal proposal's failure goes to `onFailed`. */
  private async submitAndWait(
    id: number,
    data: Uint8Array | undefined,
    cc: ConfChange | undefined,
    opts: CallOptions,
  ): Promise<unknown> {
    if (opts.signal?.aborted) throw new RequestCanceledError(opts.signal.reason);
    const timeout = opts.timeoutMs ?? this.limits.timeoutMs;
    const result = this.waits.register(id, this.clock.now() + timeout, this.host.leaderChanges());
    const signal = opts.signal;
    const onAbort =
      signal === undefined ? undefined : () => this.fail(id, new RequestCanceledError(signal.reason));
    if (onAbort !== undefined) signal!.addEventListener('abort', onAbort, { once: true });
    if (timeout < this.tickMs) this.armTimer(id, timeout);
    this.tryPropose(id, data, cc);
    const r: ApplyResult = await result;
    if (onAbort !== undefined) signal!.removeEventListener('abort', onAbort);
    if (!r.ok) {
      // etcd counts normal proposals only (etcd_server_proposals_failed_total).
      if (data !== undefined) this.host.onFailed?.(r.error);
      throw r.error;
    }
    return r.value;
  }

  /**
   * Fails every proposal whose deadline has passed (step 4's timeout): the host calls it every
   * tick, so one sweep replaces a timer per request. Timeouts are as coarse as a tick.
   */
  expire(): void {
    if (this.waits.size === 0) return;
    this.waits.forEachExpired(this.clock.now(), (id, seenChanges) =>
      this.fail(id, this.timeoutError(seenChanges)),
    );
  }

  /** A timer for a deadline shorter than a tick (rare: callers asking for very short timeouts). */
  private armTimer(id: number, ms: number): void {
    this.clock.setTimeout(() => {
      const seenChanges = this.waits.seenChangesOf(id);
      if (seenChanges !== undefined) this.fail(id, this.timeoutError(seenChanges));
    }, ms);
  }

  private timeoutError(seenChanges: number): Error {
    if (!this.host.hasLeader()) return new NoLeaderError();
    if (this.host.leaderChanges() !== seenChanges) return new LeaderFailTimeoutError();
    return new RequestTimeoutError();
  }

  /** Ends a proposal's wait with `error` (it may still be applied later; nobody is told). */
  private fail(id: number, error: Error): void {
    if (this.dropped.length > 0) this.dropped = this.dropped.filter((d) => d.id !== id);
    this.waits.settle(id, { ok: false, error });
  }

  /** Proposes again everything raft dropped (step 3). */
  retry(): void {
    if (this.dropped.length === 0) return;
    const again = this.dropped;
    this.dropped = [];
    for (const d of again) if (this.waits.has(d.id)) this.tryPropose(d.id, d.data, d.cc);
  }

  /** Hands the proposal to raft; keeps it for retry() if raft dropped it and may take it later. */
  private tryPropose(id: number, data: Uint8Array | undefined, cc: ConfChange | undefined): void {
    try {
      if (data !== undefined) this.host.propose(data);
      else this.host.proposeConfChange(cc!);
    } catch (err) {
      if (!(err instanceof ProposalDroppedError) || !err.retryable) {
        this.waits.settle(id, { ok: false, error: err });
        return;
      }
      this.dropped.push(data !== undefined ? { id, data } : { id, cc: cc! });
    }
  }
}
