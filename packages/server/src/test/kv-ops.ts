/**
 * Seeded random KV requests for the differential test against a real etcd
 * (kv-differential.integration.test.ts): Put, Range, DeleteRange, Txn and Compact, plus the lease
 * grants and revocations (with explicit IDs, so both servers name a lease alike) that let a put
 * carry a lease. The dozen keys sit at the edges of etcd's byte order: keys that are prefixes of
 * each other, a NUL suffix, bytes >= 0x80, and an all-0xff key whose prefix range is "from key".
 *
 * Requests are objects as grpc-js encodes them from our .proto files (camelCase fields, Buffers,
 * enums by name), with zero fields left out as a Go client leaves them out. The generator reads
 * back what etcd answered (`observe`) only to aim revisions at the current, past, compacted and
 * future ones and lease IDs at granted and missing ones; the same seed gives the same requests
 * as long as etcd gives the same answers.
 *
 * Does not: talk to a server, or predict answers — the test compares two servers, not a model.
 */

import { mulberry32 } from '@tsetcd/testing';

/** A seeded integer source in [0, n). */
export type Rand = (n: number) => number;

/** A seeded integer source in [0, n), from @tsetcd/testing's mulberry32 (tests never use Math.random). */
export function intSource(seed: number): Rand {
  const next = mulberry32(seed);
  return (n) => Math.floor(next() * n);
}

const bytes = (s: string): Buffer => Buffer.from(s, 'latin1');

/**
 * The key space. At most 12 keys, so that etcd's sort (Go's pdqsort, an insertion sort up to 12
 * elements) is stable and its order among equal sort values is defined: key order for ASCEND and
 * for DESCEND alike.
 */
export const KEYS: readonly Buffer[] = [
  'a',
  'ab',
  'abc',
  'b',
  'b\0',
  'ba',
  'c',
  'c\xff',
  'd',
  '\x7f',
  '\x80',
  '\xff\xff',
].map(bytes);

/** Values, the empty one included (a put of it is not a delete). */
const VALUES: readonly Buffer[] = ['', 'x', 'y', 'xy', 'v\0', '\x80'].map(bytes);

/** Lease IDs the test grants and revokes explicitly; at any time some are granted, some not. */
export const LEASE_IDS: readonly string[] = ['7', '8', '9'];

/** Long enough that no lease expires during a run. */
const LEASE_TTL = 3600;

/** etcd's default --max-txn-ops. */
export const MAX_TXN_OPS = 128;

const SORT_ORDERS = ['NONE', 'ASCEND', 'DESCEND'] as const;
const SORT_TARGETS = ['KEY', 'VERSION', 'CREATE', 'MOD', 'VALUE'] as const;
const COMPARE_RESULTS = ['EQUAL', 'GREATER', 'LESS', 'NOT_EQUAL'] as const;
const COMPARE_TARGETS = ['VERSION', 'CREATE', 'MOD', 'VALUE', 'LEASE'] as const;

/** A request object as grpc-js encodes it. */
export type Req = Record<string, unknown>;

/** One request of a run: the service, the method and the request. */
export interface KvOp {
  readonly service: 'KV' | 'Lease';
  readonly method: 'Put' | 'Range' | 'DeleteRange' | 'Txn' | 'Compact' | 'LeaseGrant' | 'LeaseRevoke';
  readonly req: Req;
}

/** What etcd answered to an op, as far as the generator cares. */
export type Outcome =
  | { readonly ok: true; readonly res: { readonly header?: { readonly revision?: string } | null } }
  | { readonly ok: false };

/** The smallest key after every key with prefix `key` (clientv3's GetPrefixRangeEnd). */
export function prefixEnd(key: Buffer): Buffer {
  for (let i = key.length - 1; i >= 0; i--) {
    if (key[i]! < 0xff) {
      const end = Buffer.from(key.subarray(0, i + 1));
      end[i]! += 1;
      return end;
    }
  }
  return bytes('\0');
}

/** Where requests come from: `next()` for each op, `observe()` with etcd's answer to it. */
export class KvOpGenerator {
  private readonly rand: Rand;
  /** etcd's revision after the last answered op. */
  private revision = 1;
  /** The last compaction etcd accepted (0: none; etcd's own "none" is -1, so compact(0) passes). */
  private compactRevision = 0;
  private readonly granted = new Set<string>();
  /** Keys put so far by the txn being built, to keep most random txns free of duplicate keys. */
  private txnPuts = new Set<string>();

  constructor(seed: number) {
    this.rand = intSource(seed);
  }

