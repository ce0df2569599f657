/**
 * Binary encoding of a KeyValue as stored in the key bucket, and of the backend's bucket keys.
 * Fixed layout, big-endian, so the same KeyValue always encodes to the same bytes on every replica
 * (hashKV depends on it). Pure.
 *
 *   u32 keyLen | key | u32 valueLen | value | u64 createRevision | u64 modRevision | u64 version | i64 lease
 */

import { encodeRevInto, REV_BYTES, type Rev, readU64, writeU64 } from './revision.js';
import { allocBytes, copyBytes } from './slab.js';
import { type KeyValue, NO_LEASE, type Revision } from './types.js';

/** One-byte prefixes that split the backend's keyspace into buckets, as etcd's bbolt buckets. */
export const Bucket = {
  /** revision → KeyValue (the history). */
  key: 0x01,
  /** store metadata: schema, consistent index, revisions, compaction state. */
  meta: 0x02,
  /** lease ID → lease record. */
  lease: 0x03,
  /** alarms raised on the cluster. */
  alarm: 0x04,
  /** the host's auth state (users, roles, enabled): replicated with the store, unread by mvcc. */
  auth: 0x05,
  /** the host's cluster membership: replicated with the store, unread by mvcc. */
  members: 0x06,
  /** the host's last applied request per proposer (duplicate proposals): replicated, unread by mvcc. */
  requests: 0x07,
  /** the host's index of each lease's last applied renewal (expiry races): replicated, unread by mvcc. */
  leaseRenewals: 0x08,
} as const;

/** The backend key of a revision in the key bucket. */
export function keyBucketKey(rev: Rev, tombstone: boolean): Uint8Array {
  return keyBucketKeyInto(new Uint8Array(1 + REV_BYTES + (tombstone ? 1 : 0)), rev);
}

/**
 * keyBucketKey written over `out` (its length says tombstone or not: 1 + REV_BYTES, or one more),
 * for a caller that reuses one buffer per key rather than allocate a key per write.
 */
export function keyBucketKeyInto(out: Uint8Array, rev: Rev): Uint8Array {
  out[0] = Bucket.key;
  encodeRevInto(out, 1, rev, out.length > 1 + REV_BYTES);
  return out;
}

/** The backend key of a named entry in a bucket. */
export function bucketKey(bucket: number, name: Uint8Array | string): Uint8Array {
  const body = typeof name === 'string' ? new TextEncoder().encode(name) : name;
  const out = new Uint8Array(1 + body.length);
  out[0] = bucket;
  out.set(body, 1);
  return out;
}

/** [first, end) of a bucket's keys. */
export function bucketBounds(bucket: number): { gte: Uint8Array; lt: Uint8Array } {
  return { gte: new Uint8Array([bucket]), lt: new Uint8Array([bucket + 1]) };
}

/**
 * Encodes a KeyValue for the key bucket, into a slab (see slab.ts): the result must never be
 * mutated, and its `buffer` is shared.
 */
export function encodeKeyValue(kv: KeyValue): Uint8Array {
  const out = allocBytes(encodedKeyValueBytes(kv));
  writeKeyValue(out, kv);
  return out;
}

/** Bytes of a KeyValue encoded by encodeKeyValue. */
function encodedKeyValueBytes(kv: KeyValue): number {
  return 4 + kv.key.length + 4 + kv.value.length + 32;
}

/** Writes encodeKeyValue's bytes over `out`, exactly as long as they are. */
function writeKeyValue(out: Uint8Array, kv: KeyValue): void {
  let at = 0;
  writeU32(out, at, kv.key.length);
  at += 4;
  out.set(kv.key, at);
  at += kv.key.length;
  writeU32(out, at, kv.value.length);
  at += 4;
  out.set(kv.value, at);
  at += kv.value.length;
  // Safe integers as two u32 halves: BigInt conversions cost more than the rest of the encoding.
  writeU64(out, at, kv.createRevision);
  writeU64(out, at + 8, kv.modRevision);
  writeU64(out, at + 16, kv.version);
  if (kv.lease !== NO_LEASE) new DataView(out.buffer, out.byteOffset).setBigInt64(at + 24, kv.lease);
  else out.fill(0, at + 24, at + 32);
}

