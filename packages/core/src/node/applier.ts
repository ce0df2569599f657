/**
 * Applier: turns committed log entries into state changes on the mvcc store, in log order, on
 * every member alike — and hands each result to the caller waiting on this member, if any.
 *
 * For each normal entry:
 *   1. skip it if the store already holds it (index <= the store's consistent index: after a
 *      restart raft re-delivers entries the store had flushed) or it is empty (a new leader's
 *      no-op);
 *   2. decode it; a malformed entry changes nothing, on every member;
 *   3. apply it; an error (a compare that names a missing lease, a compacted revision, NOSPACE…)
 *      is the request's result, not the member's failure;
 *   4. record the index as the store's consistent index, so the next flush persists it with the
 *      data it produced.
 * Everything here is synchronous and deterministic except what it reports to waiters.
 */

import type { MvccStore } from '@tsetcd/mvcc';
import type { Entry } from '@tsetcd/raft';
import { CorruptClusterError } from '../node-errors.js';
import { AppliedRequests } from './applied-requests.js';
import { LeaseRenewals } from './lease-renewals.js';
import type { Membership } from './membership.js';
import { decodeRequest, type ReplicatedRequest, type RequestEnvelope } from './request.js';
import type { ApplyResult, ProposalWaits } from './wait.js';

/** What etcd's corrupt applier (applierV3Corrupt) refuses while a CORRUPT alarm is raised. */
const CORRUPT_REFUSES: ReadonlySet<ReplicatedRequest['op']> = new Set([
  'put',
  'deleteRange',
  'txn',
  'compaction',
  'leaseGrant',
  'leaseRevoke',
]);

/** Applies auth requests and checks permissions at apply time; provided once auth exists. */
export interface AuthApply {
  /** Applies an auth management request at log `index`; returns its response. */
  apply(env: RequestEnvelope & { readonly req: { readonly op: 'auth' } }, index: number): unknown;
  /** Throws the permission error if `env`'s user may not run its request (etcd re-checks at apply). */
  check(env: RequestEnvelope): void;
}

/** What the applier reports besides results. */
export interface ApplierHooks {
  /** An alarm was raised or cleared by an applied request. */
  onAlarm?(action: 'ACTIVATE' | 'DEACTIVATE', memberId: bigint, alarm: string): void;
  /** Background removal of compacted history failed (logged; the next compaction retries). */
  onCompactionError?(err: unknown): void;
}

/** Applies committed entries to the store; see the file comment. */
export class Applier {
  /** Applied entries that carried a request (not no-ops, not skipped). */
  appliedRequests = 0;

  constructor(
    private readonly store: MvccStore,
    private readonly membership: Membership,
    private readonly waits: ProposalWaits,
    private readonly hooks: ApplierHooks = {},
    private readonly auth?: AuthApply,
    /** Skips duplicated proposals; see applied-requests.ts. */
    readonly requests: AppliedRequests = new AppliedRequests(() => store.kv.backend),
    /** Voids expiry revocations that a later-applied renewal overtook; see lease-renewals.ts. */
    private readonly renewals: LeaseRenewals = new LeaseRenewals(() => store.kv.backend),
  ) {}

  /** Applies a run of committed normal entries in order (steps 1–4 of the file comment). */
  applyEntries(entries: readonly Entry[]): void {
    const kv = this.store.kv;
    const held = kv.consistentIndex;
    let last = 0;
    for (const e of entries) {
      if (e.type !== 'EntryNormal' || e.index <= held) continue;
      if (e.data.length > 0) this.applyData(e.data, e.index, e.term);
      last = e.index;
    }
    this.requests.persist();
    if (last > 0) kv.setConsistentIndex(last);
  }

  private applyData(data: Uint8Array, index: number, term: number): void {
    let env: RequestEnvelope;
    try {
      env = decodeRequest(data);
    } catch {
      return; // malformed: nothing changes anywhere; nobody can be waiting for an ID we cannot read
    }
    // A duplicate changes nothing; its first copy already answered the caller.
    if (!this.requests.admit(env.proposer, env.counter)) return;
    this.appliedRequests++;
    let result: ApplyResult;
    try {
      this.auth?.check(env);
      result = { ok: true, value: this.applyRequest(env, index, term) };
    } catch (error) {
      result = { ok: false, error };
    }
    this.waits.trigger(env.proposer, env.counter, result);
  }