  /** The next request. */
  next(): KvOp {
    const r = this.rand(100);
    if (r < 26) return kv('Put', this.put());
    if (r < 48) return kv('Range', this.range(true));
    if (r < 56) return kv('DeleteRange', this.deleteRange());
    if (r < 90) return kv('Txn', this.txn(0));
    if (r < 93) return kv('Compact', this.compact());
    if (r < 97)
      return { service: 'Lease', method: 'LeaseGrant', req: { ID: this.leaseId(), TTL: LEASE_TTL } };
    return { service: 'Lease', method: 'LeaseRevoke', req: { ID: this.leaseId() } };
  }

  /** Takes in etcd's answer to `op` (the last op `next()` gave). */
  observe(op: KvOp, outcome: Outcome): void {
    if (!outcome.ok) return;
    const rev = outcome.res.header?.revision;
    if (rev !== undefined) this.revision = Number(rev);
    if (op.method === 'Compact') this.compactRevision = Math.max(0, Number(op.req.revision ?? 0));
    if (op.method === 'LeaseGrant') this.granted.add(String(op.req.ID));
    if (op.method === 'LeaseRevoke') this.granted.delete(String(op.req.ID));
  }

  private chance(percent: number): boolean {
    return this.rand(100) < percent;
  }

  private pick<T>(xs: readonly T[]): T {
    return xs[this.rand(xs.length)]!;
  }

  /** A key of the key space; rarely the empty key (which etcd refuses). */
  private key(): Buffer {
    return this.chance(2) ? bytes('') : this.pick(KEYS);
  }

  /** A granted lease ID two times in three, else any of LEASE_IDS. */
  private leaseId(): string {
    const granted = [...this.granted];
    return granted.length > 0 && this.rand(3) > 0 ? this.pick(granted) : this.pick(LEASE_IDS);
  }

  /** A key and range end: one key, [key, end), a prefix, from key, or every key. */
  private span(): Req {
    const key = this.key();
    switch (this.rand(8)) {
      case 0:
      case 1:
      case 2:
        return { key };
      case 3:
        // Any other key: a range, empty ([k, k)) or inverted (end < key).
        return { key, rangeEnd: this.pick(KEYS) };
      case 4:
      case 5:
        return { key, rangeEnd: prefixEnd(key) };
      case 6:
        return { key, rangeEnd: bytes('\0') };
      default:
        return { key: bytes('\0'), rangeEnd: bytes('\0') };
    }
  }

  /** A revision to read at: current (0 or explicit), past, compacted, future, negative. */
  private readRevision(): number {
    const cur = this.revision;
    const compacted = this.compactRevision;
    switch (this.rand(12)) {
      case 0:
        return cur;
      case 1:
      case 2: {
        const lo = Math.max(compacted, 1);
        return lo + this.rand(cur - lo + 1);
      }
      case 3:
        return compacted > 1 ? 1 + this.rand(compacted - 1) : cur;
      case 4:
        return compacted;
      case 5:
        return cur + 1 + this.rand(2);
      case 6:
        return this.chance(50) ? -1 : cur;
      default:
        return 0;
    }
  }

  /** A revision in [0, current + 1], for filters and compares. */
  private someRevision(): number {
    return this.rand(this.revision + 2);
  }

  private put(): Req {
    const req: Req = { key: this.key() };
    const ignoreValue = this.chance(10);
    const ignoreLease = this.chance(10);
    // Mostly a value, unless ignore_value (then a value only sometimes, which etcd refuses).
    if (ignoreValue ? this.chance(15) : this.chance(95)) req.value = this.pick(VALUES);
    if (ignoreLease ? this.chance(15) : this.chance(20)) req.lease = this.leaseId();
    if (this.chance(35)) req.prevKv = true;
    if (ignoreValue) req.ignoreValue = true;
    if (ignoreLease) req.ignoreLease = true;
    return req;
  }

  /** A Range request; `anyRevision` false keeps it at the current revision mostly (inside txns). */
  private range(anyRevision: boolean): Req {
    const req: Req = this.span();
    if (this.chance(25)) req.limit = this.chance(10) ? -1 : 1 + this.rand(4);
    if (anyRevision || this.chance(15)) {
      const rev = this.readRevision();
      if (rev !== 0) req.revision = rev;
    }
    if (this.chance(40)) {
      const order = this.pick(SORT_ORDERS);
      const target = this.pick(SORT_TARGETS);
      if (order !== 'NONE') req.sortOrder = order;
      if (target !== 'KEY') req.sortTarget = target;
    }
    if (this.chance(15)) req.serializable = true;
    if (this.chance(15)) req.keysOnly = true;
    if (this.chance(10)) req.countOnly = true;
    if (this.chance(10)) req.minModRevision = this.someRevision();
    if (this.chance(10)) req.maxModRevision = this.someRevision();
    if (this.chance(10)) req.minCreateRevision = this.someRevision();
    if (this.chance(10)) req.maxCreateRevision = this.someRevision();
    return req;
  }

