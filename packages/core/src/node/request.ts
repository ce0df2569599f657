/**
 * ReplicatedRequest: what the node proposes to raft — every request that changes replicated
 * state, in one discriminated union — and its msgpack encoding in log entries. Each proposal
 * carries a request ID unique in the cluster (member ID in the high bits, a counter below), so
 * the member that proposed it can hand the result back to the waiting caller when the entry is
 * applied, wherever the leader was.
 *
 * Requests are validated before they are proposed; decoding an entry only checks the envelope,
 * and an entry that fails even that is refused identically on every member (determinism).
 */

import { Decoder, Encoder } from '@msgpack/msgpack';
import type {
  AlarmType,
  CompactionRequest,
  DeleteRangeRequest,
  LeaseId,
  PutRequest,
  TxnRequest,
} from '@tsetcd/mvcc';
import { NODE_ID_EXTENSION_CODEC } from '@tsetcd/transport';
import { MalformedRequestError } from '../node-errors.js';

/** What an alarm request does (etcd's AlarmRequest.AlarmAction). */
export type AlarmAction = 'GET' | 'ACTIVATE' | 'DEACTIVATE';

/** A member's client-facing attributes, published through raft as etcd's publish does. */
export interface MemberAttributes {
  readonly name: string;
  readonly clientUrls: readonly string[];
}

/** Every request that changes replicated state. */
export type ReplicatedRequest =
  | { readonly op: 'put'; readonly put: PutRequest }
  | { readonly op: 'deleteRange'; readonly deleteRange: DeleteRangeRequest }
  | { readonly op: 'txn'; readonly txn: TxnRequest }
  | { readonly op: 'compaction'; readonly compaction: CompactionRequest }
  | { readonly op: 'leaseGrant'; readonly id: LeaseId; readonly ttl: number }
  | { readonly op: 'leaseRevoke'; readonly id: LeaseId }
  | { readonly op: 'leaseRenew'; readonly id: LeaseId }
  | {
      readonly op: 'alarm';
      readonly action: AlarmAction;
      readonly memberId: bigint;
      readonly alarm: AlarmType | 'NONE';
    }
  | { readonly op: 'memberAttrs'; readonly memberId: bigint; readonly attrs: MemberAttributes }
  | { readonly op: 'auth'; readonly auth: AuthOp };

/** An auth management or authenticate request; see auth-apply.ts. */
export interface AuthOp {
  readonly kind: string;
  readonly [field: string]: unknown;
}

/** The operation names, for metrics and errors. */
export type RequestOp = ReplicatedRequest['op'];

const OPS: ReadonlySet<string> = new Set<RequestOp>([
  'put',
  'deleteRange',
  'txn',
  'compaction',
  'leaseGrant',
  'leaseRevoke',
  'leaseRenew',
  'alarm',
  'memberAttrs',
  'auth',
]);

/** A request as it sits in a log entry. */
export interface RequestEnvelope {
  /** Cluster-unique request ID; 0 for requests nobody waits for. */
  readonly id: bigint;
  /** The authenticated user the request runs as ('' when auth is off or for internal requests). */
  readonly user?: string;
  /** The auth revision the user's token was checked at (etcd's AuthRevision). */
  readonly authRevision?: number;
  readonly req: ReplicatedRequest;
}

const encoder = new Encoder({ extensionCodec: NODE_ID_EXTENSION_CODEC, ignoreUndefined: true });
const decoder = new Decoder({ extensionCodec: NODE_ID_EXTENSION_CODEC });

/** The bytes of a log entry for `env`. */
export function encodeRequest(env: RequestEnvelope): Uint8Array {
  return encoder.encode(env);
}

/** Decodes a log entry made by encodeRequest; MalformedRequestError if it is not one. */
export function decodeRequest(data: Uint8Array): RequestEnvelope {
  let v: unknown;
  try {
    v = decoder.decode(data);
  } catch (err) {
    throw new MalformedRequestError((err as Error).message);
  }
  const env = v as Partial<RequestEnvelope> | null;
  if (env === null || typeof env !== 'object' || typeof env.id !== 'bigint') {
    throw new MalformedRequestError('no request envelope');
  }
  const op = (env.req as { op?: unknown } | undefined)?.op;
  if (typeof op !== 'string' || !OPS.has(op)) throw new MalformedRequestError(`unknown op ${String(op)}`);
  return env as RequestEnvelope;
}

/** Hands out cluster-unique request IDs: etcd's idutil (member bits, then a time-seeded counter). */
export class RequestIdGenerator {
  private next: bigint;

  /** `memberId`'s low 16 bits prefix every ID; the counter starts from `nowMs` so a restart does not reuse IDs. */
  constructor(memberId: bigint, nowMs: number) {
    const prefix = (memberId & 0xffffn) << 48n;
    const suffix = (BigInt(Math.floor(nowMs)) & 0xffffffffffn) << 8n;
    this.next = prefix | suffix;
  }

  /** A fresh ID. */
  id(): bigint {
    this.next = (this.next & ~0xffffffffffffn) | ((this.next + 1n) & 0xffffffffffffn);
    return this.next === 0n ? this.id() : this.next;
  }
}
