/**
 * The TCP transport's wire protocol, above framing: what each frame payload holds.
 *
 * A payload is one frame-type byte, then a body. Each direction between two members is its own
 * connection, opened by the sender (as etcd's stream per direction):
 *
 *   dialer → acceptor: hello, then (only once accepted) any of messages | snapStart snapChunk* snapEnd
 *   acceptor → dialer: accept or reject (answering hello), then snapAck (one per snapEnd)
 *
 * Until the hello is accepted, and for everything the acceptor sends, frames are limited to
 * MAX_CONTROL_FRAME_BYTES; a dialer must not pipeline frames behind its hello.
 *
 * | frame     | body                                                                    |
 * | --------- | ----------------------------------------------------------------------- |
 * | hello     | msgpack { version, clusterToken, from, to, url? }                       |
 * | accept    | empty                                                                   |
 * | reject    | msgpack { reason }: why the hello was refused, then the acceptor closes |
 * | messages  | msgpack array of messages (codec.ts), validated all or nothing          |
 * | snapStart | msgpack { message: a MsgSnap with empty snapshot.data, totalBytes }     |
 * | snapChunk | raw snapshot bytes                                                      |
 * | snapEnd   | empty: the receiver reassembles, validates and delivers the MsgSnap     |
 * | snapAck   | empty: the receiver delivered the oldest unacknowledged snapshot        |
 *
 * Parsing checks every field; anything else is a ProtocolError and closes the connection. Pure.
 */

import { type Message, type MsgSnap, type NodeId, validateMessage } from '@tsetcd/raft';
import { decodeMessageList, decodeValue, encodeMessageList, encodeValue, pooledBytes } from './codec.js';
import { ProtocolError, reasonOf } from './tcp-errors.js';

/** Version in the hello; an acceptor refuses any other (bump on an incompatible change). */
export const PROTOCOL_VERSION = 2;

/** The first byte of every frame payload. */
export const FrameType = {
  hello: 1,
  accept: 2,
  reject: 3,
  messages: 4,
  snapStart: 5,
  snapChunk: 6,
  snapEnd: 7,
  snapAck: 8,
} as const;

/** Name of a frame type. */
export type FrameTypeName = keyof typeof FrameType;

const FRAME_NAMES: ReadonlyMap<number, FrameTypeName> = new Map(
  Object.entries(FrameType).map(([name, code]) => [code, name as FrameTypeName]),
);

/** Bytes a frame's type takes in front of its body. */
export const FRAME_TYPE_BYTES = 1;

/** Longest cluster token or reject reason accepted: these are names, not payloads. */
export const MAX_TEXT_LENGTH = 1024;

/**
 * Frame limit before a hello is accepted, and for everything an acceptor sends back (hello,
 * accept, reject, snapAck are small): a stranger cannot make a member buffer megabytes.
 */
export const MAX_CONTROL_FRAME_BYTES = 4096;

/** What a dialer says first: who it is, whom it wants, and which cluster it belongs to. */
export interface Hello {
  readonly version: number;
  readonly clusterToken: string;
  readonly from: NodeId;
  readonly to: NodeId;
  /**
   * Where the dialer listens, so an acceptor that does not know it yet can add it and answer
   * (TransportHandler.onUnknownPeer). Optional: an acceptor that ignores it refuses strangers.
   */
  readonly url?: string;
}

/** A parsed frame payload. */
export type Frame =
  | { readonly type: 'hello'; readonly hello: Hello }
  | { readonly type: 'accept' }
  | { readonly type: 'reject'; readonly reason: string }
  | { readonly type: 'messages'; readonly messages: Message[] }
  | { readonly type: 'snapStart'; readonly message: MsgSnap; readonly totalBytes: number }
  | { readonly type: 'snapChunk'; readonly data: Uint8Array }
  | { readonly type: 'snapEnd' }
  | { readonly type: 'snapAck' };

function payload(type: FrameTypeName, body?: Uint8Array): Uint8Array {
  // The type byte and the body fill it.
  const out = pooledBytes(FRAME_TYPE_BYTES + (body?.length ?? 0));
  out[0] = FrameType[type];
  if (body) out.set(body, FRAME_TYPE_BYTES);
  return out;
}

/** Payload of a hello frame. */
export function encodeHello(hello: Hello): Uint8Array {
  return payload('hello', encodeValue(hello));
}

/** Payload of an accept frame. */
export function encodeAccept(): Uint8Array {
  return payload('accept');
}

