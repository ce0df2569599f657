/**
 * The KV workloads of `pnpm bench`: puts, single-key and 100-key ranges, and compare-and-swap
 * txns, applied to a KVStore in-process as a replicated host applies committed entries — a batch
 * of requests applied synchronously, then `commit()` awaited (one atomic LevelDB batch, fsynced
 * on level-sync). The last commit is inside the timed region.
 *
 * Every workload checks what it did (each response as it goes where that is cheap; the final
 * state afterwards, and optionally again after reopening the store from disk) and throws if the
 * store answered wrongly: a fast bench of a broken store would be worthless.
 */

import type { KeyValue, KVStore, TxnRequest } from '../index.js';
import {
  type BackendKind,
  type BatchRun,
  type BenchStore,
  committer,
  DEFAULT_COMMIT_EVERY,
  DEFAULT_KEY_SPACE,
  DEFAULT_VALUE_BYTES,
  hundredKeyRange,
  makeValues,
  NO_COMMIT,
  openStore,
  preload,
  RequestKeys,
  Rng,
  type RunLimit,
  runBatches,
  type Timing,
  VALUE_POOL,
} from './fixtures.js';

/** What one workload measured. */
export interface WorkloadResult extends Timing {
  /** Which workload (a row of the table). */
  readonly workload: string;
  readonly backend: BackendKind;
  /** Requests applied (for watch: events delivered). */
  readonly ops: number;
  readonly opsPerSec: number;
  /** What one op is, for the table. */
  readonly unit: string;
}

/** Sizes shared by the KV workloads. */
export interface KvOptions {
  readonly limit: RunLimit;
  readonly keySpace?: number;
  readonly valueBytes?: number;
  readonly commitEvery?: number;
  /** Whether the next batch waits for the previous commit (default) or overlaps it (see `committer`). */
  readonly commitMode?: 'awaited' | 'pipelined';
  /** After measuring, close and reopen a LevelDB store and check its state again (slow: restore). */
  readonly reopen?: boolean;
}

function result(workload: string, unit: string, kind: BackendKind, t: BatchRun): WorkloadResult {
  const { seconds, cpuSeconds, ops } = t;
  return { workload, backend: kind, unit, ops, seconds, cpuSeconds, opsPerSec: ops / seconds };
}

/** A key-value in an error message (JSON cannot show its bigint lease). */
function describe(kv: KeyValue | undefined): string {
  if (kv === undefined) return 'no key';
  return `${Buffer.from(kv.key).toString()}@${kv.modRevision} v${kv.version} value[0..4]=${[...kv.value.subarray(0, 4)]}`;
}

function fail(msg: string): never {
  throw new Error(`bench: ${msg}`);
}

/** Reopens the store when asked to and it is on disk; returns the store to check. */
async function storeToCheck(bs: BenchStore, opts: KvOptions): Promise<KVStore> {
  return opts.reopen === true && bs.dir !== undefined ? bs.reopen() : bs.store;
}

/**
 * Puts of `valueBytes`-byte values over `keySpace` keys: `random` picks each key uniformly (inserts
 * first, then mostly overwrites), `sequential` walks the key space in order, wrapping round.
 */
export async function runPuts(
  kind: BackendKind,
  order: 'random' | 'sequential',
  opts: KvOptions,
): Promise<WorkloadResult> {
  const keySpace = opts.keySpace ?? DEFAULT_KEY_SPACE;
  const keys = new RequestKeys(keySpace);
  const values = makeValues(VALUE_POOL, opts.valueBytes ?? DEFAULT_VALUE_BYTES);
  // Per key k, side by side (one memory touch per put, not three: the bench's own bookkeeping
  // must not cost like the store): at 3k the revision of its last put, at 3k+1 that put's value,
  // at 3k+2 how many puts it had (0 = never written).
  const expected = new Int32Array(3 * keySpace);
  const rng = new Rng();
  await using bs = await openStore(kind);
  const store = bs.store;
  const rev0 = store.revision;
  const t = await runBatches(
    opts.limit,
    opts.commitEvery ?? DEFAULT_COMMIT_EVERY,
    (i) => {
      const k = order === 'random' ? rng.int(keySpace) : i % keySpace;
      const v = i % VALUE_POOL;
      expected[3 * k] = store.put({ key: keys.at(k), value: values[v]! }).header.revision;
      expected[3 * k + 1] = v;
      expected[3 * k + 2]!++;
    },
    committer(store, opts.commitMode ?? 'awaited'),
  );
  const check = await storeToCheck(bs, opts);
  if (check.revision !== rev0 + t.totalOps) {
    fail(`revision ${check.revision} after ${t.totalOps} puts from ${rev0}`);
  }
  for (let k = 0; k < keySpace; k++) {
    const r = check.range({ key: keys.at(k) });
    const lastRev = expected[3 * k]!;
    const lastValue = expected[3 * k + 1]!;
    const puts = expected[3 * k + 2]!;
    if (puts === 0) {
      if (r.kvs.length !== 0) fail(`key ${k} was never put but is there`);
      continue;
    }
    const kv = r.kvs[0];
    if (
      kv === undefined ||
      kv.modRevision !== lastRev ||
      kv.version !== puts ||
      Buffer.compare(kv.value, values[lastValue]!) !== 0
    ) {
      fail(`key ${k}: expected its put #${puts} at revision ${lastRev}, got ${describe(kv)}`);
    }
  }
  const label = opts.commitMode === 'pipelined' ? `put ${order}, commit pipelined` : `put ${order}`;
  return result(label, 'puts', kind, t);
}

