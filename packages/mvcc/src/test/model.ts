/**
 * The model-based property test's parts: a reference model of etcd's KV, a seeded random
 * generator of requests, and a runner that applies each request to a KVStore (on a
 * MemoryBackend) and to the model and compares everything.
 *
 * The model is deliberately dumb: `history[r]` is the complete key → KeyValue map at revision r,
 * copied on every write, and every read filters and sorts a whole map. Its rules follow etcd's
 * server/etcdserver/txn/txn.go (Range, Put, DeleteRange, Txn with compareToPath / checkTxn /
 * executeTxn) and v3rpc/key.go, not kvstore.ts; only txn request validation is shared (see
 * txn()). Where it chooses something etcd does not define, it says so. The random request
 * generator is in model-gen.ts.
 *
 * Leases: no lessor is plugged in, so every lease but 0 is unknown (LeaseNotFoundError).
 * Not modelled: NOSPACE, watch, hashing. Test-only; not exported from the package.
 */

import {
  CompactedError,
  EmptyKeyError,
  FutureRevError,
  KeyNotFoundError,
  LeaseNotFoundError,
  LeaseProvidedError,
  ValueProvidedError,
} from '../errors.js';
import { KVStore } from '../kvstore.js';
import { MemoryBackend } from '../memory-backend.js';
import { validateTxn } from '../txn.js';
import type {
  Compare,
  CompareResult,
  DeleteRangeRequest,
  DeleteRangeResponse,
  KeyValue,
  PutRequest,
  PutResponse,
  RangeRequest,
  RangeResponse,
  ResponseOp,
  Revision,
  SortOrder,
  SortTarget,
  TxnRequest,
  TxnResponse,
} from '../types.js';
import { bytes, genOp, genRange, type ModelOp, Rand } from './model-gen.js';

export { bytes };

// ---- bytes, independently of bytes.ts ---------------------------------------------------------

/** Bytes as a string of char codes 0–255; `<` on such strings is bytewise order. */
function bin(b: Uint8Array): string {
  let s = '';
  for (const x of b) s += String.fromCharCode(x);
  return s;
}

/** etcd's (key, rangeEnd) selection: no end = the key; end "\0" = key and after; else [key, end). */
function selects(key: Uint8Array, rangeEnd: Uint8Array | undefined): (k: string) => boolean {
  const start = bin(key);
  if (rangeEnd === undefined || rangeEnd.length === 0) return (k) => k === start;
  if (rangeEnd.length === 1 && rangeEnd[0] === 0) return (k) => k >= start;
  const end = bin(rangeEnd);
  return (k) => k >= start && k < end;
}

const cmp = <T extends number | bigint | string>(a: T, b: T): number => (a < b ? -1 : a > b ? 1 : 0);

// ---- the model -------------------------------------------------------------------------------

type State = ReadonlyMap<string, KeyValue>;

/** One write request in progress: a copy of the state it changes. */
class Draft {
  readonly state: Map<string, KeyValue>;
  /** Whether anything was written (etcd: len(txn.Changes()) > 0). */
  changed = false;
  constructor(
    readonly begin: number,
    base: State,
  ) {
    this.state = new Map(base);
  }
  /** The revision this request writes at. */
  get rev(): number {
    return this.begin + 1;
  }
  /** The revision reads inside the request see (etcd's storeTxnWrite.Range). */
  get viewRev(): number {
    return this.changed ? this.begin + 1 : this.begin;
  }
}

/** etcd's KV as a list of full states, one per revision. */
export class KVModel {
  /** history[r] = every live key at revision r; history[1] is the empty store (0 is unused). */
  private readonly history: State[] = [new Map(), new Map()];
  /** The compaction revision: -1 until the first compaction, as etcd's compactMainRev. */
  compacted = -1;

  constructor(readonly maxTxnOps = 128) {}

  /** The current revision. */
  get revision(): number {
    return this.history.length - 1;
  }

  /** The live keys now, as binary strings. */
  liveKeys(): string[] {
    return [...this.current().keys()].sort();
  }

  private current(): State {
    return this.history[this.history.length - 1]!;
  }

  private draft(): Draft {
    return new Draft(this.revision, this.current());
  }

  private end(d: Draft): void {
    if (d.changed) this.history.push(d.state);
  }

  // -- Range --

  range(req: RangeRequest): RangeResponse {
    if (req.key.length === 0) throw new EmptyKeyError();
    return this.read(req, this.revision, this.current());
  }

