/**
 * JSON read as Go's encoding/json reads it, for the gateway's request bodies: the same syntax
 * checks with the same error texts (`invalid character 'b' looking for beginning of value`,
 * `unexpected EOF`, `unexpected end of JSON input`), and the two ways Go reads a document:
 *
 * - `scanNext` is json.Decoder.Decode: the next value of a stream, whatever follows it (the
 *   gateway reads one value per request message and leaves the rest of the body unread);
 * - `scanWhole` is json.Unmarshal: the whole input is one value, with nothing but spaces after it.
 *
 * Values are not built: a scan gives the value's span in the input, and the accessors below read
 * a span's members, items or string when the decoder needs them (jsonpb keeps values as raw bytes
 * too, and looks at them only when a field asks). The scanner is iterative, so nesting costs no
 * stack; as Go's, it refuses more than 10000 levels.
 *
 * Pure. Does not: convert values to Go types (go-unmarshal.ts) or to protobuf (jsonpb-decode.ts).
 */

import { decodeRune, goQuoteChar } from './go-quote.js';

/** A malformed document, with encoding/json's message. */
export class GoJsonSyntaxError extends Error {
  override readonly name = 'GoJsonSyntaxError';
}

/** The input ended inside a value (Go's io.ErrUnexpectedEOF, from json.Decoder). */
export class UnexpectedEofError extends Error {
  override readonly name = 'UnexpectedEofError';
  constructor() {
    super('unexpected EOF');
  }
}

/** Where a value lies in the input: `buf[start, end)`. */
export interface Span {
  readonly start: number;
  readonly end: number;
}

/** What scanNext found: a value, the end of the input, or (input not final) a value not yet whole. */
export type ScanResult =
  | { readonly type: 'value'; readonly span: Span }
  | { readonly type: 'eof' }
  | { readonly type: 'more' };

/** encoding/json's maxNestingDepth. */
const MAX_NESTING_DEPTH = 10_000;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

const isSpace = (c: number): boolean => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39;
const isHex = (c: number): boolean => isDigit(c) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46);

/** What the scanner expects next. */
const Expect = {
  value: 0,
  valueOrArrayEnd: 1,
  keyOrObjectEnd: 2,
  key: 3,
  colon: 4,
  commaOrObjectEnd: 5,
  commaOrArrayEnd: 6,
  done: 7,
} as const;
type Expect = (typeof Expect)[keyof typeof Expect];

/** Thrown inside the scanner when a non-final input runs out mid-value. */
class NeedMore {}

/** Thrown inside the scanner when a final input holds nothing but spaces from the start. */
class EofSignal {}

class Scanner {
  /** Whether an end of input ends the document (json.Unmarshal, or a body read to its end). */
  private readonly final: boolean;

  constructor(
    private readonly buf: Uint8Array,
    private readonly whole: boolean,
    final: boolean,
  ) {
    this.final = whole || final;
  }

  private fail(c: number, context: string): never {
    throw new GoJsonSyntaxError(`invalid character ${goQuoteChar(c)} ${context}`);
  }

  /**
   * The input ended. `context` is the complaint a space would draw here (json.Unmarshal feeds the
   * scanner a space at the end), or undefined where a space is fine.
   */
  private eof(started: boolean, context?: string): never {
    if (!this.final) throw new NeedMore();
    if (!this.whole) throw started ? new UnexpectedEofError() : new EofSignal();
    if (context !== undefined) this.fail(0x20, context);
    throw new GoJsonSyntaxError('unexpected end of JSON input');
  }

