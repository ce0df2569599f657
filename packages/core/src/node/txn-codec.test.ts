import { Encoder } from '@msgpack/msgpack';
import type { Compare, RequestOp, TxnRequest } from '@tsetcd/mvcc';
import { seededRandom } from '@tsetcd/raft';
import { NODE_ID_EXTENSION_CODEC } from '@tsetcd/transport';
import { describe, expect, it } from 'vitest';
import { MalformedRequestError } from '../node-errors.js';
import { decodeRequest, encodeRequest, joinRequestId, type RequestEnvelope } from './request.js';
import { EntryWriter, MAX_TXN_DEPTH, writeTxn } from './txn-codec.js';

const b = (s: string) => new TextEncoder().encode(s);
const envelope = (txn: TxnRequest, extra: Partial<RequestEnvelope> = {}): RequestEnvelope => ({
  proposer: 0x1234,
  counter: 2 ** 40 + 9,
  ...extra,
  req: { op: 'txn', txn },
});
const roundTrip = (env: RequestEnvelope) => decodeRequest(encodeRequest(env));

/** One compare of every target, with and without a range end, and every result. */
const EVERY_COMPARE: Compare[] = [
  { result: 'EQUAL', target: 'VERSION', key: b('a'), version: 3 },
  { result: 'GREATER', target: 'CREATE', key: b('a'), rangeEnd: b('b'), createRevision: 12 },
  { result: 'LESS', target: 'MOD', key: b('a'), modRevision: 2 ** 53 - 1 },
  { result: 'NOT_EQUAL', target: 'VALUE', key: b('a'), value: new Uint8Array([0, 255, 7]) },
  { result: 'EQUAL', target: 'LEASE', key: b('a'), lease: -(1n << 63n) },
  { result: 'EQUAL', target: 'LEASE', key: b('a'), rangeEnd: new Uint8Array([0]), lease: (1n << 63n) - 1n },
  { result: 'EQUAL', target: 'VERSION', key: b('a'), rangeEnd: new Uint8Array(0), version: -1 },
];

/** Every op type, each field of each request set somewhere. */
const EVERY_OP: RequestOp[] = [
  { type: 'range', request: { key: b('r') } },
  {
    type: 'range',
    request: {
      key: b('r'),
      rangeEnd: b('s'),
      limit: 10,
      revision: 5,
      sortOrder: 'DESCEND',
      sortTarget: 'VALUE',
      serializable: true,
      keysOnly: true,
      countOnly: true,
      minModRevision: 1,
      maxModRevision: 2,
      minCreateRevision: 3,
      maxCreateRevision: 4,
    },
  },
  { type: 'range', request: { key: b('r'), limit: 0, sortOrder: 'NONE', sortTarget: 'KEY' } },
  { type: 'put', request: { key: b('p'), value: b('v') } },
  { type: 'put', request: { key: b('p'), value: new Uint8Array(0), lease: 0n } },
  { type: 'put', request: { key: b('p'), lease: 77n, prevKv: true, ignoreValue: true, ignoreLease: true } },
  { type: 'deleteRange', request: { key: b('d') } },
  { type: 'deleteRange', request: { key: b('d'), rangeEnd: new Uint8Array([0]), prevKv: true } },
  {
    type: 'txn',
    request: {
      compare: [EVERY_COMPARE[0]!],
      success: [
        {
          type: 'txn',
          request: { compare: [], success: [], failure: [{ type: 'range', request: { key: b('n') } }] },
        },
      ],
      failure: [],
    },
  },
];

describe('txns in log entries, in their compact form', () => {
  it('round-trips every compare target and every op with every field, as proposed', () => {
    const txn: TxnRequest = { compare: EVERY_COMPARE, success: EVERY_OP, failure: [...EVERY_OP].reverse() };
    const bytes = encodeRequest(envelope(txn));
    expect(bytes[0]).toBe(0x02);
    expect(decodeRequest(bytes)).toEqual(envelope(txn));
  });

  it('round-trips an empty txn, the largest ID, and the acting user with its auth revision', () => {
    const empty: TxnRequest = { compare: [], success: [], failure: [] };
    expect(roundTrip(envelope(empty))).toEqual(envelope(empty));
    const max = { proposer: 0xffff, counter: 2 ** 48 - 1 };
    expect(roundTrip(envelope(empty, max))).toEqual(envelope(empty, max));
    const user = { user: 'ålice', authRevision: 42 };
    expect(roundTrip(envelope(empty, user))).toEqual(envelope(empty, user));
  });

  it('writes the ID as the big-endian u64 the other forms use', () => {
    const bytes = encodeRequest(envelope({ compare: [], success: [], failure: [] }));
    const id = new DataView(bytes.buffer, bytes.byteOffset + 1, 8).getBigUint64(0);
    expect(id).toBe(joinRequestId(0x1234, 2 ** 40 + 9));
  });

  it('round-trips 500 random txns (seeded)', () => {
    const rand = seededRandom(7_2026);
    for (let i = 0; i < 500; i++) {
      const env = envelope(randomTxn(rand, 0));
      expect(roundTrip(env)).toEqual(env);
    }
  });

  it('encodes a txn far bigger than its scratch buffer, and small ones after it', () => {
    const big = envelope({
      compare: [],
      success: [{ type: 'put', request: { key: b('k'), value: new Uint8Array(200_000).fill(9) } }],
      failure: [],
    });
    const bigBytes = encodeRequest(big);
    expect(bigBytes.length).toBeGreaterThan(200_000);
    expect(decodeRequest(bigBytes)).toEqual(big);
    const small = envelope({ compare: [EVERY_COMPARE[2]!], success: [], failure: [] });
    expect(roundTrip(small)).toEqual(small);
    expect(decodeRequest(bigBytes)).toEqual(big);
  });

  it('hands out bytes that later encodings do not overwrite', () => {
    const one = envelope({ compare: [], success: [EVERY_OP[3]!], failure: [] });
    const two = envelope({ compare: EVERY_COMPARE, success: EVERY_OP, failure: [] });
    const first = encodeRequest(one);
    encodeRequest(two);
    expect(decodeRequest(first)).toEqual(one);
  });
});

