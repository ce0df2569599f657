/**
 * etcd's v3 data model, field for field (camelCase): key-values with their revisions, events, and
 * the Range / Put / DeleteRange / Txn / Compaction requests and responses.
 *
 * Revisions are counters that never reach 2^53: branded numbers. Lease IDs are opaque 64-bit
 * identifiers: bigint (0n = no lease). Keys and values are bytes, compared bytewise. Pure types.
 */

declare const revisionBrand: unique symbol;

/** A store revision (etcd's "main" revision): starts at 1 on an empty store, +1 per write request. */
export type Revision = number & { readonly [revisionBrand]: true };

/** Brands a number as a Revision after checking it is a non-negative safe integer. */
export function asRevision(n: number): Revision {
  if (!Number.isSafeInteger(n) || n < 0)
    throw new RangeError(`mvcc: revision must be a non-negative safe integer, got ${n}`);
  return n as Revision;
}

/** A lease ID; `NO_LEASE` (0n) means the key is not attached to a lease. */
export type LeaseId = bigint;

/** The absent lease. */
export const NO_LEASE: LeaseId = 0n;

/** A key's state at some revision, as etcd's mvccpb.KeyValue. */
export interface KeyValue {
  readonly key: Uint8Array;
  /** Revision of the put that created this generation of the key. */
  readonly createRevision: Revision;
  /** Revision of the last modification. */
  readonly modRevision: Revision;
  /** Number of puts in this generation (1 for a new key); reset by delete. */
  readonly version: number;
  readonly value: Uint8Array;
  readonly lease: LeaseId;
}

/** A change to one key, as etcd's mvccpb.Event. A DELETE's kv has only key and modRevision set. */
export interface Event {
  readonly type: 'PUT' | 'DELETE';
  readonly kv: KeyValue;
  /** The key-value before this event, when asked for and still available. */
  readonly prevKv?: KeyValue;
}

/** The header of every response; the server adds cluster_id, member_id and raft_term. */
export interface ResponseHeader {
  readonly revision: Revision;
}

/** Sort order of a range, as etcd's RangeRequest.SortOrder. */
export type SortOrder = 'NONE' | 'ASCEND' | 'DESCEND';
/** Field a range is sorted by, as etcd's RangeRequest.SortTarget. */
export type SortTarget = 'KEY' | 'VERSION' | 'CREATE' | 'MOD' | 'VALUE';

/** etcd's RangeRequest. `rangeEnd` empty = single key; `\0` = from key; otherwise [key, rangeEnd). */
export interface RangeRequest {
  readonly key: Uint8Array;
  readonly rangeEnd?: Uint8Array;
  /** Max keys returned; 0 = no limit. */
  readonly limit?: number;
  /** Read at this revision; 0 = current. */
  readonly revision?: number;
  readonly sortOrder?: SortOrder;
  readonly sortTarget?: SortTarget;
  /** Served by the local replica without a linearizable read (core's concern; ignored here). */
  readonly serializable?: boolean;
  readonly keysOnly?: boolean;
  readonly countOnly?: boolean;
  readonly minModRevision?: number;
  readonly maxModRevision?: number;
  readonly minCreateRevision?: number;
  readonly maxCreateRevision?: number;
}

/** etcd's RangeResponse. */
export interface RangeResponse {
  readonly header: ResponseHeader;
  readonly kvs: KeyValue[];
  /** Whether more keys matched than `limit` allowed. */
  readonly more: boolean;
  /** Number of keys in the range (before limit). */
  readonly count: number;
}

/** etcd's PutRequest. */
export interface PutRequest {
  readonly key: Uint8Array;
  readonly value?: Uint8Array;
  readonly lease?: LeaseId;
  readonly prevKv?: boolean;
  /** Keep the current value (the key must exist). */
  readonly ignoreValue?: boolean;
  /** Keep the current lease (the key must exist). */
  readonly ignoreLease?: boolean;
}

/** etcd's PutResponse. */
export interface PutResponse {
  readonly header: ResponseHeader;
  readonly prevKv?: KeyValue;
}