  /** The end of the value that starts at or after `from` (after spaces). */
  scan(from: number): Span {
    const buf = this.buf;
    const stack: boolean[] = []; // true: object
    let expect: Expect = Expect.value;
    let i = from;
    let start = -1;
    while (expect !== Expect.done) {
      while (i < buf.length && isSpace(buf[i]!)) i++;
      if (i >= buf.length) this.eof(start >= 0);
      const c = buf[i]!;
      switch (expect) {
        case Expect.value:
        case Expect.valueOrArrayEnd:
          if (expect === Expect.valueOrArrayEnd && c === 0x5d) {
            i++;
            stack.pop();
            break;
          }
          if (start < 0) start = i;
          if (c === 0x7b || c === 0x5b) {
            stack.push(c === 0x7b);
            if (stack.length > MAX_NESTING_DEPTH) this.fail(c, 'exceeded max depth');
            i++;
            expect = c === 0x7b ? Expect.keyOrObjectEnd : Expect.valueOrArrayEnd;
            continue;
          }
          if (c === QUOTE) i = this.string(i);
          else if (c === 0x2d || isDigit(c)) {
            i = this.number(i);
            // A number is whole only once something follows it (or the input is final).
            if (stack.length === 0 && i === buf.length && !this.final) throw new NeedMore();
          } else if (c === 0x74) i = this.literal(i, 'true');
          else if (c === 0x66) i = this.literal(i, 'false');
          else if (c === 0x6e) i = this.literal(i, 'null');
          else this.fail(c, 'looking for beginning of value');
          break;
        case Expect.keyOrObjectEnd:
        case Expect.key:
          if (expect === Expect.keyOrObjectEnd && c === 0x7d) {
            i++;
            stack.pop();
            break;
          }
          if (c !== QUOTE) this.fail(c, 'looking for beginning of object key string');
          i = this.string(i);
          expect = Expect.colon;
          continue;
        case Expect.colon:
          if (c !== 0x3a) this.fail(c, 'after object key');
          i++;
          expect = Expect.value;
          continue;
        case Expect.commaOrObjectEnd:
          if (c === 0x2c) {
            i++;
            expect = Expect.key;
            continue;
          }
          if (c !== 0x7d) this.fail(c, 'after object key:value pair');
          i++;
          stack.pop();
          break;
        case Expect.commaOrArrayEnd:
          if (c === 0x2c) {
            i++;
            expect = Expect.value;
            continue;
          }
          if (c !== 0x5d) this.fail(c, 'after array element');
          i++;
          stack.pop();
          break;
      }
      // A value ended: what may follow it depends on what holds it.
      const top = stack[stack.length - 1];
      expect = top === undefined ? Expect.done : top ? Expect.commaOrObjectEnd : Expect.commaOrArrayEnd;
    }
    return { start, end: i };
  }

  /** After a whole value: only spaces may follow (json.Unmarshal). */
  rest(from: number): void {
    let i = from;
    while (i < this.buf.length && isSpace(this.buf[i]!)) i++;
    if (i < this.buf.length) this.fail(this.buf[i]!, 'after top-level value');
  }

  private string(at: number): number {
    const buf = this.buf;
    let i = at + 1;
    for (;;) {
      if (i >= buf.length) this.eof(true);
      const c = buf[i]!;
      if (c === QUOTE) return i + 1;
      if (c < 0x20) this.fail(c, 'in string literal');
      i++;
      if (c !== BACKSLASH) continue;
      if (i >= buf.length) this.eof(true, 'in string escape code');
      const e = buf[i]!;
      i++;
      if (e === 0x75) {
        for (let k = 0; k < 4; k++, i++) {
          if (i >= buf.length) this.eof(true, 'in \\u hexadecimal character escape');
          if (!isHex(buf[i]!)) this.fail(buf[i]!, 'in \\u hexadecimal character escape');
        }
      } else if (!'bfnrt\\/"'.includes(String.fromCharCode(e))) this.fail(e, 'in string escape code');
    }
  }

  private number(at: number): number {
    const buf = this.buf;
    let i = at;
    const digitOr = (context: string): void => {
      if (i >= buf.length) this.eof(true, context);
      if (!isDigit(buf[i]!)) this.fail(buf[i]!, context);
    };
    if (buf[i] === 0x2d) {
      i++;
      digitOr('in numeric literal');
    }
    if (buf[i] === 0x30) i++;
    else while (i < buf.length && isDigit(buf[i]!)) i++;
    if (buf[i] === 0x2e) {
      i++;
      digitOr('after decimal point in numeric literal');
      while (i < buf.length && isDigit(buf[i]!)) i++;
    }
    if (buf[i] === 0x65 || buf[i] === 0x45) {
      i++;
      if (buf[i] === 0x2b || buf[i] === 0x2d) i++;
      digitOr('in exponent of numeric literal');
      while (i < buf.length && isDigit(buf[i]!)) i++;
    }
    return i;
  }

  private literal(at: number, word: string): number {
    let i = at + 1;
    for (let k = 1; k < word.length; k++, i++) {
      const context = `in literal ${word} (expecting '${word[k]}')`;
      if (i >= this.buf.length) this.eof(true, context);
      if (this.buf[i] !== word.charCodeAt(k)) this.fail(this.buf[i]!, context);
    }
    return i;
  }
}

/**
 * json.Decoder.Decode: the next value at or after `from`. `final` says the input is all there
 * is; when it is not, a value cut off by the end of `buf` gives `more`. Throws GoJsonSyntaxError
 * or UnexpectedEofError.
 */
export function scanNext(buf: Uint8Array, from: number, final: boolean): ScanResult {
  try {
    return { type: 'value', span: new Scanner(buf, false, final).scan(from) };
  } catch (err) {
    if (err instanceof NeedMore) return { type: 'more' };
    if (err instanceof EofSignal) return { type: 'eof' };
    throw err;
  }
}

/** json.Unmarshal's check: `buf` is one value and spaces. Throws GoJsonSyntaxError. */
export function scanWhole(buf: Uint8Array): Span {
  const s = new Scanner(buf, true, true);
  const span = s.scan(0);
  s.rest(span.end);
  return span;
}

