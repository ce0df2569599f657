/**
 * LeaseCheckpoints: the leases the leader renewed locally since its last checkpoint.
 *
 * The leader answers a keep-alive itself, without a proposal, as etcd does (see Lease.keepAliveOnce):
 * only its lessor decides expiry, and a new leader restarts every lease from its full TTL plus the
 * election timeout, so no other member needs to know of a renewal for leases to stay safe. They
 * need it only to answer time-to-live, so the leader proposes the renewed IDs every
 * LEASE_CHECKPOINT_MS — one small entry however many keep-alives it served — and every member's
 * lessor notes them (Lessor.observeCheckpoint). A follower's time-to-live is therefore behind by
 * at most that interval plus a commit.
 *
 * Not etcd's lease checkpoints (--experimental-enable-lease-checkpoint), which persist remaining
 * TTLs across leader changes; here a leader change still restarts every lease, as in etcd 3.4.
 */

import type { LeaseId } from '@tsetcd/mvcc';

/** How often the leader proposes the leases it renewed locally, ms. */
export const LEASE_CHECKPOINT_MS = 500;
/** Most lease IDs in one checkpoint entry (10,000 IDs is about 90 KiB of msgpack). */
export const MAX_CHECKPOINT_IDS = 10_000;

/** Leases renewed locally and not yet checkpointed; see the file comment. */
export class LeaseCheckpoints {
  private renewed = new Set<LeaseId>();

  /** Notes a lease the leader renewed locally. */
  note(id: LeaseId): void {
    this.renewed.add(id);
  }

  /** Whether any renewal awaits a checkpoint. */
  get pending(): boolean {
    return this.renewed.size > 0;
  }

  /** The IDs for the next checkpoint entry (at most MAX_CHECKPOINT_IDS), forgotten here. */
  take(): LeaseId[] {
    const ids: LeaseId[] = [];
    for (const id of this.renewed) {
      if (ids.length === MAX_CHECKPOINT_IDS) break;
      ids.push(id);
    }
    if (ids.length === this.renewed.size) this.renewed = new Set();
    else for (const id of ids) this.renewed.delete(id);
    return ids;
  }

  /** Forgets everything (leadership was lost: the next leader's promotion restarts every lease). */
  clear(): void {
    this.renewed = new Set();
  }
}
