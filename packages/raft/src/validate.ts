/**
 * Validation of messages that enter from outside the process (a transport's decoded frame): every
 * field has the right type, terms and indexes are non-negative safe integers, node IDs are
 * unsigned 64-bit bigints, payloads are bytes. After this, the rest of the package trusts them.
 * Pure. Hand-written, so the package keeps zero dependencies.
 */

import { RaftError } from './errors.js';
import { MESSAGE_TYPES, type Message, type MessageType } from './messages.js';
import type { ConfChange, ConfState, Entry, Index, NodeId, Snapshot, Term } from './types.js';

/** A message from a peer is malformed; the connection that carried it should be dropped. */
export class InvalidMessageError extends RaftError {
  readonly code = 'ErrInvalidMessage';
  constructor(detail: string) {
    super(`raft: invalid message: ${detail}`);
    this.name = 'InvalidMessageError';
  }
}

const MESSAGE_TYPE_SET: ReadonlySet<string> = new Set(MESSAGE_TYPES);
const CONF_CHANGE_TYPES: ReadonlySet<string> = new Set([
  'ConfChangeAddNode',
  'ConfChangeRemoveNode',
  'ConfChangeAddLearnerNode',
  'ConfChangeUpdateNode',
]);
const TRANSITIONS: ReadonlySet<string> = new Set(['auto', 'implicit', 'explicit']);
const MAX_U64 = (1n << 64n) - 1n;

type Obj = Record<string, unknown>;

function obj(v: unknown, path: string): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw new InvalidMessageError(`${path} must be an object`);
  return v as Obj;
}

function counter(v: unknown, path: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    throw new InvalidMessageError(`${path} must be a non-negative safe integer`);
  }
  return v;
}

function nodeId(v: unknown, path: string): NodeId {
  if (typeof v !== 'bigint' || v < 0n || v > MAX_U64)
    throw new InvalidMessageError(`${path} must be a uint64 bigint`);
  return v;
}

function bytes(v: unknown, path: string): Uint8Array {
  if (!(v instanceof Uint8Array)) throw new InvalidMessageError(`${path} must be a Uint8Array`);
  return v;
}

function bool(v: unknown, path: string): boolean {
  if (typeof v !== 'boolean') throw new InvalidMessageError(`${path} must be a boolean`);
  return v;
}

function array(v: unknown, path: string): unknown[] {
  if (!Array.isArray(v)) throw new InvalidMessageError(`${path} must be an array`);
  return v;
}

function ids(v: unknown, path: string): NodeId[] {
  return array(v, path).map((x, i) => nodeId(x, `${path}[${i}]`));
}

function confChange(v: unknown, path: string): ConfChange {
  const o = obj(v, path);
  if (typeof o.transition !== 'string' || !TRANSITIONS.has(o.transition)) {
    throw new InvalidMessageError(`${path}.transition is not a ConfChangeTransition`);
  }
  const changes = array(o.changes, `${path}.changes`).map((c, i) => {
    const co = obj(c, `${path}.changes[${i}]`);
    if (typeof co.type !== 'string' || !CONF_CHANGE_TYPES.has(co.type)) {
      throw new InvalidMessageError(`${path}.changes[${i}].type is not a ConfChangeType`);
    }
    return {
      type: co.type as ConfChange['changes'][number]['type'],
      nodeId: nodeId(co.nodeId, `${path}.changes[${i}].nodeId`),
    };
  });
  return {
    transition: o.transition as ConfChange['transition'],
    changes,
    context: bytes(o.context, `${path}.context`),
  };
}

/** Validates one log entry. */
export function validateEntry(v: unknown, path = 'entry'): Entry {
  const o = obj(v, path);
  const term = counter(o.term, `${path}.term`) as Term;
  const index = counter(o.index, `${path}.index`) as Index;
  if (o.type === 'EntryNormal')
    return { type: 'EntryNormal', term, index, data: bytes(o.data, `${path}.data`) };
  if (o.type === 'EntryConfChange') {
    return { type: 'EntryConfChange', term, index, change: confChange(o.change, `${path}.change`) };
  }
  throw new InvalidMessageError(`${path}.type must be EntryNormal or EntryConfChange`);
}

