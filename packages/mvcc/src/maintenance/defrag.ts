/**
 * etcd's Maintenance.Defragment: rewrite storage so the space of deleted and compacted entries
 * is given back. On LevelDB this is a full-range compaction (old table and log files are
 * dropped); in memory it does nothing. Local to one replica: never part of the applied history.
 */

import type { KVStore } from '../kvstore.js';

/** Backend size around a defragmentation, for the operator's log. */
export interface DefragmentResult {
  readonly beforeBytes: number;
  readonly afterBytes: number;
}

/** Defragments the store's backend; reads and writes keep working meanwhile. */
export async function defragment(store: KVStore): Promise<DefragmentResult> {
  const beforeBytes = await store.backend.sizeBytes();
  await store.backend.defragment();
  return { beforeBytes, afterBytes: await store.backend.sizeBytes() };
}
