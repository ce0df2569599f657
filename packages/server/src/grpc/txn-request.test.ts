/**
 * decodeTxnRequest against an oracle: protobufjs's decoding of the same bytes (the path Txn took
 * before), converted as the server used to convert it. Random requests over every field, with
 * zeros, negatives and unknown fields, must decode alike; malformed bytes must throw
 * MalformedMessageError, and values the node cannot take must come back as `invalid`.
 */

import { etcdRequestBytes } from '@tsetcd/core';
import type { Compare, RangeRequest, RequestOp, TxnRequest } from '@tsetcd/mvcc';
import { mulberry32 } from '@tsetcd/testing';
import { describe, expect, it } from 'vitest';
import { loadEtcdProtos } from '../proto.js';
import { big, bytes, deleteRangeIn, num, type Pb, putIn, rangeIn } from './convert.js';
import { decodeTxnRequest, refuseEmptyOps } from './txn-request.js';
import { MalformedMessageError } from './wire-reader.js';

const method = loadEtcdProtos().KV.Txn!;

/** A seeded integer source: rand(n) is in [0, n). */
function seededRandom(seed: number): (n: number) => number {
  const next = mulberry32(seed);
  return (n) => Math.floor(next() * n);
}
const encode = (req: Pb): Buffer => method.requestSerialize(req);

/** The oracle: protobufjs's object, converted field by field as the server did before. */
function oracle(buf: Buffer): TxnRequest {
  return txnOf(method.requestDeserialize(buf) as Pb);
}

function txnOf(r: Pb): TxnRequest {
  return {
    compare: (r.compare as Pb[]).map(compareOf),
    success: (r.success as Pb[]).map(opOf),
    failure: (r.failure as Pb[]).map(opOf),
  };
}

function compareOf(c: Pb): Compare {
  const key = bytes(c.key);
  const result = c.result as Compare['result'];
  const end = bytes(c.rangeEnd);
  const base = end.length > 0 ? { key, result, rangeEnd: end } : { key, result };
  switch (c.target) {
    case 'VERSION':
      return { ...base, target: 'VERSION', version: num(c.version) };
    case 'CREATE':
      return { ...base, target: 'CREATE', createRevision: num(c.createRevision) };
    case 'MOD':
      return { ...base, target: 'MOD', modRevision: num(c.modRevision) };
    case 'VALUE':
      return { ...base, target: 'VALUE', value: bytes(c.value) };
    default:
      return { ...base, target: 'LEASE', lease: big(c.lease) };
  }
}

function opOf(op: Pb): RequestOp {
  switch (op.request) {
    case 'requestRange':
      return { type: 'range', request: rangeIn(op.requestRange as Pb) };
    case 'requestPut':
      return { type: 'put', request: putIn(op.requestPut as Pb) };
    case 'requestDeleteRange':
      return { type: 'deleteRange', request: deleteRangeIn(op.requestDeleteRange as Pb) };
    default:
      return { type: 'txn', request: txnOf(op.requestTxn as Pb) };
  }
}

/** Byte arrays as plain Uint8Arrays (the oracle's are Buffers), so the two compare by content. */
function plain(v: unknown): unknown {
  if (v instanceof Uint8Array) return Uint8Array.from(v);
  if (Array.isArray(v)) return v.map(plain);
  if (v !== null && typeof v === 'object')
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  return v;
}

/**
 * A random TxnRequest as protobufjs takes it: every field at random, zeros and negatives too; a
 * compare's operand left out now and then, unless `withOperands`.
 */
function randomRequest(rand: (n: number) => number, depth: number, withOperands = false): Pb {
  const pick = <T>(xs: readonly T[]): T => xs[rand(xs.length)]!;
  const bytesOf = () => Buffer.from(Array.from({ length: rand(5) }, () => rand(256)));
  const int64 = () =>
    pick([
      '0',
      '1',
      '-1',
      '127',
      '128',
      String(rand(2 ** 31)),
      '4294967296',
      '9007199254740991',
      '-9007199254740991',
    ]);
  const some = (fields: Pb): Pb => Object.fromEntries(Object.entries(fields).filter(() => rand(2) === 0));
  const compare = (): Pb => {
    const target = pick(['VERSION', 'CREATE', 'MOD', 'VALUE', 'LEASE']);
    const operand: Pb = {
      VERSION: { version: int64() },
      CREATE: { createRevision: int64() },
      MOD: { modRevision: int64() },
      VALUE: { value: bytesOf() },
      LEASE: { lease: int64() },
    }[target] as Pb;
    return {
      ...some({
        key: bytesOf(),
        rangeEnd: bytesOf(),
        result: pick(['EQUAL', 'GREATER', 'LESS', 'NOT_EQUAL']),
      }),
      target,
      ...(rand(4) > 0 || withOperands ? operand : {}),
    };
  };
  const op = (): Pb => {
    switch (rand(depth < 2 ? 4 : 3)) {
      case 0:
        return {
          requestRange: some({
            key: bytesOf(),
            rangeEnd: bytesOf(),
            limit: int64(),
            revision: int64(),
            sortOrder: pick(['NONE', 'ASCEND', 'DESCEND']),
            sortTarget: pick(['KEY', 'VERSION', 'CREATE', 'MOD', 'VALUE']),
            serializable: rand(2) === 0,
            keysOnly: rand(2) === 0,
            countOnly: rand(2) === 0,
            minModRevision: int64(),
            maxModRevision: int64(),
            minCreateRevision: int64(),
            maxCreateRevision: int64(),
          }),
        };
      case 1:
        return {
          requestPut: some({
            key: bytesOf(),
            value: bytesOf(),
            lease: int64(),
            prevKv: rand(2) === 0,
            ignoreValue: rand(2) === 0,
            ignoreLease: rand(2) === 0,
          }),
        };
      case 2:
        return { requestDeleteRange: some({ key: bytesOf(), rangeEnd: bytesOf(), prevKv: rand(2) === 0 }) };
      default:
        return { requestTxn: randomRequest(rand, depth + 1, withOperands) };
    }
  };
  const list = <T>(f: () => T) => Array.from({ length: rand(4) }, f);
  return { compare: list(compare), success: list(op), failure: list(op) };
}

