/**
 * Txn rules that do not touch storage: validation (etcd's checkTxnRequest/checkIntervals: op
 * count, duplicate keys) and compare evaluation against key-values (etcd's applyCompare). Pure.
 */

import { compareBytes, inRange, keyRange, toBinary } from './bytes.js';
import {
  DuplicateKeyError,
  EmptyKeyError,
  KeyNotFoundError,
  LeaseProvidedError,
  TooManyOpsError,
  ValueProvidedError,
} from './errors.js';
import type { Compare, KeyValue, RequestOp, TxnRequest } from './types.js';
import { NO_LEASE } from './types.js';

/** etcd's default --max-txn-ops. */
export const DEFAULT_MAX_TXN_OPS = 128;

/**
 * Says which ops of a request stand for a RequestOp that carried no request at all (etcd's
 * checkRequestOp refuses one with ErrKeyNotFound at its turn). Only a wire decoder knows them:
 * a TxnRequest built in code has none.
 */
export type IsEmptyOp = (op: RequestOp) => boolean;

/**
 * Rejects a txn with too many ops, a missing key, or a key written twice (recursively), with the
 * error etcd gives first: checkTxnRequest's walk, then checkIntervals.
 */
export function validateTxn(req: TxnRequest, maxTxnOps = DEFAULT_MAX_TXN_OPS, isEmptyOp?: IsEmptyOp): void {
  checkOpCounts(req, maxTxnOps, isEmptyOp);
  checkWrites(req.success);
  checkWrites(req.failure);
}

/**
 * etcd's checkTxnRequest: op counts (a nested txn gets the budget its parent left, max - opc),
 * empty keys, and checkPutRequest's ignore_* rules on every put of both branches.
 */
function checkOpCounts(req: TxnRequest, max: number, isEmptyOp: IsEmptyOp | undefined): void {
  const opc = Math.max(req.compare.length, req.success.length, req.failure.length);
  if (opc > max) throw new TooManyOpsError();
  for (const c of req.compare) if (c.key.length === 0) throw new EmptyKeyError();
  for (const op of [...req.success, ...req.failure]) {
    if (isEmptyOp?.(op)) throw new KeyNotFoundError();
    if (op.type === 'txn') {
      checkOpCounts(op.request, max - opc, isEmptyOp);
      continue;
    }
    if (op.request.key.length === 0) throw new EmptyKeyError();
    if (op.type === 'put') {
      const p = op.request;
      if (p.ignoreValue && (p.value?.length ?? 0) > 0) throw new ValueProvidedError();
      if (p.ignoreLease && (p.lease ?? NO_LEASE) !== NO_LEASE) throw new LeaseProvidedError();
    }
  }
}

type DeleteRange = ReturnType<typeof keyRange>;

/**
 * Collects the puts and deletes of one branch, failing on a key put twice or put inside a range
 * the same branch deletes. The success and failure branches of a nested txn exclude each other,
 * so a key may appear in both.
 *
 * etcd's checkIntervals reads a delete's range_end literally: `[key, "\0")` is an empty interval
 * to it, not "every key from `key`", so a from-key or all-keys delete never collides with a put
 * of the same txn (the ops then run in order: the put lands, or is deleted if it comes first).
 */
function checkWrites(ops: readonly RequestOp[]): { puts: Set<string>; dels: DeleteRange[] } {
  const dels: DeleteRange[] = [];
  for (const op of ops) {
    if (op.type !== 'deleteRange' || isFromKeyEnd(op.request.rangeEnd)) continue;
    dels.push(keyRange(op.request.key, op.request.rangeEnd));
  }
  const deleted = (k: string) => dels.some((d) => inRange(d, k));
  const puts = new Set<string>();
  for (const op of ops) {
    if (op.type !== 'txn') continue;
    const then = checkWrites(op.request.success);
    const otherwise = checkWrites(op.request.failure);
    for (const k of then.puts) {
      if (puts.has(k) || deleted(k)) throw new DuplicateKeyError();
      puts.add(k);
    }
    for (const k of otherwise.puts) {
      if ((puts.has(k) && !then.puts.has(k)) || deleted(k)) throw new DuplicateKeyError();
      puts.add(k);
    }
    dels.push(...then.dels, ...otherwise.dels);
  }
  for (const op of ops) {
    if (op.type !== 'put') continue;
    const k = toBinary(op.request.key);
    if (puts.has(k) || deleted(k)) throw new DuplicateKeyError();
    puts.add(k);
  }
  return { puts, dels };
}