  private deleteRange(): Req {
    const req: Req = this.span();
    if (this.chance(50)) req.prevKv = true;
    return req;
  }

  private compact(): Req {
    const cur = this.revision;
    const compacted = this.compactRevision;
    const req: Req = {};
    switch (this.rand(8)) {
      case 0:
      case 1:
        req.revision = cur;
        break;
      case 2:
      case 3:
        // Past and not yet compacted, when there is such a revision.
        req.revision = compacted < cur ? compacted + 1 + this.rand(cur - compacted) : cur;
        break;
      case 4:
        req.revision = compacted > 0 ? 1 + this.rand(compacted) : cur; // already compacted
        break;
      case 5:
        req.revision = cur + 1 + this.rand(3);
        break;
      default:
        req.revision = this.pick([0, -1, Math.max(compacted, 1)]);
    }
    if (this.chance(50)) req.physical = true;
    return req;
  }

  private compare(): Req {
    const target = this.pick(COMPARE_TARGETS);
    const req: Req = { result: this.pick(COMPARE_RESULTS), target, key: this.key() };
    if (this.chance(25)) {
      const r = this.rand(5);
      req.rangeEnd = r < 2 ? prefixEnd(req.key as Buffer) : r < 4 ? this.pick(KEYS) : bytes('\0');
    }
    // Rarely no target_union, or a member that is not the target's (etcd then compares with zero).
    const union = this.chance(6) ? this.pick([...COMPARE_TARGETS, 'NONE' as const]) : target;
    switch (union) {
      case 'VERSION':
        req.version = this.rand(4);
        break;
      case 'CREATE':
        req.createRevision = this.someRevision();
        break;
      case 'MOD':
        req.modRevision = this.someRevision();
        break;
      case 'VALUE':
        req.value = this.pick(VALUES);
        break;
      case 'LEASE':
        req.lease = this.chance(30) ? 0 : this.pick(LEASE_IDS);
        break;
    }
    return req;
  }

  /** A Txn request; `depth` > 0 for a nested one. */
  private txn(depth: number): Req {
    if (depth === 0) this.txnPuts = new Set();
    const flavour = depth === 0 ? this.rand(100) : 100;
    if (flavour < 2) return this.tooManyOps();
    const req: Req = {};
    const compare = times(this.rand(depth === 0 ? 4 : 3), () => this.compare());
    const success = times(this.rand(depth === 0 ? 5 : 3), () => this.requestOp(depth));
    const failure = times(this.rand(depth === 0 ? 4 : 3), () => this.requestOp(depth));
    const branch = this.chance(50) ? success : failure;
    if (flavour < 7) {
      // The same key put twice in one branch: ErrDuplicateKey.
      const key = this.pick(KEYS);
      branch.splice(this.rand(branch.length + 1), 0, { requestPut: { key, value: this.pick(VALUES) } });
      branch.splice(this.rand(branch.length + 1), 0, { requestPut: { key, value: this.pick(VALUES) } });
    } else if (flavour < 12) {
      // A put and a delete of a range holding its key in one branch (or a nested txn's).
      const key = this.pick(KEYS);
      const del: Req = this.chance(50)
        ? { key }
        : { key, rangeEnd: this.chance(50) ? prefixEnd(key) : bytes('\0') };
      const put = { requestPut: { key, value: this.pick(VALUES) } };
      const ops: Req[] = [put, { requestDeleteRange: del }];
      if (this.chance(30)) ops[this.rand(2)] = { requestTxn: { success: [ops[this.rand(2)]] } };
      for (const op of ops) branch.splice(this.rand(branch.length + 1), 0, op);
    } else if (flavour < 17) {
      // Nested txns writing the same key: in one nested txn's success and failure (allowed), in
      // two nested txns, beside a nested txn (ErrDuplicateKey), or put by one nested txn and
      // deleted by a sibling (etcd checks siblings in order, so only delete-then-put fails).
      const key = this.pick(KEYS);
      const put = (): Req => ({ requestPut: { key, value: this.pick(VALUES) } });
      switch (this.rand(4)) {
        case 0:
          branch.push({ requestTxn: { compare: [this.compare()], success: [put()], failure: [put()] } });
          break;
        case 1:
          branch.push({ requestTxn: { success: [put()] } }, { requestTxn: { failure: [put()] } });
          break;
        case 2: {
          const nested = [
            { requestTxn: { success: [put()] } },
            { requestTxn: { success: [{ requestDeleteRange: { key } }] } },
          ];
          if (this.chance(50)) nested.reverse();
          branch.push(...nested);
          break;
        }
        default:
          branch.push(put(), { requestTxn: { compare: [this.compare()], success: [put()] } });
      }
    } else if (flavour < 18) {
      // A RequestOp with no request set (etcd: ErrKeyNotFound).
      branch.splice(this.rand(branch.length + 1), 0, {});
    }
    if (compare.length > 0) req.compare = compare;
    if (success.length > 0) req.success = success;
    if (failure.length > 0) req.failure = failure;
    if (depth === 0) avoidEtcdPanic(req);
    return req;
  }

