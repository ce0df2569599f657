/**
 * Txn rules that need no storage: validateTxn (etcd's checkTxnRequest + checkIntervals — op
 * counts, empty keys, duplicate keys across levels) and evaluateCompare (etcd's applyCompare /
 * compareKV) for every target and result, on present and missing keys and over ranges.
 */

import { describe, expect, it } from 'vitest';
import { prefixEnd, utf8 } from './bytes.js';
import { DuplicateKeyError, EmptyKeyError, TooManyOpsError } from './errors.js';
import { KVStore } from './kvstore.js';
import { MemoryBackend } from './memory-backend.js';
import { DEFAULT_MAX_TXN_OPS, evaluateCompare, isWriteTxn, validateTxn } from './txn.js';
import type { Compare, CompareResult, KeyValue, RequestOp, Revision, TxnRequest } from './types.js';

const put = (key: string): RequestOp => ({ type: 'put', request: { key: utf8(key), value: utf8('v') } });
const get = (key: string): RequestOp => ({ type: 'range', request: { key: utf8(key) } });
const del = (key: string, end?: string | Uint8Array): RequestOp => ({
  type: 'deleteRange',
  request: {
    key: utf8(key),
    ...(end === undefined ? {} : { rangeEnd: typeof end === 'string' ? utf8(end) : end }),
  },
});
const txnOp = (success: RequestOp[], failure: RequestOp[] = [], compare: Compare[] = []): RequestOp => ({
  type: 'txn',
  request: { compare, success, failure },
});
const txn = (success: RequestOp[], failure: RequestOp[] = [], compare: Compare[] = []): TxnRequest => ({
  compare,
  success,
  failure,
});
const cmpVersion = (key: string, version: number): Compare => ({
  target: 'VERSION',
  result: 'EQUAL',
  key: utf8(key),
  version,
});
const NUL = new Uint8Array([0]);

describe('validateTxn: op counts (ErrTooManyOps)', () => {
  const many = <T>(n: number, make: (i: number) => T): T[] => Array.from({ length: n }, (_, i) => make(i));

  it('accepts 128 ops per branch and 128 compares (the default --max-txn-ops)', () => {
    expect(DEFAULT_MAX_TXN_OPS).toBe(128);
    const n = DEFAULT_MAX_TXN_OPS;
    expect(() =>
      validateTxn(
        txn(
          many(n, (i) => put(`s${i}`)),
          many(n, (i) => put(`f${i}`)),
          many(n, (i) => cmpVersion(`c${i}`, 0)),
        ),
      ),
    ).not.toThrow();
  });

  it('rejects 129 compares, 129 success ops or 129 failure ops', () => {
    const n = DEFAULT_MAX_TXN_OPS + 1;
    expect(() =>
      validateTxn(
        txn(
          [],
          [],
          many(n, (i) => cmpVersion(`c${i}`, 0)),
        ),
      ),
    ).toThrow(TooManyOpsError);
    expect(() => validateTxn(txn(many(n, (i) => get(`s${i}`))))).toThrow(TooManyOpsError);
    expect(() =>
      validateTxn(
        txn(
          [],
          many(n, (i) => get(`f${i}`)),
        ),
      ),
    ).toThrow(TooManyOpsError);
  });

  it('honours a configured maximum', () => {
    expect(() => validateTxn(txn([put('a'), put('b')]), 2)).not.toThrow();
    expect(() => validateTxn(txn([put('a'), put('b'), put('c')]), 2)).toThrow(TooManyOpsError);
  });

  it('checks nested txns too', () => {
    const nested = txnOp(many(DEFAULT_MAX_TXN_OPS + 1, (i) => get(`n${i}`)));
    expect(() => validateTxn(txn([nested]))).toThrow(TooManyOpsError);
    expect(() => validateTxn(txn([], [nested]))).toThrow(TooManyOpsError);
  });

  // etcd's checkTxnRequest passes `maxTxnOps - opc` to nested txns (v3rpc/key.go:
  // `checkRequestOp(u, maxTxnOps-opc)`): a nested txn gets only the budget its parent left, the
  // nested txn itself being one of the parent's ops. Checked on etcd 3.4.23: 100 ranges plus a
  // nested txn of 28 ranges → "too many operations in txn request"; with 27 it succeeds.
  // FAILS until txn.ts's checkOpCounts passes `max - opc` down.
  it('gives a nested txn only the ops budget its parent left (etcd: maxTxnOps - opc)', () => {
    // Parent: 3 ops (the nested txn included) of a max of 4, so the nested txn may have 1 op.
    const nested = txnOp([get('x'), get('y')]);
    expect(() => validateTxn(txn([get('a'), get('b'), nested]), 4)).toThrow(TooManyOpsError);
    expect(() => validateTxn(txn([get('a'), get('b'), txnOp([get('x')])]), 4)).not.toThrow();
  });
});

