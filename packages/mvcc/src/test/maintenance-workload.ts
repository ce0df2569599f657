/**
 * Test support for the maintenance tests: a seeded random workload of etcd requests (puts,
 * deletes, txns, compactions) that can be replayed on several stores, and a backend wrapper that
 * holds physical deletions back, standing in for a replica whose compaction has not finished.
 * Deterministic: the same seed gives the same requests.
 */

import type { Backend, BackendEntry } from '../backend.js';
import { utf8 } from '../bytes.js';
import type { KVStore } from '../kvstore.js';
import type { DeleteRangeRequest, PutRequest, TxnRequest } from '../types.js';

/** One request of the workload. */
export type WorkloadRequest =
  | { readonly type: 'put'; readonly request: PutRequest }
  | { readonly type: 'deleteRange'; readonly request: DeleteRangeRequest }
  | { readonly type: 'txn'; readonly request: TxnRequest }
  | { readonly type: 'compact'; readonly fraction: number };

/** mulberry32: a tiny seeded PRNG; returns floats in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `n` random requests over a small keyspace (so keys get many versions and deletes). */
export function randomWorkload(
  seed: number,
  n: number,
  opts: { compactions?: boolean } = {},
): WorkloadRequest[] {
  const rand = seededRandom(seed);
  const pick = (k: number) => Math.floor(rand() * k);
  const key = () => utf8(`k${String(pick(24)).padStart(2, '0')}`);
  const value = () => utf8(`v${pick(1_000_000)}${'x'.repeat(pick(40))}`);
  const out: WorkloadRequest[] = [];
  for (let i = 0; i < n; i++) {
    const r = rand();
    if (r < 0.55) out.push({ type: 'put', request: { key: key(), value: value() } });
    else if (r < 0.7) out.push({ type: 'deleteRange', request: { key: key() } });
    else if (r < 0.75) out.push({ type: 'deleteRange', request: { key: utf8('k1'), rangeEnd: utf8('k2') } });
    else if (r < 0.92 || !opts.compactions) {
      const k = key();
      out.push({
        type: 'txn',
        request: {
          compare: [{ target: 'VERSION', key: k, result: 'GREATER', version: 1 }],
          success: [{ type: 'put', request: { key: k, value: value() } }],
          failure: [
            { type: 'put', request: { key: utf8(`t${pick(8)}`), value: value() } },
            { type: 'deleteRange', request: { key: utf8(`u${pick(4)}`) } },
          ],
        },
      });
    } else out.push({ type: 'compact', fraction: rand() });
  }
  return out;
}

/**
 * Applies one request. A compaction goes to a revision between the current compaction revision
 * and the store revision (skipped when there is none); its physical-removal promise is returned.
 */
export function applyRequest(store: KVStore, req: WorkloadRequest): Promise<void> | undefined {
  switch (req.type) {
    case 'put':
      store.put(req.request);
      return undefined;
    case 'deleteRange':
      store.deleteRange(req.request);
      return undefined;
    case 'txn':
      store.txn(req.request);
      return undefined;
    case 'compact': {
      const span = store.revision - store.compactRevision;
      if (span < 1) return undefined;
      return store.compact(store.compactRevision + 1 + Math.floor(req.fraction * span));
    }
  }
}

/** Applies every request; awaits physical compactions only if `awaitCompaction`. */
export async function applyAll(
  store: KVStore,
  reqs: readonly WorkloadRequest[],
  awaitCompaction: boolean,
): Promise<void> {
  for (const r of reqs) {
    const p = applyRequest(store, r);
    if (p !== undefined && awaitCompaction) await p;
  }
}

/**
 * A Backend whose deletes are held back until `release()`: a replica whose physical compaction
 * has not reached the backend yet. Reads see the held entries.
 */
export class HoldDeletesBackend implements Backend {
  private held: Uint8Array[] = [];
  constructor(readonly inner: Backend) {}
  get(key: Uint8Array): Uint8Array | undefined {
    return this.inner.get(key);
  }
  put(key: Uint8Array, value: Uint8Array): void {
    this.inner.put(key, value);
  }
  del(key: Uint8Array): void {
    this.held.push(key);
  }
  /** Number of deletes held back. */
  get heldDeletes(): number {
    return this.held.length;
  }
  /** Applies the held deletes. */
  release(): Promise<void> {
    for (const k of this.held) this.inner.del(k);
    this.held = [];
    return this.inner.flush();
  }
  flush(): Promise<void> {
    return this.inner.flush();
  }
  iterate(gte: Uint8Array, lt: Uint8Array): AsyncIterable<BackendEntry> {
    return this.inner.iterate(gte, lt);
  }
  isEmpty(): Promise<boolean> {
    return this.inner.isEmpty();
  }

  sizeBytes(): Promise<number> {
    return this.inner.sizeBytes();
  }
  defragment(): Promise<void> {
    return this.inner.defragment();
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

/** Collects an async iterable into an array. */
export async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

/** Re-chunks a byte stream into pieces of the given sizes (cycled), to test framing. */
export async function* rechunk(
  chunks: readonly Uint8Array[],
  sizes: readonly number[],
): AsyncIterable<Uint8Array> {
  const all = Buffer.concat(chunks);
  let at = 0;
  for (let i = 0; at < all.length; i++) {
    const n = sizes[i % sizes.length]!;
    yield new Uint8Array(all.subarray(at, at + n));
    at += n;
  }
}

/** An AsyncIterable over fixed chunks. */
export async function* fromChunks(chunks: readonly Uint8Array[]): AsyncIterable<Uint8Array> {
  for (const c of chunks) yield c;
}