  /** etcd's executeRange on a view whose current revision is viewRev with state viewState. */
  private read(req: RangeRequest, viewRev: number, viewState: State): RangeResponse {
    const asked = req.revision ?? 0;
    if (asked > viewRev) throw new FutureRevError();
    const at = asked <= 0 ? viewRev : asked;
    if (at < this.compacted) throw new CompactedError(this.compacted);
    const state = at === viewRev ? viewState : this.history[at]!;
    const sel = selects(req.key, req.rangeEnd);
    const keys = [...state.keys()].filter(sel).sort();
    const header = { revision: viewRev as Revision };
    if (req.countOnly) return { header, kvs: [], more: false, count: keys.length };
    let kvs = keys.map((k) => state.get(k)!);
    const limit = req.limit ?? 0;
    const [minMod, maxMod] = [req.minModRevision ?? 0, req.maxModRevision ?? 0];
    const [minCreate, maxCreate] = [req.minCreateRevision ?? 0, req.maxCreateRevision ?? 0];
    const filtered = minMod !== 0 || maxMod !== 0 || minCreate !== 0 || maxCreate !== 0;
    // etcd reads only limit+1 keys unless it must sort (order != NONE) or filter first.
    if ((req.sortOrder ?? 'NONE') === 'NONE' && !filtered && limit > 0) kvs = kvs.slice(0, limit + 1);
    kvs = kvs.filter(
      (kv) =>
        (maxMod === 0 || kv.modRevision <= maxMod) &&
        (minMod === 0 || kv.modRevision >= minMod) &&
        (maxCreate === 0 || kv.createRevision <= maxCreate) &&
        (minCreate === 0 || kv.createRevision >= minCreate),
    );
    kvs = sortLikeEtcd(kvs, req.sortTarget ?? 'KEY', req.sortOrder ?? 'NONE');
    let more = false;
    if (limit > 0 && kvs.length > limit) {
      kvs = kvs.slice(0, limit);
      more = true;
    }
    if (req.keysOnly) kvs = kvs.map((kv) => ({ ...kv, value: new Uint8Array(0) }));
    return { header, kvs, more, count: keys.length };
  }

  // -- Put / DeleteRange --

  /** etcd: v3rpc checkPutRequest, then txn.Put (lease first), then put (ignore_* key). */
  put(req: PutRequest): PutResponse {
    if (req.key.length === 0) throw new EmptyKeyError();
    checkPutRequest(req);
    if ((req.lease ?? 0n) !== 0n) throw new LeaseNotFoundError();
    if ((req.ignoreValue || req.ignoreLease) && !this.current().has(bin(req.key)))
      throw new KeyNotFoundError();
    const d = this.draft();
    const resp = this.putIn(d, req);
    this.end(d);
    return resp;
  }

  deleteRange(req: DeleteRangeRequest): DeleteRangeResponse {
    if (req.key.length === 0) throw new EmptyKeyError();
    const d = this.draft();
    const resp = this.deleteIn(d, req);
    this.end(d);
    return resp;
  }

  private putIn(d: Draft, req: PutRequest): PutResponse {
    const key = bin(req.key);
    const prev = d.state.get(key);
    d.state.set(key, {
      key: bytes(key),
      value: req.ignoreValue ? prev!.value : (req.value ?? new Uint8Array(0)),
      createRevision: (prev?.createRevision ?? d.rev) as Revision,
      modRevision: d.rev as Revision,
      version: (prev?.version ?? 0) + 1,
      lease: req.ignoreLease ? prev!.lease : (req.lease ?? 0n),
    });
    d.changed = true;
    return {
      header: { revision: d.rev as Revision },
      ...(req.prevKv && prev !== undefined ? { prevKv: prev } : {}),
    };
  }

  private deleteIn(d: Draft, req: DeleteRangeRequest): DeleteRangeResponse {
    const keys = [...d.state.keys()].filter(selects(req.key, req.rangeEnd)).sort();
    const prevKvs = req.prevKv ? keys.map((k) => d.state.get(k)!) : [];
    for (const k of keys) d.state.delete(k);
    if (keys.length > 0) d.changed = true;
    return { header: { revision: d.viewRev as Revision }, deleted: keys.length, prevKvs };
  }

  // -- Txn --

