/**
 * WriteOverlay: each key reaches the batch once with its newest write, deletes read as null,
 * fresh writes are found once a read asks, lookups interleave with writes.
 */

import { describe, expect, it } from 'vitest';
import { utf8 } from './bytes.js';
import { WriteOverlay } from './write-overlay.js';

const text = (b: Uint8Array | null) => (b === null ? null : new TextDecoder().decode(b));

function batch(o: WriteOverlay): [string | null, string | null][] {
  const out: [string | null, string | null][] = [];
  o.forEach((k, v) => {
    out.push([text(k), text(v)]);
  });
  return out;
}

describe('WriteOverlay', () => {
  it('answers undefined for keys never written, and when empty', () => {
    const o = new WriteOverlay();
    expect(o.lookup('a')).toBeUndefined();
    o.add(utf8('a'), utf8('1'));
    o.addFresh(utf8('f'), utf8('2'));
    expect(o.lookup('b')).toBeUndefined();
  });

  it('returns the newest write of a key, null for a delete', () => {
    const o = new WriteOverlay();
    o.add(utf8('a'), utf8('1'));
    o.add(utf8('b'), utf8('2'));
    o.add(utf8('a'), utf8('3'));
    expect(text(o.lookup('a')!)).toBe('3');
    o.add(utf8('b'), null);
    expect(o.lookup('b')).toBeNull();
    o.add(utf8('b'), utf8('4'));
    expect(text(o.lookup('b')!)).toBe('4');
    expect(o.size).toBe(5);
  });

  it('hands each key once to the batch, with its last value, fresh writes as given', () => {
    const o = new WriteOverlay();
    o.add(utf8('m'), utf8('1'));
    o.addFresh(utf8('r1'), utf8('x'));
    o.add(utf8('m'), utf8('2'));
    o.addFresh(utf8('r2'), utf8('y'));
    o.add(utf8('d'), utf8('3'));
    o.add(utf8('d'), null);
    o.add(utf8('m'), utf8('4'));
    expect(batch(o)).toEqual([
      ['r1', 'x'],
      ['r2', 'y'],
      ['d', null],
      ['m', '4'],
    ]);
  });

  it('finds fresh writes made before and after a lookup', () => {
    const o = new WriteOverlay();
    for (let i = 0; i < 50; i++) {
      o.addFresh(utf8(`r${i}`), utf8(String(i)));
      expect(text(o.lookup(`r${i}`)!)).toBe(String(i));
      if (i > 0) expect(text(o.lookup(`r${i - 1}`)!)).toBe(String(i - 1));
    }
  });

  it('still reads the newest write when a fresh key is also written otherwise', () => {
    const o = new WriteOverlay();
    o.add(utf8('k'), utf8('1'));
    o.addFresh(utf8('k'), utf8('2'));
    expect(text(o.lookup('k')!)).toBe('2');
    o.add(utf8('k'), utf8('3'));
    expect(text(o.lookup('k')!)).toBe('3');
    // The last write of the key comes last, so LevelDB keeps it.
    expect(batch(o).at(-1)).toEqual(['k', '3']);
  });

  it('looks keys up by their binary string (bytes above 0x7f included)', () => {
    const o = new WriteOverlay();
    o.addFresh(new Uint8Array([0x01, 0xff, 0x80]), utf8('x'));
    expect(text(o.lookup('\x01\xff\x80')!)).toBe('x');
  });
});
