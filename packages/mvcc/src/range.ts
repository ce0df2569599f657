/**
 * The parts of a Range that etcd's apply layer does after reading the index: which requests must
 * read every key before limiting (sorting and revision filters), the filters, the sort, and the
 * limit with its `more` flag. Pure.
 */

import { compareBytes } from './bytes.js';
import type { KeyValue, RangeRequest, SortOrder } from './types.js';

/**
 * How many keys to read from the index: everything when the result is sorted or filtered first,
 * otherwise one more than `limit` so `more` can be told.
 */
export function readLimit(req: RangeRequest): number {
  const limit = req.limit ?? 0;
  if (
    (req.sortOrder ?? 'NONE') !== 'NONE' ||
    (req.minModRevision ?? 0) !== 0 ||
    (req.maxModRevision ?? 0) !== 0 ||
    (req.minCreateRevision ?? 0) !== 0 ||
    (req.maxCreateRevision ?? 0) !== 0
  ) {
    return 0;
  }
  return limit > 0 ? limit + 1 : 0;
}

/** Drops key-values outside the requested mod/create revision bounds (0 = unbounded). */
export function filterByRevisions(req: RangeRequest, kvs: KeyValue[]): KeyValue[] {
  const minMod = req.minModRevision ?? 0;
  const maxMod = req.maxModRevision ?? 0;
  const minCreate = req.minCreateRevision ?? 0;
  const maxCreate = req.maxCreateRevision ?? 0;
  if (minMod === 0 && maxMod === 0 && minCreate === 0 && maxCreate === 0) return kvs;
  return kvs.filter(
    (kv) =>
      (maxMod === 0 || kv.modRevision <= maxMod) &&
      (minMod === 0 || kv.modRevision >= minMod) &&
      (maxCreate === 0 || kv.createRevision <= maxCreate) &&
      (minCreate === 0 || kv.createRevision >= minCreate),
  );
}

/**
 * Sorts as etcd: a non-KEY target with order NONE sorts ascending (the index already returns
 * keys ascending). The sort is stable, so equal values stay in key order.
 */
export function sortKeyValues(req: RangeRequest, kvs: KeyValue[]): KeyValue[] {
  const target = req.sortTarget ?? 'KEY';
  let order: SortOrder = req.sortOrder ?? 'NONE';
  if (target !== 'KEY' && order === 'NONE') order = 'ASCEND';
  if (order === 'NONE') return kvs;
  let cmp: (a: KeyValue, b: KeyValue) => number;
  switch (target) {
    case 'KEY':
      cmp = (a, b) => compareBytes(a.key, b.key);
      break;
    case 'VERSION':
      cmp = (a, b) => a.version - b.version;
      break;
    case 'CREATE':
      cmp = (a, b) => a.createRevision - b.createRevision;
      break;
    case 'MOD':
      cmp = (a, b) => a.modRevision - b.modRevision;
      break;
    case 'VALUE':
      cmp = (a, b) => compareBytes(a.value, b.value);
      break;
  }
  const sorted = kvs.slice().sort(cmp);
  if (order === 'DESCEND') {
    // Reverse while keeping equal elements in key order, as a stable descending sort would.
    return kvs.slice().sort((a, b) => cmp(b, a));
  }
  return sorted;
}

/** Applies `limit`: returns the kept key-values and whether any were cut. */
export function applyLimit(req: RangeRequest, kvs: KeyValue[]): { kvs: KeyValue[]; more: boolean } {
  const limit = req.limit ?? 0;
  if (limit > 0 && kvs.length > limit) return { kvs: kvs.slice(0, limit), more: true };
  return { kvs, more: false };
}
