/**
 * The KV model against etcd's rules: which requests take a revision, what put / delete / txn
 * answer, compares on missing keys, and lease revocation deleting keys in one revision.
 */

import { describe, expect, it } from 'vitest';
import { kvState, step } from './kv-model.js';
import { kv } from './test-helpers.js';

describe('the KV model', () => {
  it('takes one revision per put, none for a get or a delete of nothing', () => {
    let s = kvState();
    expect(s.revision).toBe(1);
    s = step(s, { type: 'put', key: 'a', value: '1' }).state;
    const second = step(s, { type: 'put', key: 'a', value: '2', prevKv: true });
    expect(second.output).toEqual({ type: 'put', revision: 3, prevKv: kv('a', '1', 2, 2, 1) });
    s = second.state;
    expect(step(s, { type: 'get', key: 'a' }).output).toEqual({
      type: 'get',
      revision: 3,
      kvs: [kv('a', '2', 2, 3, 2)],
    });
    const none = step(s, { type: 'delete', key: 'zzz' });
    expect(none.state).toBe(s);
    expect(none.output).toEqual({ type: 'delete', revision: 3, deleted: 0 });
  });

  it('runs a txn branch as one revision, and a read-only or failed read txn as none', () => {
    let s = step(kvState(), { type: 'put', key: 'a', value: '1' }).state;
    const t = step(s, {
      type: 'txn',
      compare: [{ key: 'a', target: 'VALUE', result: 'EQUAL', value: '1' }],
      success: [
        { type: 'put', key: 'a', value: '2' },
        { type: 'put', key: 'b', value: '3' },
        { type: 'get', key: 'a' },
      ],
      failure: [],
    });
    expect(t.output).toEqual({
      type: 'txn',
      revision: 3,
      succeeded: true,
      responses: [{ type: 'put' }, { type: 'put' }, { type: 'get', kvs: [kv('a', '2', 2, 3, 2)] }],
    });
    s = t.state;
    const ro = step(s, {
      type: 'txn',
      compare: [{ key: 'missing', target: 'VALUE', result: 'NOT_EQUAL', value: 'x' }],
      success: [{ type: 'put', key: 'a', value: 'never' }],
      failure: [{ type: 'get', key: 'b' }],
    });
    // etcd: a VALUE compare on a missing key fails whatever the operator.
    expect(ro.output).toMatchObject({ revision: 3, succeeded: false });
    expect(ro.state).toBe(s);
  });

  it('compares VERSION, CREATE, MOD and LEASE of a missing key as 0', () => {
    const s = kvState();
    const ok = (c: Parameters<typeof step>[1]) => (step(s, c).output as { succeeded: boolean }).succeeded;
    const txn = (target: 'VERSION' | 'CREATE' | 'MOD') =>
      ({
        type: 'txn',
        compare: [{ key: 'x', target, result: 'EQUAL', operand: 0 }],
        success: [],
        failure: [],
      }) as const;
    expect(ok(txn('VERSION'))).toBe(true);
    expect(ok(txn('CREATE'))).toBe(true);
    expect(ok(txn('MOD'))).toBe(true);
    expect(
      ok({
        type: 'txn',
        compare: [{ key: 'x', target: 'LEASE', result: 'EQUAL', lease: 0n }],
        success: [],
        failure: [],
      }),
    ).toBe(true);
  });

  it('revokes a lease by deleting its keys in one revision; a grant takes none', () => {
    let s = step(kvState(), { type: 'leaseGrant', id: 7n, ttl: 10 }).state;
    expect(s.revision).toBe(1);
    s = step(s, { type: 'put', key: 'a', value: '1', lease: 7n }).state;
    s = step(s, { type: 'put', key: 'b', value: '1', lease: 7n }).state;
    const r = step(s, { type: 'leaseRevoke', id: 7n });
    expect(r.output).toEqual({ type: 'leaseRevoke', revision: 4 });
    expect(r.state.keys.size).toBe(0);
    expect(step(r.state, { type: 'leaseRevoke', id: 7n }).output).toEqual({
      type: 'error',
      code: 'ErrLeaseNotFound',
    });
    expect(step(r.state, { type: 'put', key: 'a', value: '1', lease: 7n }).output).toEqual({
      type: 'error',
      code: 'ErrLeaseNotFound',
    });
  });

  it('gives equal states equal keys whatever the insertion order', () => {
    const a = kvState({ kvs: [kv('x', '1', 2, 2, 1), kv('y', '1', 3, 3, 1)], revision: 3 });
    const b = kvState({ kvs: [kv('y', '1', 3, 3, 1), kv('x', '1', 2, 2, 1)], revision: 3 });
    expect(a.key).toBe(b.key);
  });
});
