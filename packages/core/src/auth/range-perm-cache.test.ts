import { utf8 } from '@tsetcd/mvcc';
import { describe, expect, it } from 'vitest';
import {
  isCovered,
  type KeyInterval,
  keyInterval,
  mergeIntervals,
  unifyPermissions,
} from './range-perm-cache.js';
import type { Permission, PermType } from './types.js';

const NONE = new Uint8Array(0);
const FROM = new Uint8Array([0]);
const txt = (i: KeyInterval) => [
  Buffer.from(i.start).toString(),
  i.end === null ? '∞' : Buffer.from(i.end).toString(),
];
const perm = (permType: PermType, key: string, rangeEnd: string | Uint8Array = NONE): Permission => ({
  permType,
  key: utf8(key),
  rangeEnd: typeof rangeEnd === 'string' ? utf8(rangeEnd) : rangeEnd,
});

describe('keyInterval: etcd range encoding', () => {
  it('no rangeEnd is the single key [k, k\\0)', () => {
    expect(txt(keyInterval(utf8('k'), NONE))).toEqual(['k', 'k\0']);
  });
  it('rangeEnd \\0 is every key from k', () => {
    expect(txt(keyInterval(utf8('k'), FROM))).toEqual(['k', '∞']);
  });
  it('otherwise [key, rangeEnd)', () => {
    expect(txt(keyInterval(utf8('a'), utf8('c')))).toEqual(['a', 'c']);
  });
});

describe('mergeIntervals', () => {
  const ivl = (a: string, b: string | null): KeyInterval => ({
    start: utf8(a),
    end: b === null ? null : utf8(b),
  });

  it('fuses overlapping and adjacent intervals, keeps gaps', () => {
    const m = mergeIntervals([ivl('x', null), ivl('b', 'd'), ivl('a', 'b'), ivl('c', 'e'), ivl('f', 'g')]);
    expect(m.map(txt)).toEqual([
      ['a', 'e'],
      ['f', 'g'],
      ['x', '∞'],
    ]);
  });

  it('an open-ended interval swallows everything after it', () => {
    expect(mergeIntervals([ivl('b', null), ivl('c', 'd'), ivl('z', 'zz')]).map(txt)).toEqual([['b', '∞']]);
  });

  it('drops empty and inverted intervals', () => {
    expect(mergeIntervals([ivl('c', 'a'), ivl('b', 'b')])).toEqual([]);
  });
});

describe('isCovered: the request must lie inside the union of permitted intervals', () => {
  // Worked example of range-perm-cache.ts: 'a', ['a\0', 'c'), from 'x'.
  const { read, write } = unifyPermissions([
    perm('READ', 'a'),
    perm('READ', 'a\0', 'c'),
    perm('READWRITE', 'x', FROM),
    perm('WRITE', 'w'),
  ]);
  const can = (key: string, end: string | Uint8Array = NONE) =>
    isCovered(read, utf8(key), typeof end === 'string' ? utf8(end) : end);

  it('single keys: inside a permitted interval or not', () => {
    expect(can('a')).toBe(true);
    expect(can('b')).toBe(true);
    expect(can('c')).toBe(false); // c is the exclusive end
    expect(can('w')).toBe(false); // WRITE only
    expect(can('x')).toBe(true);
    expect(can('zzz')).toBe(true);
    expect(can('')).toBe(false);
  });

  it('adjacent grants merge, so a range across the seam is permitted', () => {
    expect(can('a', 'c')).toBe(true);
    expect(can('a', 'b')).toBe(true);
  });

  it('a range over a gap is denied even if both ends are permitted', () => {
    expect(can('b', 'd')).toBe(false);
    expect(can('a', 'y')).toBe(false);
  });

  it('from-key requests need an open-ended grant', () => {
    expect(can('y', FROM)).toBe(true);
    expect(can('x', FROM)).toBe(true);
    expect(can('a', FROM)).toBe(false);
  });

  it('prefix grants cover prefix requests, and not the neighbour prefix', () => {
    const { read: r } = unifyPermissions([perm('READ', 'foo/', 'foo0')]);
    expect(isCovered(r, utf8('foo/'), utf8('foo0'))).toBe(true);
    expect(isCovered(r, utf8('foo/bar/'), utf8('foo/bar0'))).toBe(true);
    expect(isCovered(r, utf8('foo/x'), NONE)).toBe(true);
    expect(isCovered(r, utf8('foo'), NONE)).toBe(false);
    expect(isCovered(r, utf8('foo'), utf8('foo0'))).toBe(false);
    expect(isCovered(r, utf8('foo0'), NONE)).toBe(false);
  });

  it('READWRITE counts for both kinds; READ and WRITE for one', () => {
    expect(isCovered(write, utf8('x'), NONE)).toBe(true);
    expect(isCovered(write, utf8('w'), NONE)).toBe(true);
    expect(isCovered(write, utf8('a'), NONE)).toBe(false);
  });

  it('nothing is covered by no permission', () => {
    expect(isCovered([], utf8('a'), NONE)).toBe(false);
    expect(isCovered([], utf8('a'), FROM)).toBe(false);
  });

  it('agrees with a key-by-key oracle over a small alphabet', () => {
    const keys = ['', 'a', 'a\0', 'b', 'ba', 'c', 'd', 'e'];
    const grants = [
      perm('READ', 'a', 'b'),
      perm('READ', 'b'),
      perm('READ', 'ba', 'c'),
      perm('READ', 'd', FROM),
    ];
    const { read: r } = unifyPermissions(grants);
    const single = (k: string) =>
      grants.some((g) => {
        const i = keyInterval(g.key, g.rangeEnd);
        return (
          Buffer.from(k) >= Buffer.from(i.start) && (i.end === null || Buffer.from(k) < Buffer.from(i.end))
        );
      });
    for (const k of keys) expect(isCovered(r, utf8(k), NONE)).toBe(single(k));
    // A range [k1, k2) over these keys is covered iff every key between is (the keys sample all seams).
    for (const k1 of keys) {
      for (const k2 of keys) {
        if (!(k1 < k2)) continue;
        const inside = keys.filter((k) => k >= k1 && k < k2).every(single);
        // 'b\0' lies between 'b' and 'ba' and is not granted: ranges spanning it must be denied.
        const spansGap = k1 <= 'b\0' && 'b\0' < k2;
        expect(isCovered(r, utf8(k1), utf8(k2)), `${k1}..${k2}`).toBe(inside && !spansGap);
      }
    }
  });
});
