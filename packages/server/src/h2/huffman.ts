/**
 * HPACK's Huffman code (RFC 7541 §5.2, Appendix B): decoding for the header blocks clients send us,
 * and encoding for tests that need Huffman-coded input.
 *
 * The code is canonical, so it is fully determined by its 257 code lengths (bytes 0..255, then EOS):
 * codes are handed out in order of (length, symbol), each the previous one plus one, shifted left
 * when the length grows. Only those lengths are stored; the decode tables are built at module load.
 *
 * Decoding peeks at the next 9 bits: a table indexed by them answers for every code up to 9 bits
 * long (letters, digits and the common punctuation: what header fields are mostly made of); longer
 * codes go through canonical decoding, one comparison per length, against the first code past each
 * length's range.
 */

import { HpackError } from './hpack-error.js';

/** RFC 7541 Appendix B: the code length, in bits, of each byte 0..255 and of EOS (256). */
// biome-ignore format: 16 symbols a row, so a symbol's row and column give its value
const CODE_LENGTHS: readonly number[] = [
  13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28,
  28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28,
  6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6,
  5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10,
  13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
  7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6,
  15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5,
  6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28,
  20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23,
  24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24,
  22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23,
  21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23,
  26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25,
  19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27,
  20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23,
  26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26,
  30,
];

/** The end-of-string symbol: never part of a string; a prefix of its code pads the last byte. */
const EOS = 256;
/** The longest code, in bits (EOS and a few control bytes). */
const MAX_CODE_BITS = 30;
/** How many bits the fast lookup table is indexed by. */
const FAST_BITS = 9;

/** The canonical code of every symbol, and the tables decoding uses; built once from CODE_LENGTHS. */
const CODES = new Uint32Array(257);
/** Symbols sorted by (length, symbol): canonical order, so the codes of one length are consecutive. */
const SYMBOLS_BY_CODE = new Uint16Array(257);
/** Per length L: the first code of length L, as an L-bit number (the first one past length L-1's codes). */
const FIRST_CODE = new Uint32Array(MAX_CODE_BITS + 1);
/** Per length L: FIRST_CODE[L] + the number of codes of length L; an L-bit prefix below it is a code. */
const CODE_LIMIT = new Uint32Array(MAX_CODE_BITS + 1);
/** Per length L: where length L's symbols start in SYMBOLS_BY_CODE. */
const FIRST_SYMBOL_AT = new Uint16Array(MAX_CODE_BITS + 1);
/** Indexed by the next FAST_BITS bits: (symbol << 5) | length for codes that fit, 0 otherwise. */
const FAST = new Uint16Array(1 << FAST_BITS);

function buildTables(): void {
  const countByLength = new Uint16Array(MAX_CODE_BITS + 1);
  for (const length of CODE_LENGTHS) countByLength[length]!++;
  let code = 0;
  let at = 0;
  for (let length = 1; length <= MAX_CODE_BITS; length++) {
    FIRST_CODE[length] = code;
    FIRST_SYMBOL_AT[length] = at;
    code += countByLength[length]!;
    at += countByLength[length]!;
    CODE_LIMIT[length] = code;
    code *= 2;
  }
  // The code is complete (Kraft sum exactly 1): every 30-bit string starts with exactly one code.
  if (CODE_LIMIT[MAX_CODE_BITS] !== 2 ** MAX_CODE_BITS || at !== 257) {
    throw new Error('HPACK Huffman code lengths are corrupt');
  }
  const nextCode = Uint32Array.from(FIRST_CODE);
  const nextAt = Uint16Array.from(FIRST_SYMBOL_AT);
  for (let symbol = 0; symbol <= EOS; symbol++) {
    const length = CODE_LENGTHS[symbol]!;
    const symbolCode = nextCode[length]!++;
    CODES[symbol] = symbolCode;
    SYMBOLS_BY_CODE[nextAt[length]!++] = symbol;
    if (length <= FAST_BITS) {
      const shift = FAST_BITS - length;
      for (let fill = 0; fill < 1 << shift; fill++) {
        FAST[(symbolCode << shift) | fill] = (symbol << 5) | length;
      }
    }
  }
}
buildTables();

/** Where huffmanDecode writes bytes before turning them into a string; grown as needed. */
let scratch = Buffer.allocUnsafe(256);

/**
 * Decodes the Huffman-coded string in `bytes[start, end)` (RFC 7541 §5.2) to a latin1 string, one
 * char per decoded byte. Throws HpackError on EOS inside the string, or on padding that is longer
 * than 7 bits or not all ones.
 */
