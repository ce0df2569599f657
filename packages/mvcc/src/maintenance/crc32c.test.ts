import { describe, expect, it } from 'vitest';
import { crc32c } from './crc32c.js';

const ascii = (s: string) => new TextEncoder().encode(s);

describe('crc32c', () => {
  it('gives the Castagnoli check value and etcd’s empty-store HashKV', () => {
    expect(crc32c(ascii('123456789'))).toBe(0xe3069283);
    // etcd 3.4's HashKV of an empty store is the CRC of its key bucket's name alone.
    expect(crc32c(ascii('key'))).toBe(1084519789);
  });

  it('continues from a previous value as if the bytes were joined', () => {
    expect(crc32c(ascii('56789'), crc32c(ascii('1234')))).toBe(crc32c(ascii('123456789')));
  });
});
