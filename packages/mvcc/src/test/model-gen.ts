/**
 * The model-based property test's request generator: a seeded PRNG and random Range / Put /
 * DeleteRange / Txn / Compact requests over a small keyspace full of edge cases (empty-ish,
 * 0xff-suffixed and prefix keys), sized so that conflicts, nested txns and compacted reads are
 * common. Test-only.
 */

import type {
  Compare,
  CompareResult,
  DeleteRangeRequest,
  PutRequest,
  RangeRequest,
  RequestOp,
  SortOrder,
  SortTarget,
  TxnRequest,
} from '../types.js';
import type { KVModel } from './model.js';

/** The bytes of a string made by `bin` (or any string of char codes 0–255). */
export function bytes(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

// ---- random requests ---------------------------------------------------------------------------

/** mulberry32: a tiny seedable PRNG, so a failing seed replays exactly. */
export class Rand {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  /** A float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  /** An integer in [lo, hi]. */
  between(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
}

/**
 * Twelve keys with shared prefixes, 0x00 and 0xff bytes (at most 12, so Go's sort in etcd is an
 * insertion sort and ties are stable, as the model assumes).
 */
const KEYS = ['\x00', 'a', 'aa', 'ab', 'abc', 'b', 'ba', 'c', 'c\xff', 'c\xff\xff', 'd', '\xff'];
const PREFIXES = ['a', 'ab', 'b', 'c', 'c\xff', '\xff'];
/** Few values, so VALUE compares and sorts see ties. */
const VALUES = ['', 'x', 'y', 'xy', '\xff'];
/** A lease that does not exist (no lessor): its puts fail with LeaseNotFoundError. */
const MISSING_LEASE = 7n;
const NUL = new Uint8Array([0]);

/** etcd's prefix range end, written out here so the model does not borrow bytes.ts. */
function prefixRangeEnd(prefix: string): Uint8Array {
  let p = prefix;
  while (p.length > 0 && p.charCodeAt(p.length - 1) === 0xff) p = p.slice(0, -1);
  if (p.length === 0) return NUL;
  return bytes(p.slice(0, -1) + String.fromCharCode(p.charCodeAt(p.length - 1) + 1));
}

/** A random (key, rangeEnd): a single key, [k1, k2) (maybe empty or inverted), a prefix, from-key, or all. */
function genSpan(rand: Rand, single = 0.4): { key: Uint8Array; rangeEnd?: Uint8Array } {
  const x = rand.next();
  if (x < single) return { key: bytes(rand.pick(KEYS)) };
  if (x < single + 0.25) return { key: bytes(rand.pick(KEYS)), rangeEnd: bytes(rand.pick(KEYS)) };
  if (x < single + 0.45) {
    const p = rand.pick(PREFIXES);
    return { key: bytes(p), rangeEnd: prefixRangeEnd(p) };
  }
  if (x < single + 0.55) return { key: NUL, rangeEnd: NUL };
  return { key: bytes(rand.pick(KEYS)), rangeEnd: NUL };
}

/** A random revision around the readable window, sometimes just outside it. */
function genRevision(rand: Rand, model: KVModel): number {
  if (rand.chance(0.5)) return 0;
  return rand.between(Math.max(1, model.compacted - 1), model.revision + 1);
}

/** A random RangeRequest; `revision` is left out when the caller sets it. */
export function genRange(rand: Rand, model: KVModel, withRevision = true): RangeRequest {
  const upTo = () => rand.between(1, model.revision);
  return {
    ...genSpan(rand, 0.25),
    ...(rand.chance(0.35) ? { limit: rand.between(1, 4) } : {}),
    ...(rand.chance(0.5) ? { sortOrder: rand.pick<SortOrder>(['NONE', 'ASCEND', 'DESCEND']) } : {}),
    ...(rand.chance(0.5)
      ? { sortTarget: rand.pick<SortTarget>(['KEY', 'VERSION', 'CREATE', 'MOD', 'VALUE']) }
      : {}),
    ...(rand.chance(0.1) ? { countOnly: true } : {}),
    ...(rand.chance(0.15) ? { keysOnly: true } : {}),
    ...(withRevision && rand.chance(0.3) ? { revision: genRevision(rand, model) } : {}),
    ...(rand.chance(0.1) ? { minModRevision: upTo() } : {}),
    ...(rand.chance(0.1) ? { maxModRevision: upTo() } : {}),
    ...(rand.chance(0.1) ? { minCreateRevision: upTo() } : {}),
    ...(rand.chance(0.1) ? { maxCreateRevision: upTo() } : {}),
  };
}

/**
 * A random PutRequest. Never ignore_value with a value or ignore_lease with a lease (v3rpc
 * validation, covered by kvstore.test.ts), nor a missing lease together with ignore_* (whose error
 * order differs between etcd's Put and checkTxn; also covered there).
 */
function genPut(rand: Rand): PutRequest {
  const key = bytes(rand.pick(KEYS));
  const prevKv = rand.chance(0.5);
  const x = rand.next();
  if (x < 0.08) return { key, ignoreValue: true, prevKv };
  if (x < 0.14) return { key, value: bytes(rand.pick(VALUES)), ignoreLease: true, prevKv };
  if (x < 0.18) return { key, value: bytes(rand.pick(VALUES)), lease: MISSING_LEASE, prevKv };
  return { key, value: bytes(rand.pick(VALUES)), prevKv };
}

function genDelete(rand: Rand, single = 0.4): DeleteRangeRequest {
  return { ...genSpan(rand, single), prevKv: rand.chance(0.5) };
}

function genCompare(rand: Rand, model: KVModel): Compare {
  const base = {
    result: rand.pick<CompareResult>(['EQUAL', 'NOT_EQUAL', 'GREATER', 'LESS']),
    ...genSpan(rand, 0.7),
  };
  const rev = () => rand.between(0, model.revision + 1);
  switch (rand.int(5)) {
    case 0:
      return { ...base, target: 'VALUE', value: bytes(rand.pick(VALUES)) };
    case 1:
      return { ...base, target: 'VERSION', version: rand.between(0, 3) };
    case 2:
      return { ...base, target: 'CREATE', createRevision: rev() };
    case 3:
      return { ...base, target: 'MOD', modRevision: rev() };
    default:
      return { ...base, target: 'LEASE', lease: rand.chance(0.8) ? 0n : MISSING_LEASE };
  }
}

function genTxn(rand: Rand, model: KVModel, depth: number): TxnRequest {
  const ops = (): RequestOp[] =>
    Array.from({ length: rand.between(0, 3) }, (): RequestOp => {
      const x = rand.next();
      if (x < 0.25) return { type: 'range', request: genRange(rand, model) };
      if (x < 0.65) return { type: 'put', request: genPut(rand) };
      if (x < 0.85 || depth >= 2) return { type: 'deleteRange', request: genDelete(rand, 0.7) };
      return { type: 'txn', request: genTxn(rand, model, depth + 1) };
    });
  return {
    compare: Array.from({ length: rand.between(0, 2) }, () => genCompare(rand, model)),
    success: ops(),
    failure: ops(),
  };
}

/** One step of a run. */
export type ModelOp =
  | { readonly type: 'range'; readonly request: RangeRequest }
  | { readonly type: 'put'; readonly request: PutRequest }
  | { readonly type: 'deleteRange'; readonly request: DeleteRangeRequest }
  | { readonly type: 'txn'; readonly request: TxnRequest }
  /** `wait`: await the physical removal before the next step (otherwise it runs interleaved). */
  | { readonly type: 'compact'; readonly revision: number; readonly wait: boolean };

/** A random step, weighted towards writes. */
export function genOp(rand: Rand, model: KVModel): ModelOp {
  const x = rand.next();
  if (x < 0.1) return { type: 'range', request: genRange(rand, model) };
  if (x < 0.45) return { type: 'put', request: genPut(rand) };
  if (x < 0.6) return { type: 'deleteRange', request: genDelete(rand) };
  if (x < 0.95) return { type: 'txn', request: genTxn(rand, model, 0) };
  const lo = Math.max(0, model.compacted - 1);
  return { type: 'compact', revision: rand.between(lo, model.revision + 1), wait: rand.chance(0.5) };
}