/** Payload of a reject frame. */
export function encodeReject(reason: string): Uint8Array {
  return payload('reject', encodeValue({ reason: reason.slice(0, MAX_TEXT_LENGTH) }));
}

/** Payload of a messages frame from individually encoded messages (codec.encodeMessage). */
export function encodeMessagesFrame(encoded: readonly Uint8Array[]): Uint8Array {
  const out = encodeMessageList(encoded, FRAME_TYPE_BYTES);
  out[0] = FrameType.messages;
  return out;
}

/** Payload of a snapStart frame: the MsgSnap without its data, and how many data bytes follow. */
export function encodeSnapStart(m: MsgSnap): Uint8Array {
  const header: MsgSnap = { ...m, snapshot: { ...m.snapshot, data: new Uint8Array(0) } };
  return payload('snapStart', encodeValue({ message: header, totalBytes: m.snapshot.data.length }));
}

/** The type byte of a snapChunk frame, written in front of the chunk so the chunk is never copied. */
export function snapChunkPrefix(): Uint8Array {
  return payload('snapChunk');
}

/** Payload of a snapEnd frame. */
export function encodeSnapEnd(): Uint8Array {
  return payload('snapEnd');
}

/** Payload of a snapAck frame. */
export function encodeSnapAck(): Uint8Array {
  return payload('snapAck');
}

/** Parses one frame payload, checking every field. Throws ProtocolError. */
export function decodeFrame(p: Uint8Array): Frame {
  const code = p[0];
  const type = code === undefined ? undefined : FRAME_NAMES.get(code);
  if (type === undefined) {
    throw new ProtocolError(code === undefined ? 'empty frame' : `unknown frame type ${code}`);
  }
  const body = p.subarray(FRAME_TYPE_BYTES);
  try {
    switch (type) {
      case 'hello':
        return { type, hello: parseHello(decodeValue(body)) };
      case 'reject':
        return { type, reason: text(record(decodeValue(body), 'reject').reason, 'reject.reason') };
      case 'messages':
        return { type, messages: decodeMessageList(body) };
      case 'snapStart':
        return parseSnapStart(decodeValue(body));
      case 'snapChunk':
        return { type, data: body };
      case 'accept':
      case 'snapEnd':
      case 'snapAck':
        if (body.length !== 0) throw new ProtocolError(`${type} frame with a ${body.length}-byte body`);
        return { type };
    }
  } catch (err) {
    if (err instanceof ProtocolError) throw err;
    throw new ProtocolError(`bad ${type} frame: ${reasonOf(err)}`, { cause: err });
  }
}

function record(v: unknown, what: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v) || v instanceof Uint8Array) {
    throw new ProtocolError(`${what} is not a map`);
  }
  return v as Record<string, unknown>;
}

function text(v: unknown, what: string): string {
  if (typeof v !== 'string' || v.length > MAX_TEXT_LENGTH) {
    throw new ProtocolError(`${what} is not a string of at most ${MAX_TEXT_LENGTH} characters`);
  }
  return v;
}

function nodeId(v: unknown, what: string): NodeId {
  // The codec only makes bigints from the 8-byte node ID extension, so any bigint is a uint64.
  if (typeof v !== 'bigint') throw new ProtocolError(`${what} is not a node ID`);
  return v;
}

function parseHello(v: unknown): Hello {
  const o = record(v, 'hello');
  if (typeof o.version !== 'number' || !Number.isSafeInteger(o.version)) {
    throw new ProtocolError('hello.version is not an integer');
  }
  return {
    version: o.version,
    clusterToken: text(o.clusterToken, 'hello.clusterToken'),
    from: nodeId(o.from, 'hello.from'),
    to: nodeId(o.to, 'hello.to'),
    ...(o.url !== undefined ? { url: text(o.url, 'hello.url') } : {}),
  };
}

function parseSnapStart(v: unknown): Frame {
  const o = record(v, 'snapStart');
  const message = validateMessage(o.message);
  if (message.type !== 'MsgSnap') throw new ProtocolError(`snapStart carries a ${message.type}`);
  if (message.snapshot.data.length !== 0) throw new ProtocolError('snapStart carries snapshot data');
  const total = o.totalBytes;
  if (typeof total !== 'number' || !Number.isSafeInteger(total) || total < 0) {
    throw new ProtocolError('snapStart.totalBytes is not a non-negative integer');
  }
  return { type: 'snapStart', message, totalBytes: total };
}