  private applyRequest(env: RequestEnvelope, index: number, term: number): unknown {
    const req: ReplicatedRequest = env.req;
    const s = this.store;
    if (CORRUPT_REFUSES.has(req.op) && s.alarms.has('CORRUPT')) throw new CorruptClusterError();
    switch (req.op) {
      case 'put':
        return s.put(req.put);
      case 'deleteRange':
        return s.deleteRange(req.deleteRange);
      case 'txn':
        return s.txn(req.txn);
      case 'compaction': {
        const physical = s.kv.compact(req.compaction.revision);
        physical.catch((err) => this.hooks.onCompactionError?.(err));
        return { header: { revision: s.revision }, physical };
      }
      case 'leaseGrant': {
        const g = s.lessor.grant(req.id, req.ttl);
        return { header: { revision: s.revision }, id: g.id, ttl: g.ttl };
      }
      case 'leaseRevoke':
        // An expiry decided by a leader of an older term, committed by a newer leader (it was
        // forwarded after its proposer was deposed): stale, the lease's keep-alives may have
        // gone to the new leader. The new leader expires the lease itself if it really expired.
        if (req.expiredInTerm !== undefined && req.expiredInTerm !== term)
          return { header: { revision: s.revision } };
        // An expiry a renewal overtook: the renewal was in the log, unapplied, when the leader
        // decided, and its proposer has acknowledged it since.
        if (
          req.expiredInTerm !== undefined &&
          req.decidedAt !== undefined &&
          this.renewals.renewedAfter(req.id, req.decidedAt)
        )
          return { header: { revision: s.revision } };
        {
          const revision = s.lessor.revoke(req.id);
          this.renewals.forget(req.id);
          return { header: { revision } };
        }
      case 'leaseRenew': {
        const ttl = s.lessor.observeRenew(req.id);
        this.renewals.note(req.id, index);
        return { header: { revision: s.revision }, id: req.id, ttl };
      }
      case 'leaseRenewBatch': {
        // Each lease as a leaseRenew of its own; an unknown one answers 0 (LeaseNotFound) on every replica.
        const ttls = req.ids.map((id) => {
          if (!s.lessor.exists(id)) return 0;
          const ttl = s.lessor.observeRenew(id);
          this.renewals.note(id, index);
          return ttl;
        });
        return { header: { revision: s.revision }, ttls };
      }
      case 'leaseCheckpoint':
        s.lessor.observeCheckpoint(req.ids);
        return { header: { revision: s.revision } };
      case 'alarm':
        return this.applyAlarm(req);
      case 'memberAttrs':
        this.membership.setAttributes(req.memberId, req.attrs.name, req.attrs.clientUrls);
        return { header: { revision: s.revision } };
      case 'auth':
        if (this.auth === undefined) throw new Error('auth: not available on this node');
        return this.auth.apply(env as RequestEnvelope & { readonly req: { readonly op: 'auth' } }, index);
    }
  }

  private applyAlarm(req: ReplicatedRequest & { readonly op: 'alarm' }): unknown {
    const alarms = this.store.alarms;
    const header = { revision: this.store.revision };
    if (req.action === 'GET') {
      // etcd's alarmStore.Get: NONE asks for every alarm.
      return { header, alarms: alarms.list(req.alarm === 'NONE' ? undefined : req.alarm) };
    }
    if (req.action === 'ACTIVATE') {
      const m = alarms.activate(req.memberId, req.alarm);
      this.hooks.onAlarm?.('ACTIVATE', req.memberId, req.alarm);
      return { header, alarms: [m] };
    }
    const m = alarms.deactivate(req.memberId, req.alarm);
    if (m !== undefined) this.hooks.onAlarm?.('DEACTIVATE', req.memberId, req.alarm);
    return { header, alarms: m === undefined ? [] : [m] };
  }
}