  /**
   * etcd's Txn:
   *   1. v3rpc request validation (op counts, empty keys, ignore_* misuse, duplicate keys):
   *      delegated to txn.ts's validateTxn. A second copy of that algorithm here would only agree
   *      with itself; the rule is checked independently by txn.test.ts and by the scenarios
   *      recorded from a real etcd (etcd-compat.test.ts). The model checks what validation lets
   *      through: the resulting state, revisions and responses;
   *   2. compareToPath: every compare on the chosen path — nested ones too — against the state
   *      BEFORE the txn;
   *   3. checkTxn along that path, against the same state: first every put (ignore_* keys
   *      exist, leases exist), then every range (revisions readable: a revision other than 0
   *      is held to the raw compaction revision, so a negative one can fail as compacted);
   *   4. executeTxn along the path on one draft: one revision for the whole txn.
   */
  txn(req: TxnRequest): TxnResponse {
    validateTxn(req, this.maxTxnOps);
    const base = this.current();
    const path: boolean[] = [];
    this.compareToPath(req, base, path);
    this.checkTxn(req, path);
    const d = this.draft();
    const resp = this.executeTxn(d, req, path, { i: 0 });
    this.end(d);
    return { ...resp, header: { revision: d.viewRev as Revision } };
  }

  private compareToPath(req: TxnRequest, state: State, path: boolean[]): void {
    const ok = req.compare.every((c) => compareHolds(c, state));
    path.push(ok);
    for (const op of ok ? req.success : req.failure)
      if (op.type === 'txn') this.compareToPath(op.request, state, path);
  }

  private checkTxn(req: TxnRequest, path: readonly boolean[]): void {
    // The puts first, against the live keys as the path's deletes leave them: an ignore_* put
    // of a key an earlier delete of the txn removed has nothing to take (etcd 3.4 panics there).
    this.checkPuts(req, path, { i: 0 }, new Set(this.current().keys()));
    this.checkRanges(req, path, { i: 0 });
  }

  private checkPuts(req: TxnRequest, path: readonly boolean[], at: { i: number }, live: Set<string>): void {
    for (const op of path[at.i++] ? req.success : req.failure) {
      if (op.type === 'txn') this.checkPuts(op.request, path, at, live);
      if (op.type === 'deleteRange') {
        for (const k of [...live].filter(selects(op.request.key, op.request.rangeEnd))) live.delete(k);
      }
      if (op.type !== 'put') continue;
      const p = op.request;
      if ((p.ignoreValue || p.ignoreLease) && !live.has(bin(p.key))) throw new KeyNotFoundError();
      if ((p.lease ?? 0n) !== 0n) throw new LeaseNotFoundError();
      live.add(bin(p.key));
    }
  }

  private checkRanges(req: TxnRequest, path: readonly boolean[], at: { i: number }): void {
    for (const op of path[at.i++] ? req.success : req.failure) {
      if (op.type === 'txn') this.checkRanges(op.request, path, at);
      if (op.type !== 'range') continue;
      const rev = op.request.revision ?? 0;
      if (rev > this.revision) throw new FutureRevError();
      if (rev !== 0 && rev < this.compacted) throw new CompactedError(this.compacted);
    }
  }

  private executeTxn(d: Draft, req: TxnRequest, path: readonly boolean[], at: { i: number }): TxnResponse {
    const succeeded = path[at.i++]!;
    const responses: ResponseOp[] = [];
    for (const op of succeeded ? req.success : req.failure) {
      switch (op.type) {
        case 'range':
          responses.push({ type: 'range', response: this.read(op.request, d.viewRev, d.state) });
          break;
        case 'put':
          responses.push({ type: 'put', response: this.putIn(d, op.request) });
          break;
        case 'deleteRange':
          responses.push({ type: 'deleteRange', response: this.deleteIn(d, op.request) });
          break;
        case 'txn':
          responses.push({ type: 'txn', response: this.executeTxn(d, op.request, path, at) });
          break;
      }
    }
    // etcd's newTxnResp gives every txn response an empty header; txn() then fills in only the
    // outermost one. A nested txn's header revision stays 0.
    return { header: { revision: 0 as Revision }, succeeded, responses };
  }

  // -- Compact --

  compact(rev: number): void {
    if (rev <= this.compacted) throw new CompactedError(this.compacted);
    if (rev > this.revision) throw new FutureRevError();
    this.compacted = rev;
  }
}