  /**
   * MAX_TXN_OPS + 1 compares or ops (ErrTooManyOps), or exactly MAX_TXN_OPS (allowed); or a
   * nested txn over or at the budget its parent leaves it (MAX_TXN_OPS - the parent's count).
   */
  private tooManyOps(): Req {
    const over = this.chance(50) ? 1 : 0;
    const n = MAX_TXN_OPS + over;
    const key = this.pick(KEYS);
    switch (this.rand(4)) {
      case 3: {
        const outer = 1 + this.rand(MAX_TXN_OPS - 1);
        const inner = MAX_TXN_OPS - outer + over;
        const nested = { requestTxn: { success: times(inner, () => ({ requestRange: { key } })) } };
        return { success: [...times(outer - 1, () => ({ requestRange: { key } })), nested] };
      }
      case 0:
        return { compare: times(n, () => ({ result: 'EQUAL', target: 'VERSION', key, version: 0 })) };
      case 1:
        return { success: times(n, () => ({ requestRange: { key } })) };
      default:
        return {
          compare: [this.compare()],
          failure: times(n, () => ({ requestRange: { key, countOnly: true } })),
        };
    }
  }

  private requestOp(depth: number): Req {
    const r = this.rand(100);
    if (r < 35) return { requestRange: this.range(false) };
    if (r < 70) {
      const put = this.put();
      // Mostly a key no other put of this txn wrote, so most random txns are not duplicates.
      if (this.chance(85)) {
        const free = KEYS.filter((k) => !this.txnPuts.has(k.toString('latin1')));
        if (free.length > 0) put.key = this.pick(free);
      }
      this.txnPuts.add((put.key as Buffer).toString('latin1'));
      return { requestPut: put };
    }
    if (r < 85 || depth >= 2) {
      // Mostly a single key, to leave puts elsewhere in the txn possible.
      const del = this.chance(60)
        ? { key: this.key(), ...(this.chance(30) ? { prevKv: true } : {}) }
        : this.deleteRange();
      return { requestDeleteRange: del };
    }
    return { requestTxn: this.txn(depth + 1) };
  }
}

/**
 * Drops ignore_value / ignore_lease from every put of a txn that also has a from-key or all-keys
 * delete (range_end "\0"). etcd 3.4 lets such a delete share a txn with a put of a key in its
 * range; if the put takes the deleted key's value or lease, etcd panics mid-apply (and again on
 * every restart), where tsetcd refuses the txn with "key not found" (mvcc's kvstore tests cover
 * that). Conservative: any such pair in the txn, on whichever branch, clears the flags.
 */
function avoidEtcdPanic(txn: Req): void {
  const ops: Req[] = [];
  const walk = (t: Req): void => {
    for (const op of [...((t.success as Req[]) ?? []), ...((t.failure as Req[]) ?? [])]) {
      ops.push(op);
      if (op.requestTxn !== undefined) walk(op.requestTxn as Req);
    }
  };
  walk(txn);
  const fromKeyDelete = ops.some((op) => {
    const end = (op.requestDeleteRange as Req | undefined)?.rangeEnd as Buffer | undefined;
    return end !== undefined && end.length === 1 && end[0] === 0;
  });
  if (!fromKeyDelete) return;
  for (const op of ops) {
    const put = op.requestPut as Req | undefined;
    if (put === undefined) continue;
    delete put.ignoreValue;
    delete put.ignoreLease;
  }
}

function kv(method: KvOp['method'], req: Req): KvOp {
  return { service: 'KV', method, req };
}

function times<T>(n: number, f: () => T): T[] {
  return Array.from({ length: n }, f);
}

/** `bytes` as a readable string: printable ASCII as is, other bytes as \xNN. */
export function showBytes(b: Buffer): string {
  let s = '';
  for (const c of b)
    s +=
      c >= 0x20 && c < 0x7f && c !== 0x5c ? String.fromCharCode(c) : `\\x${c.toString(16).padStart(2, '0')}`;
  return s;
}
