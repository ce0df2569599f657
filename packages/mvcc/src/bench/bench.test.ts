/**
 * Every bench workload at a tiny size, so `pnpm bench` cannot silently break: each workload checks
 * the store's answers itself and throws on a wrong one; here it must run to its op count, and
 * the LevelDB runs are checked once more after reopening the store from disk.
 */

import { existsSync } from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { KVStore, type RangeResponse } from '../index.js';
import {
  BACKEND_KINDS,
  benchKey,
  hundredKeyRange,
  makeKeys,
  openStore,
  RequestKeys,
  Rng,
} from './fixtures.js';
import { type KvOptions, runPuts, runRanges, runTxns } from './kv-workloads.js';
import { runMemory } from './memory-workload.js';
import { runWatch } from './watch-workload.js';

/** 350 keys: three full 100-key groups and a partial one. */
const TINY: KvOptions = {
  limit: { durationMs: 60_000, warmupMs: 0, maxOps: 1_000 },
  keySpace: 350,
  valueBytes: 64,
  commitEvery: 100,
  reopen: true,
};

describe('bench fixtures', () => {
  it('makes 19-byte keys whose 100-key groups are prefixes', () => {
    expect(benchKey(12_345).length).toBe(19);
    const { key, rangeEnd } = hundredKeyRange(123);
    const inside = makeKeys(12_400).filter((k) => startsWith(k, key));
    expect(inside.length).toBe(100);
    expect(Buffer.compare(inside[0]!, benchKey(12_300))).toBe(0);
    expect(Buffer.compare(benchKey(12_399), rangeEnd)).toBeLessThan(0);
    expect(Buffer.compare(benchKey(12_400), rangeEnd)).toBeGreaterThanOrEqual(0);
  });

  it("hands out each request's key as a fresh view of the same bytes as benchKey", () => {
    const keys = new RequestKeys(1_000);
    for (const k of [0, 1, 537, 999]) expect(Buffer.compare(keys.at(k), benchKey(k))).toBe(0);
    const a = keys.at(7);
    const b = keys.at(7);
    expect(a).not.toBe(b);
    expect(a.buffer).toBe(keys.at(8).buffer);
    expect(keys.at(8).byteOffset - a.byteOffset).toBe(19);
  });

  it('draws the same keys from the same seed', () => {
    const a = new Rng();
    const b = new Rng();
    const draws = Array.from({ length: 100 }, () => a.int(1000));
    expect(draws).toEqual(Array.from({ length: 100 }, () => b.int(1000)));
    expect(new Set(draws).size).toBeGreaterThan(80);
  });

  it('removes the LevelDB temp dir on dispose', async () => {
    let dir: string | undefined;
    {
      await using bs = await openStore('level-sync');
      dir = bs.dir;
      bs.store.put({ key: benchKey(1), value: new Uint8Array(3) });
    }
    expect(dir).toBeDefined();
    expect(existsSync(dir!)).toBe(false);
  });
});

describe('bench self-checks', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('fail a workload whose store answers a range wrongly', async () => {
    const range = KVStore.prototype.range;
    vi.spyOn(KVStore.prototype, 'range').mockImplementation(function (this: KVStore, req) {
      const r: RangeResponse = range.call(this, req);
      return { ...r, kvs: r.kvs.slice(1) };
    });
    await expect(runRanges('memory', 1, TINY)).rejects.toThrow(/^bench: /);
    await expect(runPuts('memory', 'random', TINY)).rejects.toThrow(/^bench: /);
  });

  it('fail a workload whose store loses a write', async () => {
    const put = KVStore.prototype.put;
    let n = 0;
    vi.spyOn(KVStore.prototype, 'put').mockImplementation(function (this: KVStore, req) {
      // Every 100th put is answered but applied to another key.
      return put.call(this, ++n % 100 === 0 ? { ...req, key: benchKey(999_999) } : req);
    });
    await expect(runPuts('memory', 'sequential', TINY)).rejects.toThrow(/^bench: /);
  });
});

describe.each(BACKEND_KINDS)('bench workloads on %s', (kind) => {
  it.each(['random', 'sequential'] as const)('put %s', async (order) => {
    const r = await runPuts(kind, order, TINY);
    expect(r.ops).toBe(1_000);
    expect(r.opsPerSec).toBeGreaterThan(0);
  });

  it('put random, commit pipelined', async () => {
    const r = await runPuts(kind, 'random', { ...TINY, commitMode: 'pipelined' });
    expect(r.workload).toBe('put random, commit pipelined');
    expect(r.ops).toBe(1_000);
  });

  it.each([1, 100] as const)('range %i', async (width) => {
    const r = await runRanges(kind, width, TINY);
    expect(r.ops).toBe(1_000);
    // TINY's 350 keys are not the default store size, so the row says how many keys it read from.
    expect(r.workload).toBe(`range ${width} key${width === 1 ? '' : 's'}, 350 keys stored`);
  });

  it.each(['success', 'failure'] as const)('txn CAS %s', async (outcome) => {
    const r = await runTxns(kind, outcome, TINY);
    expect(r.ops).toBe(1_000);
  });
});

describe.each(['level-sync', 'memory'] as const)('watch workload on %s', (kind) => {
  it('delivers each put to the one watcher of its key', async () => {
    const r = await runWatch(kind, 'keys', { limit: { durationMs: 60_000, maxOps: 2_000 }, watchers: 50 });
    expect(r.ops).toBe(2_000);
  });

  it('delivers each put to every prefix watcher', async () => {
    const r = await runWatch(kind, 'prefix', { limit: { durationMs: 60_000, maxOps: 300 }, watchers: 20 });
    expect(r.ops).toBe(300 * 20);
  });
});

describe('memory workload', () => {
  it.each(['memory', 'level-sync'] as const)('loads and measures on %s', async (backend) => {
    const r = await runMemory(backend, 2_000);
    expect(r.keys).toBe(2_000);
    expect(Number.isFinite(r.heapBytesPerKey)).toBe(true);
    expect(Number.isFinite(r.rssBytesPerKey)).toBe(true);
  });
});

function startsWith(b: Uint8Array, prefix: Uint8Array): boolean {
  return b.length >= prefix.length && Buffer.compare(b.subarray(0, prefix.length), prefix) === 0;
}
