/**
 * etcd's Maintenance.Snapshot and `etcdutl snapshot restore / status`, over the format of
 * snapshot-format.ts:
 *   - snapshot(store): a consistent point-in-time image of the whole store as a byte stream;
 *   - restoreSnapshot(source, backend): writes an image into an EMPTY backend, verified before
 *     anything becomes usable; KVStore.open on that backend then serves exactly the snapshotted
 *     store (same ranges, same hashKV);
 *   - snapshotStatus(source): hash, revision, key count and size of an image, verified.
 *
 * Not here: what the host does around a restore (new member/cluster IDs, raft state). The
 * restored consistent index is the snapshotted one; a host that restores outside raft resets it.
 */

import type { Backend } from '../backend.js';
import { bytesEqual } from '../bytes.js';
import type { KVStore } from '../kvstore.js';
import type { Revision } from '../types.js';
import { RestoreTargetNotEmptyError } from './errors.js';
import { IMAGE_BOUNDS, ImageHasher, ImageRevision, MetaKey } from './image.js';
import { decodeSnapshot, encodeSnapshot, type SnapshotSummary } from './snapshot-format.js';

/**
 * The schema value that marks a restore in progress. KVStore.open refuses it (ForeignDataDirError
 * naming it), so a target whose restore failed or crashed half-way is never served.
 */
export const RESTORE_INCOMPLETE_SCHEMA = 'tsetcd-restore-incomplete';
/** Buffered bytes after which restore flushes to the target, bounding its memory. */
export const RESTORE_FLUSH_BYTES = 4 * 1024 * 1024;

/** What `etcdutl snapshot status` reports, for our images. */
export interface SnapshotStatus {
  /** storeHash of the snapshotted store (CRC32 of the non-volatile entries). */
  readonly hash: number;
  /** The store revision of the image. */
  readonly revision: Revision;
  /** Number of backend entries in the image, every bucket. */
  readonly totalKeys: number;
  /** Bytes of the snapshot stream. */
  readonly totalSize: number;
}

/**
 * Streams a point-in-time image of the whole store, framed and SHA-256 checksummed. The image is
 * taken when iteration begins: the backend flushes everything applied so far and reads one
 * LevelDB snapshot, so it holds whole commits only — all applied before that moment, none of the
 * writes made while the stream is consumed.
 */
export function snapshot(store: KVStore): AsyncIterable<Uint8Array> {
  return encodeSnapshot(store.backend.iterate(IMAGE_BOUNDS.gte, IMAGE_BOUNDS.lt));
}

/**
 * Restores an image into `backend`, which must be empty (RestoreTargetNotEmptyError otherwise).
 *   1. mark the target as a restore in progress (RESTORE_INCOMPLETE_SCHEMA), durably;
 *   2. write every record, flushing every RESTORE_FLUSH_BYTES, holding back the real schema;
 *   3. the decoder verifies the SHA-256 trailer: on any failure (SnapshotIntegrityError, or the
 *      source's own error) clear the target and rethrow — the placeholder schema goes last, so a
 *      crash while clearing still leaves the target refused by KVStore.open;
 *   4. verified: write the real schema, making the target a store, and flush.
 */
export async function restoreSnapshot(
  source: AsyncIterable<Uint8Array>,
  backend: Backend,
): Promise<SnapshotStatus> {
  if (await hasAnyEntry(backend)) throw new RestoreTargetNotEmptyError(describe(backend));
  backend.put(MetaKey.schema, new TextEncoder().encode(RESTORE_INCOMPLETE_SCHEMA));
  await backend.flush();
  let schema: Uint8Array | undefined;
  const status = new StatusBuilder();
  try {
    let buffered = 0;
    const summary = await forEachRecord(decodeSnapshot(source), (key, value) => {
      status.add(key, value);
      if (bytesEqual(key, MetaKey.schema)) {
        schema = value;
        return;
      }
      backend.put(key, value);
      buffered += key.length + value.length;
      if (buffered >= RESTORE_FLUSH_BYTES) {
        buffered = 0;
        return backend.flush();
      }
    });
    if (schema === undefined) backend.del(MetaKey.schema);
    else backend.put(MetaKey.schema, schema);
    await backend.flush();
    return status.finish(summary);
  } catch (e) {
    // If clearing fails too, the placeholder schema still keeps the target from being served;
    // the caller needs the original error, not the clean-up's.
    await clear(backend).catch(() => undefined);
    throw e;
  }
}

/** Verifies an image and reports what `etcdutl snapshot status` does; SnapshotIntegrityError if damaged. */
export async function snapshotStatus(source: AsyncIterable<Uint8Array>): Promise<SnapshotStatus> {
  const status = new StatusBuilder();
  const summary = await forEachRecord(decodeSnapshot(source), (key, value) => status.add(key, value));
  return status.finish(summary);
}

/** Runs `visit` on each record, awaiting it when it returns a promise; returns the summary. */
async function forEachRecord(
  records: AsyncGenerator<{ key: Uint8Array; value: Uint8Array }, SnapshotSummary, undefined>,
  visit: (key: Uint8Array, value: Uint8Array) => Promise<void> | undefined,
): Promise<SnapshotSummary> {
  for (;;) {
    const next = await records.next();
    if (next.done) return next.value;
    await visit(next.value.key, next.value.value);
  }
}

/** Hash and revision of an image, gathered record by record. */
class StatusBuilder {
  private readonly hasher = new ImageHasher();
  private readonly revision = new ImageRevision();

  add(key: Uint8Array, value: Uint8Array): undefined {
    this.hasher.add(key, value);
    this.revision.add(key, value);
    return undefined;
  }

  finish(summary: SnapshotSummary): SnapshotStatus {
    return {
      hash: this.hasher.hash,
      revision: this.revision.revision as Revision,
      totalKeys: summary.records,
      totalSize: summary.bytes,
    };
  }
}

async function hasAnyEntry(backend: Backend): Promise<boolean> {
  for await (const _ of backend.iterate(IMAGE_BOUNDS.gte, IMAGE_BOUNDS.lt)) return true;
  return false;
}

/** Deletes everything restore wrote, the placeholder schema last. */
async function clear(backend: Backend): Promise<void> {
  let n = 0;
  for await (const [k] of backend.iterate(IMAGE_BOUNDS.gte, IMAGE_BOUNDS.lt)) {
    if (bytesEqual(k, MetaKey.schema)) continue;
    backend.del(k);
    if (++n % 10_000 === 0) await backend.flush();
  }
  await backend.flush();
  backend.del(MetaKey.schema);
  await backend.flush();
}

function describe(b: Backend): string {
  return (b as { dir?: string }).dir ?? 'backend';
}
