import { describe, expect, it } from 'vitest';
import { toBinary, utf8 } from './bytes.js';
import { Bucket, bucketKey, keyBucketKey } from './codec.js';
import {
  COMMIT_RECORD_SUFFIX,
  commitRecordKey,
  decodeCommitRecord,
  encodeCommitRecord,
  endsWithCommitSuffix,
  isPerCommitKey,
} from './commit-record.js';
import { BlockFormatError, blockRecordKey } from './key-blocks.js';
import type { Revision } from './types.js';

const rev = (main: number, sub = 0) => keyBucketKey({ main: main as Revision, sub }, false);

describe('commit records', () => {
  it('hold the keys every commit rewrites, and only those', () => {
    expect(isPerCommitKey(bucketKey(Bucket.meta, 'consistentIndex'))).toBe(true);
    expect(isPerCommitKey(bucketKey(Bucket.meta, 'currentRevision'))).toBe(true);
    expect(isPerCommitKey(bucketKey(Bucket.requests, Uint8Array.of(0, 7)))).toBe(true);
    expect(isPerCommitKey(bucketKey(Bucket.meta, 'schema'))).toBe(false);
    expect(isPerCommitKey(bucketKey(Bucket.meta, 'scheduledCompactRevision'))).toBe(false);
    expect(isPerCommitKey(bucketKey(Bucket.lease, Uint8Array.of(1)))).toBe(false);
    expect(isPerCommitKey(rev(5))).toBe(false);
  });

  it("sort right after the newest block and before any later block (the batch's own stretch)", () => {
    const last = toBinary(rev(1000, 3));
    const record = toBinary(commitRecordKey(last));
    expect(record > toBinary(blockRecordKey(toBinary(rev(1000, 0))))).toBe(true);
    expect(record > toBinary(blockRecordKey(last))).toBe(true);
    expect(record < toBinary(blockRecordKey(toBinary(rev(1000, 4))))).toBe(true);
    expect(record < toBinary(blockRecordKey(toBinary(rev(1001, 0))))).toBe(true);
    // With no block yet, after every block: the first batch with blocks writes a record before
    // it and deletes it (a record past the newest).
    expect(toBinary(commitRecordKey('')) > toBinary(blockRecordKey(toBinary(rev(2 ** 40, 2 ** 40))))).toBe(
      true,
    );
  });

  it('are told from blocks by the suffix of their key', () => {
    expect(endsWithCommitSuffix(commitRecordKey(toBinary(rev(9))))).toBe(true);
    expect(endsWithCommitSuffix(commitRecordKey(''))).toBe(true);
    expect(endsWithCommitSuffix(blockRecordKey(toBinary(rev(9))))).toBe(false);
    expect(endsWithCommitSuffix(Uint8Array.of(1, ...COMMIT_RECORD_SUFFIX.subarray(1)))).toBe(false);
    // No revision key ends so: a put's ends with its sub-revision (a safe integer), a delete's with 't'.
    expect(endsWithCommitSuffix(rev(2 ** 53 - 1, 2 ** 53 - 1))).toBe(false);
    expect(endsWithCommitSuffix(keyBucketKey({ main: 7 as Revision, sub: 2 ** 53 - 1 }, true))).toBe(false);
  });

  it('read back what was written, in the order written', () => {
    const key = commitRecordKey(toBinary(rev(42)));
    const entries: [Uint8Array, Uint8Array][] = [
      [bucketKey(Bucket.meta, 'currentRevision'), Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 42)],
      [bucketKey(Bucket.requests, Uint8Array.of(0, 1)), new Uint8Array(0)],
      [bucketKey(Bucket.meta, 'consistentIndex'), utf8('x'.repeat(70_000))],
    ];
    expect(decodeCommitRecord(key, encodeCommitRecord(key, entries))).toEqual(entries);
    expect(decodeCommitRecord(key, encodeCommitRecord(key, []))).toEqual([]);
  });

  it('refuse a flipped byte, a record moved to another key, and a key block', () => {
    const key = commitRecordKey(toBinary(rev(42)));
    const stored = encodeCommitRecord(key, [[bucketKey(Bucket.meta, 'consistentIndex'), Uint8Array.of(7)]]);
    for (let i = 0; i < stored.length; i++) {
      const damaged = stored.slice();
      damaged[i]! ^= 0x10;
      expect(() => decodeCommitRecord(key, damaged), `byte ${i}`).toThrow(BlockFormatError);
    }
    expect(() => decodeCommitRecord(commitRecordKey(toBinary(rev(43))), stored)).toThrow(BlockFormatError);
    const block = stored.slice();
    block[4] = 1;
    expect(() => decodeCommitRecord(key, block)).toThrow('bad commit record header');
  });
});
