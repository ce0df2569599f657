/**
 * A txn's body in a log entry, in a compact binary form. Txns are the second most frequent write
 * (every compare-and-swap, lock and election is one), and msgpack spent 3.4 µs encoding one and
 * 2.5 µs decoding it on each member (field names, type tags, and an extension-codec probe per
 * value); this form takes a fraction of that. request.ts frames it with the envelope.
 *
 *   txn      = count:u32 compare* count:u32 op* count:u32 op*          (compare, success, failure)
 *   compare  = result:u8 target:u8 flags:u8 key [rangeEnd] operand
 *              operand: f64 (VERSION, CREATE, MOD) | bytes (VALUE) | i64 (LEASE)
 *   op       = type:u8 (range | put | deleteRange | txn)
 *   range    = present:u16 key [rangeEnd] [limit:f64] [revision:f64] [sortOrder:u8]
 *              [sortTarget:u8] [min/max mod/create revision:f64 each]   (booleans are bits)
 *   put      = flags:u8 [lease:i64] key [value]
 *   delete   = flags:u8 key [rangeEnd]
 *   bytes    = length:u32 bytes
 *
 * Optional fields are written only when present and read back only then, so a request decodes
 * to what was proposed. Numbers are f64: every JS number round-trips exactly.
 */

import {
  COMPARE_RESULTS,
  COMPARE_TARGETS,
  type Compare,
  type DeleteRangeRequest,
  type PutRequest,
  RANGE_NUMBER_FIELDS,
  type RangeRequest,
  type RequestOp,
  SORT_ORDERS,
  SORT_TARGETS,
  type TxnRequest,
} from '@tsetcd/mvcc';
import { MalformedRequestError } from '../node-errors.js';

/** Nesting beyond this is refused on both sides: decoding recurses once per level. */
export const MAX_TXN_DEPTH = 512;

const OP_TYPES: readonly RequestOp['type'][] = ['range', 'put', 'deleteRange', 'txn'];

const C_RANGE_END = 1;

const R_RANGE_END = 1 << 0;
const R_SORT_ORDER = 1 << 1;
const R_SORT_TARGET = 1 << 2;
const R_SERIALIZABLE = 1 << 3;
const R_KEYS_ONLY = 1 << 4;
const R_COUNT_ONLY = 1 << 5;
const R_FIRST_NUMBER = 6;

const P_PREV_KV = 1;
const P_IGNORE_VALUE = 2;
const P_IGNORE_LEASE = 4;
const P_LEASE = 8;
const P_VALUE = 16;

const D_RANGE_END = 1;
const D_PREV_KV = 2;

const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;

/** Largest scratch buffer an EntryWriter keeps between entries. */
const KEPT_BYTES = 64 * 1024;

/** Appends to one growing scratch buffer; `bytes()` is a view the caller copies out at once. */
export class EntryWriter {
  private buf = new Uint8Array(1024);
  private view = new DataView(this.buf.buffer);
  /** Bytes written so far. */
  length = 0;

  /** Starts a new entry, reusing the buffer unless a big txn grew it (it is not kept). */
  reset(): void {
    this.length = 0;
    if (this.buf.length > KEPT_BYTES) {
      this.buf = new Uint8Array(1024);
      this.view = new DataView(this.buf.buffer);
    }
  }

  private room(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.length + n) size *= 2;
    const grown = new Uint8Array(size);
    grown.set(this.buf.subarray(0, this.length));
    this.buf = grown;
    this.view = new DataView(grown.buffer);
  }

  u8(v: number): void {
    this.room(1);
    this.buf[this.length++] = v;
  }

  u16(v: number): void {
    this.room(2);
    this.view.setUint16(this.length, v);
    this.length += 2;
  }

  u32(v: number): void {
    this.room(4);
    this.view.setUint32(this.length, v);
    this.length += 4;
  }

  f64(v: number): void {
    this.room(8);
    this.view.setFloat64(this.length, v);
    this.length += 8;
  }

  i64(v: bigint): void {
    if (v < INT64_MIN || v > INT64_MAX) throw new RangeError(`value ${v} is not an int64`);
    this.room(8);
    this.view.setBigInt64(this.length, v);
    this.length += 8;
  }

  raw(b: Uint8Array): void {
    this.room(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
  }

  bytes(b: Uint8Array): void {
    this.u32(b.length);
    this.raw(b);
  }

  /** What was written since reset(); valid until the next write. */
  written(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }
}

/** Scratch for reading a big-endian f64 without a DataView over the entry (an object per read). */
const F64 = new Float64Array(1);
const F64_BYTES = new Uint8Array(F64.buffer);
const BIG_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 0;

/** Reads an entry written by EntryWriter; every overrun is a MalformedRequestError. */
export class EntryReader {
  constructor(
    private readonly data: Uint8Array,
    /** The next byte to read. */
    public at: number,
  ) {}

