/**
 * Recorder: records a client history while a test or an application runs. Wrap a tsetcd client
 * (`recorder.client(node, id)`: put, get, delete, txn, lease grant/revoke) or any async call
 * (`recorder.record`). Every call is stamped when it is invoked and when it is answered, with a
 * time source you give (the cluster clock for deterministic runs). Stamps strictly increase in
 * the order the recorder sees events — within one tick of a virtual clock too — so real-time
 * order is kept exactly.
 *
 * A call that fails with a definite answer the model predicts (ErrLeaseNotFound, ErrLeaseExists)
 * is recorded with that answer. Any other failure (timeout, leader lost, stopped node, broken
 * connection, …) is recorded as *ambiguous*: it may or may not have taken effect. Errors are
 * rethrown; results are returned as the client gave them. Does not check anything.
 */

import {
  type Compare,
  type KeyValue,
  type PutRequest,
  prefixEnd,
  type RangeRequest,
  type RequestOp,
  type ResponseOp,
  type TxnRequest,
  type TxnResponse,
  utf8,
} from '@tsetcd/mvcc';
import type {
  CompareInput,
  Input,
  KvSnapshot,
  Operation,
  Output,
  TxnInput,
  TxnOpInput,
  TxnOpOutput,
} from './history.js';

/** Error codes that are definite answers (the request had no effect), not ambiguity. */
export const DEFINITE_ERROR_CODES: ReadonlySet<string> = new Set(['ErrLeaseNotFound', 'ErrLeaseExists']);

/** What the recorder needs of a client: the KV and Lease calls of a tsetcd node or Client. */
export interface RecordableClient {
  readonly kv: {
    put(
      key: string,
      value: string,
      opts: { readonly lease?: bigint; readonly prevKv?: boolean },
    ): Promise<{ readonly header: { readonly revision: number }; readonly prevKv?: KeyValue }>;
    get(
      key: string,
      opts: { readonly prefix?: boolean },
    ): Promise<{ readonly header: { readonly revision: number }; readonly kvs: readonly KeyValue[] }>;
    delete(
      key: string,
      opts: { readonly prefix?: boolean; readonly prevKv?: boolean },
    ): Promise<{
      readonly header: { readonly revision: number };
      readonly deleted: number;
      readonly prevKvs: readonly KeyValue[];
    }>;
    txn(
      req: TxnRequest,
    ): Promise<Omit<TxnResponse, 'header'> & { readonly header: { readonly revision: number } }>;
  };
  readonly lease: {
    grant(
      ttl: number,
      opts: { readonly id?: bigint },
    ): Promise<{ readonly header: { readonly revision: number }; readonly id: bigint }>;
    revoke(id: bigint): Promise<{ readonly header: { readonly revision: number } }>;
  };
}

/** Options of a Recorder. */
export interface RecorderOptions {
  /** Time source in ms (e.g. `() => cluster.clock.now()`); default performance.now. */
  readonly now?: () => number;
}

/** Smallest step between two stamps when the time source has not moved, ms. */
const TICK = 0.001;
const decoder = new TextDecoder();

/** Records operations; see the file comment. */
export class Recorder {
  private readonly ops: Operation[] = [];
  private readonly now: () => number;
  private last = Number.NEGATIVE_INFINITY;
  private nextLease = 1n;

  constructor(opts: RecorderOptions = {}) {
    this.now = opts.now ?? (() => performance.now());
  }

  /** The operations recorded so far (completed and ambiguous), in call order. */
  get history(): readonly Operation[] {
    return this.ops;
  }

  /** A strictly increasing stamp. */
  stamp(): number {
    this.last = Math.max(this.now(), this.last + TICK);
    return this.last;
  }

  /**
   * Records one call: `run` performs it, `toOutput` turns its result into the model's answer.
   * Ambiguous on any error but a definite one (DEFINITE_ERROR_CODES); the error is rethrown.
   */
  async record<T>(
    client: number,
    input: Input,
    run: () => Promise<T>,
    toOutput: (r: T) => Output,
  ): Promise<T> {
    const call = this.stamp();
    const index = this.ops.length;
    this.ops.push({ client, input, call });
    try {
      const r = await run();
      this.ops[index] = { client, input, call, return: this.stamp(), output: toOutput(r) };
      return r;
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (typeof code === 'string' && DEFINITE_ERROR_CODES.has(code)) {
        this.ops[index] = { client, input, call, return: this.stamp(), output: { type: 'error', code } };
      }
      throw err;
    }
  }

  /** A client whose calls are recorded as client `id` (one client's calls must not overlap). */
  client(target: RecordableClient, id: number): RecordingClient {
    return new RecordingClient(this, target, id);
  }

  /** A lease ID not used by this recorder before (grants choose their ID up front, so it is known even on timeout). */
  newLeaseId(): bigint {
    return (BigInt(Math.floor(this.now())) << 20n) + this.nextLease++;
  }
}

/** A client that records its calls; made by Recorder.client. */
export class RecordingClient {
  constructor(
    private readonly recorder: Recorder,
    private readonly target: RecordableClient,
    /** The client number in the history. */
    readonly id: number,
  ) {}