describe('validateTxn: empty keys (ErrEmptyKey)', () => {
  it('rejects an empty key in a compare, an op, or a nested op', () => {
    expect(() => validateTxn(txn([], [], [cmpVersion('', 0)]))).toThrow(EmptyKeyError);
    expect(() => validateTxn(txn([get('')]))).toThrow(EmptyKeyError);
    expect(() => validateTxn(txn([], [put('')]))).toThrow(EmptyKeyError);
    expect(() => validateTxn(txn([del('')]))).toThrow(EmptyKeyError);
    expect(() => validateTxn(txn([txnOp([], [put('')])]))).toThrow(EmptyKeyError);
    expect(() => validateTxn(txn([txnOp([], [], [cmpVersion('', 0)])]))).toThrow(EmptyKeyError);
  });
});

describe('validateTxn: duplicate keys (ErrDuplicateKey)', () => {
  const ok = (t: TxnRequest) => expect(() => validateTxn(t)).not.toThrow();
  const dup = (t: TxnRequest) => expect(() => validateTxn(t)).toThrow(DuplicateKeyError);

  it('rejects the same key put twice in one branch', () => {
    dup(txn([put('a'), put('a')]));
    dup(txn([], [put('a'), get('b'), put('a')]));
  });

  it('lets the success and failure branches of one txn write the same key', () => {
    ok(txn([put('a')], [put('a')]));
  });

  // From-key: etcd's checkIntervals inserts [key, "\0") into its interval tree, an inverted
  // interval that intersects nothing, so etcd 3.4.23 accepts `put b; delete from a` (and emits PUT
  // and DELETE of b in one revision). txn.ts rejects it, as rpc.proto says a txn may not modify
  // the same key several times — a deliberate deviation.
  it('rejects a put inside a range the same branch deletes: single, range, prefix', () => {
    dup(txn([del('a'), put('a')]));
    dup(txn([put('b'), del('a', 'c')]));
    dup(txn([del('foo', prefixEnd(utf8('foo'))), put('foo/bar')]));
  });

  it('lets a from-key or all-keys delete and a put of a key in it share a txn, as etcd 3.4 does', () => {
    // etcd's checkIntervals takes range_end "\0" literally: [key, "\0") is empty to it.
    ok(txn([del('a', NUL), put('zz')]));
    ok(txn([put('zz'), del('a', NUL)]));
    ok(txn([del('\0', NUL), put('a')]));
    ok(txn([del('a', NUL), txnOp([put('b')])]));
  });

  it('allows puts outside every deleted range, and overlapping deletes', () => {
    ok(txn([del('a', 'c'), put('c')]));
    ok(txn([del('b', NUL), put('a')]));
    ok(txn([del('foo', prefixEnd(utf8('foo'))), put('fop')]));
    ok(txn([del('a', 'c'), del('b', 'd'), del('b')]));
    // A range end <= key deletes nothing, so nothing is duplicated.
    ok(txn([del('c', 'a'), put('b')]));
    // Reads never conflict.
    ok(txn([put('a'), get('a')]));
  });

  it("lets a nested txn's success and failure put the same key", () => {
    ok(txn([txnOp([put('a')], [put('a')])]));
  });

  it('rejects a nested put of a key the outer level puts', () => {
    dup(txn([put('a'), txnOp([put('a')])]));
    dup(txn([txnOp([], [put('a')]), put('a')]));
  });

  it('rejects the same key put by two nested txns', () => {
    dup(txn([txnOp([put('a')]), txnOp([], [put('a')])]));
    // The second txn's failure branch shares a key with the first txn's success branch.
    dup(txn([txnOp([put('a')], [put('b')]), txnOp([put('c')], [put('a')])]));
  });

  it("rejects a nested failure-branch key that collides with an earlier sibling's, even if in its own success too", () => {
    dup(txn([txnOp([put('a')]), txnOp([put('a')], [put('a')])]));
  });

  it('rejects a nested put inside a range the outer level deletes, and an outer put inside a nested delete', () => {
    dup(txn([del('a', 'c'), txnOp([put('b')])]));
    dup(txn([txnOp([], [del('a', 'c')]), put('b')]));
  });

  it('rejects a nested put inside a range an earlier nested txn deletes', () => {
    dup(txn([txnOp([del('a', 'c')]), txnOp([put('b')])]));
  });

  it('checks deeper levels the same way', () => {
    dup(txn([txnOp([txnOp([put('a'), put('a')])])]));
    dup(txn([put('a'), txnOp([txnOp([put('a')])])]));
    ok(txn([txnOp([txnOp([put('a')], [put('a')])], [put('a')])]));
  });
});

