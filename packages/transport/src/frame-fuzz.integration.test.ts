/**
 * Fuzzing what the TCP transport reads from the wire, seeded so every run sends the same bytes:
 *   - the frame decoder (framing.ts) on random and mutated streams, cut at random points: only
 *     FrameTooLargeError, bounded buffering, and never more output than the bytes given;
 *   - the frame parser (tcp-protocol.ts decodeFrame) on mutated payloads of every frame type:
 *     only ProtocolError;
 *   - a live TcpTransport taking random bytes, mutated hellos, mutated message frames, oversized
 *     length prefixes and truncated frames from a raw socket: each connection is closed with a
 *     logged reason (never a JavaScript error's message), nothing is thrown, only well-formed
 *     messages are delivered, and the real peer's messages still arrive afterwards.
 * The hand-picked malformed frames, one per reason, are in tcp-robustness.integration.test.ts.
 */

import { type Message, type NodeId, type RandomSource, seededRandom, validateMessage } from '@tsetcd/raft';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeMessage } from './codec.js';
import { encodeFrame, FRAME_HEADER_BYTES, FrameDecoder } from './framing.js';
import { FrameTooLargeError, ProtocolError } from './tcp-errors.js';
import {
  decodeFrame,
  encodeAccept,
  encodeHello,
  encodeMessagesFrame,
  encodeReject,
  encodeSnapAck,
  encodeSnapEnd,
  encodeSnapStart,
  MAX_CONTROL_FRAME_BYTES,
  PROTOCOL_VERSION,
  snapChunkPrefix,
} from './tcp-protocol.js';
import { MessageGenerator } from './test/random-message.js';
import {
  closeAll,
  connectAll,
  heartbeat,
  type Member,
  member,
  RawSocket,
  snapMessage,
} from './test/tcp-harness.js';

const SEED = 4242;

function randomBytes(rand: RandomSource, n: number): Uint8Array {
  return Uint8Array.from({ length: n }, () => rand(256));
}

