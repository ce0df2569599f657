/**
 * A sequential model of etcd's KV and leases: the state is key → KvSnapshot plus the store
 * revision and the live leases; `step` applies one request atomically and says what etcd would
 * answer. Revisions advance as etcd's do: a put, a delete that deleted something, a txn whose
 * branch wrote anything and a revoke that deleted keys each take exactly one new revision; reads,
 * read-only txns, deletes of nothing, grants and revokes of key-less leases take none.
 * (etcd: server/storage/mvcc/kvstore_txn.go, server/etcdserver/apply; compares as applyCompare.)
 *
 * States are immutable and carry a canonical `key` (equal keys = equal states) for the checker's
 * memo. Pure. Deliberately out of scope: range ends other than a prefix, limits, sort, historical
 * reads, nested txns, lease expiry by time (record an expiry as an ambiguous leaseRevoke).
 */

import type {
  CompareInput,
  DeleteInput,
  GetInput,
  Input,
  KvSnapshot,
  Output,
  PutInput,
  TxnOpInput,
  TxnOpOutput,
} from './history.js';

/** The model's state; build one with `kvState`. */
export interface KvState {
  /** etcd's store revision: 1 on an empty store. */
  readonly revision: number;
  readonly keys: ReadonlyMap<string, KvSnapshot>;
  readonly leases: ReadonlySet<bigint>;
  /** Canonical text of the whole state. Invariant: a.key === b.key iff a and b are equal. */
  readonly key: string;
}

/** A state from its parts (e.g. what a user's history starts from); defaults: the empty store at revision 1. */
export function kvState(
  parts: {
    readonly revision?: number;
    readonly kvs?: Iterable<KvSnapshot>;
    readonly leases?: Iterable<bigint>;
  } = {},
): KvState {
  const keys = new Map<string, KvSnapshot>();
  for (const kv of parts.kvs ?? []) keys.set(kv.key, kv);
  return makeState(parts.revision ?? 1, keys, new Set(parts.leases ?? []));
}

function makeState(revision: number, keys: Map<string, KvSnapshot>, leases: Set<bigint>): KvState {
  let key = `${revision}|`;
  for (const k of [...keys.keys()].sort()) {
    const kv = keys.get(k)!;
    key += `${k}\u0000${kv.value}\u0000${kv.createRevision},${kv.modRevision},${kv.version},${kv.lease}\u0001`;
  }
  key += `|${[...leases].sort().join(',')}`;
  return { revision, keys, leases, key };
}

/** What one step did: the state after and etcd's answer. */
export interface StepResult {
  readonly state: KvState;
  readonly output: Output;
}

/** Working copy of a state while one request applies (a txn's ops share it and one revision). */
class Draft {
  keys: Map<string, KvSnapshot> | undefined;
  leases: Set<bigint> | undefined;
  wrote = false;

  constructor(readonly base: KvState) {}

  get rev(): number {
    return this.base.revision + 1;
  }
  get(): ReadonlyMap<string, KvSnapshot> {
    return this.keys ?? this.base.keys;
  }
  mutableKeys(): Map<string, KvSnapshot> {
    this.wrote = true;
    this.keys ??= new Map(this.base.keys);
    return this.keys;
  }
  finish(): KvState {
    if (!this.wrote && this.leases === undefined) return this.base;
    return makeState(
      this.wrote ? this.rev : this.base.revision,
      this.get() as Map<string, KvSnapshot>,
      this.leases ?? new Set(this.base.leases),
    );
  }
}