/** Whether range_end is the single zero byte that means "to the end" in a range. */
function isFromKeyEnd(rangeEnd: Uint8Array | undefined): boolean {
  return rangeEnd !== undefined && rangeEnd.length === 1 && rangeEnd[0] === 0;
}

/**
 * Whether a txn may put, in any branch at any depth: what NOSPACE refuses (etcd's costTxn > 0,
 * which counts only top-level puts; nested puts are counted here too).
 */
export function hasPut(req: TxnRequest): boolean {
  const puts = (ops: readonly RequestOp[]): boolean =>
    ops.some((op) => op.type === 'put' || (op.type === 'txn' && hasPut(op.request)));
  return puts(req.success) || puts(req.failure);
}

/** Whether a txn (recursively) contains any put or delete. */
export function isWriteTxn(req: TxnRequest): boolean {
  const writes = (ops: readonly RequestOp[]): boolean =>
    ops.some(
      (op) => op.type === 'put' || op.type === 'deleteRange' || (op.type === 'txn' && isWriteTxn(op.request)),
    );
  return writes(req.success) || writes(req.failure);
}

const ABSENT: KeyValue = {
  key: new Uint8Array(0),
  value: new Uint8Array(0),
  createRevision: 0 as KeyValue['createRevision'],
  modRevision: 0 as KeyValue['modRevision'],
  version: 0,
  lease: NO_LEASE,
};

function sign(n: number | bigint): number {
  return n > 0 ? 1 : n < 0 ? -1 : 0;
}

/** Compares one key-value with a Compare's operand. */
function compareKeyValue(c: Compare, kv: KeyValue): boolean {
  let r: number;
  switch (c.target) {
    case 'VALUE':
      r = sign(compareBytes(kv.value, c.value));
      break;
    case 'VERSION':
      r = sign(kv.version - c.version);
      break;
    case 'CREATE':
      r = sign(kv.createRevision - c.createRevision);
      break;
    case 'MOD':
      r = sign(kv.modRevision - c.modRevision);
      break;
    case 'LEASE':
      r = sign(kv.lease - c.lease);
      break;
  }
  switch (c.result) {
    case 'EQUAL':
      return r === 0;
    case 'NOT_EQUAL':
      return r !== 0;
    case 'GREATER':
      return r > 0;
    case 'LESS':
      return r < 0;
  }
}

/** A compare a single key's index answers: its target is a version or a revision, not the value or lease. */
export function isIndexedCompare(c: Compare): boolean {
  return (
    (c.rangeEnd === undefined || c.rangeEnd.length === 0) &&
    (c.target === 'VERSION' || c.target === 'CREATE' || c.target === 'MOD')
  );
}

/**
 * evaluateCompare for an isIndexedCompare compare, from the key's index facts (undefined: not
 * live), so the key-value is never read and decoded.
 */
export function evaluateIndexedCompare(
  c: Compare,
  live:
    | { readonly ver: number; readonly created: { main: number }; readonly modified: { main: number } }
    | undefined,
): boolean {
  if (live === undefined) return compareKeyValue(c, ABSENT);
  return compareKeyValue(c, {
    ...ABSENT,
    version: live.ver,
    createRevision: live.created.main as KeyValue['createRevision'],
    modRevision: live.modified.main as KeyValue['modRevision'],
  });
}

/**
 * etcd's applyCompare: every key in the compare's range must satisfy it. A missing key compares
 * as zero version/revisions/lease, except for VALUE, which always fails on a missing key.
 */
export function evaluateCompare(c: Compare, kvs: readonly KeyValue[]): boolean {
  if (kvs.length === 0) return c.target === 'VALUE' ? false : compareKeyValue(c, ABSENT);
  return kvs.every((kv) => compareKeyValue(c, kv));
}
