/**
 * TxnRequest decoded by hand, straight into mvcc's TxnRequest. Every compare-and-swap, lock and
 * election is a Txn; through protobufjs one cost a decode, a defaulted object per message, an
 * int64 → Long → decimal string per revision, and a conversion pass (2.5 + 1.3 µs in a hot loop,
 * several times that on a lone request), where this takes a fraction.
 *
 * Gives exactly what the conversion of protobufjs's object gave (absent and zero fields left
 * out as there, keys and values as views of the message). A malformed message throws
 * MalformedMessageError (the call fails as unparseable, like protobufjs); a well-formed request
 * with a value the node cannot take (an unknown enum, an int64 beyond a safe integer) comes back
 * as `invalid`, for the handler to refuse with InvalidArgument as before. A RequestOp with no
 * request in it decodes to a placeholder listed in `emptyOps`: etcd refuses it at its turn in
 * checkTxnRequest's walk, so an earlier op's error wins over it (mvcc's validateTxn does the walk).
 */

import {
  COMPARE_RESULTS,
  COMPARE_TARGETS,
  type Compare,
  type CompareResult,
  type DeleteRangeRequest,
  KeyNotFoundError,
  type PutRequest,
  RANGE_NUMBER_FIELDS,
  type RangeRequest,
  type RequestOp,
  SORT_ORDERS,
  SORT_TARGETS,
  type SortOrder,
  type SortTarget,
  type TxnRequest,
  validateTxn,
} from '@tsetcd/mvcc';
import {
  fieldOf,
  MalformedMessageError,
  ProtoReader,
  UnsafeIntegerError,
  WIRE_BYTES,
  WIRE_VARINT,
  wireOf,
} from './wire-reader.js';

/** A decoded Txn request: the txn, and the first reason to refuse it, if any. */
export interface DecodedTxn {
  readonly txn: TxnRequest;
  readonly invalid?: TypeError | RangeError;
  /** The placeholders in `txn` of RequestOps that carried no request (absent if none). */
  readonly emptyOps?: ReadonlySet<RequestOp>;
}

/** Nesting deeper than this is refused as malformed (decoding recurses once per level). */
const MAX_DEPTH = 1000;

const EMPTY: Uint8Array = new Uint8Array(0);

/** The decoding of one request: the first semantic error is kept, decoding goes on. */
class TxnDecoder {
  invalid: TypeError | RangeError | undefined;
  emptyOps: Set<RequestOp> | undefined;

  private refuse(err: TypeError | RangeError): void {
    this.invalid ??= err;
  }

  /** An int64 field as a number (0 after refusing one that is not a safe integer). */
  private int64(r: ProtoReader): number {
    const v = r.int64();
    if (v instanceof UnsafeIntegerError) {
      this.refuse(v);
      return 0;
    }
    return v;
  }

  /** An enum field (int32 on the wire) as its name, or undefined after refusing an unknown one. */
  private enumOf<T>(r: ProtoReader, names: readonly T[], refusal: (n: number) => string): T | undefined {
    const n = r.int32();
    const name = names[n];
    if (name === undefined) this.refuse(new TypeError(refusal(n)));
    return name;
  }

  txn(r: ProtoReader, depth: number): TxnRequest {
    if (depth > MAX_DEPTH) throw new MalformedMessageError(`txn nested more than ${MAX_DEPTH} deep`);
    const compare: Compare[] = [];
    const success: RequestOp[] = [];
    const failure: RequestOp[] = [];
    while (!r.done) {
      const tag = r.tag();
      const field = fieldOf(tag);
      if (field >= 1 && field <= 3) {
        expectWire(tag, WIRE_BYTES);
        if (field === 1) compare.push(this.compare(r.message()));
        else (field === 2 ? success : failure).push(this.op(r.message(), depth));
      } else r.skip(wireOf(tag));
    }
    return { compare, success, failure };
  }

