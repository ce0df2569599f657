import type { Message, NodeId } from '@tsetcd/raft';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { encodeMessage, encodeValue } from './codec.js';
import {
  encodeHello,
  encodeMessagesFrame,
  encodeSnapEnd,
  encodeSnapStart,
  FrameType,
  PROTOCOL_VERSION,
  snapChunkPrefix,
} from './tcp-protocol.js';
import {
  closeAll,
  connectAll,
  heartbeat,
  type Member,
  member,
  nextEvent,
  pattern,
  RawServer,
  RawSocket,
  snapMessage,
} from './test/tcp-harness.js';

/** The raw socket plays member 3: known to member 2, but never a real transport. */
const RAW: NodeId = 3n;
const TOKEN = 'test-cluster';
const hello = (over: Partial<{ version: number; clusterToken: string; from: NodeId; to: NodeId }> = {}) =>
  encodeHello({ version: PROTOCOL_VERSION, clusterToken: TOKEN, from: RAW, to: 2n, ...over });
const frame = (type: number, body: Uint8Array) => Uint8Array.from([type, ...body]);
const batch = (...ms: Message[]) => encodeMessagesFrame(ms.map(encodeMessage));

let a: Member;
let b: Member;
let delivered = 0;

beforeEach(async () => {
  [a, b] = await Promise.all([member(1n), member(2n, { helloTimeoutMs: 300 })]);
  b.transport.addPeer(RAW, 'tcp://127.0.0.1:1'); // known, so only what it sends decides
  await connectAll([a, b]);
  delivered = 0;
});
afterEach(closeAll);

/** Proves member 2 still works: a fresh message from member 1 arrives. */
async function stillDelivers(): Promise<void> {
  const before = b.rec.messages.filter((m) => m.from === 1n).length;
  a.transport.send([heartbeat(1n, 2n, ++delivered)]);
  await b.rec.until(
    () => b.rec.messages.filter((m) => m.from === 1n).length === before + 1,
    'a later message',
  );
}

/** Raw bytes, a frame around a payload, or a pause until member 2 accepted the hello. */
type Write = Uint8Array | { frame: Uint8Array } | 'accepted';

/** Opens a raw connection to member 2, writes `frames` (raw bytes or frame payloads), awaits its close. */
async function attack(writes: readonly Write[], reason: string): Promise<RawSocket> {
  const raw = await RawSocket.connect(b.transport.address.port);
  for (const w of writes) {
    if (w === 'accepted') await raw.until((f) => f.some((x) => x.type === 'accept'), 'accept');
    else if (w instanceof Uint8Array) raw.write(w);
    else raw.writeFrame(w.frame);
  }
  await raw.closed;
  await b.rec.untilLogged(reason);
  expect(b.rec.logs.find((l) => l.includes(reason))).toMatch(
    /^warn: closing connection from 127\.0\.0\.1:\d+/,
  );
  return raw;
}