// ---- reading spans of a document already scanned ------------------------------------------------

/** The kind of the value at `buf[at]`, by its first byte. */
export type JsonKind = 'object' | 'array' | 'string' | 'number' | 'bool' | 'null';

/** Which kind of value a span holds. */
export function kindOf(buf: Uint8Array, span: Span): JsonKind {
  const c = buf[span.start];
  if (c === 0x7b) return 'object';
  if (c === 0x5b) return 'array';
  if (c === QUOTE) return 'string';
  if (c === 0x74 || c === 0x66) return 'bool';
  if (c === 0x6e) return 'null';
  return 'number';
}

function skipSpaces(buf: Uint8Array, i: number): number {
  while (i < buf.length && isSpace(buf[i]!)) i++;
  return i;
}

/** The end of the (valid) value that starts at `i`. */
function valueEnd(buf: Uint8Array, i: number): number {
  const c = buf[i];
  if (c === QUOTE) return stringEnd(buf, i);
  if (c === 0x7b || c === 0x5b) {
    let depth = 0;
    for (;;) {
      const d = buf[i]!;
      if (d === QUOTE) {
        i = stringEnd(buf, i);
        continue;
      }
      if (d === 0x7b || d === 0x5b) depth++;
      else if (d === 0x7d || d === 0x5d) {
        depth--;
        if (depth === 0) return i + 1;
      }
      i++;
    }
  }
  while (i < buf.length && !isSpace(buf[i]!) && buf[i] !== 0x2c && buf[i] !== 0x5d && buf[i] !== 0x7d) i++;
  return i;
}

function stringEnd(buf: Uint8Array, i: number): number {
  for (i++; buf[i] !== QUOTE; i++) if (buf[i] === BACKSLASH) i++;
  return i + 1;
}

/** An object's members in order (a repeated key appears each time; Go's map keeps the last). */
export function objectMembers(buf: Uint8Array, span: Span): [key: string, value: Span][] {
  const out: [string, Span][] = [];
  let i = skipSpaces(buf, span.start + 1);
  while (buf[i] !== 0x7d) {
    const keyEnd = stringEnd(buf, i);
    const key = unquote(buf, { start: i, end: keyEnd });
    const start = skipSpaces(buf, skipSpaces(buf, keyEnd) + 1);
    const end = valueEnd(buf, start);
    out.push([key, { start, end }]);
    i = skipSpaces(buf, end);
    if (buf[i] === 0x2c) i = skipSpaces(buf, i + 1);
  }
  return out;
}

/** An array's items in order. */
export function arrayItems(buf: Uint8Array, span: Span): Span[] {
  const out: Span[] = [];
  let i = skipSpaces(buf, span.start + 1);
  while (buf[i] !== 0x5d) {
    const end = valueEnd(buf, i);
    out.push({ start: i, end });
    i = skipSpaces(buf, end);
    if (buf[i] === 0x2c) i = skipSpaces(buf, i + 1);
  }
  return out;
}

/**
 * A string literal's text, as Go unquotes it: escapes resolved, a lone surrogate escape and each
 * byte of invalid UTF-8 read as U+FFFD.
 */
export function unquote(buf: Uint8Array, span: Span): string {
  let out = '';
  let i = span.start + 1;
  const last = span.end - 1;
  const u4 = (at: number): number => {
    if (buf[at] !== BACKSLASH || buf[at + 1] !== 0x75 || at + 6 > last) return -1;
    return Number.parseInt(String.fromCharCode(...buf.subarray(at + 2, at + 6)), 16);
  };
  while (i < last) {
    const c = buf[i]!;
    if (c === BACKSLASH) {
      const e = buf[i + 1]!;
      if (e === 0x75) {
        let r = u4(i);
        i += 6;
        if (r >= 0xd800 && r < 0xe000) {
          const lo = r < 0xdc00 ? u4(i) : -1;
          if (lo >= 0xdc00 && lo < 0xe000) {
            r = 0x10000 + ((r - 0xd800) << 10) + (lo - 0xdc00);
            i += 6;
          } else r = 0xfffd;
        }
        out += String.fromCodePoint(r);
        continue;
      }
      out += ESCAPED[e] ?? String.fromCharCode(e);
      i += 2;
      continue;
    }
    if (c < 0x80) {
      out += String.fromCharCode(c);
      i++;
      continue;
    }
    const [r, size] = decodeRune(buf, i);
    out += r < 0 ? '\ufffd' : String.fromCodePoint(r);
    i += size;
  }
  return out;
}

const ESCAPED: Readonly<Record<number, string>> = {
  98: '\b',
  102: '\f',
  110: '\n',
  114: '\r',
  116: '\t',
};
