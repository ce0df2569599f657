/**
 * What KVStore.open does before the store serves: make sure the backend holds a tsetcd store
 * (or is empty, and then mark it as one), and rebuild the key index from the stored history.
 * Kept apart from kvstore.ts, which holds the state these steps hand back.
 */

import type { Backend } from './backend.js';
import { toBinary } from './bytes.js';
import { Bucket, bucketBounds, bucketKey, decodeKeyValue } from './codec.js';
import { CorruptDataDirError, ForeignDataDirError } from './errors.js';
import { decodeRev } from './revision.js';
import type { TreeIndex } from './tree-index.js';

/** Identifies a tsetcd mvcc store; a different value means another program's (or version's) data. */
export const SCHEMA = 'tsetcd-mvcc/1';

const META_SCHEMA = bucketKey(Bucket.meta, 'schema');

/**
 * Marks an empty backend as a new store ('new'), or checks that a non-empty one holds this
 * store's schema ('existing'); anything else is ForeignDataDirError, or CorruptDataDirError for
 * tsetcd history that lost its schema marker.
 */
export async function claimBackend(backend: Backend): Promise<'new' | 'existing'> {
  const schema = backend.get(META_SCHEMA);
  if (schema === undefined) {
    if (!(await backend.isEmpty())) {
      // History without its schema marker is a damaged tsetcd store (LevelDB lost the table
      // that held the marker, e.g. after a truncated MANIFEST), not another program's data.
      if (await hasStoreHistory(backend)) {
        throw new CorruptDataDirError(
          describeBackend(backend),
          `it holds tsetcd history but no schema marker: the store is damaged${recoveredFrom(backend)}`,
        );
      }
      throw new ForeignDataDirError(describeBackend(backend), 'it holds data but no tsetcd schema marker');
    }
    backend.put(META_SCHEMA, new TextEncoder().encode(SCHEMA));
    await backend.flush();
    return 'new';
  }
  const found = new TextDecoder().decode(schema);
  if (found !== SCHEMA) {
    throw new ForeignDataDirError(
      describeBackend(backend),
      `schema ${JSON.stringify(found)}, expected ${SCHEMA}`,
    );
  }
  return 'existing';
}

/** Rebuilds `index` from the key bucket's history; returns the newest main revision in it (0: none). */
export async function loadKeyIndex(backend: Backend, index: TreeIndex): Promise<number> {
  let lastMain = 0;
  const { gte, lt } = bucketBounds(Bucket.key);
  for await (const [k, v] of backend.iterate(gte, lt)) {
    const { rev, tombstone } = decodeRev(k, 1);
    const kv = decodeKeyValue(v);
    const key = toBinary(kv.key);
    lastMain = rev.main;
    if (tombstone) {
      if (!index.tombstone(key, rev) && index.keyIndex(key) === undefined) index.restoreTombstone(key, rev);
      continue;
    }
    const ki = index.keyIndex(key);
    if (ki === undefined || ki.retainsNothing()) {
      // The first retained revision of this key: earlier ones may have been compacted away, so
      // the generation's creation and version come from the stored KeyValue.
      index.restore(key, { main: kv.createRevision, sub: 0 }, rev, kv.version);
    } else {
      index.put(key, rev);
    }
  }
  return lastMain;
}

/** Whether the key bucket starts with a well-formed revision entry. */
async function hasStoreHistory(backend: Backend): Promise<boolean> {
  const { gte, lt } = bucketBounds(Bucket.key);
  try {
    for await (const [k, v] of backend.iterate(gte, lt)) {
      decodeRev(k, 1);
      decodeKeyValue(v);
      return true;
    }
  } catch {
    // Not our format (another program's values fail our checksums or our decoding).
    return false;
  }
  return false;
}

/** Where a damaged backend's state came from, when it can tell. */
function recoveredFrom(b: Backend): string {
  return b.recoveredFrom === undefined ? '' : ` (it was recovered from ${b.recoveredFrom})`;
}

function describeBackend(b: Backend): string {
  return (b as { dir?: string }).dir ?? 'the backend';
}