describe('TcpTransport robustness: each bad input closes only its connection, with a logged reason', () => {
  it.each([
    [
      'garbage bytes (an HTTP request)',
      [new TextEncoder().encode('GET / HTTP/1.1\r\nHost: x\r\n\r\n')],
      'exceeds the limit',
    ],
    [
      'an oversized length prefix',
      [new Uint8Array([0xff, 0xff, 0xff, 0xff])],
      'frame of 4294967295 bytes exceeds the limit of 4096 bytes',
    ],
    [
      'a frame over the limit after the hello',
      [{ frame: hello() }, 'accepted', new Uint8Array([0x01, 0, 0, 0x01])],
      'frame of 16777217 bytes exceeds the limit of 16777216 bytes',
    ],
    [
      'a large frame before any hello',
      [{ frame: new Uint8Array(5000) }],
      'frame of 5000 bytes exceeds the limit of 4096 bytes',
    ],
    ['a frame of an unknown type', [{ frame: new Uint8Array([0xee, 1, 2]) }], 'unknown frame type 238'],
    ['an empty frame', [new Uint8Array(4)], 'empty frame'],
    [
      'a hello that is not msgpack',
      [{ frame: frame(FrameType.hello, new Uint8Array([0xc1])) }],
      'bad hello frame',
    ],
    ['messages before any hello', [{ frame: batch(heartbeat(RAW, 2n)) }], 'expected hello, got messages'],
    [
      'a hello with the wrong cluster token',
      [{ frame: hello({ clusterToken: 'other-cluster' }) }],
      'cluster token mismatch',
    ],
    [
      'a hello for another member',
      [{ frame: hello({ to: 5n }) }],
      'hello addressed to member 5, this is member 2',
    ],
    ['a hello from an unknown member', [{ frame: hello({ from: 0xabcn }) }], 'unknown member abc'],
    [
      'a hello of another protocol version',
      [{ frame: hello({ version: 99 }) }],
      'unsupported protocol version 99',
    ],
    [
      'a valid frame holding an invalid message (bad field types)',
      [
        { frame: hello() },
        { frame: frame(FrameType.messages, encodeValue([{ ...heartbeat(RAW, 2n), term: 'one' }])) },
      ],
      'message 0: raft: invalid message: message.term must be a non-negative safe integer',
    ],
    [
      'a message claiming another sender',
      [{ frame: hello() }, { frame: batch(heartbeat(RAW, 2n), heartbeat(1n, 2n)) }],
      'MsgHeartbeat from member 1 on a connection from another member',
    ],
    [
      'a message for another member',
      [{ frame: hello() }, { frame: batch(heartbeat(RAW, 5n)) }],
      'addressed to member 5',
    ],
    [
      'snapshot chunks beyond the announced size',
      [
        { frame: hello() },
        { frame: encodeSnapStart(snapMessage(RAW, 2n, pattern(3))) },
        { frame: Uint8Array.from([...snapChunkPrefix(), 1, 2, 3, 4]) },
      ],
      'snapshot chunks exceed the announced 3 bytes',
    ],
    [
      'a snapshot that ends early',
      [
        { frame: hello() },
        { frame: encodeSnapStart(snapMessage(RAW, 2n, pattern(3))) },
        { frame: encodeSnapEnd() },
      ],
      'snapshot ended after 0 of 3 bytes',
    ],
    [
      'a dialer frame type sent the wrong way',
      [{ frame: hello() }, { frame: new Uint8Array([FrameType.accept]) }],
      'unexpected accept frame',
    ],
    ['silence instead of a hello', [], 'no hello within 300 ms'],
  ] as [string, Write[], string][])('%s', async (_name, writes, reason) => {
    await attack(writes, reason);
    await stillDelivers();
    expect(b.rec.messages.every((m) => m.from === 1n)).toBe(true);
  });

  it('tells a refused dialer why, in a reject frame, before closing', async () => {
    const raw = await attack([{ frame: hello({ clusterToken: 'nope' }) }], 'cluster token mismatch');
    expect(raw.frames).toEqual([{ type: 'reject', reason: 'cluster token mismatch' }]);
  });

  it('delivers nothing from a frame that fails validation part-way (all or nothing)', async () => {
    const bad = frame(FrameType.messages, encodeValue([{ ...heartbeat(RAW, 2n) }, { type: 'MsgApp' }]));
    const raw = await RawSocket.connect(b.transport.address.port);
    raw.writeFrame(hello());
    raw.writeFrame(batch(heartbeat(RAW, 2n, 1)));
    raw.writeFrame(bad);
    await raw.closed;
    expect(
      b.rec.messages.filter((m) => m.from === RAW).map((m) => m.type === 'MsgHeartbeat' && m.commit),
    ).toEqual([1]);
    await stillDelivers();
  });

  it('refuses a dialer with the wrong cluster token, and the dialer logs the reason', async () => {
    const c = await member(RAW, { clusterToken: 'another-cluster' });
    c.transport.addPeer(2n, b.transport.url);
    await b.rec.untilLogged('cluster token mismatch');
    await c.rec.untilLogged('rejected by peer: cluster token mismatch');
    c.transport.send([heartbeat(RAW, 2n)]);
    expect(c.rec.unreachable.length).toBeGreaterThan(0);
    await stillDelivers();
    expect(b.rec.messages.some((m) => m.from === RAW)).toBe(false);
  });

  it('survives an acceptor that answers garbage: the dialer drops that connection and redials', async () => {
    const evil = await RawServer.listen();
    try {
      a.transport.addPeer(4n, evil.url);
      const first = await evil.accepted(0);
      first.write(new Uint8Array([0, 0, 0, 2, 0xee, 0]));
      await a.rec.untilLogged('failed: unknown frame type 238');
      await evil.accepted(1);
      expect(a.transport.peerState(4n)).not.toBe('connected');
      await stillDelivers();
    } finally {
      await evil.close();
    }
  });

  it('a newer connection from the same member replaces the older one', async () => {
    // Member 5 redials only after a minute, so the raw connection keeps its place.
    const c = await member(5n, { backoffInitialMs: 60_000, backoffMaxMs: 60_000 });
    b.transport.addPeer(5n, c.transport.url);
    const active = nextEvent(c.transport.events, 'peerActive');
    c.transport.addPeer(2n, b.transport.url);
    await active;
    const replaced = nextEvent(c.transport.events, 'peerInactive');
    const raw = await RawSocket.connect(b.transport.address.port);
    raw.writeFrame(hello({ from: 5n }));
    await replaced;
    await b.rec.untilLogged('replaced by a newer connection from the same member');
    raw.writeFrame(batch(heartbeat(5n, 2n, 99)));
    await b.rec.until(() => b.rec.messages.some((m) => m.from === 5n), 'a message on the new connection');
    raw.socket.destroy();
    await stillDelivers();
  });
});