  /** put; answers the revision (and prevKv when asked for). */
  put(key: string, value: string, opts: { readonly lease?: bigint; readonly prevKv?: boolean } = {}) {
    const input: TxnOpInput = { type: 'put', key, value, ...opts };
    return this.recorder.record(
      this.id,
      input,
      () => this.target.kv.put(key, value, opts),
      (r) => ({
        type: 'put',
        revision: r.header.revision,
        ...(opts.prevKv ? { prevKv: r.prevKv === undefined ? null : snapshot(r.prevKv) } : {}),
      }),
    );
  }

  /** Linearizable get of a key or prefix. */
  get(key: string, opts: { readonly prefix?: boolean } = {}) {
    const input: TxnOpInput = { type: 'get', key, ...opts };
    return this.recorder.record(
      this.id,
      input,
      () => this.target.kv.get(key, opts),
      (r) => ({
        type: 'get',
        revision: r.header.revision,
        kvs: r.kvs.map(snapshot),
      }),
    );
  }

  /** delete of a key or prefix. */
  delete(key: string, opts: { readonly prefix?: boolean; readonly prevKv?: boolean } = {}) {
    const input: TxnOpInput = { type: 'delete', key, ...opts };
    return this.recorder.record(
      this.id,
      input,
      () => this.target.kv.delete(key, opts),
      (r) => ({
        type: 'delete',
        revision: r.header.revision,
        deleted: r.deleted,
        ...(opts.prevKv ? { prevKvs: r.prevKvs.map(snapshot) } : {}),
      }),
    );
  }

  /** txn with single-key compares and put/get/delete branches. */
  txn(req: Omit<TxnInput, 'type'>) {
    const input: TxnInput = { type: 'txn', ...req };
    const request: TxnRequest = {
      compare: req.compare.map(toCompare),
      success: req.success.map(toRequestOp),
      failure: req.failure.map(toRequestOp),
    };
    return this.recorder.record(
      this.id,
      input,
      () => this.target.kv.txn(request),
      (r) => {
        const branch = r.succeeded ? req.success : req.failure;
        return {
          type: 'txn',
          revision: r.header.revision,
          succeeded: r.succeeded,
          responses: r.responses.map((res, i) => toOpOutput(res, branch[i]!)),
        };
      },
    );
  }

  /** Grants a lease with an ID chosen here (Recorder.newLeaseId unless given). */
  leaseGrant(ttl: number, id: bigint = this.recorder.newLeaseId()) {
    return this.recorder.record(
      this.id,
      { type: 'leaseGrant', id, ttl },
      () => this.target.lease.grant(ttl, { id }),
      (r) => ({ type: 'leaseGrant', revision: r.header.revision, id: r.id }),
    );
  }

  /** Revokes a lease (deleting its keys). */
  leaseRevoke(id: bigint) {
    return this.recorder.record(
      this.id,
      { type: 'leaseRevoke', id },
      () => this.target.lease.revoke(id),
      (r) => ({ type: 'leaseRevoke', revision: r.header.revision }),
    );
  }
}

/** A KeyValue with strings for key and value. */
export function snapshot(kv: KeyValue): KvSnapshot {
  return {
    key: decoder.decode(kv.key),
    value: decoder.decode(kv.value),
    createRevision: kv.createRevision,
    modRevision: kv.modRevision,
    version: kv.version,
    lease: kv.lease,
  };
}

function toCompare(c: CompareInput): Compare {
  const base = { key: utf8(c.key), result: c.result };
  switch (c.target) {
    case 'VALUE':
      return { ...base, target: 'VALUE', value: utf8(c.value) };
    case 'LEASE':
      return { ...base, target: 'LEASE', lease: c.lease };
    case 'VERSION':
      return { ...base, target: 'VERSION', version: c.operand };
    case 'CREATE':
      return { ...base, target: 'CREATE', createRevision: c.operand };
    case 'MOD':
      return { ...base, target: 'MOD', modRevision: c.operand };
  }
}

function toRequestOp(op: TxnOpInput): RequestOp {
  const key = utf8(op.key);
  const rangeEnd = op.type !== 'put' && op.prefix ? { rangeEnd: prefixEnd(key) } : {};
  switch (op.type) {
    case 'put': {
      const request: PutRequest = {
        key,
        value: utf8(op.value),
        ...(op.lease !== undefined && op.lease !== 0n ? { lease: op.lease } : {}),
        ...(op.prevKv ? { prevKv: true } : {}),
      };
      return { type: 'put', request };
    }
    case 'get': {
      const request: RangeRequest = { key, ...rangeEnd };
      return { type: 'range', request };
    }
    case 'delete':
      return { type: 'deleteRange', request: { key, ...rangeEnd, ...(op.prevKv ? { prevKv: true } : {}) } };
  }
}

function toOpOutput(res: ResponseOp, op: TxnOpInput): TxnOpOutput {
  switch (res.type) {
    case 'range':
      return { type: 'get', kvs: res.response.kvs.map(snapshot) };
    case 'put':
      return op.type === 'put' && op.prevKv
        ? { type: 'put', prevKv: res.response.prevKv === undefined ? null : snapshot(res.response.prevKv) }
        : { type: 'put' };
    case 'deleteRange':
      return op.type === 'delete' && op.prevKv
        ? { type: 'delete', deleted: res.response.deleted, prevKvs: res.response.prevKvs.map(snapshot) }
        : { type: 'delete', deleted: res.response.deleted };
    case 'txn':
      throw new TypeError('recorder: nested txns are not modelled');
  }
}
