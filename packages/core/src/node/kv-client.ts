/**
 * KV: etcd's KV service on a node — put, get (range), delete, txn, compact — in clientv3's
 * vocabulary. Keys and values are strings (UTF-8) or bytes. Writes are proposals (a follower's
 * reach the leader through raft); reads are linearizable unless `serializable` is set, in which
 * case this member answers from its own state at once, possibly stale.
 */

import {
  type CompactionResponse,
  type DeleteRangeResponse,
  EmptyKeyError,
  NoSpaceError,
  type PutRequest,
  type PutResponse,
  prefixEnd,
  putCost,
  type RangeRequest,
  type RangeResponse,
  type SortOrder,
  type SortTarget,
  type TxnRequest,
  type TxnResponse,
  txnCost,
  utf8,
  validateTxn,
} from '@tsetcd/mvcc';
import { type ClientContext, proposeAs } from './client-context.js';
import type { CallOptions } from './deadline.js';
import type { NodeResponseHeader, TsetcdNode } from './node.js';
import type { ReplicatedRequest } from './request.js';

/** A key or value: a string is taken as UTF-8. */
export type Bytes = string | Uint8Array;

/** Which keys a get or delete covers; at most one of the three. */
export interface KeyRangeOptions {
  /** Every key with `key` as prefix. */
  readonly prefix?: boolean;
  /** Every key >= `key`. */
  readonly fromKey?: boolean;
  /** Keys in [key, rangeEnd). */
  readonly rangeEnd?: Bytes;
}

/** Options of get. */
export interface GetOptions extends CallOptions, KeyRangeOptions {
  readonly limit?: number;
  /** Read at this past revision (0 = current). */
  readonly revision?: number;
  readonly sortOrder?: SortOrder;
  readonly sortTarget?: SortTarget;
  /** Answer from this member's state without a ReadIndex round (may be stale). */
  readonly serializable?: boolean;
  readonly keysOnly?: boolean;
  readonly countOnly?: boolean;
  readonly minModRevision?: number;
  readonly maxModRevision?: number;
  readonly minCreateRevision?: number;
  readonly maxCreateRevision?: number;
}

/** Options of put. */
export interface PutOptions extends CallOptions {
  /** Attach the key to this lease: its ID, or what lease.grant returned. */
  readonly lease?: bigint | { readonly id: bigint };
  readonly prevKv?: boolean;
  readonly ignoreValue?: boolean;
  readonly ignoreLease?: boolean;
}

/** Options of delete. */
export interface DeleteOptions extends CallOptions, KeyRangeOptions {
  readonly prevKv?: boolean;
}

/** A response with etcd's full header. */
export type WithHeader<T> = Omit<T, 'header'> & { readonly header: NodeResponseHeader };

/** UTF-8 bytes of a string; bytes as they are. */
export function toBytes(b: Bytes): Uint8Array {
  return typeof b === 'string' ? utf8(b) : b;
}

/** The range end `opts` means for `key` (undefined = the single key). */
export function rangeEndFor(key: Uint8Array, opts: KeyRangeOptions): Uint8Array | undefined {
  const given = [opts.prefix, opts.fromKey, opts.rangeEnd !== undefined].filter(Boolean).length;
  if (given > 1) throw new TypeError('kv: give at most one of prefix, fromKey and rangeEnd');
  if (opts.prefix) return prefixEnd(key);
  if (opts.fromKey) return new Uint8Array([0]);
  return opts.rangeEnd === undefined ? undefined : toBytes(opts.rangeEnd);
}

/** etcd's KV service on one node; see the file comment. */
export class KV {
  constructor(private readonly ctx: ClientContext) {}

  private get node(): TsetcdNode {
    return this.ctx.node;
  }

  /** Checks permissions where the request is taken, then proposes it as the acting user. */
  private write(req: ReplicatedRequest, opts: CallOptions): Promise<unknown> {
    return proposeAs(this.ctx, req, opts);
  }

  /** Writes `key` = `value`. */
  async put(key: Bytes, value: Bytes, opts: PutOptions = {}): Promise<WithHeader<PutResponse>> {
    // Built field by field: this is the hottest client path, and spreads allocate.
    const req: { -readonly [K in keyof PutRequest]: PutRequest[K] } = {
      key: nonEmpty(key),
      value: toBytes(value),
    };
    const lease = typeof opts.lease === 'object' ? opts.lease.id : opts.lease;
    if (lease !== undefined && lease !== 0n) req.lease = lease;
    if (opts.prevKv) req.prevKv = true;
    if (opts.ignoreValue) req.ignoreValue = true;
    if (opts.ignoreLease) req.ignoreLease = true;
    this.checkQuota(putCost(req));
    return this.withHeader((await this.write({ op: 'put', put: req }, opts)) as PutResponse);
  }

