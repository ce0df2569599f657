/**
 * Proto messages ⇄ the node's types. Decoded requests arrive as proto-loader objects (camelCase,
 * int64 as decimal strings, bytes as Buffers, every field defaulted); responses are built the same
 * way, leaving zero fields out as etcd's Go encoder does, so the bytes match etcd's.
 */

import type { NodeResponseHeader } from '@tsetcd/core';
import type {
  DeleteRangeRequest,
  Event,
  KeyValue,
  PutRequest,
  RangeRequest,
  ResponseOp,
  SortOrder,
  SortTarget,
  TxnResponse,
} from '@tsetcd/mvcc';

/** A decoded proto message: fields by camelCase name. */
export type Pb = Record<string, unknown>;

const EMPTY = new Uint8Array(0);

/** A decoded int64 (decimal string, or a number from a hand-built object) as a safe number. */
export function num(v: unknown): number {
  if (v === undefined || v === null || v === '') return 0;
  const n = typeof v === 'number' ? v : Number(v);
  if (!Number.isSafeInteger(n)) throw new RangeError(`value ${String(v)} is not a safe integer`);
  return n;
}

/** A decoded int64/uint64 as a bigint (lease and member IDs). */
export function big(v: unknown): bigint {
  if (v === undefined || v === null || v === '') return 0n;
  return BigInt(v as string | number);
}

/** Decoded bytes (a Buffer, which is a Uint8Array) or empty. */
export function bytes(v: unknown): Uint8Array {
  return v instanceof Uint8Array ? v : EMPTY;
}

function optBytes(v: unknown): Uint8Array | undefined {
  return v instanceof Uint8Array && v.length > 0 ? v : undefined;
}

/** etcd's ResponseHeader. */
export function headerOut(h: NodeResponseHeader): Pb {
  return {
    // Numbers and bigints, not decimal strings: protobufjs (long 5) turns them into int64s far
    // more cheaply than it parses a string.
    clusterId: h.clusterId,
    memberId: h.memberId,
    revision: h.revision,
    raftTerm: h.raftTerm,
  };
}

/** A KeyValue, zero fields left out. */
export function kvOut(kv: KeyValue): Pb {
  const o: Pb = { key: kv.key };
  if (kv.createRevision !== 0) o.createRevision = kv.createRevision;
  if (kv.modRevision !== 0) o.modRevision = kv.modRevision;
  if (kv.version !== 0) o.version = kv.version;
  if (kv.value.length > 0) o.value = kv.value;
  if (kv.lease !== 0n) o.lease = kv.lease.toString();
  return o;
}

/** An mvcc event as mvccpb.Event. */
export function eventOut(e: Event): Pb {
  const o: Pb = { type: e.type, kv: kvOut(e.kv) };
  if (e.prevKv !== undefined) o.prevKv = kvOut(e.prevKv);
  return o;
}

export function rangeIn(r: Pb): RangeRequest {
  const out: { -readonly [K in keyof RangeRequest]: RangeRequest[K] } = { key: bytes(r.key) };
  const end = optBytes(r.rangeEnd);
  if (end !== undefined) out.rangeEnd = end;
  if (num(r.limit) !== 0) out.limit = num(r.limit);
  if (num(r.revision) !== 0) out.revision = num(r.revision);
  // protobufjs gives an unknown enum value as its number; etcd 3.5 refuses it (3.4 crashed).
  if (typeof r.sortOrder === 'number' || typeof r.sortTarget === 'number')
    throw new TypeError('invalid sort option');
  if (r.sortOrder !== undefined && r.sortOrder !== 'NONE') out.sortOrder = r.sortOrder as SortOrder;
  if (r.sortTarget !== undefined && r.sortTarget !== 'KEY') out.sortTarget = r.sortTarget as SortTarget;
  if (r.serializable === true) out.serializable = true;
  if (r.keysOnly === true) out.keysOnly = true;
  if (r.countOnly === true) out.countOnly = true;
  for (const f of ['minModRevision', 'maxModRevision', 'minCreateRevision', 'maxCreateRevision'] as const) {
    if (num(r[f]) !== 0) out[f] = num(r[f]);
  }
  return out;
}

export function putIn(r: Pb): PutRequest {
  const out: { -readonly [K in keyof PutRequest]: PutRequest[K] } = {
    key: bytes(r.key),
    value: bytes(r.value),
  };
  const lease = big(r.lease);
  if (lease !== 0n) out.lease = lease;
  if (r.prevKv === true) out.prevKv = true;
  if (r.ignoreValue === true) out.ignoreValue = true;
  if (r.ignoreLease === true) out.ignoreLease = true;
  return out;
}

export function deleteRangeIn(r: Pb): DeleteRangeRequest {
  const out: { -readonly [K in keyof DeleteRangeRequest]: DeleteRangeRequest[K] } = { key: bytes(r.key) };
  const end = optBytes(r.rangeEnd);
  if (end !== undefined) out.rangeEnd = end;
  if (r.prevKv === true) out.prevKv = true;
  return out;
}

/** A nested response: etcd's nested responses carry a header with only the revision. */
function innerHeader(revision: number): Pb {
  return revision === 0 ? {} : { revision: String(revision) };
}

function responseOpOut(op: ResponseOp): Pb {
  const r = op.response as unknown as { header: { revision: number } } & Record<string, unknown>;
  const header = innerHeader(r.header.revision);
  switch (op.type) {
    case 'range':
      return { responseRange: rangeOut(header, op.response) };
    case 'put':
      return { responsePut: putOut(header, op.response) };
    case 'deleteRange':
      return { responseDeleteRange: deleteRangeOut(header, op.response) };
    case 'txn':
      return { responseTxn: txnOut(header, op.response) };
  }
}

export function rangeOut(header: Pb, r: { kvs: readonly KeyValue[]; more: boolean; count: number }): Pb {
  const o: Pb = { header, kvs: r.kvs.map(kvOut) };
  if (r.more) o.more = true;
  if (r.count !== 0) o.count = r.count;
  return o;
}

export function putOut(header: Pb, r: { prevKv?: KeyValue }): Pb {
  return r.prevKv !== undefined ? { header, prevKv: kvOut(r.prevKv) } : { header };
}

export function deleteRangeOut(header: Pb, r: { deleted: number; prevKvs: readonly KeyValue[] }): Pb {
  const o: Pb = { header, prevKvs: r.prevKvs.map(kvOut) };
  if (r.deleted !== 0) o.deleted = String(r.deleted);
  return o;
}

export function txnOut(header: Pb, r: Pick<TxnResponse, 'succeeded' | 'responses'>): Pb {
  const o: Pb = { header, responses: r.responses.map(responseOpOut) };
  if (r.succeeded) o.succeeded = true;
  return o;
}
