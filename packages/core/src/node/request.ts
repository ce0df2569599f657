/**
 * ReplicatedRequest: what the node proposes to raft — every request that changes replicated
 * state, in one discriminated union — and its msgpack encoding in log entries. Each proposal
 * carries a request ID unique in the cluster (member ID in the high bits, a counter below), so
 * the member that proposed it can hand the result back to the waiting caller when the entry is
 * applied, wherever the leader was.
 *
 * Requests are validated before they are proposed; decoding an entry only checks the envelope,
 * and an entry that fails even that is refused identically on every member (determinism).
 */

import { Decoder, Encoder } from '@msgpack/msgpack';
import {
  type AlarmType,
  allocBytes,
  type CompactionRequest,
  type DeleteRangeRequest,
  type LeaseId,
  type PutRequest,
  type TxnRequest,
} from '@tsetcd/mvcc';
import { NODE_ID_EXTENSION_CODEC } from '@tsetcd/transport';
import { MalformedRequestError } from '../node-errors.js';
import { EntryReader, EntryWriter, readTxn, writeTxn } from './txn-codec.js';

/** What an alarm request does (etcd's AlarmRequest.AlarmAction). */
export type AlarmAction = 'GET' | 'ACTIVATE' | 'DEACTIVATE';

/** A member's client-facing attributes, published through raft as etcd's publish does. */
export interface MemberAttributes {
  readonly name: string;
  readonly clientUrls: readonly string[];
}

/** Every request that changes replicated state. */
export type ReplicatedRequest =
  | { readonly op: 'put'; readonly put: PutRequest }
  | { readonly op: 'deleteRange'; readonly deleteRange: DeleteRangeRequest }
  | { readonly op: 'txn'; readonly txn: TxnRequest }
  | { readonly op: 'compaction'; readonly compaction: CompactionRequest }
  | { readonly op: 'leaseGrant'; readonly id: LeaseId; readonly ttl: number }
  | {
      readonly op: 'leaseRevoke';
      readonly id: LeaseId;
      /**
       * Set when the leader revokes an expired lease: the term it was leader in. Applied only
       * from an entry of that term, so a deposed leader whose (paused, skewed) clock says the
       * lease expired cannot revoke it through the new leader; see Applier.
       */
      readonly expiredInTerm?: number;
      /**
       * With expiredInTerm: the leader's applied index when it found the lease expired. A renewal
       * of the lease applied after that index (already in the log, not yet applied, when the
       * leader decided) voids the revoke on every replica — its proposer acknowledged it; see
       * LeaseRenewals.
       */
      readonly decidedAt?: number;
    }
  | { readonly op: 'leaseRenew'; readonly id: LeaseId }
  /** Keep-alives a follower collected, renewed as one entry; see RenewalBatcher. */
  | { readonly op: 'leaseRenewBatch'; readonly ids: readonly LeaseId[] }
  /**
   * The leader's note of the leases it renewed locally since its last checkpoint (keep-alives it
   * answered itself), so the other members can answer time-to-live; see LeaseCheckpoints.
   */
  | { readonly op: 'leaseCheckpoint'; readonly ids: readonly LeaseId[] }
  | {
      readonly op: 'alarm';
      readonly action: AlarmAction;
      readonly memberId: bigint;
      readonly alarm: AlarmType;
    }
  | { readonly op: 'memberAttrs'; readonly memberId: bigint; readonly attrs: MemberAttributes }
  | { readonly op: 'auth'; readonly auth: AuthOp };

/** An auth management or authenticate request; see auth-apply.ts. */
export interface AuthOp {
  readonly kind: string;
  readonly [field: string]: unknown;
}

/** The operation names, for metrics and errors. */
export type RequestOp = ReplicatedRequest['op'];

const OPS: ReadonlySet<string> = new Set<RequestOp>([
  'put',
  'deleteRange',
  'txn',
  'compaction',
  'leaseGrant',
  'leaseRevoke',
  'leaseRenew',
  'leaseRenewBatch',
  'leaseCheckpoint',
  'alarm',
  'memberAttrs',
  'auth',
]);

/**
 * A request as it sits in a log entry. Its 64-bit request ID is held as its two halves, both safe
 * integers (see RequestIdGenerator): every write's proposer and every member's applier look IDs
 * up, and number keys cost them no BigInt allocations and about half the Map time.
 */
export interface RequestEnvelope {
  /** The ID's high 16 bits: its proposer's prefix (memberRequestPrefix); 0 with counter 0 for no ID. */
  readonly proposer: number;
  /** The ID's low 48 bits: the proposer's counter; 0 for requests nobody waits for. */
  readonly counter: number;
  /** The authenticated user the request runs as ('' when auth is off or for internal requests). */
  readonly user?: string;
  /** The auth revision the user's token was checked at (etcd's AuthRevision). */
  readonly authRevision?: number;
  readonly req: ReplicatedRequest;
}

