/**
 * How a lease is stored in the backend's lease bucket (etcd persists ID and TTL in its "lease"
 * bbolt bucket; the attached keys are not stored — they are found again from the keys' own lease
 * field). Fixed layout, big-endian, so every replica stores the same bytes. Pure.
 *
 *   key:   Bucket.lease | u64 id        (byte order = ID order)
 *   value: i64 ttl (seconds, as granted after raising it to the minimum)
 */

import { Bucket, bucketKey } from '../codec.js';
import type { LeaseId } from '../types.js';

/** A lease as persisted: what survives a restart (expiry does not: restored leases start demoted). */
export interface LeaseRecord {
  readonly id: LeaseId;
  /** Granted TTL in seconds. */
  readonly ttl: number;
}

const ID_BYTES = 8;
const TTL_BYTES = 8;

/** The backend key of lease `id`. */
export function leaseBucketKey(id: LeaseId): Uint8Array {
  const body = new Uint8Array(ID_BYTES);
  // An int64 (etcd takes negative IDs) in its two's complement bits: positive IDs, the only
  // ones before negative IDs were taken, keep their bytes.
  new DataView(body.buffer).setBigInt64(0, id);
  return bucketKey(Bucket.lease, body);
}

/** Encodes the value stored under leaseBucketKey(record.id). */
export function encodeLeaseValue(record: LeaseRecord): Uint8Array {
  const out = new Uint8Array(TTL_BYTES);
  new DataView(out.buffer).setBigInt64(0, BigInt(record.ttl));
  return out;
}

/** Decodes one entry of the lease bucket; throws RangeError on malformed input. */
export function decodeLeaseEntry(key: Uint8Array, value: Uint8Array): LeaseRecord {
  if (key.length !== 1 + ID_BYTES || key[0] !== Bucket.lease || value.length !== TTL_BYTES) {
    throw new RangeError('lease: malformed stored lease');
  }
  const id = new DataView(key.buffer, key.byteOffset + 1, ID_BYTES).getBigInt64(0);
  const ttl = Number(new DataView(value.buffer, value.byteOffset, TTL_BYTES).getBigInt64(0));
  return { id, ttl };
}
