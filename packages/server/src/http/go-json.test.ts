/**
 * go-json.ts against the texts etcd 3.4.23's gateway (Go 1.19's encoding/json) answered the same
 * bodies with (gateway-differential.integration.test.ts sends them to a real etcd).
 */

import { describe, expect, it } from 'vitest';
import {
  arrayItems,
  GoJsonSyntaxError,
  objectMembers,
  scanNext,
  scanWhole,
  UnexpectedEofError,
  unquote,
} from './go-json.js';
import { goQuote, goQuoteChar } from './go-quote.js';

const b = (s: string): Buffer => Buffer.from(s, 'utf8');
const syntax = (s: string): string => {
  try {
    const r = scanNext(b(s), 0, true);
    return r.type;
  } catch (err) {
    return (err as Error).message;
  }
};
const whole = (s: string): string => {
  try {
    scanWhole(b(s));
    return 'ok';
  } catch (err) {
    return (err as Error).message;
  }
};

describe('scanNext: json.Decoder.Decode', () => {
  it.each([
    ['bad', "invalid character 'b' looking for beginning of value"],
    ['{bad', "invalid character 'b' looking for beginning of object key string"],
    ['{"key":"Zm9v",}', "invalid character '}' looking for beginning of object key string"],
    ['\ufeff{}', "invalid character 'ï' looking for beginning of value"],
    ['{"a" 1}', "invalid character '1' after object key"],
    ['{"a":1 "b"}', `invalid character '"' after object key:value pair`],
    ['[1 2]', "invalid character '2' after array element"],
    ['{"a":tru}', "invalid character '}' in literal true (expecting 'e')"],
    ['{"key":"\x01"}', "invalid character '\\x01' in string literal"],
    ['{"key":"\\u00zz"}', "invalid character 'z' in \\u hexadecimal character escape"],
    ['{"key":"\\q"}', "invalid character 'q' in string escape code"],
    ['['.repeat(10_001), "invalid character '[' exceeded max depth"],
  ])('%j → %s', (body, message) => {
    expect(syntax(body)).toBe(message);
  });

  it('a body cut off inside a value is unexpected EOF; a blank one is the end', () => {
    for (const body of ['{"key":"Zm9v', 'nul', 'tru', '1.', '-', '[1,2', '['.repeat(100)])
      expect(() => scanNext(b(body), 0, true), body).toThrow(UnexpectedEofError);
    expect(scanNext(b('  \n '), 0, true)).toEqual({ type: 'eof' });
    expect(scanNext(b(''), 0, true)).toEqual({ type: 'eof' });
  });

  it('reads the first value and leaves what follows it', () => {
    expect(scanNext(b('  {"a":1} trailing'), 0, true)).toEqual({ type: 'value', span: { start: 2, end: 9 } });
    expect(scanNext(b('{}{"x":1}'), 2, true)).toEqual({ type: 'value', span: { start: 2, end: 9 } });
    // "01" is the number 0 followed by something else.
    expect(scanNext(b('01'), 0, true)).toEqual({ type: 'value', span: { start: 0, end: 1 } });
  });

  it('asks for more while a value (a number included) may go on, unless the input is final', () => {
    expect(scanNext(b('{"a":'), 0, false)).toEqual({ type: 'more' });
    expect(scanNext(b('42'), 0, false)).toEqual({ type: 'more' });
    expect(scanNext(b('42'), 0, true)).toEqual({ type: 'value', span: { start: 0, end: 2 } });
    expect(scanNext(b(' '), 0, false)).toEqual({ type: 'more' });
  });
});

describe('scanWhole: json.Unmarshal', () => {
  it.each([
    ['', 'unexpected end of JSON input'],
    ['"abc', 'unexpected end of JSON input'],
    ['-', "invalid character ' ' in numeric literal"],
    ['1e', "invalid character ' ' in exponent of numeric literal"],
    ['1.', "invalid character ' ' after decimal point in numeric literal"],
    ['tru', "invalid character ' ' in literal true (expecting 'e')"],
    ['1 2', "invalid character '2' after top-level value"],
    ['0x10', "invalid character 'x' after top-level value"],
    ['\\"5\\"', "invalid character '\\\\' looking for beginning of value"],
    [' 5 ', 'ok'],
  ])('%j → %s', (text, message) => {
    expect(whole(text)).toBe(message);
  });
});

describe('reading a scanned value', () => {
  it('members in order with keys unquoted; items; strings as Go unquotes them', () => {
    const buf = b('{ "k\\u0065y" : [1, {"a":"}"} ,"x"] , "b":null}');
    const members = objectMembers(buf, scanWhole(buf));
    expect(members.map(([k]) => k)).toEqual(['key', 'b']);
    const items = arrayItems(buf, members[0]![1]);
    expect(items.map((s) => buf.subarray(s.start, s.end).toString())).toEqual(['1', '{"a":"}"}', '"x"']);
    const str = (s: string) => {
      const x = b(s);
      return unquote(x, { start: 0, end: x.length });
    };
    expect(str('"a\\n\\u00e9\\ud83d\\ude00\\/"')).toBe('a\né😀/');
    expect(str('"\\ud800x"')).toBe('\ufffdx');
    // Each byte of invalid UTF-8 is one U+FFFD, as Go's utf8.DecodeRune reads it.
    const raw = Buffer.from([0x22, 0xe2, 0x82, 0x61, 0x22]);
    expect(unquote(raw, { start: 0, end: raw.length })).toBe('\ufffd\ufffda');
  });
});

describe('Go quoting', () => {
  it('quotes a byte as encoding/json and a byte string as %q', () => {
    expect(goQuoteChar(0x27)).toBe(`'\\''`);
    expect(goQuoteChar(0x5c)).toBe(`'\\\\'`);
    expect(goQuoteChar(0x0a)).toBe(`'\\n'`);
    expect(goQuoteChar(0x85)).toBe(`'\\u0085'`);
    expect(goQuote(b('a\\"b'))).toBe('"a\\\\\\"b"');
    expect(goQuote(Buffer.from([0x41, 0xff]))).toBe('"A\\xff"');
    expect(goQuote(b('é'))).toBe('"é"');
  });

  it('is what the scanner reports', () => {
    expect(() => scanWhole(b('\x7f'))).toThrow(
      new GoJsonSyntaxError("invalid character '\\x7f' looking for beginning of value"),
    );
  });
});
