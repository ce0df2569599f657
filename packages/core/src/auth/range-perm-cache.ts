/**
 * Range permission checks (etcd's `range_perm_cache.go`): a user's key permissions, taken from all
 * of its roles, merged into sorted disjoint intervals per kind (read, write), so one binary search
 * answers "is [key, rangeEnd) entirely covered by what this user may read?".
 *
 * Worked example. Roles grant READ on 'a' (single key), READ on ['a\0', 'c') and READ from 'x':
 *
 *     'a' → ['a', 'a\0')   ['a\0', 'c')   ['x', ∞)
 *     merged:  ['a', 'c')                 ['x', ∞)
 *
 * Range ['a', 'b') is covered (inside the first interval); ['b', 'd') is not (the gap [c, x));
 * a from-key read from 'y' is covered by ['x', ∞). etcd uses an interval tree (`adt`) for the same
 * union semantics.
 * Pure. No I/O.
 */

import { compareBytes } from '@tsetcd/mvcc';
import type { Permission } from './types.js';

/** A half-open key interval [start, end); `end` null = to the end of the keyspace. */
export interface KeyInterval {
  readonly start: Uint8Array;
  readonly end: Uint8Array | null;
}

/** The merged intervals a user may read and may write. Invariant: each list sorted and disjoint. */
export interface UnifiedRangePermissions {
  readonly read: readonly KeyInterval[];
  readonly write: readonly KeyInterval[];
}

const FROM_KEY = 0;

function isFromKey(rangeEnd: Uint8Array): boolean {
  return rangeEnd.length === 1 && rangeEnd[0] === FROM_KEY;
}

function pointEnd(key: Uint8Array): Uint8Array {
  const end = new Uint8Array(key.length + 1);
  end.set(key);
  return end; // key + '\0': the smallest key after `key`
}

/** The interval a (key, rangeEnd) pair denotes, in etcd's range encoding. */
export function keyInterval(key: Uint8Array, rangeEnd: Uint8Array): KeyInterval {
  if (rangeEnd.length === 0) return { start: key, end: pointEnd(key) };
  if (isFromKey(rangeEnd)) return { start: key, end: null };
  return { start: key, end: rangeEnd };
}

function endCompare(a: Uint8Array | null, b: Uint8Array | null): number {
  if (a === null) return b === null ? 0 : 1;
  if (b === null) return -1;
  return compareBytes(a, b);
}

function isEmpty(i: KeyInterval): boolean {
  return i.end !== null && compareBytes(i.end, i.start) <= 0;
}

/**
 * Unites intervals into sorted disjoint ones. Overlapping and adjacent ones ([a, b) and [b, c))
 * fuse; empty ones (end <= start) are dropped.
 */
export function mergeIntervals(intervals: Iterable<KeyInterval>): KeyInterval[] {
  const sorted = [...intervals].filter((i) => !isEmpty(i)).sort((a, b) => compareBytes(a.start, b.start));
  const out: KeyInterval[] = [];
  for (const next of sorted) {
    const last = out[out.length - 1];
    // Adjacent counts as touching: next.start <= last.end.
    if (last !== undefined && (last.end === null || compareBytes(next.start, last.end) <= 0)) {
      if (endCompare(next.end, last.end) > 0) out[out.length - 1] = { start: last.start, end: next.end };
    } else {
      out.push(next);
    }
  }
  return out;
}

/** Merges a user's permissions (from all its roles) into read and write intervals. */
export function unifyPermissions(perms: Iterable<Permission>): UnifiedRangePermissions {
  const read: KeyInterval[] = [];
  const write: KeyInterval[] = [];
  for (const p of perms) {
    const ivl = keyInterval(p.key, p.rangeEnd);
    if (p.permType !== 'WRITE') read.push(ivl);
    if (p.permType !== 'READ') write.push(ivl);
  }
  return { read: mergeIntervals(read), write: mergeIntervals(write) };
}

/**
 * Whether the keys (key, rangeEnd) names are all inside `merged` (sorted, disjoint). Because the
 * intervals are merged, the one holding `key` must hold the whole request; a request with
 * rangeEnd <= key (it selects nothing) still needs `key` itself covered.
 */
export function isCovered(merged: readonly KeyInterval[], key: Uint8Array, rangeEnd: Uint8Array): boolean {
  // Binary search: the last interval with start <= key.
  let lo = 0;
  let hi = merged.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareBytes(merged[mid]!.start, key) <= 0) lo = mid + 1;
    else hi = mid;
  }
  const hit = merged[lo - 1];
  if (hit === undefined) return false;
  if (hit.end !== null && compareBytes(key, hit.end) >= 0) return false;
  const want = keyInterval(key, rangeEnd);
  if (want.end !== null && compareBytes(want.end, key) <= 0) return true;
  return endCompare(want.end, hit.end) <= 0;
}