describe('txn entries that are not what the encoder writes', () => {
  const good = encodeRequest(
    envelope({ compare: EVERY_COMPARE, success: EVERY_OP, failure: [] }, { user: 'u', authRevision: 1 }),
  );

  it('refuses every truncation and any trailing byte with MalformedRequestError', () => {
    for (let n = 1; n < good.length; n++) {
      expect(() => decodeRequest(good.subarray(0, n)), `length ${n}`).toThrow(MalformedRequestError);
    }
    expect(() => decodeRequest(Uint8Array.from([...good, 0]))).toThrow(/trailing bytes after txn/);
  });

  it('refuses unknown compare results and targets, op types, sort fields and flags, naming them', () => {
    const w = new EntryWriter();
    const entry = (body: (w: EntryWriter) => void, flags = 0) => {
      w.reset();
      w.u8(0x02);
      w.u32(0);
      w.u32(1);
      w.u8(flags);
      body(w);
      return w.written().slice();
    };
    const compare = (result: number, target: number) => (x: EntryWriter) => {
      x.u32(1);
      x.u8(result);
      x.u8(target);
      x.u8(0);
      x.bytes(b('k'));
      x.f64(1);
      x.u32(0);
      x.u32(0);
    };
    expect(() => decodeRequest(entry(compare(4, 0)))).toThrow(/unknown compare result 4/);
    expect(() => decodeRequest(entry(compare(0, 5)))).toThrow(/unknown compare target 5/);
    const op = (type: number, body: (x: EntryWriter) => void) => (x: EntryWriter) => {
      x.u32(0);
      x.u32(1);
      x.u8(type);
      body(x);
      x.u32(0);
    };
    expect(() => decodeRequest(entry(op(4, () => {})))).toThrow(/unknown request op 4/);
    const range = (present: number, code: number) => (x: EntryWriter) => {
      x.u16(present);
      x.bytes(b('k'));
      x.u8(code);
    };
    expect(() => decodeRequest(entry(op(0, range(2, 3))))).toThrow(/unknown sort order 3/);
    expect(() => decodeRequest(entry(op(0, range(4, 5))))).toThrow(/unknown sort target 5/);
    expect(() => decodeRequest(entry(() => {}, 0x40))).toThrow(/unknown txn flags 64/);
    expect(() => decodeRequest(entry(compare(4, 0)))).toThrow(MalformedRequestError);
  });

  it('refuses nesting deeper than MAX_TXN_DEPTH on both sides', () => {
    let deep: TxnRequest = { compare: [], success: [], failure: [] };
    for (let i = 0; i <= MAX_TXN_DEPTH; i++)
      deep = { compare: [], success: [{ type: 'txn', request: deep }], failure: [] };
    expect(() => encodeRequest(envelope(deep))).toThrow(TypeError);
    // Hand-written: the same nesting, as a corrupt or foreign entry could carry it.
    const w = new EntryWriter();
    w.u8(0x02);
    w.u32(0);
    w.u32(1);
    w.u8(0);
    for (let i = 0; i <= MAX_TXN_DEPTH + 1; i++) {
      w.u32(0);
      w.u32(1);
      w.u8(3);
    }
    expect(() => decodeRequest(w.written().slice())).toThrow(/nested more than/);
    // One level less is fine (the encoder's own bound).
    let ok: TxnRequest = { compare: [], success: [], failure: [] };
    for (let i = 0; i < MAX_TXN_DEPTH; i++)
      ok = { compare: [], success: [{ type: 'txn', request: ok }], failure: [] };
    expect(roundTrip(envelope(ok))).toEqual(envelope(ok));
  });

  it('will not encode values it cannot carry: unknown names, leases outside int64', () => {
    const w = new EntryWriter();
    const bad = (txn: unknown) => () => writeTxn(w, txn as TxnRequest);
    const k = b('k');
    expect(
      bad({ compare: [{ result: 'SAME', target: 'MOD', key: k, modRevision: 1 }], success: [], failure: [] }),
    ).toThrow('unknown compare result SAME');
    expect(
      bad({ compare: [], success: [{ type: 'range', request: { key: k, sortOrder: 'UP' } }], failure: [] }),
    ).toThrow('unknown sort order UP');
    expect(bad({ compare: [], success: [{ type: 'lock', request: {} }], failure: [] })).toThrow(
      'unknown request op lock',
    );
    expect(
      bad({ compare: [], success: [{ type: 'put', request: { key: k, lease: 1n << 63n } }], failure: [] }),
    ).toThrow(RangeError);
  });

  it('still reads txns in the msgpack form older entries carry', () => {
    const txn: TxnRequest = { compare: [EVERY_COMPARE[0]!], success: [EVERY_OP[3]!], failure: [] };
    const old = new Encoder({ extensionCodec: NODE_ID_EXTENSION_CODEC, ignoreUndefined: true }).encode({
      id: joinRequestId(5, 6),
      user: 'bob',
      authRevision: 2,
      req: { op: 'txn', txn },
    });
    expect(decodeRequest(old)).toEqual({
      proposer: 5,
      counter: 6,
      user: 'bob',
      authRevision: 2,
      req: { op: 'txn', txn },
    });
  });
});

