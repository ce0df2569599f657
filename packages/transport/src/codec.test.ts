import { encode } from '@msgpack/msgpack';
import { type Index, MESSAGE_TYPES, type Message, seededRandom, type Term } from '@tsetcd/raft';
import { describe, expect, it } from 'vitest';
import {
  decodeMessage,
  decodeMessageList,
  decodeValue,
  encodeMessage,
  encodeMessageList,
  encodeValue,
  NODE_ID_EXT_TYPE,
} from './codec.js';
import { CodecError } from './tcp-errors.js';
import { MAX_NODE_ID, MessageGenerator } from './test/random-message.js';

const heartbeat: Message = {
  type: 'MsgHeartbeat',
  from: 1n,
  to: 2n,
  term: 3 as Term,
  commit: 4 as Index,
  context: new Uint8Array([9]),
};

/** Encodes an arbitrary object with the plain msgpack encoder (no node ID extension), as a foreign peer might. */
function foreign(v: unknown): Uint8Array {
  return encode(v, { useBigInt64: true });
}

/**
 * The message with every Uint8Array replaced by a tagged hex string: vitest's deep equality walks
 * typed arrays element by element, far too slowly for thousands of large payloads.
 */
function plain(v: unknown): unknown {
  if (v instanceof Uint8Array)
    return `bytes(${v.constructor.name}):${Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex')}`;
  if (Array.isArray(v)) return v.map(plain);
  if (typeof v === 'object' && v !== null)
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  return v;
}

function codecError(f: () => unknown): CodecError {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(CodecError);
    return err as CodecError;
  }
  throw new Error('expected a CodecError');
}

