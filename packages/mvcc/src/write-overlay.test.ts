/** WriteOverlay: newest write wins, deletes read as null, lookups interleaved with writes. */

import { describe, expect, it } from 'vitest';
import { utf8 } from './bytes.js';
import { WriteOverlay } from './write-overlay.js';

describe('WriteOverlay', () => {
  it('answers undefined for keys never written, and when empty', () => {
    const o = new WriteOverlay();
    expect(o.lookup('a')).toBeUndefined();
    o.add(utf8('a'), utf8('1'));
    expect(o.lookup('b')).toBeUndefined();
  });

  it('returns the newest write of a key, null for a delete, keeping every write in order', () => {
    const o = new WriteOverlay();
    o.add(utf8('a'), utf8('1'));
    o.add(utf8('b'), utf8('2'));
    o.add(utf8('a'), utf8('3'));
    expect(o.lookup('a')).toEqual(utf8('3'));
    o.add(utf8('b'), null);
    expect(o.lookup('b')).toBeNull();
    o.add(utf8('b'), utf8('4'));
    expect(o.lookup('b')).toEqual(utf8('4'));
    expect(o.size).toBe(5);
    expect(o.keys.map((k) => new TextDecoder().decode(k))).toEqual(['a', 'b', 'a', 'b', 'b']);
    expect(o.values[3]).toBeNull();
  });

  it('sees writes made after a lookup (the index catches up)', () => {
    const o = new WriteOverlay();
    for (let i = 0; i < 50; i++) {
      o.add(utf8(`k${i % 7}`), utf8(String(i)));
      expect(o.lookup(`k${i % 7}`)).toEqual(utf8(String(i)));
    }
    expect(o.lookup('k0')).toEqual(utf8('49'));
  });

  it('looks keys up by their binary string (bytes above 0x7f included)', () => {
    const o = new WriteOverlay();
    o.add(new Uint8Array([0x01, 0xff, 0x80]), utf8('x'));
    expect(o.lookup('\x01\xff\x80')).toEqual(utf8('x'));
  });
});