export function huffmanDecode(bytes: Uint8Array, start: number, end: number): string {
  const maxChars = ((end - start) * 8) / 5; // the shortest code is 5 bits
  if (scratch.length < maxChars) scratch = Buffer.allocUnsafe(Math.ceil(maxChars) * 2);
  const out = scratch;
  let written = 0;
  let pos = start;
  let bitBuffer = 0; // the last `bits` bits are unread; higher bits are stale
  let bits = 0;
  for (;;) {
    while (bits <= 24 && pos < end) {
      bitBuffer = (bitBuffer << 8) | bytes[pos++]!;
      bits += 8;
    }
    if (bits === 0) break;
    // The next 9 bits; past the end, ones (what padding looks like) stand in for the missing bits.
    const peek =
      bits >= FAST_BITS
        ? (bitBuffer >>> (bits - FAST_BITS)) & 0x1ff
        : ((bitBuffer << (FAST_BITS - bits)) | ((1 << (FAST_BITS - bits)) - 1)) & 0x1ff;
    let entry = FAST[peek]!;
    if (entry === 0) entry = decodeLongCode(bitBuffer, bits, pos < end ? bytes[pos]! : -1);
    const length = entry & 0x1f;
    if (length > bits) {
      if (pos < end) {
        // A long code running into the next byte (bits >= 25 here). The shift pushes bits of this
        // code out of the 32-bit buffer; what is left after consuming it fits.
        bitBuffer = (bitBuffer << 8) | bytes[pos++]!;
        bits += 8;
      } else {
        // The input ends inside a code: legal only as up to 7 bits of padding, all ones (§5.2).
        if (bits > 7) throw new HpackError('Huffman string padded by more than 7 bits');
        const mask = (1 << bits) - 1;
        if ((bitBuffer & mask) !== mask) throw new HpackError('Huffman string padding is not all ones');
        break;
      }
    }
    const symbol = entry >>> 5;
    if (symbol === EOS) throw new HpackError('Huffman string contains EOS');
    out[written++] = symbol;
    bits -= length;
  }
  return out.toString('latin1', 0, written);
}

/**
 * (symbol << 5) | length for a code longer than FAST_BITS, read from the next 30 bits: the buffer's
 * `bits`, then `nextByte` (the unread byte after them; only needed, and only passed, when bits >= 25),
 * or ones past the end of the input (nextByte -1).
 */
function decodeLongCode(bitBuffer: number, bits: number, nextByte: number): number {
  let window: number;
  if (bits >= MAX_CODE_BITS) {
    window = (bitBuffer >>> (bits - MAX_CODE_BITS)) & 0x3fffffff;
  } else {
    const missing = MAX_CODE_BITS - bits;
    const fill = nextByte < 0 ? (1 << missing) - 1 : nextByte >>> (8 - missing);
    window = ((bitBuffer << missing) | fill) & 0x3fffffff;
  }
  for (let length = FAST_BITS + 1; length < MAX_CODE_BITS; length++) {
    const prefix = window >>> (MAX_CODE_BITS - length);
    if (prefix < CODE_LIMIT[length]!) {
      const symbol = SYMBOLS_BY_CODE[FIRST_SYMBOL_AT[length]! + prefix - FIRST_CODE[length]!]!;
      return (symbol << 5) | length;
    }
  }
  // The code is complete, so whatever no shorter code matched is one of the 30-bit codes.
  const symbol = SYMBOLS_BY_CODE[FIRST_SYMBOL_AT[MAX_CODE_BITS]! + window - FIRST_CODE[MAX_CODE_BITS]!]!;
  return (symbol << 5) | MAX_CODE_BITS;
}

/** The canonical Huffman code of a symbol (0..255, or 256 for EOS) and its length in bits. */
export function huffmanCodeOf(symbol: number): readonly [code: number, bits: number] {
  if (!Number.isInteger(symbol) || symbol < 0 || symbol > EOS) {
    throw new RangeError(`not a symbol: ${symbol}`);
  }
  return [CODES[symbol]!, CODE_LENGTHS[symbol]!];
}

/**
 * Huffman-codes a latin1 string (each char one byte), padding the last byte with ones. We never
 * Huffman-code what we send; this exists so tests can build Huffman-coded input.
 */
export function huffmanEncode(s: string): Uint8Array {
  const out: number[] = [];
  let pending = 0; // the last `bits` bits are not yet written; kept below 2^38, exact in a double
  let bits = 0;
  for (let i = 0; i < s.length; i++) {
    const symbol = s.charCodeAt(i);
    if (symbol > 0xff) throw new RangeError(`not a latin1 char at ${i}: U+${symbol.toString(16)}`);
    const length = CODE_LENGTHS[symbol]!;
    pending = pending * 2 ** length + CODES[symbol]!;
    bits += length;
    while (bits >= 8) {
      bits -= 8;
      out.push(Math.floor(pending / 2 ** bits) & 0xff);
      pending %= 2 ** bits;
    }
  }
  if (bits > 0) out.push(((pending << (8 - bits)) | ((1 << (8 - bits)) - 1)) & 0xff);
  return Uint8Array.from(out);
}