/** A copy of `bytes` with 1–4 bytes overwritten at random. */
function mutate(rand: RandomSource, bytes: Uint8Array): Uint8Array {
  const out = bytes.slice();
  if (out.length === 0) return out;
  for (let flips = 1 + rand(4); flips > 0; flips--) out[rand(out.length)] = rand(256);
  return out;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Valid payloads of every frame type (what a mutation starts from). */
function validPayloads(gen: MessageGenerator, from: NodeId, to: NodeId): Uint8Array[] {
  const msgs = Array.from({ length: 3 }, () => gen.message());
  return [
    encodeHello({ version: PROTOCOL_VERSION, clusterToken: 'test-cluster', from, to }),
    encodeAccept(),
    encodeReject('cluster token mismatch'),
    encodeMessagesFrame(msgs.map(encodeMessage)),
    encodeMessagesFrame([encodeMessage(heartbeat(from, to, 7))]),
    encodeSnapStart(snapMessage(from, to, new Uint8Array(10))),
    Uint8Array.from([...snapChunkPrefix(), 1, 2, 3]),
    encodeSnapEnd(),
    encodeSnapAck(),
  ];
}

describe('FrameDecoder on random and mutated streams (fuzz)', () => {
  it('returns frames within the limit or throws FrameTooLargeError, buffers at most one frame, stays failed (2000 streams)', () => {
    const rand = seededRandom(SEED);
    const gen = new MessageGenerator(rand, 2048);
    let failed = 0;
    let decoded = 0;
    for (let round = 0; round < 2000; round++) {
      const max = [0, 1, 16, 300, MAX_CONTROL_FRAME_BYTES][rand(5)]!;
      // Half the streams are valid frames with a few bytes overwritten, half are pure noise.
      const stream =
        rand(2) === 0
          ? mutate(rand, concat(validPayloads(gen, 1n, 2n).map((p) => encodeFrame(p, 2 ** 32 - 1))))
          : randomBytes(rand, rand(600));
      const decoder = new FrameDecoder(max);
      let error: unknown;
      let out = 0;
      for (let at = 0; at < stream.length; ) {
        const n = 1 + rand(rand(2) === 0 ? 5 : 400);
        const chunk = stream.subarray(at, at + n);
        at += Math.min(n, stream.length - at);
        if (error !== undefined) {
          // Once out of sync, every later push throws the same error.
          expect(() => decoder.push(chunk)).toThrow(error as Error);
          continue;
        }
        try {
          for (const f of decoder.push(chunk)) {
            expect(f.length).toBeLessThanOrEqual(max);
            out += FRAME_HEADER_BYTES + f.length;
            decoded++;
          }
        } catch (err) {
          expect(err).toBeInstanceOf(FrameTooLargeError);
          expect((err as FrameTooLargeError).length).toBeGreaterThan(max);
          error = err;
          failed++;
          continue;
        }
        // Bounded: never holds more than one frame's worth, never yields more than it was given.
        expect(decoder.buffered).toBeLessThanOrEqual(FRAME_HEADER_BYTES + max);
        expect(out + decoder.buffered).toBe(at);
      }
    }
    expect(failed).toBeGreaterThan(200);
    expect(decoded).toBeGreaterThan(200);
  });
});

describe('decodeFrame on mutated payloads of every frame type (fuzz)', () => {
  it('parses or throws ProtocolError with a reason, never anything else (6000 payloads)', () => {
    const rand = seededRandom(SEED + 1);
    const gen = new MessageGenerator(rand, 512);
    let refused = 0;
    for (let i = 0; i < 6000; i++) {
      const valid = validPayloads(gen, gen.nodeId(), gen.nodeId());
      const base = valid[rand(valid.length)]!;
      const kind = rand(3);
      const p =
        kind === 0
          ? mutate(rand, base)
          : kind === 1
            ? base.subarray(0, rand(base.length + 1))
            : Uint8Array.from([...base, ...randomBytes(rand, 1 + rand(6))]);
      try {
        decodeFrame(p);
      } catch (err) {
        expect(err).toBeInstanceOf(ProtocolError);
        expect((err as ProtocolError).reason.length).toBeGreaterThan(0);
        refused++;
      }
    }
    expect(refused).toBeGreaterThan(2000);
  });
});

/** The raw socket plays member 3: a known peer of member 2, never a real transport. */
const RAW: NodeId = 3n;
const HELLO = encodeHello({ version: PROTOCOL_VERSION, clusterToken: 'test-cluster', from: RAW, to: 2n });

/** What a logged reason must not look like: a JavaScript failure instead of a named error's reason. */
const INTERNAL_ERROR =
  /TypeError|RangeError|ReferenceError|Cannot read|Cannot convert|of undefined|of null|is not a function|is not iterable|call stack/;

/**
 * One attack: after a valid hello and its accept (when `afterHello`), the raw socket writes
 * `bytes` and half-closes (so a truncated frame stays truncated).
 */
interface Attack {
  readonly kind: string;
  readonly afterHello: boolean;
  readonly bytes: Uint8Array;
  /** The reason this attack must be closed with, where it is certain. */
  readonly reason?: RegExp;
}

function attacks(rand: RandomSource): Attack[] {
  const gen = new MessageGenerator(rand, 1024);
  const hello = encodeFrame(HELLO);
  const message = (): Message =>
    rand(2) === 0 ? heartbeat(RAW, 2n, rand(100)) : ({ ...gen.message(), from: RAW, to: 2n } as Message);
  const out: Attack[] = [];
  for (let i = 0; i < 8; i++) {
    const frame = encodeFrame(encodeMessagesFrame([encodeMessage(message())]));
    out.push(
      { kind: 'random bytes', afterHello: false, bytes: randomBytes(rand, 1 + rand(300)) },
      { kind: 'a mutated hello', afterHello: false, bytes: mutate(rand, hello) },
      { kind: 'a truncated hello', afterHello: false, bytes: hello.subarray(0, 1 + rand(hello.length - 1)) },
      {
        kind: 'an oversized length prefix',
        afterHello: false,
        bytes: Uint8Array.from([rand(256), rand(256), 0x10 + rand(0xf0), rand(256), ...randomBytes(rand, 8)]),
        reason: /^frame of \d+ bytes exceeds the limit of 4096 bytes$/,
      },
      { kind: 'random bytes', afterHello: true, bytes: randomBytes(rand, 1 + rand(300)) },
      {
        kind: 'a mutated messages frame',
        afterHello: true,
        bytes: mutate(rand, encodeFrame(encodeMessagesFrame([message(), message()].map(encodeMessage)))),
      },
      {
        kind: 'an oversized length prefix',
        afterHello: true,
        bytes: Uint8Array.from([0x01 + rand(0xfe), rand(256), rand(256), rand(256)]),
        reason: /^frame of \d+ bytes exceeds the limit of 16777216 bytes$/,
      },
      { kind: 'a truncated frame', afterHello: true, bytes: frame.subarray(0, 1 + rand(frame.length - 1)) },
    );
  }
  return out;
}

let a: Member;
let b: Member;

beforeAll(async () => {
  [a, b] = await Promise.all([member(1n), member(2n, { helloTimeoutMs: 300 })]);
  b.transport.addPeer(RAW, 'tcp://127.0.0.1:1'); // known, so only what it sends decides
  await connectAll([a, b]);
});
afterAll(closeAll);

describe('a live TcpTransport fed random and mutated bytes (fuzz)', () => {
  it('closes each such connection with a logged reason and keeps delivering from the real peer (64 attacks)', async () => {
    const list = attacks(seededRandom(SEED + 2));
    let warned = 0;
    for (const [i, attack] of list.entries()) {
      const raw = await RawSocket.connect(b.transport.address.port);
      const port = raw.socket.localPort!;
      if (attack.afterHello) {
        raw.writeFrame(HELLO);
        await raw.until((f) => f.some((x) => x.type === 'accept'), 'accept');
      }
      raw.socket.end(attack.bytes);
      await raw.closed;
      const line = new RegExp(
        `^(warn|info): closing connection from 127\\.0\\.0\\.1:${port}(?: \\(member [0-9a-f]+\\))?: (.*)$`,
      );
      await b.rec.until(() => b.rec.logs.some((l) => line.test(l)), `the close of attack ${i}`);
      const [, level, reason] = line.exec(b.rec.logs.find((l) => line.test(l))!)!;
      const what = `attack ${i} (${attack.kind}${attack.afterHello ? ' after a hello' : ''}): ${level}: ${reason}`;
      if (level === 'warn') {
        expect(reason, what).not.toMatch(INTERNAL_ERROR);
        expect(reason!.length, what).toBeGreaterThan(5);
        warned++;
      } else {
        // Only a stream that ended before anything in it was wrong is closed quietly.
        expect(reason, what).toMatch(/^closed by the dialer$|^read ECONNRESET$/);
      }
      if (attack.reason !== undefined) {
        expect(level, what).toBe('warn');
        expect(reason, what).toMatch(attack.reason);
      }
      // The real peer still gets through after every attack.
      a.transport.send([heartbeat(1n, 2n, 1000 + i)]);
      await b.rec.until(
        () => b.rec.messages.some((m) => m.from === 1n && m.type === 'MsgHeartbeat' && m.commit === 1000 + i),
        `member 1's heartbeat after attack ${i}`,
      );
    }
    expect(warned).toBeGreaterThan(list.length / 2);
    // Whatever was delivered from the raw socket was a well-formed message from it to member 2.
    const fromRaw = b.rec.messages.filter((m) => m.from !== 1n);
    for (const m of fromRaw) {
      expect(validateMessage(m)).toEqual(m);
      expect(m.from).toBe(RAW);
      expect(m.to).toBe(2n);
    }
    expect(b.transport.peerState(1n)).toBe('connected');
  });
});
