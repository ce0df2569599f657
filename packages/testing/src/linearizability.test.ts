/**
 * The checker on hand-written histories: linearizable ones (sequential, overlapping, ambiguous
 * ops that took effect and ones that did not) pass; broken ones fail with a small counterexample
 * — so we know it can fail. One test per kind of violation.
 */

import { describe, expect, it } from 'vitest';
import type { History, Operation } from './history.js';
import { checkLinearizability } from './linearizability.js';
import { simulateHistory } from './simulate.js';
import { kv, op } from './test-helpers.js';

function illegal(h: History) {
  const r = checkLinearizability(h);
  if (r.result !== 'illegal') throw new Error(`expected a violation, got ${r.result}`);
  return r.counterexample;
}

describe('linearizable histories pass', () => {
  it('a sequential history of puts, gets, deletes, txns and leases', () => {
    const h: Operation[] = [
      op(1, 0, 1, { type: 'put', key: 'a', value: '1' }, { type: 'put', revision: 2 }),
      op(1, 2, 3, { type: 'get', key: 'a' }, { type: 'get', revision: 2, kvs: [kv('a', '1', 2, 2, 1)] }),
      op(
        1,
        4,
        5,
        { type: 'put', key: 'a', value: '2', prevKv: true },
        { type: 'put', revision: 3, prevKv: kv('a', '1', 2, 2, 1) },
      ),
      op(1, 6, 7, { type: 'delete', key: 'a' }, { type: 'delete', revision: 4, deleted: 1 }),
      op(1, 8, 9, { type: 'delete', key: 'a' }, { type: 'delete', revision: 4, deleted: 0 }),
      op(
        1,
        10,
        11,
        {
          type: 'txn',
          compare: [{ key: 'a', target: 'VERSION', result: 'EQUAL', operand: 0 }],
          success: [{ type: 'put', key: 'a', value: 'new' }],
          failure: [],
        },
        { type: 'txn', revision: 5, succeeded: true, responses: [{ type: 'put' }] },
      ),
      op(1, 12, 13, { type: 'leaseGrant', id: 9n, ttl: 5 }, { type: 'leaseGrant', revision: 5, id: 9n }),
      op(1, 14, 15, { type: 'put', key: 'b', value: 'x', lease: 9n }, { type: 'put', revision: 6 }),
      op(1, 16, 17, { type: 'leaseRevoke', id: 9n }, { type: 'leaseRevoke', revision: 7 }),
      op(
        1,
        18,
        19,
        { type: 'get', key: '', prefix: true },
        { type: 'get', revision: 7, kvs: [kv('a', 'new', 5, 5, 1)] },
      ),
    ];
    expect(checkLinearizability(h).result).toBe('ok');
  });

  it('an unanswered lease revoke whose only trace is the keys it deleted (found by the crash test)', () => {
    const h: Operation[] = [
      op(1, 0, 1, { type: 'leaseGrant', id: 5n, ttl: 60 }, { type: 'leaseGrant', revision: 1, id: 5n }),
      op(1, 2, 3, { type: 'put', key: 'a/l', value: 'x', lease: 5n }, { type: 'put', revision: 2 }),
      { client: 1, input: { type: 'leaseRevoke', id: 5n }, call: 4 },
      op(2, 10, 11, { type: 'get', key: 'a', prefix: true }, { type: 'get', revision: 3, kvs: [] }),
    ];
    expect(checkLinearizability(h).result).toBe('ok');
  });

  it('overlapping ops ordered by their revisions, not by their calls', () => {
    const h = [
      op(1, 0, 10, { type: 'put', key: 'a', value: 'x' }, { type: 'put', revision: 3 }),
      op(2, 1, 9, { type: 'put', key: 'a', value: 'y' }, { type: 'put', revision: 2 }),
      op(3, 2, 4, { type: 'get', key: 'a' }, { type: 'get', revision: 1, kvs: [] }),
      op(4, 3, 12, { type: 'get', key: 'a' }, { type: 'get', revision: 2, kvs: [kv('a', 'y', 2, 2, 1)] }),
      op(3, 11, 13, { type: 'get', key: 'a' }, { type: 'get', revision: 3, kvs: [kv('a', 'x', 2, 3, 2)] }),
    ];
    expect(checkLinearizability(h).result).toBe('ok');
  });

  it('an ambiguous put that took effect, later than a read that missed it', () => {
    const h = [
      op(1, 0, undefined, { type: 'put', key: 'a', value: '1' }),
      op(2, 5, 6, { type: 'get', key: 'a' }, { type: 'get', revision: 1, kvs: [] }),
      op(2, 10, 11, { type: 'get', key: 'a' }, { type: 'get', revision: 2, kvs: [kv('a', '1', 2, 2, 1)] }),
    ];
    expect(checkLinearizability(h).result).toBe('ok');
  });

  it('an ambiguous put that never took effect', () => {
    const h = [
      op(1, 0, undefined, { type: 'put', key: 'a', value: '1' }),
      op(2, 5, 6, { type: 'put', key: 'b', value: '2' }, { type: 'put', revision: 2 }),
      op(2, 10, 11, { type: 'get', key: 'a' }, { type: 'get', revision: 2, kvs: [] }),
    ];
    expect(checkLinearizability(h).result).toBe('ok');
  });
});