function confState(v: unknown, path: string): ConfState {
  const o = obj(v, path);
  return {
    voters: ids(o.voters, `${path}.voters`),
    learners: ids(o.learners, `${path}.learners`),
    votersOutgoing: ids(o.votersOutgoing, `${path}.votersOutgoing`),
    learnersNext: ids(o.learnersNext, `${path}.learnersNext`),
    autoLeave: bool(o.autoLeave, `${path}.autoLeave`),
  };
}

/** Validates a snapshot (metadata and data). */
export function validateSnapshot(v: unknown, path = 'snapshot'): Snapshot {
  const o = obj(v, path);
  const meta = obj(o.metadata, `${path}.metadata`);
  return {
    metadata: {
      index: counter(meta.index, `${path}.metadata.index`) as Index,
      term: counter(meta.term, `${path}.metadata.term`) as Term,
      confState: confState(meta.confState, `${path}.metadata.confState`),
    },
    data: bytes(o.data, `${path}.data`),
  };
}

function entries(v: unknown, path: string): Entry[] {
  return array(v, path).map((e, i) => validateEntry(e, `${path}[${i}]`));
}

/**
 * Validates a message received from a peer and returns it with exactly the fields of its type
 * (extra fields are dropped). Throws InvalidMessageError naming the first bad field.
 */
export function validateMessage(v: unknown): Message {
  const o = obj(v, 'message');
  if (typeof o.type !== 'string' || !MESSAGE_TYPE_SET.has(o.type)) {
    throw new InvalidMessageError('message.type is not a raft message type');
  }
  const type = o.type as MessageType;
  const env = {
    from: nodeId(o.from, 'message.from'),
    to: nodeId(o.to, 'message.to'),
    term: counter(o.term, 'message.term') as Term,
  };
  const index = () => counter(o.index, 'message.index') as Index;
  const logTerm = () => counter(o.logTerm, 'message.logTerm') as Term;
  const context = () => bytes(o.context, 'message.context');
  switch (type) {
    case 'MsgApp':
      return {
        type,
        ...env,
        index: index(),
        logTerm: logTerm(),
        entries: entries(o.entries, 'message.entries'),
        commit: counter(o.commit, 'message.commit') as Index,
      };
    case 'MsgAppResp':
      return {
        type,
        ...env,
        index: index(),
        reject: bool(o.reject, 'message.reject'),
        rejectHint: counter(o.rejectHint, 'message.rejectHint') as Index,
        logTerm: logTerm(),
      };
    case 'MsgVote':
    case 'MsgPreVote':
      return {
        type,
        ...env,
        index: index(),
        logTerm: logTerm(),
        transfer: bool(o.transfer, 'message.transfer'),
      };
    case 'MsgVoteResp':
    case 'MsgPreVoteResp':
      return { type, ...env, reject: bool(o.reject, 'message.reject') };
    case 'MsgHeartbeat':
      return { type, ...env, commit: counter(o.commit, 'message.commit') as Index, context: context() };
    case 'MsgHeartbeatResp':
      return { type, ...env, context: context() };
    case 'MsgSnap':
      return { type, ...env, snapshot: validateSnapshot(o.snapshot, 'message.snapshot') };
    case 'MsgTimeoutNow':
      return { type, ...env };
    case 'MsgProp':
      return { type, ...env, entries: entries(o.entries, 'message.entries') };
    case 'MsgReadIndex':
      return { type, ...env, context: context() };
    case 'MsgReadIndexResp':
      return { type, ...env, index: index(), context: context() };
    case 'MsgTransferLeader':
      return { type, ...env, transferee: nodeId(o.transferee, 'message.transferee') };
  }
}
