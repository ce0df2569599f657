/**
 * RenewalBatcher: a follower's keep-alives, proposed together. A follower cannot renew a lease
 * itself (only the leader's lessor decides expiry), so each keep-alive it serves is a proposal the
 * leader applies — and a busy follower serves many at once. As a group commit: a keep-alive that
 * finds no batch in flight is proposed at once (a lone client waits for nothing more); those that
 * arrive while one is in flight are collected and proposed together, as ONE `leaseRenewBatch`
 * entry, when it settles: one raft entry, one apply, for any number of leases. Each caller gets
 * its own lease's TTL, or LeaseNotFoundError, when this member applies the entry; the batch's
 * deadline is the earliest of its callers', and a caller's own signal cancels only its own wait.
 */

import { type LeaseId, LeaseNotFoundError } from '@tsetcd/mvcc';
import { RequestCanceledError } from '../node-errors.js';
import type { CallOptions } from './deadline.js';

/** One caller waiting for a renewal in the batch being collected. */
interface Waiter {
  readonly id: LeaseId;
  readonly resolve: (ttl: number) => void;
  readonly reject: (err: unknown) => void;
}

/** Proposes one batch: resolves with each lease's TTL, in `ids` order (0: no such lease). */
export type ProposeRenewals = (ids: readonly LeaseId[], opts: CallOptions) => Promise<readonly number[]>;

/** Collects keep-alives into batches; see the file comment. */
export class RenewalBatcher {
  private waiters: Waiter[] = [];
  /** The earliest timeout asked for by a caller of the batch being collected (undefined: default). */
  private timeoutMs: number | undefined;
  /** Whether a batch is proposed and not yet settled. */
  private inFlight = false;

  constructor(private readonly propose: ProposeRenewals) {}

  /** Renews `id` in the next batch; resolves with its TTL (seconds). */
  renew(id: LeaseId, opts: CallOptions = {}): Promise<number> {
    if (opts.signal?.aborted) return Promise.reject(new RequestCanceledError(opts.signal.reason));
    return new Promise((resolve, reject) => {
      let settled = false;
      const onAbort = () => done(() => reject(new RequestCanceledError(opts.signal?.reason)));
      const done = (settle: () => void) => {
        if (settled) return;
        settled = true;
        opts.signal?.removeEventListener('abort', onAbort);
        settle();
      };
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push({
        id,
        resolve: (ttl) => done(() => resolve(ttl)),
        reject: (err) => done(() => reject(err)),
      });
      if (opts.timeoutMs !== undefined)
        this.timeoutMs = Math.min(this.timeoutMs ?? opts.timeoutMs, opts.timeoutMs);
      if (!this.inFlight) this.flush();
    });
  }

  /** Proposes every collected keep-alive as one batch (none in flight), and the next when it settles. */
  private flush(): void {
    const waiters = this.waiters;
    const timeoutMs = this.timeoutMs;
    this.waiters = [];
    this.timeoutMs = undefined;
    if (waiters.length === 0) return;
    this.inFlight = true;
    // One entry per lease, however many callers renew it.
    const ids = [...new Set(waiters.map((w) => w.id))];
    const settled = this.propose(ids, timeoutMs === undefined ? {} : { timeoutMs });
    settled.then(
      (ttls) => {
        const ttlOf = new Map(ids.map((id, i) => [id, ttls[i] ?? 0]));
        for (const w of waiters) {
          const ttl = ttlOf.get(w.id) ?? 0;
          if (ttl > 0) w.resolve(ttl);
          else w.reject(new LeaseNotFoundError());
        }
      },
      (err: unknown) => {
        for (const w of waiters) w.reject(err);
      },
    );
    const next = () => {
      this.inFlight = false;
      this.flush();
    };
    settled.then(next, next);
  }
}
