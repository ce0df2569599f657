import { mulberry32 } from '@tsetcd/testing';
import { describe, expect, it } from 'vitest';
import { HpackError } from './hpack.js';
import { huffmanCodeOf, huffmanDecode, huffmanEncode } from './huffman.js';

/** RFC 7541 Appendix B, the codes as the RFC lists them (symbols 0..255, then EOS), to check the canonical build. */
// biome-ignore format: 8 codes a row, symbol = row * 8 + column
const APPENDIX_B_CODES: readonly number[] = [
  0x1ff8, 0x7fffd8, 0xfffffe2, 0xfffffe3, 0xfffffe4, 0xfffffe5, 0xfffffe6, 0xfffffe7,
  0xfffffe8, 0xffffea, 0x3ffffffc, 0xfffffe9, 0xfffffea, 0x3ffffffd, 0xfffffeb, 0xfffffec,
  0xfffffed, 0xfffffee, 0xfffffef, 0xffffff0, 0xffffff1, 0xffffff2, 0x3ffffffe, 0xffffff3,
  0xffffff4, 0xffffff5, 0xffffff6, 0xffffff7, 0xffffff8, 0xffffff9, 0xffffffa, 0xffffffb,
  0x14, 0x3f8, 0x3f9, 0xffa, 0x1ff9, 0x15, 0xf8, 0x7fa,
  0x3fa, 0x3fb, 0xf9, 0x7fb, 0xfa, 0x16, 0x17, 0x18,
  0x0, 0x1, 0x2, 0x19, 0x1a, 0x1b, 0x1c, 0x1d,
  0x1e, 0x1f, 0x5c, 0xfb, 0x7ffc, 0x20, 0xffb, 0x3fc,
  0x1ffa, 0x21, 0x5d, 0x5e, 0x5f, 0x60, 0x61, 0x62,
  0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a,
  0x6b, 0x6c, 0x6d, 0x6e, 0x6f, 0x70, 0x71, 0x72,
  0xfc, 0x73, 0xfd, 0x1ffb, 0x7fff0, 0x1ffc, 0x3ffc, 0x22,
  0x7ffd, 0x3, 0x23, 0x4, 0x24, 0x5, 0x25, 0x26,
  0x27, 0x6, 0x74, 0x75, 0x28, 0x29, 0x2a, 0x7,
  0x2b, 0x76, 0x2c, 0x8, 0x9, 0x2d, 0x77, 0x78,
  0x79, 0x7a, 0x7b, 0x7ffe, 0x7fc, 0x3ffd, 0x1ffd, 0xffffffc,
  0xfffe6, 0x3fffd2, 0xfffe7, 0xfffe8, 0x3fffd3, 0x3fffd4, 0x3fffd5, 0x7fffd9,
  0x3fffd6, 0x7fffda, 0x7fffdb, 0x7fffdc, 0x7fffdd, 0x7fffde, 0xffffeb, 0x7fffdf,
  0xffffec, 0xffffed, 0x3fffd7, 0x7fffe0, 0xffffee, 0x7fffe1, 0x7fffe2, 0x7fffe3,
  0x7fffe4, 0x1fffdc, 0x3fffd8, 0x7fffe5, 0x3fffd9, 0x7fffe6, 0x7fffe7, 0xffffef,
  0x3fffda, 0x1fffdd, 0xfffe9, 0x3fffdb, 0x3fffdc, 0x7fffe8, 0x7fffe9, 0x1fffde,
  0x7fffea, 0x3fffdd, 0x3fffde, 0xfffff0, 0x1fffdf, 0x3fffdf, 0x7fffeb, 0x7fffec,
  0x1fffe0, 0x1fffe1, 0x3fffe0, 0x1fffe2, 0x7fffed, 0x3fffe1, 0x7fffee, 0x7fffef,
  0xfffea, 0x3fffe2, 0x3fffe3, 0x3fffe4, 0x7ffff0, 0x3fffe5, 0x3fffe6, 0x7ffff1,
  0x3ffffe0, 0x3ffffe1, 0xfffeb, 0x7fff1, 0x3fffe7, 0x7ffff2, 0x3fffe8, 0x1ffffec,
  0x3ffffe2, 0x3ffffe3, 0x3ffffe4, 0x7ffffde, 0x7ffffdf, 0x3ffffe5, 0xfffff1, 0x1ffffed,
  0x7fff2, 0x1fffe3, 0x3ffffe6, 0x7ffffe0, 0x7ffffe1, 0x3ffffe7, 0x7ffffe2, 0xfffff2,
  0x1fffe4, 0x1fffe5, 0x3ffffe8, 0x3ffffe9, 0xffffffd, 0x7ffffe3, 0x7ffffe4, 0x7ffffe5,
  0xfffec, 0xfffff3, 0xfffed, 0x1fffe6, 0x3fffe9, 0x1fffe7, 0x1fffe8, 0x7ffff3,
  0x3fffea, 0x3fffeb, 0x1ffffee, 0x1ffffef, 0xfffff4, 0xfffff5, 0x3ffffea, 0x7ffff4,
  0x3ffffeb, 0x7ffffe6, 0x3ffffec, 0x3ffffed, 0x7ffffe7, 0x7ffffe8, 0x7ffffe9, 0x7ffffea,
  0x7ffffeb, 0xffffffe, 0x7ffffec, 0x7ffffed, 0x7ffffee, 0x7ffffef, 0x7fffff0, 0x3ffffee,
  0x3fffffff,
];