/** A store preloaded with `keySpace` keys (value of key i: values[i % VALUE_POOL]). */
async function preloaded(kind: BackendKind, opts: KvOptions) {
  const keySpace = opts.keySpace ?? DEFAULT_KEY_SPACE;
  const keys = new RequestKeys(keySpace);
  const values = makeValues(VALUE_POOL, opts.valueBytes ?? DEFAULT_VALUE_BYTES);
  const bs = await openStore(kind);
  try {
    const modRevs = await preload(bs.store, keys, (i) => values[i % VALUE_POOL]!);
    return { bs, keySpace, keys, values, modRevs };
  } catch (e) {
    await bs[Symbol.asyncDispose]();
    throw e;
  }
}

/**
 * Ranges over a store preloaded with `keySpace` keys: `width` 1 reads one random key; `width` 100
 * reads a random prefix that covers exactly 100 keys, with limit 100.
 */
export async function runRanges(kind: BackendKind, width: 1 | 100, opts: KvOptions): Promise<WorkloadResult> {
  const p = await preloaded(kind, opts);
  await using bs = p.bs;
  const { keySpace, keys, values, modRevs } = p;
  const store = bs.store;
  const rng = new Rng();
  const groups = Math.floor(keySpace / 100);
  if (width === 100 && groups === 0) throw new RangeError('bench: a 100-key range needs >= 100 keys');
  const ranges = width === 100 ? Array.from({ length: groups }, (_, g) => hundredKeyRange(g)) : [];
  const t = await runBatches(
    opts.limit,
    DEFAULT_COMMIT_EVERY,
    width === 1
      ? () => {
          const k = rng.int(keySpace);
          const r = store.range({ key: keys.at(k) });
          if (r.kvs[0]?.modRevision !== modRevs[k])
            fail(`range of key ${k} read ${r.kvs.map(describe).join(', ') || 'nothing'}`);
        }
      : () => {
          const g = rng.int(groups);
          const r = store.range({ ...ranges[g]!, limit: 100 });
          if (
            r.kvs.length !== 100 ||
            r.count !== 100 ||
            r.more ||
            r.kvs[0]!.modRevision !== modRevs[g * 100]
          ) {
            fail(`range of keys ${g}xx read ${r.kvs.length} of ${r.count} (more ${r.more})`);
          }
        },
    NO_COMMIT,
  );
  // Spot-check values, which the loop does not compare.
  const check = await storeToCheck(bs, opts);
  for (let k = 0; k < keySpace; k += Math.max(1, Math.floor(keySpace / 1000))) {
    const kv = check.range({ key: keys.at(k) }).kvs[0];
    if (kv === undefined || Buffer.compare(kv.value, values[k % VALUE_POOL]!) !== 0) fail(`key ${k} value`);
  }
  // A store of another size than the default is named in the row: its reads stay in the CPU's caches or not.
  const size = keySpace === DEFAULT_KEY_SPACE ? '' : `, ${keySpace.toLocaleString('en-US')} keys stored`;
  return result(`range ${width} key${width === 1 ? '' : 's'}${size}`, 'ranges', kind, t);
}

/**
 * Compare-and-swap txns on random keys of a store preloaded with `keySpace` keys:
 *   if mod_revision(k) == M then put(k, v) else range(k).
 * `success`: M is k's current mod revision (the put runs: a write, one new revision each);
 * `failure`: M is stale (the range runs: read-only, no new revision).
 */
export async function runTxns(
  kind: BackendKind,
  outcome: 'success' | 'failure',
  opts: KvOptions,
): Promise<WorkloadResult> {
  const p = await preloaded(kind, opts);
  await using bs = p.bs;
  const { keySpace, keys, values, modRevs } = p;
  const store = bs.store;
  const rng = new Rng();
  const rev0 = store.revision;
  const lastValue = new Int32Array(keySpace).map((_, k) => k % VALUE_POOL);
  const t = await runBatches(
    opts.limit,
    opts.commitEvery ?? DEFAULT_COMMIT_EVERY,
    (i) => {
      const k = rng.int(keySpace);
      const key = keys.at(k);
      const v = i % VALUE_POOL;
      const req: TxnRequest = {
        compare: [
          {
            target: 'MOD',
            result: 'EQUAL',
            key,
            modRevision: outcome === 'success' ? modRevs[k]! : modRevs[k]! - 1,
          },
        ],
        success: [{ type: 'put', request: { key, value: values[v]! } }],
        failure: [{ type: 'range', request: { key } }],
      };
      const r = store.txn(req);
      if (r.succeeded !== (outcome === 'success')) fail(`txn on key ${k} succeeded=${r.succeeded}`);
      if (r.succeeded) {
        modRevs[k] = r.header.revision;
        lastValue[k] = v;
      } else {
        const got = r.responses[0];
        if (got?.type !== 'range' || got.response.kvs[0]?.modRevision !== modRevs[k]) {
          fail(
            `failed txn on key ${k} read ${got?.type === 'range' ? describe(got.response.kvs[0]) : got?.type}`,
          );
        }
      }
    },
    committer(store, opts.commitMode ?? 'awaited'),
  );
  const check = await storeToCheck(bs, opts);
  const expectRev = outcome === 'success' ? rev0 + t.totalOps : rev0;
  if (check.revision !== expectRev)
    fail(`revision ${check.revision} after ${t.totalOps} txns, expected ${expectRev}`);
  for (let k = 0; k < keySpace; k++) {
    const kv = check.range({ key: keys.at(k) }).kvs[0];
    if (
      kv === undefined ||
      kv.modRevision !== modRevs[k] ||
      Buffer.compare(kv.value, values[lastValue[k]!]!) !== 0
    ) {
      fail(`key ${k} after txns: ${describe(kv)}`);
    }
  }
  return result(`txn CAS ${outcome === 'success' ? 'succeeds (put)' : 'fails (range)'}`, 'txns', kind, t);
}
