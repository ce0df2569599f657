/**
 * A store image: the backend's raw entries, every bucket, in key order — what a snapshot streams
 * and what the store hash covers. This module knows which entries may legitimately differ between
 * replicas and how to read an image's revision without opening a KVStore. Pure.
 *
 * The meta key names repeat kvstore.ts's private constants; image.test.ts pins them, so a rename
 * there fails a test here rather than silently changing the hash.
 */

import { crc32 } from 'node:zlib';
import { bytesEqual } from '../bytes.js';
import { Bucket, bucketKey, decodeU64 } from '../codec.js';
import { decodeRev } from '../revision.js';

/** The meta entries this module reads or skips (names as kvstore.ts writes them). */
export const MetaKey = {
  schema: bucketKey(Bucket.meta, 'schema'),
  currentRevision: bucketKey(Bucket.meta, 'currentRevision'),
  consistentIndex: bucketKey(Bucket.meta, 'consistentIndex'),
  scheduledCompactRevision: bucketKey(Bucket.meta, 'scheduledCompactRevision'),
  finishedCompactRevision: bucketKey(Bucket.meta, 'finishedCompactRevision'),
} as const;

/** [gte, lt) of every bucket: bucket prefixes are single bytes below 0xff. */
export const IMAGE_BOUNDS = { gte: new Uint8Array([0x00]), lt: new Uint8Array([0xff]) } as const;

/**
 * Metadata excluded from the store hash, as etcd's DefaultIgnores excludes the consistent index
 * and term: values that replicas holding the same data may legitimately disagree on.
 *   - consistentIndex: the host's applied raft index, saved whenever the host commits; a replica
 *     can hold the same data under a different index (entries that touch no mvcc state).
 *   - finishedCompactRevision: whether physical compaction has caught up is local timing.
 * Everything else — history, leases, alarms, schema, current and scheduled compaction
 * revision — is a pure function of the applied requests and is hashed.
 */
export const VOLATILE_META_KEYS: readonly Uint8Array[] = [
  MetaKey.consistentIndex,
  MetaKey.finishedCompactRevision,
];

/** Whether an entry is volatile metadata (see VOLATILE_META_KEYS). */
export function isVolatile(key: Uint8Array): boolean {
  return key[0] === Bucket.meta && VOLATILE_META_KEYS.some((k) => bytesEqual(k, key));
}

/** CRC32 (IEEE, zlib's) over the non-volatile entries of an image, fed one entry at a time. */
export class ImageHasher {
  private crc = 0;

  /** Adds one entry (skipped if volatile). */
  add(key: Uint8Array, value: Uint8Array): void {
    if (isVolatile(key)) return;
    this.crc = crc32(value, crc32(key, this.crc));
  }

  /** The hash of everything added so far. */
  get hash(): number {
    return this.crc;
  }
}

/**
 * The revision of an image, computed as KVStore.open does: the largest of 1, the persisted
 * current revision, the newest revision in the key bucket and the scheduled compaction revision.
 */
export class ImageRevision {
  private rev = 1;

  /** Observes one entry of the image. */
  add(key: Uint8Array, value: Uint8Array): void {
    if (key[0] === Bucket.key) this.rev = Math.max(this.rev, decodeRev(key, 1).rev.main);
    else if (bytesEqual(key, MetaKey.currentRevision) || bytesEqual(key, MetaKey.scheduledCompactRevision)) {
      this.rev = Math.max(this.rev, decodeU64(value));
    }
  }

  /** The image's store revision. */
  get revision(): number {
    return this.rev;
  }
}
