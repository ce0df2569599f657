import { describe, expect, it } from 'vitest';
import { MalformedRequestError } from '../node-errors.js';
import { decodeRequest, encodeRequest, type RequestEnvelope, RequestIdGenerator } from './request.js';

const b = (s: string) => new TextEncoder().encode(s);

describe('request encoding in log entries', () => {
  const puts: RequestEnvelope[] = [
    { id: 1n, req: { op: 'put', put: { key: b('k'), value: b('v') } } },
    {
      id: (1n << 64n) - 1n,
      req: { op: 'put', put: { key: b('k'), value: new Uint8Array(0), lease: 42n, prevKv: true } },
    },
    {
      id: 7n,
      user: 'alice',
      authRevision: 3,
      req: { op: 'put', put: { key: b('k'), ignoreValue: true, ignoreLease: true } },
    },
  ];

  it('round-trips puts in their compact form', () => {
    for (const env of puts) {
      const bytes = encodeRequest(env);
      expect(bytes[0]).toBe(0x01);
      expect(decodeRequest(bytes)).toEqual(env);
    }
  });

  it('carves small puts from a shared buffer without overlap; a big one gets its own', () => {
    const put = (i: number, bytes: number): RequestEnvelope => ({
      id: BigInt(i + 1),
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
      { id: 2n, req: { op: 'deleteRange', deleteRange: { key: b('a'), rangeEnd: b('b'), prevKv: true } } },
      { id: 3n, req: { op: 'leaseGrant', id: 99n, ttl: 10 } },
      { id: 4n, req: { op: 'compaction', compaction: { revision: 5 } } },
      { id: 5n, req: { op: 'alarm', action: 'ACTIVATE', memberId: 9n, alarm: 'NOSPACE' } },
    ];
    for (const env of others) expect(decodeRequest(encodeRequest(env))).toEqual(env);
  });

  it('refuses truncated or padded puts and unknown ops with MalformedRequestError', () => {
    const good = encodeRequest(puts[0]!);
    expect(() => decodeRequest(good.subarray(0, good.length - 1))).toThrow(MalformedRequestError);
    expect(() => decodeRequest(new Uint8Array([...good, 0]))).toThrow(MalformedRequestError);
    expect(() => decodeRequest(new Uint8Array([0x81, 0xa1, 0x78, 0x01]))).toThrow(MalformedRequestError);
    expect(() => decodeRequest(new Uint8Array([0xc1]))).toThrow(MalformedRequestError);
  });

  it('hands out distinct request IDs carrying the member bits', () => {
    const g = new RequestIdGenerator(0xabcdn, 1_000);
    const ids = new Set(Array.from({ length: 1000 }, () => g.id()));
    expect(ids.size).toBe(1000);
    for (const id of ids) expect(id >> 48n).toBe(0xabcdn);
  });
});
