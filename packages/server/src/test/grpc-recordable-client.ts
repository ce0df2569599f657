/**
 * A RecordableClient (@tsetcd/testing) over one member's etcd v3 gRPC API, built with grpc-js
 * from our own .proto files: KV put/range/delete/txn and Lease grant/revoke in the shapes the
 * Recorder wants, plus Maintenance Status and HashKV for the test driving the cluster.
 *
 * One client talks to ONE endpoint and never retries or fails over: a call that the member does
 * not answer (killed, restarting, no leader, deadline passed) fails, and the Recorder records it
 * as ambiguous. Every call has a deadline, so nothing hangs on a dead member. Only the errors the
 * Recorder's contract lists as definite (DEFINITE_ERROR_CODES: the lease was not found, the lease
 * already exists) are given those codes; every other failure keeps the gRPC error's numeric code,
 * which the Recorder treats as ambiguous.
 *
 * Does not: support nested txns, sorted or limited ranges, or watches.
 */

import {
  type Client,
  credentials,
  makeClientConstructor,
  type ServiceDefinition,
  type ServiceError,
  status,
} from '@grpc/grpc-js';
import {
  asRevision,
  type Compare,
  type KeyValue,
  prefixEnd,
  type RequestOp,
  type ResponseOp,
  type TxnRequest,
  utf8,
} from '@tsetcd/mvcc';
import type { RecordableClient } from '@tsetcd/testing';
import { loadEtcdProtos } from '../proto.js';

/** Default deadline of one call, ms: long enough for an election, short enough not to stall a run. */
export const DEFAULT_CALL_DEADLINE_MS = 2_500;

/**
 * Channel options: reconnect quickly to a restarted member (grpc-js backs off up to 120 s by
 * default, longer than a whole test).
 */
const CHANNEL_OPTIONS = {
  'grpc.initial_reconnect_backoff_ms': 100,
  'grpc.max_reconnect_backoff_ms': 1_000,
  'grpc.min_reconnect_backoff_ms': 100,
} as const;

/** A gRPC failure with the etcd error code the Recorder understands when it is a definite one. */
export class GrpcCallError extends Error {
  /** etcd's code (`ErrLeaseNotFound`) for a definite answer, else the gRPC status number. */
  readonly code: string | number;
  constructor(
    readonly method: string,
    readonly grpcCode: number,
    readonly details: string,
  ) {
    super(`${method}: ${status[grpcCode] ?? grpcCode}: ${details}`);
    this.name = 'GrpcCallError';
    this.code = definiteCode(grpcCode, details) ?? grpcCode;
  }
}

/** etcd's answers that mean "the request had no effect", as the server sends them (grpc/errors.ts). */
function definiteCode(code: number, details: string): string | undefined {
  if (code === status.NOT_FOUND && details === 'etcdserver: requested lease not found')
    return 'ErrLeaseNotFound';
  if (code === status.FAILED_PRECONDITION && details === 'etcdserver: lease already exists')
    return 'ErrLeaseExists';
  return undefined;
}

/** What Maintenance.Status says about a member, as the driver needs it. */
export interface MemberStatus {
  readonly memberId: bigint;
  /** 0n when the member knows no leader. */
  readonly leader: bigint;
  readonly revision: number;
  readonly raftIndex: number;
  readonly raftAppliedIndex: number;
}

/** What Maintenance.HashKV answers. */
export interface HashKv {
  readonly hash: number;
  readonly compactRevision: number;
  /** The member's current revision when it answered. */
  readonly revision: number;
}

// biome-ignore lint/suspicious/noExplicitAny: decoded proto-loader replies, read field by field below.
type Pb = any;
type Unary = (
  req: object,
  opts: { deadline: number },
  cb: (err: ServiceError | null, res: Pb) => void,
) => void;

/** A RecordableClient over one endpoint; see the file comment. close() when done. */
export class GrpcRecordableClient implements RecordableClient {
  private readonly kvClient: Client;
  private readonly leaseClient: Client;
  private readonly maintenanceClient: Client;

  constructor(
    /** host:port of the member's client URL. */
    readonly endpoint: string,
    private readonly deadlineMs = DEFAULT_CALL_DEADLINE_MS,
  ) {
    const protos = loadEtcdProtos();
    const make = (name: 'KV' | 'Lease' | 'Maintenance') => {
      const Ctor = makeClientConstructor(protos[name] as ServiceDefinition, name);
      return new Ctor(endpoint, credentials.createInsecure(), CHANNEL_OPTIONS);
    };
    this.kvClient = make('KV');
    this.leaseClient = make('Lease');
    this.maintenanceClient = make('Maintenance');
  }

  private call(client: Client, method: string, req: object): Promise<Pb> {
    const fn = (client as unknown as Record<string, Unary>)[method]!;
    return new Promise((resolve, reject) =>
      fn.call(client, req, { deadline: Date.now() + this.deadlineMs }, (err, res) =>
        err ? reject(new GrpcCallError(method, err.code, err.details)) : resolve(res),
      ),
    );
  }