  /** Reads `key`, or a range of keys (see KeyRangeOptions). */
  async get(key: Bytes, opts: GetOptions = {}): Promise<WithHeader<RangeResponse>> {
    const k = nonEmpty(key);
    const rangeEnd = rangeEndFor(k, opts);
    const req: RangeRequest = {
      key: k,
      ...(rangeEnd !== undefined ? { rangeEnd } : {}),
      ...pick(opts, RANGE_FIELDS),
    };
    return this.range(req, opts);
  }

  /** etcd's Range with a request as etcd shapes it. */
  async range(req: RangeRequest, opts: CallOptions = {}): Promise<WithHeader<RangeResponse>> {
    if (req.key.length === 0) throw new EmptyKeyError();
    this.node.authorizeRange(this.ctx.authInfo(), req.key, req.rangeEnd);
    if (!req.serializable) await this.node.linearizableBarrier(opts);
    return this.withHeader(this.node.parts.store.range(req));
  }

  /** Deletes `key`, or a range of keys (see KeyRangeOptions). */
  async delete(key: Bytes, opts: DeleteOptions = {}): Promise<WithHeader<DeleteRangeResponse>> {
    const k = nonEmpty(key);
    const rangeEnd = rangeEndFor(k, opts);
    const req = {
      key: k,
      ...(rangeEnd !== undefined ? { rangeEnd } : {}),
      ...(opts.prevKv ? { prevKv: true } : {}),
    };
    return this.withHeader(
      (await this.write({ op: 'deleteRange', deleteRange: req }, opts)) as DeleteRangeResponse,
    );
  }

  /**
   * etcd's Txn: if every compare holds, the success ops run, otherwise the failure ops, as one
   * revision. A txn that only reads is served like a read (linearizable unless serializable).
   */
  async txn(
    req: TxnRequest,
    opts: CallOptions & { readonly serializable?: boolean } = {},
  ): Promise<WithHeader<TxnResponse>> {
    // etcd checks a txn's shape (op counts, empty keys, duplicate keys) before its permissions;
    // the store checks again as it applies.
    validateTxn(req, this.node.parts.config.maxTxnOps);
    if (isReadOnly(req)) {
      this.node.authorize(this.ctx.authInfo(), { op: 'txn', txn: req });
      if (!opts.serializable) await this.node.linearizableBarrier(opts);
      return this.withHeader(this.node.parts.store.txn(req));
    }
    this.checkQuota(txnCost(req));
    return this.withHeader((await this.write({ op: 'txn', txn: req }, opts)) as TxnResponse);
  }

  /** Compacts history below `revision`; `physical` waits until it is removed from disk here. */
  async compact(
    revision: number,
    opts: CallOptions & { readonly physical?: boolean } = {},
  ): Promise<WithHeader<CompactionResponse>> {
    const r = (await this.write({ op: 'compaction', compaction: { revision } }, opts)) as {
      header: { revision: number };
      physical: Promise<void>;
    };
    if (opts.physical) await r.physical;
    return { header: this.node.header(r.header.revision) };
  }

  /** Gives a response (fresh, owned by this caller) etcd's full header, in place. */
  private withHeader<T extends { readonly header: { readonly revision: number } }>(r: T): WithHeader<T> {
    (r as { header: unknown }).header = this.node.header(r.header.revision);
    return r as unknown as WithHeader<T>;
  }

  private checkQuota(cost: number): void {
    if (!this.node.quotaAllows(cost)) throw new NoSpaceError();
  }
}

const RANGE_FIELDS = [
  'limit',
  'revision',
  'sortOrder',
  'sortTarget',
  'serializable',
  'keysOnly',
  'countOnly',
  'minModRevision',
  'maxModRevision',
  'minCreateRevision',
  'maxCreateRevision',
] as const;

function pick<T extends object, K extends keyof T>(o: T, keys: readonly K[]): Partial<Pick<T, K>> {
  const out: Partial<Pick<T, K>> = {};
  for (const k of keys) if (o[k] !== undefined) out[k] = o[k];
  return out;
}

function nonEmpty(key: Bytes): Uint8Array {
  const k = toBytes(key);
  if (k.length === 0) throw new EmptyKeyError();
  return k;
}

/** Whether a txn has no put, delete or write-txn in either branch (etcd's isTxnReadonly). */
function isReadOnly(req: TxnRequest): boolean {
  const ro = (ops: TxnRequest['success']): boolean =>
    ops.every((op) => op.type === 'range' || (op.type === 'txn' && isReadOnly(op.request)));
  return ro(req.success) && ro(req.failure);
}