const encoder = new Encoder({ extensionCodec: NODE_ID_EXTENSION_CODEC, ignoreUndefined: true });
const decoder = new Decoder({ extensionCodec: NODE_ID_EXTENSION_CODEC });

/** The bytes of a log entry for `env`: puts and txns in the compact forms below, anything else msgpack. */
export function encodeRequest(env: RequestEnvelope): Uint8Array {
  if (env.req.op === 'put') return encodePut(env, env.req.put);
  if (env.req.op === 'txn') return encodeTxn(env, env.req.txn);
  // The msgpack form carries the ID whole, as a u64 (the log's format since the first release).
  const { proposer, counter, ...rest } = env;
  return encoder.encode({ id: joinRequestId(proposer, counter), ...rest, req: leaseIdsAsBits(rest.req) });
}

/**
 * A put, the request nearly every write is, in a compact binary form (msgpack spends most of its
 * time on field names and type tags). Its first byte, PUT_TAG, can never start a msgpack map, so
 * the two forms cannot be confused:
 *
 *   PUT_TAG id:u64 flags:u8 [lease:u64] [userLen:u16 user authRevision:f64] keyLen:u32 key
 *   [valueLen:u32 value]
 */
const PUT_TAG = 0x01;
const F_PREV_KV = 1;
const F_IGNORE_VALUE = 2;
const F_IGNORE_LEASE = 4;
const F_LEASE = 8;
const F_USER = 16;
const F_VALUE = 32;
const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder();

/** A DataView over the buffer of the put being encoded (one per slab: see encodePut). */
let putView: DataView = new DataView(new ArrayBuffer(0));

/** The UTF-8 bytes of an envelope's user, if it has one; RangeError past the u16 length field. */
function userBytes(env: RequestEnvelope): Uint8Array | undefined {
  if (env.user === undefined) return undefined;
  const user = utf8Encoder.encode(env.user);
  if (user.length > 0xffff) throw new RangeError('user name longer than 65535 bytes');
  return user;
}

/** The high u32 of the u64 request ID, as the compact forms write it (the low one is `counter >>> 0`). */
function idHigh(env: RequestEnvelope): number {
  return env.proposer * 0x10000 + Math.floor(env.counter / 0x1_0000_0000);
}

function encodePut(env: RequestEnvelope, put: PutRequest): Uint8Array {
  const user = userBytes(env);
  const hasLease = put.lease !== undefined && put.lease !== 0n;
  const flags =
    (put.prevKv ? F_PREV_KV : 0) |
    (put.ignoreValue ? F_IGNORE_VALUE : 0) |
    (put.ignoreLease ? F_IGNORE_LEASE : 0) |
    (hasLease ? F_LEASE : 0) |
    (user !== undefined ? F_USER : 0) |
    (put.value !== undefined ? F_VALUE : 0);
  const size =
    1 +
    8 +
    1 +
    (hasLease ? 8 : 0) +
    (user !== undefined ? 2 + user.length + 8 : 0) +
    4 +
    put.key.length +
    (put.value !== undefined ? 4 + put.value.length : 0);
  // Carved from mvcc's shared slabs: an ArrayBuffer of its own per proposed write cost a calloc
  // and work for V8's ArrayBuffer sweeper. Written through one DataView per slab.
  const out = allocBytes(size);
  if (putView.buffer !== out.buffer) putView = new DataView(out.buffer);
  const dv = putView;
  const base = out.byteOffset;
  out[0] = PUT_TAG;
  dv.setUint32(base + 1, idHigh(env));
  dv.setUint32(base + 5, env.counter >>> 0);
  out[9] = flags;
  let at = 10;
  if (hasLease) {
    dv.setBigInt64(base + at, put.lease!);
    at += 8;
  }
  if (user !== undefined) {
    dv.setUint16(base + at, user.length);
    out.set(user, at + 2);
    at += 2 + user.length;
    dv.setFloat64(base + at, env.authRevision ?? 0);
    at += 8;
  }
  dv.setUint32(base + at, put.key.length);
  out.set(put.key, at + 4);
  at += 4 + put.key.length;
  if (put.value !== undefined) {
    dv.setUint32(base + at, put.value.length);
    out.set(put.value, at + 4);
  }
  return out;
}

/** Throws unless `n` bytes from `at` lie within a put of `len` bytes. */
function need(len: number, at: number, n: number): void {
  if (at + n > len) throw new MalformedRequestError('truncated put');
}

