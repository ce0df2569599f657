/**
 * The stored encodings: KeyValue bytes (fixed layout, so every replica stores the same bytes),
 * bucket keys (one prefix byte per bucket, key-bucket keys in revision order) and u64 meta values.
 */

import { describe, expect, it } from 'vitest';
import { compareBytes, utf8 } from './bytes.js';
import {
  Bucket,
  bucketBounds,
  bucketKey,
  decodeKeyValue,
  decodeU64,
  encodeKeyValue,
  encodeU64,
  keyBucketKey,
} from './codec.js';
import { decodeRev, REV_BYTES } from './revision.js';
import type { KeyValue, Revision } from './types.js';

const r = (n: number) => n as Revision;

const kv: KeyValue = {
  key: utf8('foo'),
  value: utf8('bar'),
  createRevision: r(2),
  modRevision: r(7),
  version: 3,
  lease: 0x1234_5678_9abc_def0n,
};

describe('encodeKeyValue / decodeKeyValue', () => {
  it('round-trips every field', () => {
    expect(decodeKeyValue(encodeKeyValue(kv))).toEqual(kv);
  });

  it('round-trips empty values, binary keys, big revisions and negative lease IDs', () => {
    const odd: KeyValue = {
      key: new Uint8Array([0, 0xff, 0x80]),
      value: new Uint8Array(0),
      createRevision: r(2 ** 40),
      modRevision: r(Number.MAX_SAFE_INTEGER),
      version: 2 ** 33,
      lease: -5n,
    };
    expect(decodeKeyValue(encodeKeyValue(odd))).toEqual(odd);
  });

  it('uses the documented fixed layout: u32 keyLen | key | u32 valueLen | value | 4 × u64', () => {
    const enc = encodeKeyValue(kv);
    expect(enc.length).toBe(4 + 3 + 4 + 3 + 32);
    expect([...enc.subarray(0, 4)]).toEqual([0, 0, 0, 3]);
    expect([...enc.subarray(7, 11)]).toEqual([0, 0, 0, 3]);
    // createRevision (u64 big-endian) right after the value.
    expect([...enc.subarray(14, 22)]).toEqual([0, 0, 0, 0, 0, 0, 0, 2]);
    // The same KeyValue always encodes to the same bytes (hashKV relies on it).
    expect(encodeKeyValue({ ...kv })).toEqual(enc);
  });

  it('decodes from a view into a larger buffer', () => {
    const enc = encodeKeyValue(kv);
    const big = new Uint8Array(enc.length + 10);
    big.set(enc, 5);
    expect(decodeKeyValue(big.subarray(5, 5 + enc.length))).toEqual(kv);
  });

  it('rejects trailing or missing bytes', () => {
    const enc = encodeKeyValue(kv);
    const longer = new Uint8Array(enc.length + 1);
    longer.set(enc);
    expect(() => decodeKeyValue(longer)).toThrow(RangeError);
    expect(() => decodeKeyValue(enc.subarray(0, enc.length - 1))).toThrow(RangeError);
  });
});

describe('bucket keys', () => {
  it('prefixes a key-bucket key with the bucket byte, then the encoded revision', () => {
    const k = keyBucketKey({ main: r(3), sub: 1 }, false);
    expect(k[0]).toBe(Bucket.key);
    expect(k.length).toBe(1 + REV_BYTES);
    expect(decodeRev(k, 1)).toEqual({ rev: { main: 3, sub: 1 }, tombstone: false });
    expect(decodeRev(keyBucketKey({ main: r(3), sub: 1 }, true), 1).tombstone).toBe(true);
  });

  it('keeps key-bucket keys in revision order, within the bucket bounds', () => {
    const keys = [
      keyBucketKey({ main: r(1), sub: 0 }, false),
      keyBucketKey({ main: r(1), sub: 1 }, true),
      keyBucketKey({ main: r(2), sub: 0 }, false),
      keyBucketKey({ main: r(300), sub: 0 }, false),
    ];
    const { gte, lt } = bucketBounds(Bucket.key);
    for (let i = 0; i < keys.length; i++) {
      expect(compareBytes(gte, keys[i]!)).toBeLessThanOrEqual(0);
      expect(compareBytes(keys[i]!, lt)).toBeLessThan(0);
      if (i > 0) expect(compareBytes(keys[i - 1]!, keys[i]!)).toBeLessThan(0);
    }
    // Meta keys fall outside the key bucket.
    expect(compareBytes(bucketKey(Bucket.meta, 'x'), lt)).toBeGreaterThanOrEqual(0);
  });

  it('names entries of other buckets by string or bytes', () => {
    expect([...bucketKey(Bucket.meta, 'ab')]).toEqual([Bucket.meta, 0x61, 0x62]);
    expect([...bucketKey(Bucket.lease, new Uint8Array([9]))]).toEqual([Bucket.lease, 9]);
  });
});

describe('encodeU64 / decodeU64', () => {
  it('round-trips safe integers as 8 big-endian bytes', () => {
    for (const n of [0, 1, 255, 2 ** 32, Number.MAX_SAFE_INTEGER]) expect(decodeU64(encodeU64(n))).toBe(n);
    expect([...encodeU64(258)]).toEqual([0, 0, 0, 0, 0, 0, 1, 2]);
  });

  it('rejects a value that is not 8 bytes', () => {
    expect(() => decodeU64(new Uint8Array(7))).toThrow(RangeError);
  });
});

describe('decodeKeyValue of a region', () => {
  it('decodes b[start, end) as the same bytes on their own, and refuses a region cut short', () => {
    const enc = encodeKeyValue(kv);
    const framed = new Uint8Array(enc.length + 10);
    framed.set(enc, 3);
    expect(decodeKeyValue(framed, 3, 3 + enc.length)).toEqual(kv);
    expect(() => decodeKeyValue(framed, 3, 3 + enc.length - 1)).toThrow(RangeError);
    expect(() => decodeKeyValue(framed, 3, framed.length + 1)).toThrow(RangeError);
  });
});