  private compare(r: ProtoReader): Compare {
    let result: CompareResult | undefined = 'EQUAL';
    let target: Compare['target'] | undefined = 'VERSION';
    let key = EMPTY;
    let rangeEnd = EMPTY;
    let version = 0;
    let createRevision = 0;
    let modRevision = 0;
    let value = EMPTY;
    let lease = 0n;
    while (!r.done) {
      const tag = r.tag();
      switch (fieldOf(tag)) {
        case 1:
          expectWire(tag, WIRE_VARINT);
          result = this.enumOf(r, COMPARE_RESULTS, (n) => `unknown compare result ${n}`);
          break;
        case 2:
          expectWire(tag, WIRE_VARINT);
          target = this.enumOf(r, COMPARE_TARGETS, (n) => `unknown compare target ${n}`);
          break;
        case 3:
          expectWire(tag, WIRE_BYTES);
          key = r.bytes();
          break;
        case 4:
          expectWire(tag, WIRE_VARINT);
          version = this.int64(r);
          break;
        case 5:
          expectWire(tag, WIRE_VARINT);
          createRevision = this.int64(r);
          break;
        case 6:
          expectWire(tag, WIRE_VARINT);
          modRevision = this.int64(r);
          break;
        case 7:
          expectWire(tag, WIRE_BYTES);
          value = r.bytes();
          break;
        case 8:
          expectWire(tag, WIRE_VARINT);
          lease = r.int64Big();
          break;
        case 64:
          expectWire(tag, WIRE_BYTES);
          rangeEnd = r.bytes();
          break;
        default:
          r.skip(wireOf(tag));
      }
    }
    result ??= 'EQUAL'; // refused above; any name will do
    let c: Compare;
    switch (target ?? 'VERSION') {
      case 'VERSION':
        c = { key, result, target: 'VERSION', version };
        break;
      case 'CREATE':
        c = { key, result, target: 'CREATE', createRevision };
        break;
      case 'MOD':
        c = { key, result, target: 'MOD', modRevision };
        break;
      case 'VALUE':
        c = { key, result, target: 'VALUE', value };
        break;
      case 'LEASE':
        c = { key, result, target: 'LEASE', lease };
        break;
    }
    if (rangeEnd.length > 0) (c as { rangeEnd?: Uint8Array }).rangeEnd = rangeEnd;
    return c;
  }

  private op(r: ProtoReader, depth: number): RequestOp {
    let op: RequestOp | undefined;
    while (!r.done) {
      const tag = r.tag();
      const field = fieldOf(tag);
      if (field >= 1 && field <= 4) {
        expectWire(tag, WIRE_BYTES);
        const m = r.message();
        if (field === 1) op = { type: 'range', request: this.range(m) };
        else if (field === 2) op = { type: 'put', request: this.put(m) };
        else if (field === 3) op = { type: 'deleteRange', request: this.deleteRange(m) };
        else op = { type: 'txn', request: this.txn(m, depth + 1) };
      } else r.skip(wireOf(tag));
    }
    if (op !== undefined) return op;
    const placeholder: RequestOp = { type: 'range', request: { key: EMPTY } };
    this.emptyOps ??= new Set();
    this.emptyOps.add(placeholder);
    return placeholder;
  }

  private range(r: ProtoReader): RangeRequest {
    let key = EMPTY;
    let rangeEnd = EMPTY;
    let sortOrder: SortOrder | undefined;
    let sortTarget: SortTarget | undefined;
    let serializable = false;
    let keysOnly = false;
    let countOnly = false;
    /** limit, revision, min/max mod revision, min/max create revision: fields 3, 4, 10–13. */
    const numbers = [0, 0, 0, 0, 0, 0];
    while (!r.done) {
      const tag = r.tag();
      const field = fieldOf(tag);
      if (field > 13) {
        r.skip(wireOf(tag));
        continue;
      }
      expectWire(tag, field <= 2 ? WIRE_BYTES : WIRE_VARINT);
      if (field === 1) key = r.bytes();
      else if (field === 2) rangeEnd = r.bytes();
      else if (field === 3 || field === 4) numbers[field - 3] = this.int64(r);
      else if (field >= 10) numbers[field - 8] = this.int64(r);
      else if (field === 5) sortOrder = this.enumOf(r, SORT_ORDERS, invalidSortOption);
      else if (field === 6) sortTarget = this.enumOf(r, SORT_TARGETS, invalidSortOption);
      else if (field === 7) serializable = r.bool();
      else if (field === 8) keysOnly = r.bool();
      else countOnly = r.bool();
    }
    const q: { -readonly [K in keyof RangeRequest]: RangeRequest[K] } = { key };
    if (rangeEnd.length > 0) q.rangeEnd = rangeEnd;
    RANGE_NUMBER_FIELDS.forEach((f, i) => {
      const v = numbers[i]!;
      if (v !== 0) q[f] = v;
    });
    if (sortOrder !== undefined && sortOrder !== 'NONE') q.sortOrder = sortOrder;
    if (sortTarget !== undefined && sortTarget !== 'KEY') q.sortTarget = sortTarget;
    if (serializable) q.serializable = true;
    if (keysOnly) q.keysOnly = true;
    if (countOnly) q.countOnly = true;
    return q;
  }