/** Encodings up to this size reuse a KeyValueEncoder's buffer; bigger ones get their own. */
const ENCODER_KEPT_BYTES = 64 * 1024;

/**
 * encodeKeyValue into one reused buffer, for a caller that copies the bytes before encoding
 * again (the store's writes: the backend's putFresh and the key-value cache copy what they keep).
 * A slab allocation per write was most of a put's garbage. The view is reused too while the
 * length repeats, as it does when values are of one size.
 */
export class KeyValueEncoder {
  private buf = new Uint8Array(1024);
  private view = this.buf.subarray(0, 0);

  /** The encoding of `kv`: valid until the next call. */
  encode(kv: KeyValue): Uint8Array {
    const n = encodedKeyValueBytes(kv);
    if (n > ENCODER_KEPT_BYTES) return encodeKeyValue(kv);
    if (n > this.buf.length) {
      this.buf = new Uint8Array(Math.min(ENCODER_KEPT_BYTES, Math.max(n, 2 * this.buf.length)));
      this.view = this.buf.subarray(0, 0);
    }
    if (this.view.length !== n) this.view = this.buf.subarray(0, n);
    writeKeyValue(this.view, kv);
    return this.view;
  }
}

/**
 * Decodes bytes made by encodeKeyValue — all of `b`, or b[start, end) (so a caller holding the
 * bytes inside a larger buffer needs no view of them); throws RangeError on malformed input.
 */
export function decodeKeyValue(b: Uint8Array, start = 0, end = b.length): KeyValue {
  // No DataView: constructing one costs as much as the rest of the decoding.
  if (end > b.length) throw new RangeError('mvcc: malformed stored key-value');
  let at = start;
  const keyLen = readU32(b, at, end);
  at += 4;
  const valueLen = readU32(b, at + keyLen, end);
  // One private copy holding key and value (one allocation, not two), which the two are views
  // of: the caller owns it, so nothing it does can reach the cache or the backend's buffers.
  const both = copyBytes(b, at, keyLen + 4 + valueLen);
  const key = both.subarray(0, keyLen);
  const value = both.subarray(keyLen + 4);
  at += keyLen + 4 + valueLen;
  if (at + 32 !== end) throw new RangeError('mvcc: malformed stored key-value');
  return {
    key,
    value,
    createRevision: readU64(b, at) as Revision,
    modRevision: readU64(b, at + 8) as Revision,
    version: readU64(b, at + 16),
    lease: isZero(b, at + 24, 8) ? NO_LEASE : new DataView(b.buffer, b.byteOffset).getBigInt64(at + 24),
  };
}

function writeU32(out: Uint8Array, at: number, n: number): void {
  out[at] = n >>> 24;
  out[at + 1] = (n >>> 16) & 0xff;
  out[at + 2] = (n >>> 8) & 0xff;
  out[at + 3] = n & 0xff;
}

function readU32(b: Uint8Array, at: number, end: number): number {
  if (at + 4 > end) throw new RangeError('mvcc: malformed stored key-value');
  return ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
}

function isZero(b: Uint8Array, at: number, n: number): boolean {
  for (let i = at; i < at + n; i++) if (b[i] !== 0) return false;
  return true;
}

/** Encodes a non-negative safe integer as 8 big-endian bytes (meta values). */
export function encodeU64(n: number): Uint8Array {
  const out = new Uint8Array(8);
  writeU64(out, 0, n);
  return out;
}

/** Decodes 8 big-endian bytes made by encodeU64. */
export function decodeU64(b: Uint8Array): number {
  if (b.length !== 8) throw new RangeError('mvcc: malformed u64');
  return readU64(b, 0);
}