describe('non-linearizable histories fail with a counterexample', () => {
  it('a stale read: a get after a put completed returns the old value', () => {
    const put2 = op(1, 2, 3, { type: 'put', key: 'a', value: '2' }, { type: 'put', revision: 3 });
    const stale = op(
      2,
      4,
      5,
      { type: 'get', key: 'a' },
      { type: 'get', revision: 2, kvs: [kv('a', '1', 2, 2, 1)] },
    );
    const c = illegal([
      op(1, 0, 1, { type: 'put', key: 'a', value: '1' }, { type: 'put', revision: 2 }),
      put2,
      stale,
    ]);
    expect(c.operations).toEqual([put2, stale]);
    expect(c.state.revision).toBe(2);
    expect(c.text).toContain('client 2: get a -> rev 2 [a="1"@c2/m2/v1]');
  });

  it('a lost write: an acknowledged put is never visible', () => {
    const put = op(1, 0, 1, { type: 'put', key: 'a', value: '1' }, { type: 'put', revision: 2 });
    const putB = op(1, 2, 3, { type: 'put', key: 'b', value: '1' }, { type: 'put', revision: 3 });
    const get = op(2, 4, 5, { type: 'get', key: 'a' }, { type: 'get', revision: 3, kvs: [] });
    const c = illegal([put, putB, get]);
    expect(c.operations).toEqual([get]);
    expect(c.state.keys.get('a')).toEqual(kv('a', '1', 2, 2, 1));
  });

  it('a write visible before it was invoked', () => {
    const get = op(
      2,
      0,
      1,
      { type: 'get', key: 'a' },
      { type: 'get', revision: 2, kvs: [kv('a', '1', 2, 2, 1)] },
    );
    const put = op(1, 2, 3, { type: 'put', key: 'a', value: '1' }, { type: 'put', revision: 2 });
    // The put was called after the get returned: the get alone, from the empty store, is the window.
    const c = illegal([get, put]);
    expect(c.operations).toEqual([get]);
    expect(c.state.revision).toBe(1);
  });

  it('the revision going backwards', () => {
    const h = [
      op(1, 0, 1, { type: 'put', key: 'a', value: '1' }, { type: 'put', revision: 2 }),
      op(2, 2, 3, { type: 'get', key: 'b' }, { type: 'get', revision: 2, kvs: [] }),
      op(2, 4, 5, { type: 'get', key: 'b' }, { type: 'get', revision: 1, kvs: [] }),
    ];
    expect(illegal(h).operations).toContain(h[2]);
  });

  it('a txn that succeeded though its compare could not hold', () => {
    const txn = op(
      2,
      2,
      3,
      {
        type: 'txn',
        compare: [{ key: 'a', target: 'VALUE', result: 'EQUAL', value: '2' }],
        success: [{ type: 'put', key: 'a', value: '3' }],
        failure: [],
      },
      { type: 'txn', revision: 3, succeeded: true, responses: [{ type: 'put' }] },
    );
    const c = illegal([
      op(1, 0, 1, { type: 'put', key: 'a', value: '1' }, { type: 'put', revision: 2 }),
      txn,
    ]);
    expect(c.operations).toEqual([txn]);
    expect(c.text).toContain('txn if value(a) == "2" then put a="3"');
  });

  it('two writes with the same revision', () => {
    const a = op(1, 0, 1, { type: 'put', key: 'a', value: '1' }, { type: 'put', revision: 2 });
    const b = op(2, 2, 3, { type: 'put', key: 'b', value: '1' }, { type: 'put', revision: 2 });
    expect(illegal([a, b]).operations).toContain(b);
  });

  it('a put whose answered prevKv was never the value', () => {
    const h = [
      op(1, 0, 1, { type: 'put', key: 'a', value: '1' }, { type: 'put', revision: 2 }),
      op(
        1,
        2,
        3,
        { type: 'put', key: 'a', value: '2', prevKv: true },
        { type: 'put', revision: 3, prevKv: null },
      ),
    ];
    expect(illegal(h).operations).toEqual([h[1]]);
  });
});

describe('the time budget', () => {
  it('answers unknown, never ok, when the budget runs out', () => {
    const h = simulateHistory({ operations: 3_000, clients: 10, keys: 5, seed: 3 });
    let t = 0;
    const r = checkLinearizability(h, { timeoutMs: 10, now: () => (t += 1) });
    expect(r.result).toBe('unknown');
  });
});
