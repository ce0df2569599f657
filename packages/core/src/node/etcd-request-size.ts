/**
 * The size etcd gives a KV request when it enforces --max-request-bytes: the length of the
 * protobuf InternalRaftRequest it would propose (a RequestHeader plus the request), which must not
 * exceed the limit. Our log entries are encoded differently, so their length is not that size; a
 * put of a value of exactly the limit is too large for etcd (the key and framing count too) and
 * must be for us. Pure.
 *
 * The request's own bytes are counted exactly as protobuf encodes them (proto3: zero fields left
 * out, a oneof member written even when zero). The header is counted as etcd would fill it in on
 * this member: a request ID with the member's 16-bit prefix on top of 48 bits of time and counter,
 * the user name and the auth revision.
 */

import type {
  Compare,
  CompareResult,
  DeleteRangeRequest,
  PutRequest,
  RangeRequest,
  RequestOp,
  SortOrder,
  SortTarget,
  TxnRequest,
} from '@tsetcd/mvcc';
import { COMPARE_RESULTS, COMPARE_TARGETS, SORT_ORDERS, SORT_TARGETS } from '@tsetcd/mvcc';

/** InternalRaftRequest's field numbers for the requests sized here, and its header's. */
const FIELD = { header: 100, put: 4, deleteRange: 5, txn: 6 } as const;

/** Bytes of a varint holding `n`: a safe integer, or an int64 as a bigint (negative: 10 bytes). */
function varintBytes(n: number | bigint): number {
  if (typeof n === 'number' && n >= 0) {
    let bytes = 1;
    for (let v = n; v >= 0x80; v = Math.floor(v / 0x80)) bytes++;
    return bytes;
  }
  let v = BigInt.asUintN(64, BigInt(n));
  let bytes = 1;
  while (v >= 0x80n) {
    v >>= 7n;
    bytes++;
  }
  return bytes;
}

/** Bytes of a field's tag (field number and wire type). */
function tagBytes(field: number): number {
  return varintBytes(field << 3);
}

/** A length-delimited field (bytes or an embedded message) of `len` bytes. */
function lenField(field: number, len: number): number {
  return tagBytes(field) + varintBytes(len) + len;
}

/** A bytes field, left out when empty. */
function bytesField(field: number, b: Uint8Array | undefined): number {
  return b === undefined || b.length === 0 ? 0 : lenField(field, b.length);
}

/** A varint field (int64, enum, bool), left out when zero. */
function numberField(field: number, n: number | bigint | undefined): number {
  return n === undefined || n === 0 || n === 0n ? 0 : tagBytes(field) + varintBytes(n);
}

function boolField(field: number, b: boolean | undefined): number {
  return b === true ? tagBytes(field) + 1 : 0;
}

function enumField<T>(field: number, values: readonly T[], v: T | undefined): number {
  return v === undefined ? 0 : numberField(field, values.indexOf(v));
}

function putBytes(r: PutRequest): number {
  return (
    bytesField(1, r.key) +
    bytesField(2, r.value) +
    numberField(3, r.lease) +
    boolField(4, r.prevKv) +
    boolField(5, r.ignoreValue) +
    boolField(6, r.ignoreLease)
  );
}

function rangeBytes(r: RangeRequest): number {
  return (
    bytesField(1, r.key) +
    bytesField(2, r.rangeEnd) +
    numberField(3, r.limit) +
    numberField(4, r.revision) +
    enumField<SortOrder>(5, SORT_ORDERS, r.sortOrder) +
    enumField<SortTarget>(6, SORT_TARGETS, r.sortTarget) +
    boolField(7, r.serializable) +
    boolField(8, r.keysOnly) +
    boolField(9, r.countOnly) +
    numberField(10, r.minModRevision) +
    numberField(11, r.maxModRevision) +
    numberField(12, r.minCreateRevision) +
    numberField(13, r.maxCreateRevision)
  );
}

function deleteRangeBytes(r: DeleteRangeRequest): number {
  return bytesField(1, r.key) + bytesField(2, r.rangeEnd) + boolField(3, r.prevKv);
}

/** The oneof operand of a Compare: written even when zero. */
function compareOperandBytes(c: Compare): number {
  switch (c.target) {
    case 'VERSION':
      return tagBytes(4) + varintBytes(c.version);
    case 'CREATE':
      return tagBytes(5) + varintBytes(c.createRevision);
    case 'MOD':
      return tagBytes(6) + varintBytes(c.modRevision);
    case 'VALUE':
      return lenField(7, c.value.length);
    case 'LEASE':
      return tagBytes(8) + varintBytes(c.lease);
  }
}

function compareBytes(c: Compare): number {
  return (
    enumField<CompareResult>(1, COMPARE_RESULTS, c.result) +
    enumField<Compare['target']>(2, COMPARE_TARGETS, c.target) +
    bytesField(3, c.key) +
    compareOperandBytes(c) +
    bytesField(64, c.rangeEnd)
  );
}

function requestOpBytes(op: RequestOp): number {
  switch (op.type) {
    case 'range':
      return lenField(1, rangeBytes(op.request));
    case 'put':
      return lenField(2, putBytes(op.request));
    case 'deleteRange':
      return lenField(3, deleteRangeBytes(op.request));
    case 'txn':
      return lenField(4, txnBytes(op.request));
  }
}

function txnBytes(t: TxnRequest): number {
  let n = 0;
  for (const c of t.compare) n += lenField(1, compareBytes(c));
  for (const op of t.success) n += lenField(2, requestOpBytes(op));
  for (const op of t.failure) n += lenField(3, requestOpBytes(op));
  return n;
}

/** A KV request that goes through raft, as sized here. */
export type SizedRequest =
  | { readonly op: 'put'; readonly put: PutRequest }
  | { readonly op: 'deleteRange'; readonly deleteRange: DeleteRangeRequest }
  | { readonly op: 'txn'; readonly txn: TxnRequest };

/** Who sends the request, and through which member: what its header carries. */
export interface RequestAuthor {
  /** The proposing member's 16-bit request-ID prefix (the high 16 bits of its request IDs). */
  readonly idPrefix: number;
  readonly user?: string;
  readonly authRevision?: number;
}

/** The bytes etcd would count for `req` against --max-request-bytes (see the file comment). */
export function etcdRequestBytes(req: SizedRequest, author: RequestAuthor): number {
  const user = author.user === undefined ? 0 : Buffer.byteLength(author.user, 'utf8');
  // etcd's request IDs: the member's 16 bits, then 48 bits of time and counter (the top one set).
  const requestId = (BigInt(author.idPrefix & 0xffff) << 48n) | (1n << 47n);
  const header =
    tagBytes(1) +
    varintBytes(requestId) +
    (user > 0 ? lenField(2, user) : 0) +
    numberField(3, author.authRevision);
  const body =
    req.op === 'put'
      ? lenField(FIELD.put, putBytes(req.put))
      : req.op === 'deleteRange'
        ? lenField(FIELD.deleteRange, deleteRangeBytes(req.deleteRange))
        : lenField(FIELD.txn, txnBytes(req.txn));
  return lenField(FIELD.header, header) + body;
}