/** etcd's executeRange sort: non-KEY + NONE sorts ascending; ties keep key order (Go's small-n sort is stable). */
function sortLikeEtcd(kvs: KeyValue[], target: SortTarget, order: SortOrder): KeyValue[] {
  const effective = target !== 'KEY' && order === 'NONE' ? 'ASCEND' : order;
  if (effective === 'NONE') return kvs;
  const field = (kv: KeyValue): number | string => {
    switch (target) {
      case 'KEY':
        return bin(kv.key);
      case 'VERSION':
        return kv.version;
      case 'CREATE':
        return kv.createRevision;
      case 'MOD':
        return kv.modRevision;
      case 'VALUE':
        return bin(kv.value);
    }
  };
  const dir = effective === 'DESCEND' ? -1 : 1;
  return kvs
    .map((kv, i) => ({ kv, i, f: field(kv) }))
    .sort((x, y) => dir * cmp(x.f, y.f) || x.i - y.i)
    .map((x) => x.kv);
}

/** etcd's applyCompare: every key in range must pass; none = a zero KeyValue, except VALUE fails. */
function compareHolds(c: Compare, state: State): boolean {
  const sel = selects(c.key, c.rangeEnd);
  const kvs = [...state.entries()].filter(([k]) => sel(k)).map(([, kv]) => kv);
  if (kvs.length === 0) {
    if (c.target === 'VALUE') return false;
    kvs.push({
      key: c.key,
      value: new Uint8Array(0),
      createRevision: 0 as Revision,
      modRevision: 0 as Revision,
      version: 0,
      lease: 0n,
    });
  }
  return kvs.every((kv) => {
    let r: number;
    switch (c.target) {
      case 'VALUE':
        r = cmp(bin(kv.value), bin(c.value));
        break;
      case 'VERSION':
        r = cmp(kv.version, c.version);
        break;
      case 'CREATE':
        r = cmp(kv.createRevision, c.createRevision);
        break;
      case 'MOD':
        r = cmp(kv.modRevision, c.modRevision);
        break;
      case 'LEASE':
        r = cmp(kv.lease, c.lease);
        break;
    }
    const want: Record<CompareResult, boolean> = {
      EQUAL: r === 0,
      NOT_EQUAL: r !== 0,
      GREATER: r > 0,
      LESS: r < 0,
    };
    return want[c.result];
  });
}

/** etcd v3rpc checkPutRequest (minus the empty key, checked by the caller). */
function checkPutRequest(req: PutRequest): void {
  if (req.ignoreValue && (req.value?.length ?? 0) !== 0) throw new ValueProvidedError();
  if (req.ignoreLease && (req.lease ?? 0n) !== 0n) throw new LeaseProvidedError();
}

// ---- comparing ---------------------------------------------------------------------------------

/**
 * What a request gave: a response, the `code` of the MvccError it threw, or — for any other
 * exception, which is a bug — its message.
 */
type Outcome = { readonly ok: unknown } | { readonly error: string } | { readonly crash: string };

function outcome(f: () => unknown): Outcome {
  try {
    return { ok: f() };
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return { error: code };
    return { crash: e instanceof Error ? `${e.name}: ${e.message}` : String(e) };
  }
}

/** Structural equality over responses: Uint8Array by bytes, bigint, arrays, plain objects (undefined = absent). */
function same(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a instanceof Uint8Array || b instanceof Uint8Array) {
    if (!(a instanceof Uint8Array && b instanceof Uint8Array) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!(Array.isArray(a) && Array.isArray(b)) || a.length !== b.length) return false;
    return a.every((x, i) => same(x, b[i]));
  }
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  const ka = Object.keys(a).filter((key) => (a as Record<string, unknown>)[key] !== undefined);
  const kb = Object.keys(b).filter((key) => (b as Record<string, unknown>)[key] !== undefined);
  if (ka.length !== kb.length) return false;
  return ka.every((key) => same((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key]));
}

/** Readable, canonical text of a request or response: bytes as "b'…'", bigints as "7n", sorted keys. */
export function show(x: unknown): string {
  return JSON.stringify(x, (_, v: unknown) => {
    if (v instanceof Uint8Array)
      return `b'${[...v].map((c) => (c >= 0x20 && c < 0x7f ? String.fromCharCode(c) : `\\x${c.toString(16).padStart(2, '0')}`)).join('')}'`;
    if (typeof v === 'bigint') return `${v}n`;
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      return Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([p], [q]) => cmp(p, q)));
    }
    return v;
  });
}

// ---- the runner --------------------------------------------------------------------------------