  readonly kv: RecordableClient['kv'] = {
    put: async (key, value, opts) => {
      const r = await this.call(this.kvClient, 'Put', {
        key: Buffer.from(key),
        value: Buffer.from(value),
        ...(opts.lease !== undefined ? { lease: opts.lease.toString() } : {}),
        ...(opts.prevKv ? { prevKv: true } : {}),
      });
      return { header: header(r), ...(r.prevKv ? { prevKv: kvIn(r.prevKv) } : {}) };
    },
    get: async (key, opts) => {
      const r = await this.call(this.kvClient, 'Range', {
        key: Buffer.from(key),
        ...(opts.prefix ? { rangeEnd: Buffer.from(prefixEnd(utf8(key))) } : {}),
      });
      return { header: header(r), kvs: (r.kvs as Pb[]).map(kvIn) };
    },
    delete: async (key, opts) => {
      const r = await this.call(this.kvClient, 'DeleteRange', {
        key: Buffer.from(key),
        ...(opts.prefix ? { rangeEnd: Buffer.from(prefixEnd(utf8(key))) } : {}),
        ...(opts.prevKv ? { prevKv: true } : {}),
      });
      return { header: header(r), deleted: Number(r.deleted), prevKvs: (r.prevKvs as Pb[]).map(kvIn) };
    },
    txn: async (req: TxnRequest) => {
      const r = await this.call(this.kvClient, 'Txn', txnOut(req));
      return {
        header: header(r),
        succeeded: Boolean(r.succeeded),
        responses: (r.responses as Pb[]).map(responseOpIn),
      };
    },
  };

  readonly lease: RecordableClient['lease'] = {
    grant: async (ttl, opts) => {
      const r = await this.call(this.leaseClient, 'LeaseGrant', {
        TTL: String(ttl),
        ID: (opts.id ?? 0n).toString(),
      });
      return { header: header(r), id: BigInt(r.ID) };
    },
    revoke: async (id) => {
      const r = await this.call(this.leaseClient, 'LeaseRevoke', { ID: id.toString() });
      return { header: header(r) };
    },
  };

  /** Maintenance.Status of this member. */
  async status(): Promise<MemberStatus> {
    const r = await this.call(this.maintenanceClient, 'Status', {});
    return {
      memberId: BigInt(r.header.memberId),
      leader: BigInt(r.leader),
      revision: Number(r.header.revision),
      raftIndex: Number(r.raftIndex),
      raftAppliedIndex: Number(r.raftAppliedIndex),
    };
  }

  /** Maintenance.HashKV at `revision` (0 = the member's current revision). */
  async hashKv(revision: number): Promise<HashKv> {
    const r = await this.call(this.maintenanceClient, 'HashKV', { revision: String(revision) });
    return {
      hash: Number(r.hash),
      compactRevision: Number(r.compactRevision),
      revision: Number(r.header.revision),
    };
  }

  close(): void {
    this.kvClient.close();
    this.leaseClient.close();
    this.maintenanceClient.close();
  }
}

const header = (r: Pb) => ({ revision: Number(r.header.revision) });

function kvIn(kv: Pb): KeyValue {
  return {
    key: new Uint8Array(kv.key),
    value: new Uint8Array(kv.value),
    createRevision: asRevision(Number(kv.createRevision)),
    modRevision: asRevision(Number(kv.modRevision)),
    version: Number(kv.version),
    lease: BigInt(kv.lease),
  };
}

function compareOut(c: Compare): Pb {
  const base: Pb = { key: Buffer.from(c.key), result: c.result, target: c.target };
  if (c.rangeEnd !== undefined) base.rangeEnd = Buffer.from(c.rangeEnd);
  switch (c.target) {
    case 'VERSION':
      return { ...base, version: String(c.version) };
    case 'CREATE':
      return { ...base, createRevision: String(c.createRevision) };
    case 'MOD':
      return { ...base, modRevision: String(c.modRevision) };
    case 'VALUE':
      return { ...base, value: Buffer.from(c.value) };
    case 'LEASE':
      return { ...base, lease: c.lease.toString() };
  }
}

function requestOpOut(op: RequestOp): Pb {
  switch (op.type) {
    case 'range': {
      const r = op.request;
      return {
        requestRange: {
          key: Buffer.from(r.key),
          ...(r.rangeEnd ? { rangeEnd: Buffer.from(r.rangeEnd) } : {}),
        },
      };
    }
    case 'put': {
      const r = op.request;
      return {
        requestPut: {
          key: Buffer.from(r.key),
          value: Buffer.from(r.value ?? new Uint8Array(0)),
          ...(r.lease !== undefined ? { lease: r.lease.toString() } : {}),
          ...(r.prevKv ? { prevKv: true } : {}),
        },
      };
    }
    case 'deleteRange': {
      const r = op.request;
      return {
        requestDeleteRange: {
          key: Buffer.from(r.key),
          ...(r.rangeEnd ? { rangeEnd: Buffer.from(r.rangeEnd) } : {}),
          ...(r.prevKv ? { prevKv: true } : {}),
        },
      };
    }
    case 'txn':
      return { requestTxn: txnOut(op.request) };
  }
}

function txnOut(req: TxnRequest): Pb {
  return {
    compare: req.compare.map(compareOut),
    success: req.success.map(requestOpOut),
    failure: req.failure.map(requestOpOut),
  };
}

function responseOpIn(r: Pb): ResponseOp {
  switch (r.response) {
    case 'responseRange': {
      const x = r.responseRange;
      return {
        type: 'range',
        response: {
          header: { revision: asRevision(Number(x.header?.revision ?? 0)) },
          kvs: (x.kvs as Pb[]).map(kvIn),
          more: Boolean(x.more),
          count: Number(x.count),
        },
      };
    }
    case 'responsePut': {
      const x = r.responsePut;
      return {
        type: 'put',
        response: {
          header: { revision: asRevision(Number(x.header?.revision ?? 0)) },
          ...(x.prevKv ? { prevKv: kvIn(x.prevKv) } : {}),
        },
      };
    }
    case 'responseDeleteRange': {
      const x = r.responseDeleteRange;
      return {
        type: 'deleteRange',
        response: {
          header: { revision: asRevision(Number(x.header?.revision ?? 0)) },
          deleted: Number(x.deleted),
          prevKvs: (x.prevKvs as Pb[]).map(kvIn),
        },
      };
    }
    default:
      throw new Error(`grpc-recordable-client: unexpected txn response ${String(r.response)}`);
  }
}
