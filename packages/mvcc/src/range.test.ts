/**
 * The apply-layer half of Range (etcd's executeRange): how many keys to read, revision filters,
 * sorting (including the rule that a non-KEY target with order NONE sorts ascending) and limit.
 *
 * Fixture, in key order (key value create mod version):
 *   a  "z"  1 5 3
 *   b  "x"  2 2 1
 *   c  "y"  3 6 2
 *   d  "x"  4 4 1
 */

import { describe, expect, it } from 'vitest';
import { utf8 } from './bytes.js';
import { applyLimit, filterByRevisions, readLimit, sortKeyValues } from './range.js';
import type { KeyValue, RangeRequest, Revision, SortOrder, SortTarget } from './types.js';

function kv(key: string, value: string, create: number, mod: number, version: number): KeyValue {
  return {
    key: utf8(key),
    value: utf8(value),
    createRevision: create as Revision,
    modRevision: mod as Revision,
    version,
    lease: 0n,
  };
}

const KVS: KeyValue[] = [
  kv('a', 'z', 1, 5, 3),
  kv('b', 'x', 2, 2, 1),
  kv('c', 'y', 3, 6, 2),
  kv('d', 'x', 4, 4, 1),
];
const keys = (kvs: readonly KeyValue[]) => kvs.map((k) => new TextDecoder().decode(k.key)).join('');
const req = (o: Omit<RangeRequest, 'key'> = {}): RangeRequest => ({ key: utf8('a'), ...o });

describe('readLimit', () => {
  it('reads limit+1 keys so `more` can be told, or everything without a limit', () => {
    expect(readLimit(req())).toBe(0);
    expect(readLimit(req({ limit: 0 }))).toBe(0);
    expect(readLimit(req({ limit: 2 }))).toBe(3);
  });

  it('reads everything when the result is sorted or filtered before the limit', () => {
    expect(readLimit(req({ limit: 2, sortOrder: 'ASCEND' }))).toBe(0);
    expect(readLimit(req({ limit: 2, sortOrder: 'DESCEND' }))).toBe(0);
    expect(readLimit(req({ limit: 2, minModRevision: 1 }))).toBe(0);
    expect(readLimit(req({ limit: 2, maxModRevision: 1 }))).toBe(0);
    expect(readLimit(req({ limit: 2, minCreateRevision: 1 }))).toBe(0);
    expect(readLimit(req({ limit: 2, maxCreateRevision: 1 }))).toBe(0);
  });

  it('as etcd, a non-KEY target with order NONE still reads only limit+1 (then sorts those)', () => {
    expect(readLimit(req({ limit: 2, sortTarget: 'VERSION' }))).toBe(3);
  });
});

describe('filterByRevisions', () => {
  it('keeps everything when no bound is set (0 = unbounded)', () => {
    expect(filterByRevisions(req(), KVS)).toBe(KVS);
    expect(filterByRevisions(req({ minModRevision: 0, maxCreateRevision: 0 }), KVS)).toBe(KVS);
  });

  it('applies inclusive min/max bounds on mod and create revisions', () => {
    expect(keys(filterByRevisions(req({ minModRevision: 5 }), KVS))).toBe('ac');
    expect(keys(filterByRevisions(req({ maxModRevision: 4 }), KVS))).toBe('bd');
    expect(keys(filterByRevisions(req({ minCreateRevision: 2 }), KVS))).toBe('bcd');
    expect(keys(filterByRevisions(req({ maxCreateRevision: 2 }), KVS))).toBe('ab');
    expect(keys(filterByRevisions(req({ minModRevision: 3, maxCreateRevision: 3 }), KVS))).toBe('ac');
  });
});

describe('sortKeyValues', () => {
  const cases: [SortTarget, SortOrder, string][] = [
    ['KEY', 'NONE', 'abcd'],
    ['KEY', 'ASCEND', 'abcd'],
    ['KEY', 'DESCEND', 'dcba'],
    // Ties keep key order in both directions.
    ['VERSION', 'ASCEND', 'bdca'],
    ['VERSION', 'DESCEND', 'acbd'],
    ['CREATE', 'ASCEND', 'abcd'],
    ['CREATE', 'DESCEND', 'dcba'],
    ['MOD', 'ASCEND', 'bdac'],
    ['MOD', 'DESCEND', 'cadb'],
    ['VALUE', 'ASCEND', 'bdca'],
    ['VALUE', 'DESCEND', 'acbd'],
    // etcd: a non-KEY target with order NONE sorts ascending.
    ['VERSION', 'NONE', 'bdca'],
    ['CREATE', 'NONE', 'abcd'],
    ['MOD', 'NONE', 'bdac'],
    ['VALUE', 'NONE', 'bdca'],
  ];
  it.each(cases)('target %s order %s → %s', (sortTarget, sortOrder, want) => {
    expect(keys(sortKeyValues(req({ sortTarget, sortOrder }), KVS))).toBe(want);
  });

  it('defaults to KEY / NONE: the index order, unchanged', () => {
    expect(sortKeyValues(req(), KVS)).toBe(KVS);
  });

  it('does not reorder its input', () => {
    const input = KVS.slice();
    sortKeyValues(req({ sortTarget: 'MOD', sortOrder: 'DESCEND' }), input);
    expect(keys(input)).toBe('abcd');
  });
});

describe('applyLimit', () => {
  it('cuts to `limit` and reports more only when something was cut', () => {
    expect(applyLimit(req({ limit: 2 }), KVS)).toEqual({ kvs: KVS.slice(0, 2), more: true });
    expect(applyLimit(req({ limit: 4 }), KVS)).toEqual({ kvs: KVS, more: false });
    expect(applyLimit(req({ limit: 5 }), KVS)).toEqual({ kvs: KVS, more: false });
    expect(applyLimit(req({ limit: 0 }), KVS)).toEqual({ kvs: KVS, more: false });
    expect(applyLimit(req(), [])).toEqual({ kvs: [], more: false });
  });
});