  private need(n: number): number {
    const at = this.at;
    if (at + n > this.data.length) throw new MalformedRequestError('truncated txn');
    this.at = at + n;
    return at;
  }

  get done(): boolean {
    return this.at === this.data.length;
  }

  u8(): number {
    return this.data[this.need(1)]!;
  }

  u16(): number {
    const at = this.need(2);
    return (this.data[at]! << 8) | this.data[at + 1]!;
  }

  u32(): number {
    const at = this.need(4);
    const d = this.data;
    return ((d[at]! << 24) | (d[at + 1]! << 16) | (d[at + 2]! << 8) | d[at + 3]!) >>> 0;
  }

  f64(): number {
    const at = this.need(8);
    const d = this.data;
    for (let i = 0; i < 8; i++) F64_BYTES[BIG_ENDIAN ? i : 7 - i] = d[at + i]!;
    return F64[0]!;
  }

  i64(): bigint {
    const hi = this.u32();
    return BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(this.u32()));
  }

  /** `n` bytes, as a view into the entry (as a decoded put's key and value are). */
  raw(n: number): Uint8Array {
    const at = this.need(n);
    return this.data.subarray(at, at + n);
  }

  bytes(): Uint8Array {
    return this.raw(this.u32());
  }

  /** A code byte naming one of `names`. */
  code<T>(names: readonly T[], what: string): T {
    const c = this.u8();
    const name = names[c];
    if (name === undefined) throw new MalformedRequestError(`unknown ${what} ${c}`);
    return name;
  }
}

function codeOf<T>(names: readonly T[], v: T, what: string): number {
  const c = names.indexOf(v);
  if (c < 0) throw new TypeError(`unknown ${what} ${String(v)}`);
  return c;
}

/** Writes `txn` (see the file comment); TypeError or RangeError for a value it cannot carry. */
export function writeTxn(w: EntryWriter, txn: TxnRequest, depth = 0): void {
  if (depth > MAX_TXN_DEPTH) throw new TypeError(`txn nested more than ${MAX_TXN_DEPTH} deep`);
  w.u32(txn.compare.length);
  for (const c of txn.compare) writeCompare(w, c);
  w.u32(txn.success.length);
  for (const op of txn.success) writeOp(w, op, depth);
  w.u32(txn.failure.length);
  for (const op of txn.failure) writeOp(w, op, depth);
}

/** Reads what writeTxn wrote. */
export function readTxn(r: EntryReader, depth = 0): TxnRequest {
  if (depth > MAX_TXN_DEPTH) throw new MalformedRequestError(`txn nested more than ${MAX_TXN_DEPTH} deep`);
  const compare: Compare[] = [];
  for (let n = r.u32(); n > 0; n--) compare.push(readCompare(r));
  const success: RequestOp[] = [];
  for (let n = r.u32(); n > 0; n--) success.push(readOp(r, depth));
  const failure: RequestOp[] = [];
  for (let n = r.u32(); n > 0; n--) failure.push(readOp(r, depth));
  return { compare, success, failure };
}

function writeCompare(w: EntryWriter, c: Compare): void {
  w.u8(codeOf(COMPARE_RESULTS, c.result, 'compare result'));
  w.u8(codeOf(COMPARE_TARGETS, c.target, 'compare target'));
  w.u8(c.rangeEnd !== undefined ? C_RANGE_END : 0);
  w.bytes(c.key);
  if (c.rangeEnd !== undefined) w.bytes(c.rangeEnd);
  switch (c.target) {
    case 'VERSION':
      w.f64(c.version);
      break;
    case 'CREATE':
      w.f64(c.createRevision);
      break;
    case 'MOD':
      w.f64(c.modRevision);
      break;
    case 'VALUE':
      w.bytes(c.value);
      break;
    case 'LEASE':
      w.i64(c.lease);
      break;
  }
}

function readCompare(r: EntryReader): Compare {
  const result = r.code(COMPARE_RESULTS, 'compare result');
  const target = r.code(COMPARE_TARGETS, 'compare target');
  const flags = r.u8();
  const key = r.bytes();
  const rangeEnd = flags & C_RANGE_END ? r.bytes() : undefined;
  // Each variant as one literal (a spread of a shared base cost a microsecond here).
  let c: Compare;
  switch (target) {
    case 'VERSION':
      c = { result, key, target, version: r.f64() };
      break;
    case 'CREATE':
      c = { result, key, target, createRevision: r.f64() };
      break;
    case 'MOD':
      c = { result, key, target, modRevision: r.f64() };
      break;
    case 'VALUE':
      c = { result, key, target, value: r.bytes() };
      break;
    case 'LEASE':
      c = { result, key, target, lease: r.i64() };
      break;
  }
  if (rangeEnd !== undefined) (c as { rangeEnd?: Uint8Array }).rangeEnd = rangeEnd;
  return c;
}