/** Sizes of one run. */
export interface ModelRunOptions {
  /** Random steps per seed. */
  readonly ops: number;
  /** Every this many steps, compare full ranges at every retained revision. */
  readonly checkEvery: number;
  /** Random ranges per full comparison. */
  readonly rangesPerCheck: number;
}

/** Thrown on the first disagreement: says which seed and step, and how to replay it. */
export class ModelMismatchError extends Error {
  constructor(
    readonly seed: number,
    readonly step: number,
    detail: string,
  ) {
    super(`model mismatch: seed ${seed}, op ${step}: ${detail}\n(replay: MODEL_SEED=${seed})`);
    this.name = 'ModelMismatchError';
  }
}

/** Applies one step to the store; a compaction's physical removal is added to `pending`. */
function applyToStore(store: KVStore, op: ModelOp, pending: Promise<void>[]): unknown {
  switch (op.type) {
    case 'range':
      return store.range(op.request);
    case 'put':
      return store.put(op.request);
    case 'deleteRange':
      return store.deleteRange(op.request);
    case 'txn':
      return store.txn(op.request);
    case 'compact': {
      const removal = store.compact(op.revision);
      removal.catch(() => {}); // awaited later; don't let Node call it unhandled meanwhile
      pending.push(removal);
      return undefined;
    }
  }
}

function applyToModel(model: KVModel, op: ModelOp): unknown {
  switch (op.type) {
    case 'range':
      return model.range(op.request);
    case 'put':
      return model.put(op.request);
    case 'deleteRange':
      return model.deleteRange(op.request);
    case 'txn':
      return model.txn(op.request);
    case 'compact':
      model.compact(op.revision);
      return undefined;
  }
}

/**
 * Runs `opts.ops` random steps of `seed` against a fresh KVStore(MemoryBackend) and the model.
 * After each step: same response (or same error), same revision and compaction revision. Every
 * `checkEvery` steps and at the end: random ranges at every retained revision agree, and reads
 * just below the compaction revision fail in both. Physical compaction runs interleaved with the
 * steps (random microtask yields) unless the step waits for it.
 */
export async function runModelCheck(seed: number, opts: ModelRunOptions): Promise<{ writes: number }> {
  const rand = new Rand(seed);
  const store = await KVStore.open(new MemoryBackend(), { compactionBatch: 2 });
  const model = new KVModel();
  const recent: { step: number; op: ModelOp }[] = [];
  const mismatch = (step: number, what: string, want: unknown, got: unknown): never => {
    const trail = recent.map((r) => `#${r.step} ${show(r.op)}`).join('\n    ');
    throw new ModelMismatchError(
      seed,
      step,
      `${what}\n  model: ${show(want)}\n  store: ${show(got)}\n  last ops:\n    ${trail}`,
    );
  };
  const fullCheck = (step: number) => {
    for (let n = 0; n < opts.rangesPerCheck; n++) {
      const req = genRange(rand, model, false);
      const lowest = Math.max(1, model.compacted - 1);
      for (let rev = lowest; rev <= model.revision; rev++) {
        const q = { ...req, revision: rev };
        const want = outcome(() => model.range(q));
        const got = outcome(() => store.range(q));
        if (!same(want, got)) mismatch(step, `range ${show(q)}`, want, got);
      }
    }
  };

  const pending: Promise<void>[] = [];
  const settle = async (step: number) => {
    try {
      await Promise.all(pending.splice(0));
    } catch (e) {
      mismatch(step, 'physical compaction', 'completes', e instanceof Error ? e.message : String(e));
    }
  };
  for (let step = 0; step < opts.ops; step++) {
    const op = genOp(rand, model);
    recent.push({ step, op });
    if (recent.length > 6) recent.shift();
    const want = outcome(() => applyToModel(model, op));
    const got = outcome(() => applyToStore(store, op, pending));
    if (!same(want, got)) mismatch(step, 'response', want, got);
    if (store.revision !== model.revision) mismatch(step, 'revision', model.revision, store.revision);
    const storeCompacted = store.compacted ? store.compactRevision : -1;
    if (storeCompacted !== model.compacted) {
      mismatch(step, 'compaction revision', model.compacted, storeCompacted);
    }
    if (op.type === 'compact' && op.wait) await settle(step);
    // Let a background compaction take a few steps between requests.
    for (let y = rand.int(4); y > 0; y--) await Promise.resolve();
    if ((step + 1) % opts.checkEvery === 0) fullCheck(step);
  }
  await settle(opts.ops);
  fullCheck(opts.ops);
  await store.close();
  return { writes: model.revision - 1 };
}