/** A big-endian u32 (no DataView: every member decodes every put, and one costs an object). */
function u32(b: Uint8Array, at: number): number {
  return ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
}

function decodePut(data: Uint8Array): RequestEnvelope {
  const len = data.length;
  need(len, 0, 10);
  const hi = u32(data, 1);
  const proposer = hi >>> 16;
  const counter = (hi & 0xffff) * 0x1_0000_0000 + u32(data, 5);
  const flags = data[9]!;
  let at = 10;
  let lease: bigint | undefined;
  if (flags & F_LEASE) {
    need(len, at, 8);
    // An int64, read from its two's complement bits (positive IDs read the same as before).
    lease = BigInt.asIntN(64, (BigInt(u32(data, at)) << 32n) | BigInt(u32(data, at + 4)));
    at += 8;
  }
  let user: string | undefined;
  let authRevision: number | undefined;
  if (flags & F_USER) {
    need(len, at, 2);
    const n = (data[at]! << 8) | data[at + 1]!;
    need(len, at + 2, n + 8);
    user = utf8Decoder.decode(data.subarray(at + 2, at + 2 + n));
    authRevision = new DataView(data.buffer, data.byteOffset + at + 2 + n, 8).getFloat64(0);
    at += 2 + n + 8;
  }
  need(len, at, 4);
  const keyLen = u32(data, at);
  need(len, at + 4, keyLen);
  const key = data.subarray(at + 4, at + 4 + keyLen);
  at += 4 + keyLen;
  let value: Uint8Array | undefined;
  if (flags & F_VALUE) {
    need(len, at, 4);
    const n = u32(data, at);
    need(len, at + 4, n);
    value = data.subarray(at + 4, at + 4 + n);
    at += 4 + n;
  }
  if (at !== len) throw new MalformedRequestError('trailing bytes after put');
  const put: { -readonly [K in keyof PutRequest]: PutRequest[K] } = { key };
  if (value !== undefined) put.value = value;
  if (lease !== undefined) put.lease = lease;
  if (flags & F_PREV_KV) put.prevKv = true;
  if (flags & F_IGNORE_VALUE) put.ignoreValue = true;
  if (flags & F_IGNORE_LEASE) put.ignoreLease = true;
  const req: ReplicatedRequest = { op: 'put', put };
  return user === undefined
    ? { proposer, counter, req }
    : { proposer, counter, user, authRevision: authRevision ?? 0, req };
}

/**
 * A txn in its compact form (txn-codec.ts has the body). Its first byte, TXN_TAG, can never
 * start a msgpack map either:
 *
 *   TXN_TAG id:u64 flags:u8 [userLen:u16 user authRevision:f64] txn
 */
const TXN_TAG = 0x02;
const txnWriter = new EntryWriter();

function encodeTxn(env: RequestEnvelope, txn: TxnRequest): Uint8Array {
  const user = userBytes(env);
  const w = txnWriter;
  w.reset();
  w.u8(TXN_TAG);
  w.u32(idHigh(env));
  w.u32(env.counter >>> 0);
  w.u8(user !== undefined ? F_USER : 0);
  if (user !== undefined) {
    w.u16(user.length);
    w.raw(user);
    w.f64(env.authRevision ?? 0);
  }
  writeTxn(w, txn);
  const out = allocBytes(w.length);
  out.set(w.written());
  return out;
}

function decodeTxn(data: Uint8Array): RequestEnvelope {
  const r = new EntryReader(data, 1);
  const hi = r.u32();
  const counter = (hi & 0xffff) * 0x1_0000_0000 + r.u32();
  const proposer = hi >>> 16;
  const flags = r.u8();
  if ((flags & ~F_USER) !== 0) throw new MalformedRequestError(`unknown txn flags ${flags}`);
  let user: string | undefined;
  let authRevision = 0;
  if (flags & F_USER) {
    user = utf8Decoder.decode(r.raw(r.u16()));
    authRevision = r.f64();
  }
  const txn = readTxn(r);
  if (!r.done) throw new MalformedRequestError('trailing bytes after txn');
  const req: ReplicatedRequest = { op: 'txn', txn };
  return user === undefined ? { proposer, counter, req } : { proposer, counter, user, authRevision, req };
}