  private put(r: ProtoReader): PutRequest {
    let key = EMPTY;
    let value = EMPTY;
    let lease = 0n;
    const flags = [false, false, false]; // prev_kv, ignore_value, ignore_lease: fields 4–6
    while (!r.done) {
      const tag = r.tag();
      const field = fieldOf(tag);
      if (field > 6) {
        r.skip(wireOf(tag));
        continue;
      }
      expectWire(tag, field <= 2 ? WIRE_BYTES : WIRE_VARINT);
      if (field === 1) key = r.bytes();
      else if (field === 2) value = r.bytes();
      else if (field === 3) lease = r.int64Big();
      else flags[field - 4] = r.bool();
    }
    const p: { -readonly [K in keyof PutRequest]: PutRequest[K] } = { key, value };
    if (lease !== 0n) p.lease = lease;
    if (flags[0]) p.prevKv = true;
    if (flags[1]) p.ignoreValue = true;
    if (flags[2]) p.ignoreLease = true;
    return p;
  }

  private deleteRange(r: ProtoReader): DeleteRangeRequest {
    let key = EMPTY;
    let rangeEnd = EMPTY;
    let prevKv = false;
    while (!r.done) {
      const tag = r.tag();
      const field = fieldOf(tag);
      if (field > 3) {
        r.skip(wireOf(tag));
        continue;
      }
      expectWire(tag, field <= 2 ? WIRE_BYTES : WIRE_VARINT);
      if (field === 1) key = r.bytes();
      else if (field === 2) rangeEnd = r.bytes();
      else prevKv = r.bool();
    }
    const d: { -readonly [K in keyof DeleteRangeRequest]: DeleteRangeRequest[K] } = { key };
    if (rangeEnd.length > 0) d.rangeEnd = rangeEnd;
    if (prevKv) d.prevKv = true;
    return d;
  }
}

/** etcd 3.5's refusal of an unknown sort order or target (3.4 crashed on the target). */
const invalidSortOption = () => 'invalid sort option';

/** A known field must come with its type's wire type. */
function expectWire(tag: number, wire: number): void {
  if (wireOf(tag) !== wire) {
    throw new MalformedMessageError(`field ${fieldOf(tag)} has wire type ${wireOf(tag)}, want ${wire}`);
  }
}

/** The Txn method's request decoder (see the file comment). */
export function decodeTxnRequest(buf: Uint8Array): DecodedTxn {
  const d = new TxnDecoder();
  const txn = d.txn(new ProtoReader(buf), 0);
  if (d.invalid === undefined && d.emptyOps === undefined) return { txn };
  return {
    txn,
    ...(d.invalid !== undefined ? { invalid: d.invalid } : {}),
    ...(d.emptyOps !== undefined ? { emptyOps: d.emptyOps } : {}),
  };
}

/**
 * Throws what etcd answers a txn holding RequestOps with no request in them: the first error of
 * checkTxnRequest's walk (the op count, an empty key, … of an op before the empty one), else
 * "key not found" at the first empty op.
 */
export function refuseEmptyOps(txn: TxnRequest, emptyOps: ReadonlySet<RequestOp>, maxTxnOps: number): never {
  validateTxn(txn, maxTxnOps, (op) => emptyOps.has(op));
  // validateTxn meets every op, so it threw at the first empty one at the latest.
  throw new KeyNotFoundError();
}
