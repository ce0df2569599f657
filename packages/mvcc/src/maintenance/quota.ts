/**
 * etcd's backend quota: a write that would take the backend past `quotaBackendBytes` must not be
 * proposed. The check happens BEFORE proposing (it reads local disk usage, which differs between
 * replicas, so it must never run while applying); when it fails the host returns NoSpaceError and
 * proposes a NOSPACE alarm through its log, so every replica caps its store at the same point of
 * the history (see alarm.ts). Only puts, txns with puts and lease grants cost anything: deletes,
 * reads and compaction always pass, so a full store can be cleaned up.
 */

import type { Backend } from '../backend.js';
import type { PutRequest, RequestOp, TxnRequest } from '../types.js';

/** etcd's DefaultQuotaBytes: 2 GiB, used when the quota is 0 or not given. */
export const DEFAULT_QUOTA_BACKEND_BYTES = 2 * 1024 * 1024 * 1024;
/** etcd's kvOverhead: estimated bytes of a stored key's metadata (revisions, index). */
export const KV_OVERHEAD = 256;
/** etcd's leaseOverhead: estimated bytes of a stored lease; the cost of a lease grant. */
export const LEASE_OVERHEAD = 64;

/** Options of a Quota. */
export interface QuotaOptions {
  /** Backend size limit in bytes (etcd's --quota-backend-bytes): 0 = default, negative = no quota. */
  readonly quotaBackendBytes?: number;
}

/** The backend size check the host runs before proposing a write. */
export class Quota {
  /** The limit in bytes; Infinity when disabled. */
  readonly quotaBackendBytes: number;

  constructor(
    private readonly store: { readonly backend: Backend },
    opts: QuotaOptions = {},
  ) {
    const q = opts.quotaBackendBytes ?? 0;
    this.quotaBackendBytes = q < 0 ? Number.POSITIVE_INFINITY : q === 0 ? DEFAULT_QUOTA_BACKEND_BYTES : q;
  }

  /**
   * Whether a request costing `requestCostBytes` (see putCost, txnCost, LEASE_OVERHEAD) fits:
   * backend size + cost <= quota. A request that costs nothing always fits.
   */
  async available(requestCostBytes: number): Promise<boolean> {
    if (requestCostBytes <= 0 || this.quotaBackendBytes === Number.POSITIVE_INFINITY) return true;
    return (await this.store.backend.sizeBytes()) + requestCostBytes <= this.quotaBackendBytes;
  }
}

/** Estimated bytes a put adds: key, value and KV_OVERHEAD (etcd's costPut). */
export function putCost(req: PutRequest): number {
  return KV_OVERHEAD + req.key.length + (req.value?.length ?? 0);
}

/** Estimated bytes a txn adds: its costlier branch, nested txns included (etcd's costTxnReq). */
export function txnCost(req: TxnRequest): number {
  const branch = (ops: readonly RequestOp[]) => ops.reduce((sum, op) => sum + opCost(op), 0);
  return Math.max(branch(req.success), branch(req.failure));
}

function opCost(op: RequestOp): number {
  if (op.type === 'put') return putCost(op.request);
  if (op.type === 'txn') return txnCost(op.request);
  return 0;
}
