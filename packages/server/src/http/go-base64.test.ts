/**
 * go-base64.ts against etcd 3.4.23's answers to bytes fields in base64 (recorded from a real
 * etcd by gateway-differential.integration.test.ts).
 */

import { describe, expect, it } from 'vitest';
import { decodeStdBase64 } from './go-base64.js';

const decode = (s: string): string => {
  try {
    return Buffer.from(decodeStdBase64(Buffer.from(s, 'latin1'))).toString('latin1');
  } catch (err) {
    return (err as Error).message;
  }
};

describe("Go's base64.StdEncoding", () => {
  it('decodes padded base64, skipping \\r and \\n anywhere', () => {
    expect(decode('Zm9v')).toBe('foo');
    expect(decode('Zm8=')).toBe('fo');
    expect(decode('Zg==')).toBe('f');
    expect(decode('')).toBe('');
    expect(decode('Zm9v\n')).toBe('foo');
    expect(decode('Z\r\nm9\nv')).toBe('foo');
    expect(decode('Zg=\n=')).toBe('f');
    // Left-over bits are not checked (the encoding is not Strict).
    expect(decode('Zh==')).toBe('f');
  });

  it.each([
    ['!!!', 0],
    ['Zm9', 0],
    ['Zm9vYg', 4],
    ['Zm9v-_', 4],
    ['Zm 9v', 2],
    ['Zm9v====', 4],
    ['Zg=', 3],
    ['Zg=x', 2],
    ['Zm8=Zm8=', 4],
    ['=', 0],
  ])('%j: illegal base64 data at input byte %i', (s, at) => {
    expect(decode(s)).toBe(`illegal base64 data at input byte ${at}`);
  });
});
