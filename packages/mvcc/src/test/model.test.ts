/**
 * Model-based property test: seeded random sequences of put / delete (single, range, prefix,
 * from-key) / txn (compares, nested txns, failing checks) / range / compact, applied to a
 * KVStore on a MemoryBackend and to the dumb reference model in model.ts, compared after every
 * step and, periodically, over full ranges at every retained revision.
 *
 * A failure names the seed and the op index; replay one seed with
 *   MODEL_SEED=<seed> npx vitest run packages/mvcc/src/test/model.test.ts
 */

import { describe, expect, it } from 'vitest';
import { CompactedError, DuplicateKeyError, FutureRevError, LeaseNotFoundError } from '../errors.js';
import type { RequestOp } from '../types.js';
import { bytes, KVModel, type ModelRunOptions, runModelCheck, show } from './model.js';
import { Rand } from './model-gen.js';

const SEEDS = 300;
const CHUNK = 50;
const RUN: ModelRunOptions = { ops: 200, checkEvery: 100, rangesPerCheck: 3 };

const put = (key: string, value: string): RequestOp => ({
  type: 'put',
  request: { key: bytes(key), value: bytes(value) },
});

describe('the reference model itself', () => {
  it('numbers revisions as etcd: 1 when empty, +1 per write request, none for a no-op', () => {
    const m = new KVModel();
    expect(m.revision).toBe(1);
    m.put({ key: bytes('a'), value: bytes('1') });
    m.txn({ compare: [], success: [put('b', '1'), put('c', '1')], failure: [] });
    m.deleteRange({ key: bytes('zz') });
    expect(m.revision).toBe(3);
    expect(m.liveKeys()).toEqual(['a', 'b', 'c']);
    expect(show(m.range({ key: bytes('c') }).kvs)).toBe(
      show([
        { key: bytes('c'), value: bytes('1'), createRevision: 3, modRevision: 3, version: 1, lease: 0n },
      ]),
    );
  });

  it('keeps every revision readable until compacted', () => {
    const m = new KVModel();
    m.put({ key: bytes('a'), value: bytes('1') });
    m.put({ key: bytes('a'), value: bytes('2') });
    expect(show(m.range({ key: bytes('a'), revision: 2 }).kvs.map((kv) => kv.value))).toBe(
      show([bytes('1')]),
    );
    m.compact(3);
    expect(() => m.range({ key: bytes('a'), revision: 2 })).toThrow(CompactedError);
    expect(() => m.range({ key: bytes('a'), revision: 4 })).toThrow(FutureRevError);
  });

  it("evaluates a nested txn's compares against the state before the txn (etcd compareToPath)", () => {
    const m = new KVModel();
    const r = m.txn({
      compare: [],
      success: [
        put('a', '1'),
        {
          type: 'txn',
          request: {
            compare: [{ target: 'VERSION', result: 'EQUAL', key: bytes('a'), version: 0 }],
            success: [put('b', 'before')],
            failure: [put('b', 'after')],
          },
        },
      ],
      failure: [],
    });
    expect(r.responses[1]?.type === 'txn' && r.responses[1].response.succeeded).toBe(true);
  });

  it('rejects duplicate keys and unknown leases, writing nothing', () => {
    const m = new KVModel();
    expect(() => m.txn({ compare: [], success: [put('a', '1'), put('a', '2')], failure: [] })).toThrow(
      DuplicateKeyError,
    );
    expect(() =>
      m.txn({
        compare: [],
        success: [put('a', '1'), { type: 'put', request: { key: bytes('b'), lease: 7n } }],
        failure: [],
      }),
    ).toThrow(LeaseNotFoundError);
    expect(m.revision).toBe(1);
  });

  it('the PRNG is deterministic per seed', () => {
    const a = new Rand(42);
    const b = new Rand(42);
    const xs = Array.from({ length: 5 }, () => a.int(1000));
    expect(Array.from({ length: 5 }, () => b.int(1000))).toEqual(xs);
    expect(new Rand(43).int(1000)).not.toBe(xs[0]);
  });
});

describe('KVStore agrees with the model', () => {
  const only = process.env.MODEL_SEED;
  if (only !== undefined) {
    it(`seed ${only}`, async () => {
      await runModelCheck(Number(only), RUN);
    });
    return;
  }
  const chunks = Array.from({ length: SEEDS / CHUNK }, (_, i) => [i * CHUNK, (i + 1) * CHUNK - 1] as const);
  it.each(chunks)('seeds %i..%i', async (first, last) => {
    let writes = 0;
    for (let seed = first; seed <= last; seed++) writes += (await runModelCheck(seed, RUN)).writes;
    // The runs must actually write: most steps produce a revision.
    expect(writes).toBeGreaterThan(CHUNK * RUN.ops * 0.4);
  });
});
