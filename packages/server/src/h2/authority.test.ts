import { describe, expect, it } from 'vitest';
import { rewriteAuthorityScheme } from './authority.js';

/** RFC 7541 Appendix B codes for the characters these tests use. */
const CODES: Record<string, [number, number]> = {
  '0': [0x0, 5],
  '1': [0x1, 5],
  '2': [0x2, 5],
  '3': [0x19, 6],
  '7': [0x1d, 6],
  '9': [0x1f, 6],
  '.': [0x17, 6],
  ':': [0x5c, 7],
  '/': [0x18, 6],
  '-': [0x16, 6],
  B: [0x5d, 7],
  h: [0x27, 6],
  t: [0x9, 5],
  p: [0x2b, 6],
  s: [0x8, 5],
  e: [0x5, 5],
  c: [0x4, 5],
  d: [0x24, 6],
  o: [0x7, 5],
  l: [0x28, 6],
  a: [0x3, 5],
};

function huffman(text: string): number[] {
  let acc = 0n;
  let bits = 0;
  for (const ch of text) {
    const [code, len] = CODES[ch]!;
    acc = (acc << BigInt(len)) | BigInt(code);
    bits += len;
  }
  const pad = (8 - (bits % 8)) % 8;
  acc = (acc << BigInt(pad)) | ((1n << BigInt(pad)) - 1n); // EOS prefix: all ones
  const out: number[] = [];
  for (let i = (bits + pad) / 8 - 1; i >= 0; i--) out.push(Number((acc >> BigInt(i * 8)) & 0xffn));
  return out;
}

const str = (text: string, huff: boolean): number[] => {
  const bytes = huff ? huffman(text) : [...Buffer.from(text, 'latin1')];
  return [(huff ? 0x80 : 0) | bytes.length, ...bytes];
};

/** A request's header block: :method POST, :scheme http, :path, then :authority as a literal. */
function block(authority: string, huff: boolean, authorityRep = 0x41): Uint8Array {
  return Uint8Array.from([
    0x20, // dynamic table size update to 0
    0x83, // indexed: :method POST
    0x86, // indexed: :scheme http
    0x04, // literal without indexing, name :path (static 4)
    ...str('/a', false),
    0x40, // literal with incremental indexing, literal name
    ...str('te', false),
    ...str('trailers', false),
    authorityRep,
    ...str(authority, huff),
  ]);
}

describe('rewriting a URL scheme out of :authority', () => {
  for (const huff of [false, true]) {
    const form = huff ? 'Huffman' : 'raw';
    it(`turns http:// into httpB-- (${form}), same length`, () => {
      const b = block('http://127.0.0.1:2379', huff);
      expect(rewriteAuthorityScheme(b)).toBe(true);
      expect([...b]).toEqual([...block('httpB--127.0.0.1:2379', huff)]);
    });

    it(`turns https:// into httpsB-- (${form})`, () => {
      const b = block('https://localhost:2379', huff);
      expect(rewriteAuthorityScheme(b)).toBe(true);
      expect([...b]).toEqual([...block('httpsB--localhost:2379', huff)]);
    });

    it(`leaves a plain host:port alone (${form})`, () => {
      const b = block('127.0.0.1:2379', huff);
      const before = [...b];
      expect(rewriteAuthorityScheme(b)).toBe(false);
      expect([...b]).toEqual(before);
    });
  }

  it('finds :authority in any literal form (without indexing, never indexed)', () => {
    for (const rep of [0x01, 0x11]) {
      const b = block('http://127.0.0.1:2379', true, rep);
      expect(rewriteAuthorityScheme(b), `representation ${rep}`).toBe(true);
      expect([...b]).toEqual([...block('httpB--127.0.0.1:2379', true, rep)]);
    }
  });

  it('leaves a block it cannot follow alone: cut off, or :authority only by index', () => {
    const full = block('http://127.0.0.1:2379', true);
    const cut = full.slice(0, full.length - 4);
    const before = [...cut];
    expect(rewriteAuthorityScheme(cut)).toBe(false);
    expect([...cut]).toEqual(before);
    expect(rewriteAuthorityScheme(Uint8Array.from([0x83, 0x86, 0xbe]))).toBe(false);
  });
});