/** etcd's DeleteRangeRequest; range semantics as RangeRequest. */
export interface DeleteRangeRequest {
  readonly key: Uint8Array;
  readonly rangeEnd?: Uint8Array;
  readonly prevKv?: boolean;
}

/** etcd's DeleteRangeResponse. */
export interface DeleteRangeResponse {
  readonly header: ResponseHeader;
  readonly deleted: number;
  readonly prevKvs: KeyValue[];
}

/** How a Compare's target is compared to the given value. */
export type CompareResult = 'EQUAL' | 'GREATER' | 'LESS' | 'NOT_EQUAL';

interface CompareBase {
  readonly result: CompareResult;
  readonly key: Uint8Array;
  /** Compare every key in [key, rangeEnd) (etcd 3.3+); empty = just `key`. */
  readonly rangeEnd?: Uint8Array;
}

/** etcd's Compare, as a union on `target`: each target carries its own operand. */
export type Compare =
  | (CompareBase & { readonly target: 'VERSION'; readonly version: number })
  | (CompareBase & { readonly target: 'CREATE'; readonly createRevision: number })
  | (CompareBase & { readonly target: 'MOD'; readonly modRevision: number })
  | (CompareBase & { readonly target: 'VALUE'; readonly value: Uint8Array })
  | (CompareBase & { readonly target: 'LEASE'; readonly lease: LeaseId });

/**
 * The enums above in etcd's numbering (Compare.CompareResult EQUAL = 0, …; CompareTarget,
 * RangeRequest.SortOrder and SortTarget likewise): a value's wire code is its index here, for
 * every codec that writes these enums as numbers (gRPC, log entries).
 */
export const COMPARE_RESULTS: readonly CompareResult[] = ['EQUAL', 'GREATER', 'LESS', 'NOT_EQUAL'];
export const COMPARE_TARGETS: readonly Compare['target'][] = ['VERSION', 'CREATE', 'MOD', 'VALUE', 'LEASE'];
export const SORT_ORDERS: readonly SortOrder[] = ['NONE', 'ASCEND', 'DESCEND'];
export const SORT_TARGETS: readonly SortTarget[] = ['KEY', 'VERSION', 'CREATE', 'MOD', 'VALUE'];

/** RangeRequest's numeric fields, in etcd's field order: codecs that walk them share this list. */
export const RANGE_NUMBER_FIELDS = [
  'limit',
  'revision',
  'minModRevision',
  'maxModRevision',
  'minCreateRevision',
  'maxCreateRevision',
] as const;

/** One operation of a txn branch (etcd's RequestOp). */
export type RequestOp =
  | { readonly type: 'range'; readonly request: RangeRequest }
  | { readonly type: 'put'; readonly request: PutRequest }
  | { readonly type: 'deleteRange'; readonly request: DeleteRangeRequest }
  | { readonly type: 'txn'; readonly request: TxnRequest };

/** The response of one RequestOp (etcd's ResponseOp). */
export type ResponseOp =
  | { readonly type: 'range'; readonly response: RangeResponse }
  | { readonly type: 'put'; readonly response: PutResponse }
  | { readonly type: 'deleteRange'; readonly response: DeleteRangeResponse }
  | { readonly type: 'txn'; readonly response: TxnResponse };

/** etcd's TxnRequest: if every compare holds, run `success`, else `failure`, atomically. */
export interface TxnRequest {
  readonly compare: readonly Compare[];
  readonly success: readonly RequestOp[];
  readonly failure: readonly RequestOp[];
}

/** etcd's TxnResponse. */
export interface TxnResponse {
  readonly header: ResponseHeader;
  readonly succeeded: boolean;
  readonly responses: ResponseOp[];
}

/** etcd's CompactionRequest. */
export interface CompactionRequest {
  readonly revision: number;
  /** Resolve only once old revisions are physically removed. */
  readonly physical?: boolean;
}

/** etcd's CompactionResponse. */
export interface CompactionResponse {
  readonly header: ResponseHeader;
}
