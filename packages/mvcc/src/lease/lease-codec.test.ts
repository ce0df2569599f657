import { describe, expect, it } from 'vitest';
import { compareBytes } from '../bytes.js';
import { Bucket } from '../codec.js';
import { decodeLeaseEntry, encodeLeaseValue, leaseBucketKey } from './lease-codec.js';

describe('lease codec', () => {
  it('round-trips a lease record, up to the largest ID and TTL', () => {
    for (const rec of [
      { id: 1n, ttl: 2 },
      { id: 0x1234_5678_9abc_def0n, ttl: 60 },
      { id: (1n << 63n) - 1n, ttl: 9_000_000_000 },
    ]) {
      expect(decodeLeaseEntry(leaseBucketKey(rec.id), encodeLeaseValue(rec))).toEqual(rec);
    }
  });

  it('keys live in the lease bucket, in ID order', () => {
    const ids = [3n, 1n, 256n, 1n << 40n, 2n];
    const keys = ids.map(leaseBucketKey);
    for (const k of keys) expect(k[0]).toBe(Bucket.lease);
    const sorted = [...keys]
      .sort(compareBytes)
      .map((k) => decodeLeaseEntry(k, encodeLeaseValue({ id: 0n, ttl: 1 })).id);
    expect(sorted).toEqual([...ids].sort((a, b) => (a < b ? -1 : 1)));
  });

  it('rejects malformed entries', () => {
    const value = encodeLeaseValue({ id: 1n, ttl: 5 });
    expect(() => decodeLeaseEntry(leaseBucketKey(1n).slice(0, 5), value)).toThrow(RangeError);
    expect(() => decodeLeaseEntry(leaseBucketKey(1n), value.slice(1))).toThrow(RangeError);
    const wrongBucket = leaseBucketKey(1n);
    wrongBucket[0] = Bucket.meta;
    expect(() => decodeLeaseEntry(wrongBucket, value)).toThrow(RangeError);
  });
});