/** Decodes a log entry made by encodeRequest; MalformedRequestError if it is not one. */
export function decodeRequest(data: Uint8Array): RequestEnvelope {
  if (data[0] === PUT_TAG) return decodePut(data);
  if (data[0] === TXN_TAG) return decodeTxn(data);
  let v: unknown;
  try {
    v = decoder.decode(data);
  } catch (err) {
    throw new MalformedRequestError((err as Error).message);
  }
  const wire = v as { id?: unknown; req?: { op?: unknown }; user?: string; authRevision?: number } | null;
  if (
    wire === null ||
    typeof wire !== 'object' ||
    typeof wire.id !== 'bigint' ||
    wire.id < 0n ||
    wire.id > U64_MAX
  ) {
    throw new MalformedRequestError('no request envelope');
  }
  const op = wire.req?.op;
  if (typeof op !== 'string' || !OPS.has(op)) throw new MalformedRequestError(`unknown op ${String(op)}`);
  // Only the envelope's own fields: a key in the entry named like the ID's halves must not
  // override them (the applier's dedup table is keyed by the proposer).
  const req = leaseIdsFromBits(wire.req as ReplicatedRequest);
  const env = { proposer: requestPrefix(wire.id), counter: requestCounter(wire.id), req };
  if (wire.user !== undefined) Object.assign(env, { user: wire.user });
  if (wire.authRevision !== undefined) Object.assign(env, { authRevision: wire.authRevision });
  return env as RequestEnvelope;
}

/** Bits of a request ID below its proposer's prefix: the proposer's counter. */
const COUNTER_BITS = 48n;
const COUNTER_MASK = (1n << COUNTER_BITS) - 1n;
/** Counters run modulo this (2^48, a safe integer). */
const COUNTER_MODULUS = 2 ** 48;
const U64_MAX = (1n << 64n) - 1n;

/** The 16-bit prefix a member's request IDs carry (see RequestIdGenerator). */
export function memberRequestPrefix(memberId: bigint): number {
  return Number(memberId & 0xffffn);
}

/** The proposer prefix of a request ID. */
export function requestPrefix(id: bigint): number {
  return Number(id >> COUNTER_BITS);
}

/** The proposer's counter in a request ID: it only grows. */
export function requestCounter(id: bigint): number {
  return Number(id & COUNTER_MASK);
}

/** The whole 64-bit request ID of a proposer prefix and counter. */
export function joinRequestId(proposer: number, counter: number): bigint {
  return (BigInt(proposer) << COUNTER_BITS) | BigInt(counter);
}

/**
 * Hands out cluster-unique request IDs: etcd's idutil (member bits, then a time-seeded counter).
 * An ID is its member's prefix (fixed) and the counter this returns.
 */
export class RequestIdGenerator {
  /** This member's prefix: the high 16 bits of every ID it hands out. */
  readonly prefix: number;
  private counter: number;

  /**
   * `memberId`'s low 16 bits prefix every ID; the counter starts from `nowMs`, and above
   * `appliedCounter` (the highest of this member's requests already applied), so neither a
   * restart nor a clock set back makes an ID the applier would take for a duplicate.
   */
  constructor(memberId: bigint, nowMs: number, appliedCounter = 0) {
    this.prefix = memberRequestPrefix(memberId);
    // The low 40 bits of the clock's milliseconds, times 256: room for 256 IDs per millisecond.
    let start = (Math.floor(nowMs) % 2 ** 40) * 256;
    if (start <= appliedCounter) start = appliedCounter + 1;
    this.counter = start % COUNTER_MODULUS;
  }

  /** The counter of a fresh ID (its prefix is `prefix`); never 0 with prefix 0 (that is "no ID"). */
  next(): number {
    this.counter = (this.counter + 1) % COUNTER_MODULUS;
    return this.counter === 0 && this.prefix === 0 ? this.next() : this.counter;
  }
}

/**
 * Lease IDs are int64s (etcd takes negative ones), but msgpack carries bigints through the node
 * ID extension, as u64s: a lease op's IDs go as their two's complement bits and come back
 * signed. Positive IDs, the only ones before negative IDs were taken, are the same either way.
 */
function leaseIdsAsBits(req: ReplicatedRequest): ReplicatedRequest {
  return mapLeaseIds(req, (id) => BigInt.asUintN(64, id));
}

function leaseIdsFromBits(req: ReplicatedRequest): ReplicatedRequest {
  return mapLeaseIds(req, (id) => (typeof id === 'bigint' ? BigInt.asIntN(64, id) : id));
}

function mapLeaseIds(req: ReplicatedRequest, f: (id: LeaseId) => LeaseId): ReplicatedRequest {
  switch (req?.op) {
    case 'leaseGrant':
    case 'leaseRevoke':
    case 'leaseRenew':
      return { ...req, id: f(req.id) };
    case 'leaseRenewBatch':
    case 'leaseCheckpoint':
      return Array.isArray(req.ids) ? { ...req, ids: req.ids.map(f) } : req;
    default:
      return req;
  }
}