function writeOp(w: EntryWriter, op: RequestOp, depth: number): void {
  w.u8(codeOf(OP_TYPES, op.type, 'request op'));
  switch (op.type) {
    case 'range':
      writeRange(w, op.request);
      break;
    case 'put':
      writePut(w, op.request);
      break;
    case 'deleteRange':
      writeDelete(w, op.request);
      break;
    case 'txn':
      writeTxn(w, op.request, depth + 1);
      break;
  }
}

function readOp(r: EntryReader, depth: number): RequestOp {
  const type = r.code(OP_TYPES, 'request op');
  switch (type) {
    case 'range':
      return { type, request: readRange(r) };
    case 'put':
      return { type, request: readPut(r) };
    case 'deleteRange':
      return { type, request: readDelete(r) };
    case 'txn':
      return { type, request: readTxn(r, depth + 1) };
  }
}

function writeRange(w: EntryWriter, q: RangeRequest): void {
  let present =
    (q.rangeEnd !== undefined ? R_RANGE_END : 0) |
    (q.sortOrder !== undefined ? R_SORT_ORDER : 0) |
    (q.sortTarget !== undefined ? R_SORT_TARGET : 0) |
    (q.serializable ? R_SERIALIZABLE : 0) |
    (q.keysOnly ? R_KEYS_ONLY : 0) |
    (q.countOnly ? R_COUNT_ONLY : 0);
  RANGE_NUMBER_FIELDS.forEach((f, i) => {
    if (q[f] !== undefined) present |= 1 << (R_FIRST_NUMBER + i);
  });
  w.u16(present);
  w.bytes(q.key);
  if (q.rangeEnd !== undefined) w.bytes(q.rangeEnd);
  if (q.sortOrder !== undefined) w.u8(codeOf(SORT_ORDERS, q.sortOrder, 'sort order'));
  if (q.sortTarget !== undefined) w.u8(codeOf(SORT_TARGETS, q.sortTarget, 'sort target'));
  for (const f of RANGE_NUMBER_FIELDS) {
    const v = q[f];
    if (v !== undefined) w.f64(v);
  }
}

function readRange(r: EntryReader): RangeRequest {
  const present = r.u16();
  const q: { -readonly [K in keyof RangeRequest]: RangeRequest[K] } = { key: r.bytes() };
  if (present & R_RANGE_END) q.rangeEnd = r.bytes();
  if (present & R_SORT_ORDER) q.sortOrder = r.code(SORT_ORDERS, 'sort order');
  if (present & R_SORT_TARGET) q.sortTarget = r.code(SORT_TARGETS, 'sort target');
  if (present & R_SERIALIZABLE) q.serializable = true;
  if (present & R_KEYS_ONLY) q.keysOnly = true;
  if (present & R_COUNT_ONLY) q.countOnly = true;
  RANGE_NUMBER_FIELDS.forEach((f, i) => {
    if (present & (1 << (R_FIRST_NUMBER + i))) q[f] = r.f64();
  });
  return q;
}

function writePut(w: EntryWriter, p: PutRequest): void {
  w.u8(
    (p.prevKv ? P_PREV_KV : 0) |
      (p.ignoreValue ? P_IGNORE_VALUE : 0) |
      (p.ignoreLease ? P_IGNORE_LEASE : 0) |
      (p.lease !== undefined ? P_LEASE : 0) |
      (p.value !== undefined ? P_VALUE : 0),
  );
  if (p.lease !== undefined) w.i64(p.lease);
  w.bytes(p.key);
  if (p.value !== undefined) w.bytes(p.value);
}

function readPut(r: EntryReader): PutRequest {
  const flags = r.u8();
  const lease = flags & P_LEASE ? r.i64() : undefined;
  const p: { -readonly [K in keyof PutRequest]: PutRequest[K] } = { key: r.bytes() };
  if (flags & P_VALUE) p.value = r.bytes();
  if (lease !== undefined) p.lease = lease;
  if (flags & P_PREV_KV) p.prevKv = true;
  if (flags & P_IGNORE_VALUE) p.ignoreValue = true;
  if (flags & P_IGNORE_LEASE) p.ignoreLease = true;
  return p;
}

function writeDelete(w: EntryWriter, d: DeleteRangeRequest): void {
  w.u8((d.rangeEnd !== undefined ? D_RANGE_END : 0) | (d.prevKv ? D_PREV_KV : 0));
  w.bytes(d.key);
  if (d.rangeEnd !== undefined) w.bytes(d.rangeEnd);
}

function readDelete(r: EntryReader): DeleteRangeRequest {
  const flags = r.u8();
  const key = r.bytes();
  const d: { -readonly [K in keyof DeleteRangeRequest]: DeleteRangeRequest[K] } = { key };
  if (flags & D_RANGE_END) d.rangeEnd = r.bytes();
  if (flags & D_PREV_KV) d.prevKv = true;
  return d;
}
