/** json-message-stream.ts: a streamed body split into JSON values as it arrives. */

import { describe, expect, it } from 'vitest';
import { UnexpectedEofError } from './go-json.js';
import { JsonMessageStream, type NextMessage } from './json-message-stream.js';

const text = (m: NextMessage): string =>
  m.type === 'value' ? Buffer.from(m.buf.subarray(m.span.start, m.span.end)).toString() : m.type;

describe('JsonMessageStream', () => {
  it('gives each value once whole, across chunks, whatever separates them', () => {
    const s = new JsonMessageStream();
    s.push(Buffer.from('{"a":1}{"b"'));
    expect(text(s.next())).toBe('{"a":1}');
    expect(text(s.next())).toBe('more');
    s.push(Buffer.from(':2}\n 42'));
    expect(text(s.next())).toBe('{"b":2}');
    // A number may go on in the next chunk.
    expect(text(s.next())).toBe('more');
    s.push(Buffer.from(' '));
    expect(text(s.next())).toBe('42');
    s.end();
    expect(text(s.next())).toBe('eof');
  });

  it('ends inside a value as unexpected EOF', () => {
    const s = new JsonMessageStream();
    s.push(Buffer.from('{"ID":'));
    expect(text(s.next())).toBe('more');
    s.end();
    expect(() => s.next()).toThrow(UnexpectedEofError);
  });
});