describe('isWriteTxn', () => {
  it('is true when any branch, at any depth, puts or deletes', () => {
    expect(isWriteTxn(txn([get('a')], [get('b')]))).toBe(false);
    expect(isWriteTxn(txn([get('a'), txnOp([get('x')])]))).toBe(false);
    expect(isWriteTxn(txn([], [put('a')]))).toBe(true);
    expect(isWriteTxn(txn([del('a')]))).toBe(true);
    expect(isWriteTxn(txn([txnOp([], [txnOp([put('a')])])]))).toBe(true);
  });
});

describe('evaluateCompare', () => {
  const kv = (o: Partial<KeyValue> = {}): KeyValue => ({
    key: utf8('k'),
    value: utf8('m'),
    createRevision: 4 as Revision,
    modRevision: 6 as Revision,
    version: 2,
    lease: 7n,
    ...o,
  });
  const results: CompareResult[] = ['EQUAL', 'NOT_EQUAL', 'GREATER', 'LESS'];
  /** Expected outcome of each result for operand below / equal to / above the stored field. */
  const outcome = {
    below: [false, true, true, false],
    equal: [true, false, false, false],
    above: [false, true, false, true],
  };

  const compares: {
    name: string;
    make: (result: CompareResult, pos: 'below' | 'equal' | 'above') => Compare;
  }[] = [
    {
      name: 'VALUE',
      make: (result, pos) => ({
        target: 'VALUE',
        result,
        key: utf8('k'),
        value: utf8({ below: 'l', equal: 'm', above: 'ma' }[pos]),
      }),
    },
    {
      name: 'VERSION',
      make: (result, pos) => ({
        target: 'VERSION',
        result,
        key: utf8('k'),
        version: { below: 1, equal: 2, above: 3 }[pos],
      }),
    },
    {
      name: 'CREATE',
      make: (result, pos) => ({
        target: 'CREATE',
        result,
        key: utf8('k'),
        createRevision: { below: 3, equal: 4, above: 5 }[pos],
      }),
    },
    {
      name: 'MOD',
      make: (result, pos) => ({
        target: 'MOD',
        result,
        key: utf8('k'),
        modRevision: { below: 5, equal: 6, above: 7 }[pos],
      }),
    },
    {
      name: 'LEASE',
      make: (result, pos) => ({
        target: 'LEASE',
        result,
        key: utf8('k'),
        lease: { below: 6n, equal: 7n, above: 8n }[pos],
      }),
    },
  ];

  for (const { name, make } of compares) {
    it(`${name}: EQUAL / NOT_EQUAL / GREATER / LESS compare the stored field with the operand`, () => {
      for (const pos of ['below', 'equal', 'above'] as const) {
        results.forEach((result, i) => {
          expect(evaluateCompare(make(result, pos), [kv()]), `${result} ${pos}`).toBe(outcome[pos][i]);
        });
      }
    });
  }

  it('a missing key compares as version, create, mod and lease 0', () => {
    const missing: Compare[] = [
      { target: 'VERSION', result: 'EQUAL', key: utf8('k'), version: 0 },
      { target: 'CREATE', result: 'EQUAL', key: utf8('k'), createRevision: 0 },
      { target: 'MOD', result: 'LESS', key: utf8('k'), modRevision: 1 },
      { target: 'LEASE', result: 'EQUAL', key: utf8('k'), lease: 0n },
    ];
    for (const c of missing) expect(evaluateCompare(c, []), c.target).toBe(true);
    expect(evaluateCompare({ target: 'VERSION', result: 'GREATER', key: utf8('k'), version: 0 }, [])).toBe(
      false,
    );
  });

  it('a VALUE compare on a missing key always fails, whatever the result', () => {
    for (const result of results) {
      expect(evaluateCompare({ target: 'VALUE', result, key: utf8('k'), value: utf8('') }, [])).toBe(false);
      expect(evaluateCompare({ target: 'VALUE', result, key: utf8('k'), value: utf8('x') }, [])).toBe(false);
    }
  });

  it('over a range, every key must satisfy the compare', () => {
    const c: Compare = {
      target: 'VERSION',
      result: 'GREATER',
      key: utf8('a'),
      rangeEnd: utf8('z'),
      version: 1,
    };
    expect(evaluateCompare(c, [kv({ version: 2 }), kv({ version: 3 })])).toBe(true);
    expect(evaluateCompare(c, [kv({ version: 2 }), kv({ version: 1 })])).toBe(false);
  });

  it('compares values bytewise (unsigned), so "\\xff" is greater than "a"', () => {
    const c: Compare = { target: 'VALUE', result: 'GREATER', key: utf8('k'), value: utf8('a') };
    expect(evaluateCompare(c, [kv({ value: new Uint8Array([0xff]) })])).toBe(true);
  });
});

