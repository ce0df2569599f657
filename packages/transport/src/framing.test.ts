import { seededRandom } from '@tsetcd/raft';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_MAX_FRAME_BYTES,
  encodeFrame,
  FRAME_HEADER_BYTES,
  FrameDecoder,
  frameHeader,
} from './framing.js';
import { FrameTooLargeError } from './tcp-errors.js';

function bytes(rand: (n: number) => number, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = rand(256);
  return out;
}

/** Byte-wise equality of two payload lists (vitest's deep equality is slow on large typed arrays). */
function sameFrames(got: readonly Uint8Array[], want: readonly Uint8Array[]): boolean {
  return got.length === want.length && got.every((g, i) => Buffer.compare(g, want[i]!) === 0);
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

/** Cuts `stream` at random points, with a bias towards tiny chunks that split headers. */
function randomSplit(rand: (n: number) => number, stream: Uint8Array): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  for (let at = 0; at < stream.length; ) {
    const n = rand(4) === 0 ? 1 + rand(3) : 1 + rand(2000);
    chunks.push(stream.subarray(at, at + n));
    at += n;
  }
  return chunks;
}

describe('framing', () => {
  it('prefixes a payload with its length as a big-endian u32', () => {
    expect([...encodeFrame(new Uint8Array([7, 8, 9]))]).toEqual([0, 0, 0, 3, 7, 8, 9]);
    expect([...frameHeader(0x01020304, 2 ** 32 - 1)]).toEqual([1, 2, 3, 4]);
    expect(FRAME_HEADER_BYTES).toBe(4);
    expect(DEFAULT_MAX_FRAME_BYTES).toBe(16 * 1024 * 1024);
  });

  it('returns the same payloads whatever the chunk boundaries (property, 200 random streams)', () => {
    const rand = seededRandom(7);
    for (let round = 0; round < 200; round++) {
      const payloads = Array.from({ length: rand(20) }, () => {
        const kind = rand(10);
        return bytes(rand, kind === 0 ? 0 : kind === 1 ? 20_000 + rand(50_000) : rand(300));
      });
      const decoder = new FrameDecoder(100_000);
      const got = randomSplit(rand, concat(payloads.map((p) => encodeFrame(p)))).flatMap((c) =>
        decoder.push(c),
      );
      expect(sameFrames(got, payloads)).toBe(true);
      expect(decoder.buffered).toBe(0);
    }
  });

  it('decodes a stream fed one byte at a time, including empty frames', () => {
    const payloads = [new Uint8Array(0), new Uint8Array([1]), new Uint8Array(0), new Uint8Array([2, 3])];
    const stream = concat(payloads.map((p) => encodeFrame(p)));
    const decoder = new FrameDecoder();
    const got: Uint8Array[] = [];
    for (let i = 0; i < stream.length; i++) {
      got.push(...decoder.push(stream.subarray(i, i + 1)));
      expect(decoder.buffered).toBeLessThanOrEqual(FRAME_HEADER_BYTES + 2);
    }
    expect(got).toEqual(payloads);
  });

  it('hands out fresh buffers: mutating a chunk after push does not change a returned frame', () => {
    const stream = encodeFrame(new Uint8Array([1, 2, 3]));
    const [frame] = new FrameDecoder().push(stream);
    stream.fill(0);
    expect([...frame!]).toEqual([1, 2, 3]);
    expect(frame!.byteLength).toBe(frame!.buffer.byteLength);
  });

  it('accepts a frame of exactly the limit and refuses one byte more as soon as the header is in', () => {
    const decoder = new FrameDecoder(10);
    expect(decoder.push(encodeFrame(new Uint8Array(10), 10))).toHaveLength(1);
    const header = new Uint8Array([0, 0, 0, 11]);
    expect(decoder.push(header.subarray(0, 3))).toEqual([]);
    expect(() => decoder.push(header.subarray(3))).toThrow(FrameTooLargeError);
  });

  it('refuses a huge announced length without buffering, and stays failed afterwards', () => {
    const decoder = new FrameDecoder();
    let error: unknown;
    try {
      decoder.push(new Uint8Array([0xff, 0xff, 0xff, 0xff, 1, 2, 3]));
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(FrameTooLargeError);
    expect(error).toMatchObject({
      code: 'ErrFrameTooLarge',
      length: 2 ** 32 - 1,
      maxFrameBytes: DEFAULT_MAX_FRAME_BYTES,
    });
    expect(() => decoder.push(encodeFrame(new Uint8Array(1)))).toThrow(FrameTooLargeError);
  });

  it('refuses to encode a payload over the limit', () => {
    expect(() => encodeFrame(new Uint8Array(5), 4)).toThrow(FrameTooLargeError);
    expect(() => frameHeader(-1)).toThrow(RangeError);
    expect(() => new FrameDecoder(2 ** 32)).toThrow(RangeError);
  });
});