/** Bytes from a string of '0'/'1' (spaces ignored), its length a multiple of 8. */
function fromBits(bits: string): Uint8Array {
  const clean = bits.replace(/ /g, '');
  if (clean.length % 8 !== 0) throw new Error('not whole bytes');
  const out = new Uint8Array(clean.length / 8);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(clean.slice(i * 8, i * 8 + 8), 2);
  return out;
}

/** The code of a symbol as a string of '0'/'1'. */
function codeBits(symbol: number): string {
  const [code, bits] = huffmanCodeOf(symbol);
  return code.toString(2).padStart(bits, '0');
}

const decodeAll = (bytes: Uint8Array): string => huffmanDecode(bytes, 0, bytes.length);
const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));

describe('the canonical code built from the lengths', () => {
  it('reproduces the codes RFC 7541 Appendix B lists, for every symbol', () => {
    expect(APPENDIX_B_CODES).toHaveLength(257);
    const built = Array.from({ length: 257 }, (_, symbol) => huffmanCodeOf(symbol)[0]);
    expect(built).toEqual(APPENDIX_B_CODES);
  });

  it('gives the well-known codes and lengths', () => {
    expect(huffmanCodeOf('0'.charCodeAt(0))).toEqual([0x0, 5]);
    expect(huffmanCodeOf(' '.charCodeAt(0))).toEqual([0x14, 6]);
    expect(huffmanCodeOf('a'.charCodeAt(0))).toEqual([0x3, 5]);
    expect(huffmanCodeOf(0)).toEqual([0x1ff8, 13]);
    expect(huffmanCodeOf(0xff)).toEqual([0x3ffffee, 26]);
    expect(huffmanCodeOf(256)).toEqual([0x3fffffff, 30]); // EOS
  });
});

