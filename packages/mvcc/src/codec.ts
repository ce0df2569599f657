/**
 * Binary encoding of a KeyValue as stored in the key bucket, and of the backend's bucket keys.
 * Fixed layout, big-endian, so the same KeyValue always encodes to the same bytes on every replica
 * (hashKV depends on it). Pure.
 *
 *   u32 keyLen | key | u32 valueLen | value | u64 createRevision | u64 modRevision | u64 version | i64 lease
 */

import { encodeRevInto, REV_BYTES, type Rev } from './revision.js';
import type { KeyValue, Revision } from './types.js';

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
} as const;

/** The backend key of a revision in the key bucket. */
export function keyBucketKey(rev: Rev, tombstone: boolean): Uint8Array {
  const out = new Uint8Array(1 + REV_BYTES + (tombstone ? 1 : 0));
  out[0] = Bucket.key;
  encodeRevInto(out, 1, rev, tombstone);
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

/** Encodes a KeyValue for the key bucket. */
export function encodeKeyValue(kv: KeyValue): Uint8Array {
  const out = new Uint8Array(4 + kv.key.length + 4 + kv.value.length + 32);
  const dv = new DataView(out.buffer);
  let at = 0;
  dv.setUint32(at, kv.key.length);
  at += 4;
  out.set(kv.key, at);
  at += kv.key.length;
  dv.setUint32(at, kv.value.length);
  at += 4;
  out.set(kv.value, at);
  at += kv.value.length;
  dv.setBigUint64(at, BigInt(kv.createRevision));
  dv.setBigUint64(at + 8, BigInt(kv.modRevision));
  dv.setBigUint64(at + 16, BigInt(kv.version));
  dv.setBigInt64(at + 24, kv.lease);
  return out;
}

/** Decodes bytes made by encodeKeyValue; throws RangeError on malformed input. */
export function decodeKeyValue(b: Uint8Array): KeyValue {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let at = 0;
  const keyLen = dv.getUint32(at);
  at += 4;
  // Copied into plain Uint8Arrays: a LevelDB read hands us a Node Buffer, whose slice is a view.
  const key = copyBytes(b, at, keyLen);
  at += keyLen;
  const valueLen = dv.getUint32(at);
  at += 4;
  const value = copyBytes(b, at, valueLen);
  at += valueLen;
  if (at + 32 !== b.length) throw new RangeError('mvcc: malformed stored key-value');
  return {
    key,
    value,
    createRevision: Number(dv.getBigUint64(at)) as Revision,
    modRevision: Number(dv.getBigUint64(at + 8)) as Revision,
    version: Number(dv.getBigUint64(at + 16)),
    lease: dv.getBigInt64(at + 24),
  };
}

function copyBytes(b: Uint8Array, at: number, len: number): Uint8Array {
  const out = new Uint8Array(len);
  out.set(b.subarray(at, at + len));
  return out;
}

/** Encodes a non-negative safe integer as 8 big-endian bytes (meta values). */
export function encodeU64(n: number): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(n));
  return out;
}

/** Decodes 8 big-endian bytes made by encodeU64. */
export function decodeU64(b: Uint8Array): number {
  if (b.length !== 8) throw new RangeError('mvcc: malformed u64');
  return Number(new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0));
}