/** A compare's operand: a oneof member, written even when zero. */
const OPERANDS = new Set(['version', 'createRevision', 'modRevision', 'value', 'lease']);
/** Enum names whose number is 0. */
const ZERO_ENUMS = new Set(['EQUAL', 'VERSION', 'NONE', 'KEY']);

/**
 * `req` without its zero fields, so protobufjs (which writes any field that is set) encodes what
 * Go's protobuf writes (proto3: zero scalars left out; a oneof member kept).
 */
function goldenZeros(req: unknown, inCompare = false): Pb {
  const isZero = (v: unknown) =>
    v === '0' ||
    v === 0 ||
    v === false ||
    ZERO_ENUMS.has(v as string) ||
    (Buffer.isBuffer(v) && v.length === 0);
  const out: Pb = {};
  for (const [k, v] of Object.entries(req as Pb)) {
    if (Array.isArray(v)) out[k] = v.map((x) => goldenZeros(x, k === 'compare'));
    else if (v !== null && typeof v === 'object' && !Buffer.isBuffer(v)) out[k] = goldenZeros(v);
    else if (!isZero(v) || (inCompare && OPERANDS.has(k))) out[k] = v;
  }
  return out;
}

describe('decodeTxnRequest', () => {
  it('decodes 2,000 random requests exactly as protobufjs and the old conversion did', () => {
    const rand = seededRandom(2026_11_22);
    for (let i = 0; i < 2000; i++) {
      const buf = encode(randomRequest(rand, 0));
      const got = decodeTxnRequest(buf);
      expect(got.invalid, `case ${i}`).toBeUndefined();
      expect(plain(got.txn), `case ${i}`).toEqual(plain(oracle(buf)));
    }
  });

  it("core's etcdRequestBytes sizes a txn exactly as protobuf encodes it (the request-size limit)", () => {
    const rand = seededRandom(2026_11_23);
    const author = { idPrefix: 0xbeef, user: 'u1', authRevision: 7 };
    const empty = { compare: [], success: [], failure: [] };
    // InternalRaftRequest: the header, then the txn as field 6 (tag, length, bytes).
    const header = etcdRequestBytes({ op: 'txn', txn: empty }, author) - 2;
    // Field 100 (a 2-byte tag), its length, then RequestHeader: ID 0xbeef<<48|… (10-byte varint),
    // username "u1", auth_revision 7: 2 + 1 + (1 + 10) + (1 + 1 + 2) + (1 + 1).
    expect(header).toBe(20);
    const varint = (n: number) => (n < 128 ? 1 : n < 16384 ? 2 : n < 2097152 ? 3 : 4);
    for (let i = 0; i < 2000; i++) {
      const buf = encode(goldenZeros(randomRequest(rand, 0, true)));
      const { txn } = decodeTxnRequest(buf);
      expect(etcdRequestBytes({ op: 'txn', txn }, author), `case ${i}`).toBe(
        header + 1 + varint(buf.length) + buf.length,
      );
    }
  });

  it('gives keys and values as views of the message, not copies', () => {
    const buf = encode({ success: [{ requestPut: { key: Buffer.from('k'), value: Buffer.from('v') } }] });
    const put = decodeTxnRequest(buf).txn.success[0]!.request as { key: Uint8Array };
    expect(put.key.buffer).toBe(buf.buffer);
  });

  it('skips unknown fields of every wire type, at every level', () => {
    const unknown = Buffer.from([
      0xf8, 0x01, 0x05, 0xf9, 0x01, 1, 2, 3, 4, 5, 6, 7, 8, 0xfa, 0x01, 1, 0x61, 0xfd, 0x01, 1, 2, 3, 4,
    ]);
    const withUnknown = (m: Buffer) => Buffer.concat([unknown, m, unknown]);
    const range = withUnknown(
      loadEtcdProtos().KV.Range!.requestSerialize({ key: Buffer.from('k'), limit: 3 }),
    );
    // A RequestOp (field 1: the range) and a TxnRequest (field 2: success) spliced by hand.
    const op = withUnknown(Buffer.concat([Buffer.from([0x0a, range.length]), range]));
    const txn = withUnknown(Buffer.concat([Buffer.from([0x12, op.length]), op]));
    expect(plain(decodeTxnRequest(txn).txn)).toEqual(
      plain({
        compare: [],
        success: [{ type: 'range', request: { key: Buffer.from('k'), limit: 3 } }],
        failure: [],
      }),
    );
  });

  it('throws MalformedMessageError on truncated bytes, wrong wire types and field 0', () => {
    const good = encode(randomRequest(seededRandom(5), 0));
    for (let n = 1; n < good.length; n++) {
      try {
        decodeTxnRequest(good.subarray(0, n));
      } catch (err) {
        expect(err).toBeInstanceOf(MalformedMessageError);
      }
    }
    const bad = [
      [0x0a, 0x05, 0x18], // a compare cut short
      [0x08, 0x01], // compare (field 1) as a varint
      [0x0a, 0x02, 0x1a, 0x01], // a compare whose key runs past it
      [0x12, 0x02, 0x08, 0x01], // a RequestOp whose range is a varint
      [0x00, 0x01], // field 0
      [0x0b], // wire type 3 (groups)
    ];
    for (const b of bad)
      expect(() => decodeTxnRequest(Buffer.from(b)), String(b)).toThrow(MalformedMessageError);
  });

  it('hands back what the node cannot take as `invalid`, with etcd-style messages', () => {
    const k = Buffer.from('k');
    const invalid = (req: Pb) => decodeTxnRequest(encode(req)).invalid;
    expect(invalid({ compare: [{ key: k, target: 9 }] })).toEqual(new TypeError('unknown compare target 9'));
    expect(invalid({ compare: [{ key: k, result: 7 }] })).toEqual(new TypeError('unknown compare result 7'));
    expect(invalid({ compare: [{ key: k, result: -1 }] })).toEqual(
      new TypeError('unknown compare result -1'),
    );
    expect(invalid({ success: [{ requestRange: { key: k, sortOrder: 5 } }] })).toEqual(
      new TypeError('invalid sort option'),
    );
    expect(invalid({ failure: [{ requestRange: { key: k, sortTarget: 9 } }] })).toEqual(
      new TypeError('invalid sort option'),
    );
    const unsafe = invalid({ success: [{ requestRange: { key: k, revision: '9007199254740993' } }] });
    expect(unsafe).toBeInstanceOf(RangeError);
    expect(unsafe?.message).toBe('value 9007199254740993 is not a safe integer');
    expect(
      invalid({ compare: [{ key: k, target: 'MOD', modRevision: '-9223372036854775808' }] })?.message,
    ).toBe('value -9223372036854775808 is not a safe integer');
  });

  it("refuses an empty RequestOp at its turn in etcd's checks, so an earlier op's error wins", () => {
    const k = Buffer.from('k');
    const refusal = (req: Pb): string => {
      const d = decodeTxnRequest(encode(req));
      expect(d.invalid).toBeUndefined();
      try {
        refuseEmptyOps(d.txn, d.emptyOps!, 128);
      } catch (err) {
        return (err as Error).name;
      }
      throw new Error('not refused');
    };
    expect(refusal({ success: [{}] })).toBe('KeyNotFoundError');
    expect(
      refusal({ success: [{ requestPut: { key: k } }], failure: [{ requestTxn: { success: [{}] } }] }),
    ).toBe('KeyNotFoundError');
    expect(refusal({ success: [{}, { requestPut: { key: Buffer.alloc(0) } }] })).toBe('KeyNotFoundError');
    expect(refusal({ success: [{ requestPut: { key: Buffer.alloc(0) } }, {}] })).toBe('EmptyKeyError');
    expect(refusal({ compare: [{ key: Buffer.alloc(0) }], success: [{}] })).toBe('EmptyKeyError');
    const ranges = Array.from({ length: 128 }, () => ({ requestRange: { key: k } }));
    expect(refusal({ success: [{}, ...ranges] })).toBe('TooManyOpsError');
    expect(decodeTxnRequest(encode({ success: [{ requestPut: { key: k } }] })).emptyOps).toBeUndefined();
  });

  it('reads the int64 range and the lease IDs as protobufjs does', () => {
    const k = Buffer.from('k');
    for (const v of ['-1', '-9007199254740991', '9007199254740991', '4294967295', '4294967296']) {
      const got = decodeTxnRequest(encode({ success: [{ requestRange: { key: k, limit: v } }] }));
      expect((got.txn.success[0]!.request as RangeRequest).limit).toBe(Number(v));
    }
    for (const lease of ['-1', '9223372036854775807', '-9223372036854775808', '7587883958839384581']) {
      const got = decodeTxnRequest(encode({ success: [{ requestPut: { key: k, lease } }] }));
      expect((got.txn.success[0]!.request as { lease?: bigint }).lease).toBe(BigInt(lease));
    }
  });
});
