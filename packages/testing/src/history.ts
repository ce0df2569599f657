/**
 * A client history: what each client asked (input), when it asked (call), when it was answered
 * (return) and what it was told (output). Keys and values are strings (UTF-8) so histories print
 * and compare plainly. An operation whose outcome is unknown — it timed out, its connection broke,
 * its member stopped — is *ambiguous*: it has no return time and no output, and may or may not
 * have taken effect at any moment after its call.
 *
 * Pure data types. Recording is recorder.ts; checking is linearizability.ts.
 */

/** A key as the model sees it: its value and etcd's bookkeeping (mvccpb.KeyValue, strings). */
export interface KvSnapshot {
  readonly key: string;
  readonly value: string;
  readonly createRevision: number;
  readonly modRevision: number;
  readonly version: number;
  /** 0n = no lease. */
  readonly lease: bigint;
}

/** How a compare's target is compared to its operand (etcd's Compare.CompareResult). */
export type CompareResult = 'EQUAL' | 'NOT_EQUAL' | 'GREATER' | 'LESS';

/** One txn compare on a single key (etcd's Compare); a missing key has version/create/mod 0, value absent. */
export type CompareInput =
  | { readonly key: string; readonly target: 'VALUE'; readonly result: CompareResult; readonly value: string }
  | {
      readonly key: string;
      readonly target: 'VERSION' | 'CREATE' | 'MOD';
      readonly result: CompareResult;
      readonly operand: number;
    }
  | {
      readonly key: string;
      readonly target: 'LEASE';
      readonly result: CompareResult;
      readonly lease: bigint;
    };

/** A put: value, optional lease, whether the previous key-value is returned. */
export interface PutInput {
  readonly type: 'put';
  readonly key: string;
  readonly value: string;
  readonly lease?: bigint;
  readonly prevKv?: boolean;
}

/** A linearizable get of one key, or of every key under a prefix. */
export interface GetInput {
  readonly type: 'get';
  readonly key: string;
  readonly prefix?: boolean;
}

/** A delete of one key, or of every key under a prefix. */
export interface DeleteInput {
  readonly type: 'delete';
  readonly key: string;
  readonly prefix?: boolean;
  readonly prevKv?: boolean;
}

/** One operation of a txn branch. */
export type TxnOpInput = PutInput | GetInput | DeleteInput;

/** etcd's Txn: if every compare holds run `success`, else `failure`, as one revision. */
export interface TxnInput {
  readonly type: 'txn';
  readonly compare: readonly CompareInput[];
  readonly success: readonly TxnOpInput[];
  readonly failure: readonly TxnOpInput[];
}

/** LeaseGrant with the ID chosen (the ID is known before the request is sent). */
export interface LeaseGrantInput {
  readonly type: 'leaseGrant';
  readonly id: bigint;
  readonly ttl: number;
}

/** LeaseRevoke: deletes every key attached to the lease, in one revision. */
export interface LeaseRevokeInput {
  readonly type: 'leaseRevoke';
  readonly id: bigint;
}

/** Any request the model understands. */
export type Input = PutInput | GetInput | DeleteInput | TxnInput | LeaseGrantInput | LeaseRevokeInput;

/** What a put answered. `prevKv` is present only when asked for (null = there was none). */
export interface PutOutput {
  readonly type: 'put';
  readonly revision: number;
  readonly prevKv?: KvSnapshot | null;
}

/** What a get answered: the keys in key order and the store revision it read at. */
export interface GetOutput {
  readonly type: 'get';
  readonly revision: number;
  readonly kvs: readonly KvSnapshot[];
}

/** What a delete answered. */
export interface DeleteOutput {
  readonly type: 'delete';
  readonly revision: number;
  readonly deleted: number;
  /** Present only when asked for. */
  readonly prevKvs?: readonly KvSnapshot[];
}

/** The answer of one txn branch operation. */
export type TxnOpOutput =
  | Omit<PutOutput, 'revision'>
  | Omit<GetOutput, 'revision'>
  | Omit<DeleteOutput, 'revision'>;

/** What a txn answered. */
export interface TxnOutput {
  readonly type: 'txn';
  readonly revision: number;
  readonly succeeded: boolean;
  readonly responses: readonly TxnOpOutput[];
}

/** What a lease grant answered. */
export interface LeaseGrantOutput {
  readonly type: 'leaseGrant';
  readonly revision: number;
  readonly id: bigint;
}

/** What a lease revoke answered. */
export interface LeaseRevokeOutput {
  readonly type: 'leaseRevoke';
  readonly revision: number;
}

/** A definite failure the model predicts (e.g. 'ErrLeaseNotFound'): the request had no effect. */
export interface ErrorOutput {
  readonly type: 'error';
  readonly code: string;
}

/** Any answer. */
export type Output =
  | PutOutput
  | GetOutput
  | DeleteOutput
  | TxnOutput
  | LeaseGrantOutput
  | LeaseRevokeOutput
  | ErrorOutput;

/** One recorded operation; `return` and `output` are undefined when it is ambiguous. */
export interface Operation {
  /** Who issued it: operations of one client never overlap. */
  readonly client: number;
  readonly input: Input;
  /** Invoke time (any monotonic scale, e.g. the cluster clock in ms). */
  readonly call: number;
  /** Response time; undefined = ambiguous (no answer, may or may not have taken effect). */
  readonly return?: number | undefined;
  readonly output?: Output | undefined;
}

/** A whole history: operations in any order. */
export type History = readonly Operation[];

/** Whether the operation's outcome is unknown. */
export function isAmbiguous(op: Operation): boolean {
  return op.return === undefined || op.output === undefined;
}