describe('a txn compare on one key version or revision (read from the index, not the key-value)', () => {
  it('decides as the compare of the key-value a range returns would, over random histories', async () => {
    const store = await KVStore.open(new MemoryBackend());
    const keys = ['a', 'b', 'c'].map(utf8);
    let seed = 7;
    // An LCG's high bits (its low bits repeat with short periods).
    const rand = (n: number) => {
      seed = (Math.imul(seed, 1_103_515_245) + 12_345) >>> 0;
      return Math.floor((seed / 2 ** 32) * n);
    };
    const targets = ['VERSION', 'CREATE', 'MOD'] as const;
    const results: CompareResult[] = ['EQUAL', 'NOT_EQUAL', 'GREATER', 'LESS'];
    let checked = 0;
    for (let step = 0; step < 400; step++) {
      const key = keys[rand(3)]!;
      if (rand(4) === 0) store.deleteRange({ key });
      else store.put({ key, value: utf8(`v${step}`) });
      for (const k of keys) {
        const target = targets[rand(3)]!;
        // Near the current revision half the time, where the key's revisions are.
        const operand = rand(2) === 0 ? store.revision - rand(12) : rand(store.revision + 2);
        const c = {
          key: k,
          target,
          result: results[rand(4)]!,
          version: operand,
          createRevision: operand as Revision,
          modRevision: operand as Revision,
        } as Compare;
        const expected = evaluateCompare(c, store.range({ key: k }).kvs);
        const before = store.revision;
        const r = store.txn({ compare: [c], success: [], failure: [] });
        expect(r.succeeded, `${target} ${c.result} ${operand} at revision ${before}`).toBe(expected);
        checked++;
      }
    }
    expect(checked).toBe(1200);
  });
});