/** A random txn: random compares and ops, nested up to three deep, optional fields at random. */
function randomTxn(rand: (n: number) => number, depth: number): TxnRequest {
  const bytes = () => Uint8Array.from({ length: rand(6) }, () => rand(256));
  const maybe = <T>(v: () => T): T | undefined => (rand(2) === 0 ? v() : undefined);
  const int = () => rand(2 ** 31) * (rand(4) === 0 ? -1 : 1);
  const lease = () => BigInt.asIntN(64, (BigInt(rand(2 ** 32)) << 32n) | BigInt(rand(2 ** 32)));
  const pick = <T>(xs: readonly T[]): T => xs[rand(xs.length)]!;
  /** `o` without its undefined and false fields, as the decoder gives requests back. */
  const defined = <T extends object>(o: T) =>
    Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v !== false)) as {
      [K in keyof T]: Exclude<T[K], undefined>;
    };
  const compare = (): Compare => {
    const rangeEnd = maybe(bytes);
    const base = {
      result: pick(['EQUAL', 'GREATER', 'LESS', 'NOT_EQUAL'] as const),
      key: bytes(),
      ...(rangeEnd !== undefined ? { rangeEnd } : {}),
    };
    switch (rand(5)) {
      case 0:
        return { ...base, target: 'VERSION', version: int() };
      case 1:
        return { ...base, target: 'CREATE', createRevision: int() };
      case 2:
        return { ...base, target: 'MOD', modRevision: int() };
      case 3:
        return { ...base, target: 'VALUE', value: bytes() };
      default:
        return { ...base, target: 'LEASE', lease: lease() };
    }
  };
  const op = (): RequestOp => {
    switch (rand(depth < 3 ? 4 : 3)) {
      case 0:
        return {
          type: 'range',
          request: defined({
            key: bytes(),
            rangeEnd: maybe(bytes),
            limit: maybe(int),
            revision: maybe(int),
            sortOrder: maybe(() => pick(['NONE', 'ASCEND', 'DESCEND'] as const)),
            sortTarget: maybe(() => pick(['KEY', 'VERSION', 'CREATE', 'MOD', 'VALUE'] as const)),
            serializable: rand(2) === 0,
            keysOnly: rand(2) === 0,
            countOnly: rand(2) === 0,
            minModRevision: maybe(int),
            maxModRevision: maybe(int),
            minCreateRevision: maybe(int),
            maxCreateRevision: maybe(int),
          }),
        };
      case 1:
        return {
          type: 'put',
          request: defined({
            key: bytes(),
            value: maybe(bytes),
            lease: maybe(lease),
            prevKv: rand(2) === 0,
            ignoreValue: rand(2) === 0,
            ignoreLease: rand(2) === 0,
          }),
        };
      case 2:
        return {
          type: 'deleteRange',
          request: defined({ key: bytes(), rangeEnd: maybe(bytes), prevKv: rand(2) === 0 }),
        };
      default:
        return { type: 'txn', request: randomTxn(rand, depth + 1) };
    }
  };
  const list = <T>(f: () => T) => Array.from({ length: rand(4) }, f);
  return { compare: list(compare), success: list(op), failure: list(op) };
}
