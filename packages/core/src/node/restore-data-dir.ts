/**
 * restoreDataDir: etcdutl's `snapshot restore` — turns a snapshot of one member's store (saved
 * with `maintenance.snapshot()`) into the data dir of a member of a NEW cluster:
 *
 *   1. refuse a data dir that already holds a member (nothing is overwritten);
 *   2. restore the store image into `<dataDir>/member/kv` (keys, history, leases, auth);
 *   3. forget the old cluster: the member list and cluster ID are cleared and the applied index
 *      reset to 0, so that starting the member with initialClusterState 'new' and the new
 *      cluster's peers bootstraps the new membership from raft's first entries, while keys keep
 *      their revisions.
 * Each member of the new cluster is restored from the same snapshot into its own data dir.
 */

import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Bucket, bucketBounds, MvccStore, type SnapshotStatus } from '@tsetcd/mvcc';
import { CoreError } from '../errors.js';
import { memberDir } from '../raft-storage.js';

/** The data dir given to restoreDataDir already holds a member. */
export class DataDirNotEmptyError extends CoreError {
  readonly code = 'ErrDataDirNotEmpty';
  constructor(dir: string) {
    super(`data-dir ${JSON.stringify(dir)} exists and holds a member; restore needs a new one`);
    this.name = 'DataDirNotEmptyError';
  }
}

/** Steps 1–3 of the file comment; resolves with the snapshot's status (hash, revision, keys). */
export async function restoreDataDir(
  source: AsyncIterable<Uint8Array>,
  dataDir: string,
): Promise<SnapshotStatus> {
  const member = memberDir(dataDir);
  const existing = await readdir(member).catch(() => [] as string[]);
  if (existing.length > 0) throw new DataDirNotEmptyError(dataDir);
  const store = await MvccStore.open({ dir: join(member, 'kv') });
  try {
    const status = await store.restore(source);
    const backend = store.kv.backend;
    const { gte, lt } = bucketBounds(Bucket.members);
    const stale: Uint8Array[] = [];
    for await (const [k] of backend.iterate(gte, lt)) stale.push(k);
    for (const k of stale) backend.del(k);
    store.kv.setConsistentIndex(0);
    await store.commit();
    return status;
  } finally {
    await store.close();
  }
}
