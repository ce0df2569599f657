import { type Index, type Message, type MsgSnap, seededRandom, type Term } from '@tsetcd/raft';
import { describe, expect, it } from 'vitest';
import { encodeMessage, encodeValue } from './codec.js';
import { ProtocolError } from './tcp-errors.js';
import {
  decodeFrame,
  encodeAccept,
  encodeHello,
  encodeMessagesFrame,
  encodeReject,
  encodeSnapAck,
  encodeSnapEnd,
  encodeSnapStart,
  FrameType,
  MAX_TEXT_LENGTH,
  PROTOCOL_VERSION,
  snapChunkPrefix,
} from './tcp-protocol.js';
import { MessageGenerator } from './test/random-message.js';

const hello = { version: PROTOCOL_VERSION, clusterToken: 'cluster-a', from: 1n, to: (1n << 64n) - 1n };
const snap: MsgSnap = {
  type: 'MsgSnap',
  from: 1n,
  to: 2n,
  term: 5 as Term,
  snapshot: {
    metadata: {
      index: 10 as Index,
      term: 4 as Term,
      confState: { voters: [1n, 2n], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false },
    },
    data: new Uint8Array([1, 2, 3]),
  },
};

function frame(type: number, body: Uint8Array = new Uint8Array(0)): Uint8Array {
  return Uint8Array.from([type, ...body]);
}

function protocolError(p: Uint8Array): string {
  try {
    decodeFrame(p);
  } catch (err) {
    expect(err).toBeInstanceOf(ProtocolError);
    return (err as Error).message;
  }
  throw new Error('expected a ProtocolError');
}

describe('tcp protocol frames', () => {
  it('round-trips every frame type', () => {
    expect(decodeFrame(encodeHello(hello))).toEqual({ type: 'hello', hello });
    expect(decodeFrame(encodeAccept())).toEqual({ type: 'accept' });
    expect(decodeFrame(encodeReject('cluster token mismatch'))).toEqual({
      type: 'reject',
      reason: 'cluster token mismatch',
    });
    expect(decodeFrame(encodeSnapEnd())).toEqual({ type: 'snapEnd' });
    expect(decodeFrame(encodeSnapAck())).toEqual({ type: 'snapAck' });
    const chunk = Uint8Array.from([...snapChunkPrefix(), 7, 8]);
    expect(decodeFrame(chunk)).toEqual({ type: 'snapChunk', data: new Uint8Array([7, 8]) });
  });

  it('carries a batch of random messages in one messages frame', () => {
    const gen = new MessageGenerator(seededRandom(3), 1024);
    const messages: Message[] = Array.from({ length: 40 }, () => gen.message());
    const f = decodeFrame(encodeMessagesFrame(messages.map(encodeMessage)));
    expect(f.type === 'messages' && f.messages.length).toBe(40);
    expect(f).toEqual({ type: 'messages', messages });
  });

  it('sends a MsgSnap header without its data, and the data length separately', () => {
    const f = decodeFrame(encodeSnapStart(snap));
    expect(f).toEqual({
      type: 'snapStart',
      message: { ...snap, snapshot: { ...snap.snapshot, data: new Uint8Array(0) } },
      totalBytes: 3,
    });
  });

  it.each([
    ['an empty frame', new Uint8Array(0), 'empty frame'],
    ['an unknown frame type', frame(99), 'unknown frame type 99'],
    ['a hello that is not a map', frame(FrameType.hello, encodeValue([1])), 'hello is not a map'],
    [
      'a hello without a token',
      frame(FrameType.hello, encodeValue({ ...hello, clusterToken: 7 })),
      'clusterToken',
    ],
    ['a hello with an int node ID', frame(FrameType.hello, encodeValue({ ...hello, from: 1 })), 'hello.from'],
    [
      'a hello with a float version',
      frame(FrameType.hello, encodeValue({ ...hello, version: 1.5 })),
      'version',
    ],
    [
      'an over-long token',
      frame(FrameType.hello, encodeValue({ ...hello, clusterToken: 'x'.repeat(MAX_TEXT_LENGTH + 1) })),
      'clusterToken',
    ],
    [
      'an accept with a body',
      frame(FrameType.accept, new Uint8Array([0])),
      'accept frame with a 1-byte body',
    ],
    ['a snapAck with a body', frame(FrameType.snapAck, new Uint8Array([0])), 'snapAck frame'],
    ['garbage msgpack', frame(FrameType.messages, new Uint8Array([0xc1])), 'bad messages frame'],
    ['messages that are not a list', frame(FrameType.messages, encodeValue({})), 'not an array'],
    ['an invalid message', frame(FrameType.messages, encodeValue([{ type: 'MsgApp' }])), 'message 0'],
    [
      'a snapStart with another message type',
      frame(
        FrameType.snapStart,
        encodeValue({ message: { type: 'MsgTimeoutNow', from: 1n, to: 2n, term: 1 }, totalBytes: 0 }),
      ),
      'snapStart carries a MsgTimeoutNow',
    ],
    [
      'a snapStart with inline data',
      frame(FrameType.snapStart, encodeValue({ message: snap, totalBytes: 3 })),
      'carries snapshot data',
    ],
    [
      'a snapStart with a negative size',
      frame(
        FrameType.snapStart,
        encodeValue({
          message: { ...snap, snapshot: { ...snap.snapshot, data: new Uint8Array() } },
          totalBytes: -1,
        }),
      ),
      'totalBytes',
    ],
  ])('refuses %s', (_name, payload, reason) => {
    expect(protocolError(payload)).toContain(reason);
  });
});
