import { Encoder } from '@msgpack/msgpack';
import { NODE_ID_EXTENSION_CODEC } from '@tsetcd/transport';
import { describe, expect, it } from 'vitest';
import { MalformedRequestError } from '../node-errors.js';
import {
  decodeRequest,
  encodeRequest,
  joinRequestId,
  type RequestEnvelope,
  RequestIdGenerator,
  requestCounter,
  requestPrefix,
} from './request.js';

const b = (s: string) => new TextEncoder().encode(s);

describe('request encoding in log entries', () => {
  const puts: RequestEnvelope[] = [
    { proposer: 0, counter: 1, req: { op: 'put', put: { key: b('k'), value: b('v') } } },
    {
      // The largest ID: both halves at their maximum.
      proposer: 0xffff,
      counter: 2 ** 48 - 1,
      req: {
        op: 'put',
        put: { key: b('k'), value: new Uint8Array(0), lease: 0x7fff_ffff_ffff_fffen, prevKv: true },
      },
    },
    {
      proposer: 0x8001,
      counter: 2 ** 32 + 7,
      user: 'alice',
      authRevision: 3,
      req: { op: 'put', put: { key: b('k'), ignoreValue: true, ignoreLease: true } },
    },
    // Lease IDs are int64s: etcd takes a negative one.
    { proposer: 2, counter: 3, req: { op: 'put', put: { key: b('k'), value: b('v'), lease: -5n } } },
    { proposer: 2, counter: 4, req: { op: 'put', put: { key: b('k'), lease: -(2n ** 63n) } } },
  ];

  it('round-trips puts in their compact form', () => {
    for (const env of puts) {
      const bytes = encodeRequest(env);
      expect(bytes[0]).toBe(0x01);
      expect(decodeRequest(bytes)).toEqual(env);
    }
  });

  it('writes the ID of a compact put as the big-endian u64 it always was', () => {
    const env = puts[2]!;
    const bytes = encodeRequest(env);
    const id = new DataView(bytes.buffer, bytes.byteOffset + 1, 8).getBigUint64(0);
    expect(id).toBe(0x8001_0001_0000_0007n);
    expect(id).toBe(joinRequestId(env.proposer, env.counter));
    expect([requestPrefix(id), requestCounter(id)]).toEqual([env.proposer, env.counter]);
  });

  it('carves small puts from a shared buffer without overlap; a big one gets its own', () => {
    const put = (i: number, bytes: number): RequestEnvelope => ({
      proposer: 3,
      counter: i + 1,
      req: { op: 'put', put: { key: b(`k${i}`), value: new Uint8Array(bytes).fill(i) } },
    });
    // Enough 300-byte puts to fill more than one 64 KiB slab.
    const envs = Array.from({ length: 400 }, (_, i) => put(i, 300));
    const encoded = envs.map(encodeRequest);
    expect(encoded[1]!.buffer).toBe(encoded[0]!.buffer);
    expect(encoded[1]!.byteOffset).toBeGreaterThanOrEqual(encoded[0]!.byteOffset + encoded[0]!.length);
    expect(new Set(encoded.map((e) => e.buffer)).size).toBeGreaterThan(1);
    expect(encoded.map(decodeRequest)).toEqual(envs);
    const big = encodeRequest(put(1000, 5000));
    expect([big.byteOffset, big.buffer.byteLength]).toEqual([0, big.length]);
    expect(decodeRequest(big)).toEqual(put(1000, 5000));
    // A small put after a big one goes back to the slab, whose bytes are intact.
    const after = encodeRequest(put(1001, 10));
    expect(after.byteOffset).toBeGreaterThan(0);
    expect(decodeRequest(after)).toEqual(put(1001, 10));
    expect(encoded.map(decodeRequest)).toEqual(envs);
  });

  it('round-trips every other request through msgpack', () => {
    const others: RequestEnvelope[] = [
      {
        proposer: 1,
        counter: 2,
        req: { op: 'deleteRange', deleteRange: { key: b('a'), rangeEnd: b('b'), prevKv: true } },
      },
      { proposer: 0xffff, counter: 2 ** 48 - 1, req: { op: 'leaseGrant', id: 99n, ttl: 10 } },
      { proposer: 3, counter: 1, req: { op: 'leaseGrant', id: -5n, ttl: 10 } },
      { proposer: 3, counter: 2, req: { op: 'leaseRevoke', id: -(2n ** 63n) } },
      { proposer: 3, counter: 3, req: { op: 'leaseRenew', id: -1n } },
      { proposer: 3, counter: 4, req: { op: 'leaseRenewBatch', ids: [-5n, 7n, 2n ** 63n - 1n] } },
      { proposer: 3, counter: 5, req: { op: 'leaseCheckpoint', ids: [-5n] } },
      { proposer: 0, counter: 0, req: { op: 'compaction', compaction: { revision: 5 } } },
      {
        proposer: 0x1234,
        counter: 2 ** 40 + 5,
        user: 'bob',
        authRevision: 2,
        req: { op: 'alarm', action: 'ACTIVATE', memberId: 9n, alarm: 'NOSPACE' },
      },
    ];
    for (const env of others) expect(decodeRequest(encodeRequest(env))).toEqual(env);
  });

  // An entry in the msgpack form, with the whole u64 `id` field, as encodeRequest writes any op
  // but put (and wrote before IDs were split), plus whatever other fields a test adds.
  const msgpackEntry = (id: bigint, extra: Record<string, unknown> = {}) =>
    new Encoder({ extensionCodec: NODE_ID_EXTENSION_CODEC, ignoreUndefined: true }).encode({
      id,
      ...extra,
      req: { op: 'compaction', compaction: { revision: 5 } },
    });

  it('takes the proposer and counter from the ID only, whatever else an entry carries', () => {
    const crafted = msgpackEntry((5n << 48n) | 7n, { proposer: 0x10005, counter: 'x' });
    expect(decodeRequest(crafted)).toEqual({
      proposer: 5,
      counter: 7,
      req: { op: 'compaction', compaction: { revision: 5 } },
    });
  });

  it('reads the msgpack form written before IDs were split: one u64 `id` field', () => {
    expect(decodeRequest(msgpackEntry(0xfedc_0000_1234_5678n))).toEqual({
      proposer: 0xfedc,
      counter: 0x1234_5678,
      req: { op: 'compaction', compaction: { revision: 5 } },
    });
  });

  it('refuses truncated or padded puts and unknown ops with MalformedRequestError', () => {
    const good = encodeRequest(puts[0]!);
    expect(() => decodeRequest(good.subarray(0, good.length - 1))).toThrow(MalformedRequestError);
    expect(() => decodeRequest(new Uint8Array([...good, 0]))).toThrow(MalformedRequestError);
    expect(() => decodeRequest(new Uint8Array([0x81, 0xa1, 0x78, 0x01]))).toThrow(MalformedRequestError);
    expect(() => decodeRequest(new Uint8Array([0xc1]))).toThrow(MalformedRequestError);
  });

  it('hands out distinct request IDs carrying the member bits', () => {
    const g = new RequestIdGenerator(0x1_abcdn, 1_000);
    expect(g.prefix).toBe(0xabcd);
    const ids = new Set(Array.from({ length: 1000 }, () => g.next()));
    expect(ids.size).toBe(1000);
    expect(Math.min(...ids)).toBe(1_000 * 256 + 1);
  });

  it('wraps the counter within 48 bits and never hands out the ID 0', () => {
    const g = new RequestIdGenerator(0x10000n, 0, 2 ** 48 - 3); // prefix 0
    expect(g.prefix).toBe(0);
    expect([g.next(), g.next()]).toEqual([2 ** 48 - 1, 1]);
    const h = new RequestIdGenerator(0x5n, 0, 2 ** 48 - 3);
    expect([h.next(), h.next()]).toEqual([2 ** 48 - 1, 0]);
  });
});