describe('huffmanDecode', () => {
  // RFC 7541 C.4 and C.6 strings
  const known: [string, string][] = [
    ['f1e3 c2e5 f23a 6ba0 ab90 f4ff', 'www.example.com'],
    ['a8eb 1064 9cbf', 'no-cache'],
    ['25a8 49e9 5ba9 7d7f', 'custom-key'],
    ['25a8 49e9 5bb8 e8b4 bf', 'custom-value'],
    ['6402', '302'],
    ['aec3 771a 4b', 'private'],
    ['d07a be94 1054 d444 a820 0595 040b 8166 e082 a62d 1bff', 'Mon, 21 Oct 2013 20:13:21 GMT'],
    ['9d29 ad17 1863 c78f 0b97 c8e9 ae82 ae43 d3', 'https://www.example.com'],
  ];

  it.each(known)('decodes %s as in RFC 7541 Appendix C', (coded, text) => {
    expect(decodeAll(hex(coded))).toBe(text);
    expect(huffmanEncode(text)).toEqual(hex(coded));
  });

  it('decodes only the given range of a larger buffer', () => {
    const inner = huffmanEncode('no-cache');
    const outer = new Uint8Array([0x00, 0x11, ...inner, 0x00]);
    expect(huffmanDecode(outer, 2, 2 + inner.length)).toBe('no-cache');
  });

  it('decodes the empty string, and padding of exactly 7 bits', () => {
    expect(decodeAll(new Uint8Array(0))).toBe('');
    const fiveZeros = huffmanEncode('00000'); // 25 bits: 7 bits of padding
    expect(fiveZeros).toEqual(fromBits('00000 00000 00000 00000 00000 1111111'));
    expect(decodeAll(fiveZeros)).toBe('00000');
  });

  it('round-trips random latin1 strings', () => {
    const random = mulberry32(7541);
    for (let n = 0; n < 2000; n++) {
      const length = Math.floor(random() * 120);
      // Half the strings only use bytes with long codes (19..30 bits), which cross byte boundaries the most.
      const longCodesOnly = n % 2 === 1;
      let s = '';
      for (let i = 0; i < length; i++) {
        const byte = Math.floor(random() * 256);
        s += String.fromCharCode(longCodesOnly ? (byte < 0x80 ? byte & 0x1f : byte) : byte);
      }
      const coded = huffmanEncode(s);
      expect(decodeAll(coded)).toBe(s);
    }
  });

  it('decodes every byte value, alone and after each prefix length 0..7 bits', () => {
    for (let symbol = 0; symbol < 256; symbol++) {
      for (const prefix of ['', 'a', '0a', 'aaa', '%', '&', ':', 'X']) {
        const s = prefix + String.fromCharCode(symbol) + prefix;
        expect(decodeAll(huffmanEncode(s))).toBe(s);
      }
    }
  });

  it('rejects EOS inside the string', () => {
    const eos = codeBits(256);
    expect(() => decodeAll(fromBits(`${eos}11`))).toThrow(HpackError);
    expect(() => decodeAll(fromBits(`${codeBits(0x61)}${eos}11111`))).toThrow(/EOS/);
    expect(() => decodeAll(fromBits(`${eos}${codeBits(0x30)}11111`))).toThrow(/EOS/);
  });

  it('rejects padding longer than 7 bits', () => {
    expect(() => decodeAll(fromBits('11111111'))).toThrow(HpackError);
    expect(() => decodeAll(fromBits(`${codeBits(0x61)}111 11111111`))).toThrow(/more than 7 bits/);
    // 27 ones: a prefix of EOS, but far too long to be padding
    expect(() => decodeAll(fromBits(`${codeBits(0x61)}${'1'.repeat(27)}`))).toThrow(/more than 7 bits/);
  });

  it('rejects padding that is not all ones', () => {
    expect(() => decodeAll(fromBits(`${codeBits(0x61)}000`))).toThrow(HpackError);
    expect(() => decodeAll(fromBits(`${codeBits(0x61)}110`))).toThrow(/not all ones/);
    expect(() => decodeAll(fromBits(`${codeBits(0x61)}011`))).toThrow(/not all ones/);
  });

  it('never throws anything but HpackError on random bytes', () => {
    const random = mulberry32(1);
    let ok = 0;
    for (let n = 0; n < 5000; n++) {
      const bytes = Uint8Array.from({ length: Math.floor(random() * 24) }, () => Math.floor(random() * 256));
      try {
        const s = decodeAll(bytes);
        expect(huffmanEncode(s)).toEqual(bytes); // what decodes re-encodes to the same bytes
        ok++;
      } catch (e) {
        expect(e).toBeInstanceOf(HpackError);
      }
    }
    expect(ok).toBeGreaterThan(0);
  });
});

describe('huffmanEncode', () => {
  it('refuses chars above U+00FF', () => {
    expect(() => huffmanEncode('\u0100')).toThrow(RangeError);
  });
});
