/**
 * Lease: one granted lease as the lessor holds it in memory — its ID, granted TTL, the keys
 * attached to it and, while the lessor is primary, when it expires. Pure: time is passed in.
 *
 * Expiry is local to each replica and never replicated: only the primary (the raft leader's
 * lessor) tracks it; everywhere else a lease's expiry is FOREVER.
 */

import type { LeaseId } from '../types.js';

/** The expiry of a lease on a non-primary lessor: it never expires there. */
export const FOREVER = Number.POSITIVE_INFINITY;

const MS_PER_SECOND = 1000;

/** A granted lease. */
export class Lease {
  /** Attached keys, as binary strings (see bytes.ts). */
  readonly keys = new Set<string>();
  /** When the lease expires, in ms on the lessor's clock; FOREVER while the lessor is not primary. */
  expiry = FOREVER;
  /**
   * While not primary: when the lease would expire judging by the last renewal this replica
   * applied (a replicated keep-alive), so a follower can answer TimeToLive. Never acted on.
   */
  observedExpiry: number | undefined;

  constructor(
    readonly id: LeaseId,
    /** Granted TTL in seconds (already raised to the minimum). */
    readonly ttl: number,
  ) {}

  /** Sets the expiry to `now` + TTL + `extendMs` (etcd's refresh). */
  refresh(now: number, extendMs = 0): void {
    this.expiry = now + this.ttl * MS_PER_SECOND + extendMs;
  }

  /** Stops the lease from expiring (etcd's forever, on demotion). */
  forever(): void {
    this.expiry = FOREVER;
  }

  /** Whether the lease has no expiry (its lessor is not primary). */
  get demoted(): boolean {
    return this.expiry === FOREVER;
  }

  /** Milliseconds until expiry (<= 0 once expired; FOREVER when demoted). */
  remainingMs(now: number): number {
    return this.expiry - now;
  }

  /** Whether the lease's expiry has passed. */
  expired(now: number): boolean {
    return this.remainingMs(now) <= 0;
  }
}
