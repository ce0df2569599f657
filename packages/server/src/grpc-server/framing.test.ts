import { describe, expect, it } from 'vitest';
import { Deframer, FramingError, frameMessage, PREFIX_BYTES } from './framing.js';

const msg = (n: number, fill = 7) => Buffer.alloc(n, fill);

describe('gRPC message framing', () => {
  it('prefixes a message with a zero flag and its big-endian length', () => {
    const f = frameMessage(Buffer.from('abc'));
    expect([...f]).toEqual([0, 0, 0, 0, 3, 97, 98, 99]);
  });

  it('cuts several messages out of one chunk, including empty ones', () => {
    const d = new Deframer(1024);
    const chunk = Buffer.concat([frameMessage(msg(3, 1)), frameMessage(msg(0)), frameMessage(msg(2, 2))]);
    expect(d.push(chunk).map((b) => [...b])).toEqual([[1, 1, 1], [], [2, 2]]);
    expect(d.partial).toBe(false);
  });

  it('joins a message split anywhere, even inside its prefix', () => {
    const whole = Buffer.concat([frameMessage(msg(10, 3)), frameMessage(msg(4, 4))]);
    for (let cut1 = 1; cut1 < whole.length - 1; cut1++) {
      for (let cut2 = cut1 + 1; cut2 < whole.length; cut2++) {
        const d = new Deframer(1024);
        const out = [
          ...d.push(whole.subarray(0, cut1)),
          ...d.push(whole.subarray(cut1, cut2)),
          ...d.push(whole.subarray(cut2)),
        ];
        expect(
          out.map((b) => b.length),
          `cuts ${cut1}, ${cut2}`,
        ).toEqual([10, 4]);
        expect(d.partial).toBe(false);
      }
    }
  });

  it('joins a large message delivered in many small chunks', () => {
    const big = Buffer.from(Array.from({ length: 100_000 }, (_, i) => i % 251));
    const framed = frameMessage(big);
    const d = new Deframer(1 << 20);
    const out: Buffer[] = [];
    for (let at = 0; at < framed.length; at += 1000) out.push(...d.push(framed.subarray(at, at + 1000)));
    expect(out).toHaveLength(1);
    expect(out[0]!.equals(big)).toBe(true);
  });

  it('reports a stream that ends inside a message', () => {
    const d = new Deframer(1024);
    d.push(frameMessage(msg(10)).subarray(0, PREFIX_BYTES + 3));
    expect(d.partial).toBe(true);
  });

  it('refuses a message longer than the limit, before reading it', () => {
    const d = new Deframer(100);
    const prefix = frameMessage(msg(101)).subarray(0, PREFIX_BYTES);
    let err: unknown;
    try {
      d.push(prefix);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(FramingError);
    expect((err as FramingError).tooLarge).toBe(true);
    expect((err as Error).message).toBe('grpc: received message larger than max (101 vs. 100)');
  });

  it('refuses a compressed message (only identity is offered) and an unknown flag', () => {
    const compressed = frameMessage(msg(2));
    compressed[0] = 1;
    expect(() => new Deframer(100).push(compressed)).toThrow(/compressed message/);
    compressed[0] = 9;
    expect(() => new Deframer(100).push(compressed)).toThrow(/invalid message flag 9/);
  });
});