describe('codec', () => {
  it('round-trips random messages of every type exactly (property, 3000 messages)', () => {
    const gen = new MessageGenerator(seededRandom(42));
    for (let i = 0; i < 3000; i++) {
      const m = gen.message(MESSAGE_TYPES[i % MESSAGE_TYPES.length]);
      expect(plain(decodeMessage(encodeMessage(m)))).toStrictEqual(plain(m));
    }
  });

  it('round-trips the extremes: max node IDs and counters, empty and 1 MiB payloads', () => {
    const big = new Uint8Array(1024 * 1024).map((_, i) => i % 251);
    const snap: Message = {
      type: 'MsgSnap',
      from: MAX_NODE_ID,
      to: 1n << 63n,
      term: Number.MAX_SAFE_INTEGER as Term,
      snapshot: {
        metadata: {
          index: Number.MAX_SAFE_INTEGER as Index,
          term: (2 ** 32) as Term,
          confState: {
            voters: [MAX_NODE_ID, 0n],
            learners: [],
            votersOutgoing: [1n],
            learnersNext: [],
            autoLeave: true,
          },
        },
        data: big,
      },
    };
    expect(plain(decodeMessage(encodeMessage(snap)))).toStrictEqual(plain(snap));
    const empty: Message = { type: 'MsgProp', from: 0n, to: 0n, term: 0 as Term, entries: [] };
    expect(decodeMessage(encodeMessage(empty))).toStrictEqual(empty);
  });

  it('round-trips lists of messages, all or nothing', () => {
    const gen = new MessageGenerator(seededRandom(5));
    const list = Array.from({ length: 50 }, () => gen.message());
    expect(plain(decodeMessageList(encodeMessageList(list.map(encodeMessage))))).toStrictEqual(plain(list));
    expect(decodeMessageList(encodeMessageList([]))).toEqual([]);
    const withBad = [encodeMessage(heartbeat), encodeValue({ ...heartbeat, from: 1 })];
    expect(codecError(() => decodeMessageList(encodeMessageList(withBad))).message).toContain('message 1');
  });

  it('encodes node IDs as an 8-byte big-endian extension, never as an int', () => {
    const bytes = encodeValue(0x0102030405060708n);
    expect([...bytes]).toEqual([0xd7, NODE_ID_EXT_TYPE, 1, 2, 3, 4, 5, 6, 7, 8]);
    expect(decodeValue(bytes)).toBe(0x0102030405060708n);
    expect(() => encodeValue(1n << 64n)).toThrow(RangeError);
    expect(() => encodeValue(-1n)).toThrow(RangeError);
  });

  it('refuses a node ID sent as an int, even a small one', () => {
    expect(codecError(() => decodeMessage(encodeValue({ ...heartbeat, to: 2 }))).message).toContain(
      'message.to',
    );
    // A peer using msgpack's own 64-bit ints for bigints (useBigInt64) is refused just the same.
    expect(codecError(() => decodeMessage(foreign(heartbeat))).message).toContain('message.from');
  });

  it('refuses a counter beyond 2^53 instead of rounding it', () => {
    // uint64 0xffff_ffff_ffff_ffff as the term: decodes to an unsafe number, which validation refuses.
    const m = encodeValue({ ...heartbeat, term: 2 ** 40 });
    const at = Buffer.from(m).indexOf(Buffer.from([0xcf, 0, 0, 1, 0, 0, 0, 0, 0]));
    expect(at).toBeGreaterThan(0);
    m.fill(0xff, at + 1, at + 9);
    expect(codecError(() => decodeMessage(m)).message).toContain('message.term');
    expect(codecError(() => decodeMessage(encodeValue({ ...heartbeat, term: 2 ** 53 }))).message).toContain(
      'term',
    );
  });

  it('refuses a node ID extension of the wrong length, trailing bytes and truncation', () => {
    const short = new Uint8Array([0xd6, NODE_ID_EXT_TYPE, 0, 0, 0, 1]);
    expect(codecError(() => decodeValue(short)).message).toContain('node ID extension of 4 bytes');
    const m = encodeMessage(heartbeat);
    expect(() => decodeMessage(Uint8Array.from([...m, 0xc0]))).toThrow(CodecError);
    expect(() => decodeMessage(m.subarray(0, m.length - 1))).toThrow(CodecError);
    expect(() => decodeMessage(new Uint8Array(0))).toThrow(CodecError);
  });

  it('refuses values of the wrong shape: not a map, unknown type, wrong field types, __proto__ keys', () => {
    expect(() => decodeMessage(foreign([1, 2]))).toThrow(CodecError);
    expect(() => decodeMessage(foreign({ ...heartbeat, type: 'MsgHup' }))).toThrow(CodecError);
    expect(() => decodeMessage(encodeValue({ ...heartbeat, context: 'text' }))).toThrow(CodecError);
    expect(() => decodeMessage(encodeValue({ ...heartbeat, commit: -1 }))).toThrow(CodecError);
    expect(() => decodeMessage(encodeValue({ ...heartbeat, commit: 1.5 }))).toThrow(CodecError);
    // A hand-made map whose only key is "__proto__".
    const proto = Uint8Array.from([0x81, 0xa9, ...new TextEncoder().encode('__proto__'), 0x80]);
    expect(() => decodeValue(proto)).toThrow(CodecError);
  });

  it("checks an E bin's entries as it decodes them, and ignores E on a type without entries", () => {
    const app: Message = {
      type: 'MsgApp',
      from: 1n,
      to: 2n,
      term: 3 as Term,
      logTerm: 3 as Term,
      index: 4 as Index,
      commit: 4 as Index,
      entries: [
        { type: 'EntryNormal', term: 3 as Term, index: 5 as Index, data: new Uint8Array([1]) },
        { type: 'EntryNormal', term: 3 as Term, index: 6 as Index, data: new Uint8Array([2]) },
      ],
    };
    const entryBin = (decodeValue(encodeMessage(app)) as { E: Uint8Array }).E;
    expect(plain(decodeMessage(encodeMessage(app)))).toEqual(plain(app));
    // The second entry's index (at 4 + 22 + 9) made negative: refused, naming it.
    const bad = entryBin.slice();
    new DataView(bad.buffer).setFloat64(4 + 22 + 9, -1);
    expect(codecError(() => decodeMessage(encodeValue({ ...app, entries: [], E: bad }))).message).toContain(
      'message.entries[1].index must be a non-negative safe integer',
    );
    // An E bin beside entries on the map: E's entries win, as the encoder never sends both.
    const both = decodeMessage(encodeValue({ ...app, entries: [app.entries[0]], E: entryBin }));
    expect(both.type === 'MsgApp' && both.entries.map((e) => e.index)).toEqual([5, 6]);
    expect(decodeMessage(encodeValue({ ...heartbeat, E: entryBin }))).toEqual(heartbeat);
  });

  it('throws only CodecError on random mutations of valid encodings (fuzz, 5000 cases)', () => {
    const rand = seededRandom(99);
    const gen = new MessageGenerator(rand, 256);
    for (let i = 0; i < 5000; i++) {
      const bytes = encodeMessage(gen.message());
      for (let flips = 1 + rand(3); flips > 0; flips--) bytes[rand(bytes.length)] = rand(256);
      try {
        decodeMessage(bytes.subarray(0, bytes.length - rand(2)));
      } catch (err) {
        expect(err).toBeInstanceOf(CodecError);
      }
    }
  });
});
