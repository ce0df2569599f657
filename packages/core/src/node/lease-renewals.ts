/**
 * LeaseRenewals: the log index of each lease's last applied renewal, kept in the store's backend
 * (the `leaseRenewals` bucket) so that every replica — a restarted one too, and one restored from
 * a snapshot — answers the same question the same way:
 *
 *   a leader found lease L expired when it had applied up to index A, and proposed its revocation;
 *   was a renewal of L applied after A (it was in the log, unapplied, when the leader decided)?
 *
 * If so the revocation is void: the renewal's proposer has acknowledged it to the client. Found
 * by the whole-node simulation (seed 5658): a follower acknowledged a keep-alive the leader had
 * just decided to expire, and the lease was revoked a second later.
 */

import { type Backend, Bucket, bucketKey, type LeaseId } from '@tsetcd/mvcc';

function keyOf(id: LeaseId): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt.asUintN(64, id));
  return bucketKey(Bucket.leaseRenewals, b);
}

/** See the file comment. */
export class LeaseRenewals {
  /** `backend` is asked for each time: the store's backend changes when a snapshot is installed. */
  constructor(private readonly backend: () => Backend) {}

  /** Records that a renewal of `id` was applied at log index `index`. */
  note(id: LeaseId, index: number): void {
    const v = new Uint8Array(8);
    new DataView(v.buffer).setFloat64(0, index);
    this.backend().put(keyOf(id), v);
  }

  /** Whether a renewal of `id` was applied at an index above `index`. */
  renewedAfter(id: LeaseId, index: number): boolean {
    const v = this.backend().get(keyOf(id));
    if (v === undefined || v.length !== 8) return false;
    return new DataView(v.buffer, v.byteOffset, 8).getFloat64(0) > index;
  }

  /** Forgets a revoked lease. */
  forget(id: LeaseId): void {
    this.backend().del(keyOf(id));
  }
}
