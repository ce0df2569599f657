/**
 * Byte-string helpers: bytewise order, the binary-string encoding the index keys by (and that it
 * preserves that order), prefixEnd as clientv3's GetPrefixRangeEnd, and etcd's (key, rangeEnd)
 * encoding of single key / from-key / [key, end).
 */

import { describe, expect, it } from 'vitest';
import {
  bytesEqual,
  compareBytes,
  fromBinary,
  inRange,
  keyRange,
  prefixEnd,
  toBinary,
  utf8,
} from './bytes.js';

const b = (...xs: number[]) => new Uint8Array(xs);
const sign = (n: number) => Math.sign(n);

/** A small deterministic byte generator (xorshift), enough to vary inputs without Math.random. */
function bytesGen(seed: number): (maxLen: number) => Uint8Array {
  let s = seed >>> 0 || 1;
  const next = () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return s >>> 0;
  };
  return (maxLen) => {
    const out = new Uint8Array(next() % (maxLen + 1));
    // Few distinct byte values, so common prefixes and equal strings occur often.
    for (let i = 0; i < out.length; i++) out[i] = [0x00, 0x01, 0x61, 0x7f, 0x80, 0xff][next() % 6]!;
    return out;
  };
}

describe('compareBytes', () => {
  it('orders bytewise, unsigned, a prefix before its extensions', () => {
    expect(compareBytes(b(), b())).toBe(0);
    expect(compareBytes(b(1, 2), b(1, 2))).toBe(0);
    expect(sign(compareBytes(b(1), b(1, 0)))).toBe(-1);
    expect(sign(compareBytes(b(1, 0), b(1)))).toBe(1);
    expect(sign(compareBytes(b(0x01), b(0xff)))).toBe(-1);
    expect(sign(compareBytes(b(0xff), b(0x7f, 0xff)))).toBe(1);
    expect(sign(compareBytes(b(), b(0)))).toBe(-1);
  });
});

describe('bytesEqual', () => {
  it('is true exactly for the same bytes', () => {
    expect(bytesEqual(b(), b())).toBe(true);
    expect(bytesEqual(utf8('abc'), b(0x61, 0x62, 0x63))).toBe(true);
    expect(bytesEqual(b(1, 2), b(1, 2, 0))).toBe(false);
    expect(bytesEqual(b(1, 2), b(1, 3))).toBe(false);
  });
});

describe('toBinary / fromBinary', () => {
  it('round-trips every byte value, and keys longer than the 4096-byte chunk', () => {
    const all = new Uint8Array(256).map((_, i) => i);
    expect(fromBinary(toBinary(all))).toEqual(all);
    const long = new Uint8Array(10_000).map((_, i) => (i * 7) & 0xff);
    const s = toBinary(long);
    expect(s.length).toBe(10_000);
    expect(fromBinary(s)).toEqual(long);
  });

  it("preserves order: JavaScript's < on binary strings is bytewise order", () => {
    const gen = bytesGen(42);
    for (let i = 0; i < 2000; i++) {
      const x = gen(6);
      const y = gen(6);
      const sx = toBinary(x);
      const sy = toBinary(y);
      const strCmp = sx < sy ? -1 : sx > sy ? 1 : 0;
      expect(strCmp, `${sx} vs ${sy}`).toBe(sign(compareBytes(x, y)));
    }
  });
});

describe('utf8', () => {
  it('encodes text as UTF-8', () => {
    expect(utf8('foo')).toEqual(b(0x66, 0x6f, 0x6f));
    expect(utf8('é')).toEqual(b(0xc3, 0xa9));
  });
});

describe('prefixEnd (clientv3.GetPrefixRangeEnd)', () => {
  it('increments the last byte', () => {
    expect(prefixEnd(utf8('foo'))).toEqual(utf8('fop'));
    expect(prefixEnd(b(0x00))).toEqual(b(0x01));
  });

  it('drops trailing 0xff bytes before incrementing', () => {
    expect(prefixEnd(b(0x61, 0xff))).toEqual(b(0x62));
    expect(prefixEnd(b(0x61, 0xfe, 0xff, 0xff))).toEqual(b(0x61, 0xff));
  });

  it('gives \\0 (to the end of the keyspace) for an all-0xff or empty prefix', () => {
    expect(prefixEnd(b(0xff, 0xff))).toEqual(b(0));
    expect(prefixEnd(b())).toEqual(b(0));
  });

  it('does not modify its argument', () => {
    const p = utf8('ab');
    prefixEnd(p);
    expect(p).toEqual(utf8('ab'));
  });

  it('bounds exactly the keys that start with the prefix', () => {
    const gen = bytesGen(7);
    for (let i = 0; i < 500; i++) {
      const prefix = gen(3);
      if (prefix.length === 0) continue;
      const r = keyRange(prefix, prefixEnd(prefix));
      const k = gen(5);
      const hasPrefix = k.length >= prefix.length && bytesEqual(k.subarray(0, prefix.length), prefix);
      expect(inRange(r, toBinary(k)), `${toBinary(prefix)} / ${toBinary(k)}`).toBe(hasPrefix);
    }
  });
});

describe('keyRange / inRange (etcd range encoding)', () => {
  it('no rangeEnd, or an empty one, selects the single key', () => {
    expect(keyRange(utf8('a'), undefined)).toEqual({ kind: 'single', key: 'a' });
    expect(keyRange(utf8('a'), b())).toEqual({ kind: 'single', key: 'a' });
    const r = keyRange(utf8('a'), undefined);
    expect(inRange(r, 'a')).toBe(true);
    expect(inRange(r, 'aa')).toBe(false);
  });

  it('rangeEnd \\0 selects every key >= key', () => {
    const r = keyRange(utf8('b'), b(0));
    expect(r).toEqual({ kind: 'fromKey', key: 'b' });
    expect(inRange(r, 'a')).toBe(false);
    expect(inRange(r, 'b')).toBe(true);
    expect(inRange(r, '\xff\xff')).toBe(true);
    // key \0 with rangeEnd \0: the whole keyspace.
    expect(inRange(keyRange(b(0), b(0)), '\x00')).toBe(true);
  });

  it('otherwise selects [key, rangeEnd)', () => {
    const r = keyRange(utf8('b'), utf8('d'));
    expect(r).toEqual({ kind: 'range', key: 'b', end: 'd' });
    expect(['a', 'b', 'bz', 'c', 'd', 'da'].filter((k) => inRange(r, k))).toEqual(['b', 'bz', 'c']);
  });

  it('a rangeEnd <= key selects nothing', () => {
    expect(inRange(keyRange(utf8('b'), utf8('b')), 'b')).toBe(false);
    expect(inRange(keyRange(utf8('b'), utf8('a')), 'b')).toBe(false);
    expect(inRange(keyRange(utf8('b'), utf8('a')), 'a')).toBe(false);
  });

  it('a two-byte rangeEnd starting with \\0 is an ordinary bound, not from-key', () => {
    expect(keyRange(utf8('a'), b(0, 0)).kind).toBe('range');
  });
});
