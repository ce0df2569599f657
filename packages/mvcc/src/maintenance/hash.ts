/**
 * Consistency checks between replicas, as etcd's maintenance API:
 *   - hashKV(store, rev) (etcd's HashKV): etcd's CRC-32C over the key bucket's history up to
 *     `rev`, each revision in the bytes etcd stores for it (etcd-key-bucket.ts), so the value is
 *     etcd's for the same history; equal on every replica that applied the same requests,
 *     whether or not its physical compaction has finished;
 *   - storeHash(store) (etcd's Hash): a CRC32 over the whole store image except volatile metadata
 *     (see image.ts), equal on replicas at the same revision once their compactions have finished.
 *
 * storeHash's CRC32 is zlib's (IEEE) over our own image: comparable between tsetcd replicas
 * only, as etcd's Hash is a hash of its bbolt file. Read-only; never blocks writes.
 */

import { decodeKeyValue, keyBucketKey } from '../codec.js';
import { CompactedError, FutureRevError } from '../errors.js';
import { type RevSet, revKey } from '../key-index.js';
import type { KVStore } from '../kvstore.js';
import { decodeRev } from '../revision.js';
import { asRevision, type Revision } from '../types.js';
import { crc32c } from './crc32c.js';
import { etcdKeyValueBytes, etcdRevisionKey } from './etcd-key-bucket.js';
import { IMAGE_BOUNDS, ImageHasher, ImageRevision } from './image.js';

/** What hashKV returns (etcd's HashKVResponse without the header). */
export interface HashKVResult {
  /** CRC32 of the revisions counted (see hashKV). */
  readonly hash: number;
  /**
   * The compaction revision the hash was taken under (-1 if the store was never compacted, as
   * etcd's): compare hashes only when these are equal.
   */
  readonly compactRevision: number;
  /** The revision hashed up to (the current revision when 0 was asked). */
  readonly hashRevision: Revision;
}

/** What storeHash returns (etcd's HashResponse without the header). */
export interface StoreHashResult {
  /** CRC32 of every non-volatile entry of the image. */
  readonly hash: number;
  /** The store revision of the image hashed. */
  readonly revision: Revision;
}

const EMPTY_KEEP: RevSet = new Set();
/** etcd's key bucket name, which its HashKV hashes first. */
const KEY_BUCKET_NAME = new TextEncoder().encode('key');

/**
 * etcd's HashKV: a CRC32 over the key bucket entries (backend key, then value) with main revision
 * <= `rev` (0 = current), counting a revision at or below the compaction revision only if
 * compaction keeps it (`store.keep(compactRevision)`). Entries a finished compaction removed and
 * entries an unfinished one has yet to remove are thus both left out, and replicas agree.
 * etcd takes the keep set at `rev` instead (the two coincide at rev = compactRevision, the case
 * etcd's compaction hash check uses) and counts every old revision when that set is empty, which
 * would make replicas disagree; we do neither. Throws FutureRevError for a revision not reached
 * yet and CompactedError for one below the compaction revision.
 *
 *   1. capture the compaction revision and its keep set, synchronously (a consistent view);
 *   2. scan the key bucket up to `rev` from a backend snapshot, hashing what counts;
 *   3. if a compaction was applied meanwhile, its deletions may be in the snapshot: start over.
 */
export async function hashKV(store: KVStore, rev = 0): Promise<HashKVResult> {
  asRevision(rev);
  for (;;) {
    const compactRevision = store.compactRevision;
    if (rev > store.revision) throw new FutureRevError();
    const hashRevision = (rev === 0 ? store.revision : rev) as Revision;
    if (hashRevision < compactRevision) throw new CompactedError(compactRevision);
    // etcd counts a revision at or below the compaction revision only if it is live at the
    // hashed revision (kvindex.Keep(rev)). When no key is live there, etcd counts whatever old
    // revisions its bbolt still holds, which depends on how far its physical compaction got; we
    // count what compaction keeps, the same on every replica (etcd's value once it finished).
    const liveAtHash = compactRevision > 0 ? store.liveRevisions(hashRevision) : EMPTY_KEEP;
    const keep =
      liveAtHash.size > 0 ? liveAtHash : compactRevision > 0 ? store.keep(compactRevision) : EMPTY_KEEP;

    let hash = crc32c(KEY_BUCKET_NAME);
    const gte = keyBucketKey({ main: 0 as Revision, sub: 0 }, false);
    const lt = keyBucketKey({ main: (hashRevision + 1) as Revision, sub: 0 }, false);
    for await (const [k, v] of store.backend.iterate(gte, lt)) {
      const { rev: r, tombstone } = decodeRev(k, 1);
      if (r.main <= compactRevision && !keep.has(revKey(r.main, r.sub))) continue;
      hash = crc32c(etcdRevisionKey(r, tombstone), hash);
      hash = crc32c(etcdKeyValueBytes(decodeKeyValue(v), tombstone), hash);
    }
    if (store.compactRevision === compactRevision) {
      return { hash, compactRevision: store.compacted ? compactRevision : -1, hashRevision };
    }
  }
}

/**
 * etcd's Maintenance.Hash: a CRC32 over every entry of the store image but the volatile metadata
 * (image.ts, VOLATILE_META_KEYS), from one backend snapshot, with the revision of that snapshot.
 * Physical compaction in progress changes it: compare replicas after their compactions finished.
 */
export async function storeHash(store: KVStore): Promise<StoreHashResult> {
  const hasher = new ImageHasher();
  const revision = new ImageRevision();
  for await (const [k, v] of store.backend.iterate(IMAGE_BOUNDS.gte, IMAGE_BOUNDS.lt)) {
    hasher.add(k, v);
    revision.add(k, v);
  }
  return { hash: hasher.hash, revision: revision.revision as Revision };
}