/** Applies one request to `state`: the next state and the answer etcd gives. */
export function step(state: KvState, input: Input): StepResult {
  const d = new Draft(state);
  switch (input.type) {
    case 'put': {
      if (input.lease !== undefined && input.lease !== 0n && !state.leases.has(input.lease)) {
        return { state, output: { type: 'error', code: 'ErrLeaseNotFound' } };
      }
      const r = applyPut(d, input);
      const next = d.finish();
      return { state: next, output: { ...r, revision: next.revision } };
    }
    case 'get':
      return { state, output: { ...applyGet(d, input), revision: state.revision } };
    case 'delete': {
      const r = applyDelete(d, input);
      const next = d.finish();
      return { state: next, output: { ...r, revision: next.revision } };
    }
    case 'txn': {
      for (const op of [...input.success, ...input.failure]) {
        if (op.type === 'put' && op.lease !== undefined && op.lease !== 0n && !state.leases.has(op.lease)) {
          return { state, output: { type: 'error', code: 'ErrLeaseNotFound' } };
        }
      }
      const succeeded = input.compare.every((c) => holds(c, state.keys));
      const responses: TxnOpOutput[] = [];
      for (const op of succeeded ? input.success : input.failure) responses.push(applyOp(d, op));
      const next = d.finish();
      return { state: next, output: { type: 'txn', revision: next.revision, succeeded, responses } };
    }
    case 'leaseGrant': {
      if (state.leases.has(input.id)) return { state, output: { type: 'error', code: 'ErrLeaseExists' } };
      d.leases = new Set(state.leases).add(input.id);
      return { state: d.finish(), output: { type: 'leaseGrant', revision: state.revision, id: input.id } };
    }
    case 'leaseRevoke': {
      if (!state.leases.has(input.id)) return { state, output: { type: 'error', code: 'ErrLeaseNotFound' } };
      d.leases = new Set(state.leases);
      d.leases.delete(input.id);
      for (const [k, kv] of state.keys) if (kv.lease === input.id) d.mutableKeys().delete(k);
      const next = d.finish();
      return { state: next, output: { type: 'leaseRevoke', revision: next.revision } };
    }
  }
}

function applyOp(d: Draft, op: TxnOpInput): TxnOpOutput {
  switch (op.type) {
    case 'put':
      return applyPut(d, op);
    case 'get':
      return applyGet(d, op);
    case 'delete':
      return applyDelete(d, op);
  }
}

function applyPut(d: Draft, input: PutInput): { type: 'put'; prevKv?: KvSnapshot | null } {
  const prev = d.get().get(input.key);
  const rev = d.rev;
  d.mutableKeys().set(input.key, {
    key: input.key,
    value: input.value,
    createRevision: prev === undefined ? rev : prev.createRevision,
    modRevision: rev,
    version: prev === undefined ? 1 : prev.version + 1,
    lease: input.lease ?? 0n,
  });
  return input.prevKv ? { type: 'put', prevKv: prev ?? null } : { type: 'put' };
}

function matching(
  keys: ReadonlyMap<string, KvSnapshot>,
  key: string,
  prefix: boolean | undefined,
): KvSnapshot[] {
  if (!prefix) {
    const kv = keys.get(key);
    return kv === undefined ? [] : [kv];
  }
  const out: KvSnapshot[] = [];
  for (const [k, kv] of keys) if (k.startsWith(key)) out.push(kv);
  return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

function applyGet(d: Draft, input: GetInput): { type: 'get'; kvs: KvSnapshot[] } {
  return { type: 'get', kvs: matching(d.get(), input.key, input.prefix) };
}

function applyDelete(
  d: Draft,
  input: DeleteInput,
): { type: 'delete'; deleted: number; prevKvs?: KvSnapshot[] } {
  const gone = matching(d.get(), input.key, input.prefix);
  if (gone.length > 0) {
    const keys = d.mutableKeys();
    for (const kv of gone) keys.delete(kv.key);
  }
  return input.prevKv
    ? { type: 'delete', deleted: gone.length, prevKvs: gone }
    : { type: 'delete', deleted: gone.length };
}

/** etcd's applyCompare on one key: a missing key fails a VALUE compare and has 0 for the rest. */
function holds(c: CompareInput, keys: ReadonlyMap<string, KvSnapshot>): boolean {
  const kv = keys.get(c.key);
  let r: number;
  switch (c.target) {
    case 'VALUE':
      if (kv === undefined) return false;
      r = kv.value < c.value ? -1 : kv.value > c.value ? 1 : 0;
      break;
    case 'LEASE': {
      const l = kv?.lease ?? 0n;
      r = l < c.lease ? -1 : l > c.lease ? 1 : 0;
      break;
    }
    default: {
      const v =
        kv === undefined
          ? 0
          : c.target === 'VERSION'
            ? kv.version
            : c.target === 'CREATE'
              ? kv.createRevision
              : kv.modRevision;
      r = Math.sign(v - c.operand);
    }
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

/** Whether a request can change the state (reads and read-only txns cannot). */
export function mayWrite(input: Input): boolean {
  if (input.type === 'get') return false;
  if (input.type === 'txn') return [...input.success, ...input.failure].some((op) => op.type !== 'get');
  return true;
}
