/**
 * Go's quoting of characters and strings in error texts, as the gateway's errors show them:
 * encoding/json's `invalid character 'x' …` (one input byte read as a Latin-1 rune) and `%q` of
 * a byte string (strconv.Quote: printable runes as they are, the rest escaped).
 *
 * Pure. Printability is Unicode's letters, marks, numbers, punctuation, symbols and the ASCII
 * space, which is Go's definition; the tables behind it may differ from Go's in a few rare runes.
 */

const SHORT_ESCAPES: Readonly<Record<number, string>> = {
  7: '\\a',
  8: '\\b',
  12: '\\f',
  10: '\\n',
  13: '\\r',
  9: '\\t',
  11: '\\v',
  92: '\\\\',
};

const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u;

const hex = (n: number, width: number): string => n.toString(16).padStart(width, '0');

/** One rune as strconv.Quote writes it inside the quotes (`"` left alone: callers differ). */
function quoteRune(r: number): string {
  const short = SHORT_ESCAPES[r];
  if (short !== undefined) return short;
  if (r < 0x80) return r >= 0x20 && r < 0x7f ? String.fromCharCode(r) : `\\x${hex(r, 2)}`;
  const s = String.fromCodePoint(r);
  if (PRINTABLE.test(s)) return s;
  return r < 0x10000 ? `\\u${hex(r, 4)}` : `\\U${hex(r, 8)}`;
}

/** A byte as encoding/json's syntax errors quote it: `'x'`, `'\''`, `'"'`, `'\x01'`, `'ï'`. */
export function goQuoteChar(c: number): string {
  if (c === 0x27) return `'\\''`;
  if (c === 0x22) return `'"'`;
  return `'${quoteRune(c)}'`;
}

/** Bytes as Go's `%q` formats them: a double-quoted string, invalid UTF-8 bytes as `\xNN`. */
export function goQuote(bytes: Uint8Array): string {
  let out = '"';
  let i = 0;
  while (i < bytes.length) {
    const [r, size] = decodeRune(bytes, i);
    if (r < 0) out += `\\x${hex(bytes[i]!, 2)}`;
    else if (r === 0x22) out += '\\"';
    else out += quoteRune(r);
    i += size;
  }
  return `${out}"`;
}

/**
 * The UTF-8 rune at `bytes[i]` and its length, as Go's utf8.DecodeRune reads it: -1 and length 1
 * for a byte that does not start a valid sequence (overlong forms and surrogates are invalid).
 */
export function decodeRune(bytes: Uint8Array, i: number): [rune: number, size: number] {
  const b0 = bytes[i]!;
  if (b0 < 0x80) return [b0, 1];
  const cont = (k: number): number => {
    const b = bytes[i + k];
    return b !== undefined && (b & 0xc0) === 0x80 ? b & 0x3f : -1;
  };
  if (b0 >= 0xc2 && b0 <= 0xdf) {
    const c1 = cont(1);
    return c1 < 0 ? [-1, 1] : [((b0 & 0x1f) << 6) | c1, 2];
  }
  if (b0 >= 0xe0 && b0 <= 0xef) {
    const c1 = cont(1);
    const c2 = cont(2);
    if (c1 < 0 || c2 < 0) return [-1, 1];
    const r = ((b0 & 0x0f) << 12) | (c1 << 6) | c2;
    return r < 0x800 || (r >= 0xd800 && r <= 0xdfff) ? [-1, 1] : [r, 3];
  }
  if (b0 >= 0xf0 && b0 <= 0xf4) {
    const c1 = cont(1);
    const c2 = cont(2);
    const c3 = cont(3);
    if (c1 < 0 || c2 < 0 || c3 < 0) return [-1, 1];
    const r = ((b0 & 0x07) << 18) | (c1 << 12) | (c2 << 6) | c3;
    return r < 0x10000 || r > 0x10ffff ? [-1, 1] : [r, 4];
  }
  return [-1, 1];
}
