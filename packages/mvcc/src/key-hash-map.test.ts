/** KeyHashMap against a plain Map: lookups by bytes and by string, replace, delete, growth. */

import { describe, expect, it } from 'vitest';
import { fromBinary, toBinary } from './bytes.js';
import { hashBinary, hashBytes, KeyHashMap } from './key-hash-map.js';

interface Entry {
  readonly key: string;
  readonly n: number;
  keyHash: number;
}

/** xorshift32, seeded. */
function rng(seed: number): (n: number) => number {
  let s = seed >>> 0 || 1;
  return (n) => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s % n;
  };
}

/** A key of 0–3 bytes from a tiny alphabet (0x00, 0x7f, 0x80, 0xff): many near-equal keys. */
function randomKey(r: (n: number) => number): string {
  const alphabet = [0x00, 0x7f, 0x80, 0xff];
  const len = r(4);
  let s = '';
  for (let i = 0; i < len; i++) s += String.fromCharCode(alphabet[r(4)]!);
  return s;
}

describe('hashBytes / hashBinary', () => {
  it('agree on a key and its binary string', () => {
    for (const bytes of [[], [0], [0xff, 0, 0x80], [...'/bench/key/00000042'].map((c) => c.charCodeAt(0))]) {
      const b = new Uint8Array(bytes);
      expect(hashBytes(b)).toBe(hashBinary(toBinary(b)));
    }
  });

  it('tell apart keys that differ in one byte or in length', () => {
    expect(hashBinary('a')).not.toBe(hashBinary('b'));
    expect(hashBinary('')).not.toBe(hashBinary('\0'));
  });
});

describe('KeyHashMap', () => {
  it('finds entries by bytes and by string, misses absent keys', () => {
    const m = new KeyHashMap<Entry>();
    m.set({ key: 'foo', n: 1, keyHash: 0 });
    m.set({ key: '', n: 2, keyHash: 0 });
    expect(m.get(fromBinary('foo'))?.n).toBe(1);
    expect(m.getBinary('foo')?.n).toBe(1);
    expect(m.get(new Uint8Array(0))?.n).toBe(2);
    expect(m.get(fromBinary('fo'))).toBeUndefined();
    expect(m.get(fromBinary('fooo'))).toBeUndefined();
    expect(m.getBinary('bar')).toBeUndefined();
    expect(m.size).toBe(2);
  });

  it('replaces an entry with the same key', () => {
    const m = new KeyHashMap<Entry>();
    m.set({ key: 'k', n: 1, keyHash: 0 });
    m.set({ key: 'k', n: 2, keyHash: 0 });
    expect(m.size).toBe(1);
    expect(m.getBinary('k')?.n).toBe(2);
  });

  it('matches a Map over random sets and deletes (collisions, wrap-around, growth)', () => {
    for (let seed = 1; seed <= 40; seed++) {
      const r = rng(seed);
      const m = new KeyHashMap<Entry>(1);
      const model = new Map<string, Entry>();
      for (let step = 0; step < 400; step++) {
        const key = randomKey(r);
        if (r(3) === 0) {
          expect(m.delete(key)).toBe(model.delete(key));
        } else {
          const e = { key, n: step, keyHash: 0 };
          m.set(e);
          model.set(key, e);
        }
        expect(m.size).toBe(model.size);
        // Every key of the alphabet (present or not) answers as the model does.
        if (step % 10 === 0 || seed <= 4) {
          for (const [k, e] of model) {
            expect(m.getBinary(k)).toBe(e);
            expect(m.get(fromBinary(k))).toBe(e);
          }
        }
        const probe = randomKey(r);
        expect(m.get(fromBinary(probe))).toBe(model.get(probe));
      }
      expect(new Set(m.values())).toEqual(new Set(model.values()));
    }
  });

  it('deletes from the middle of a probe chain and still finds the entries after it', () => {
    const m = new KeyHashMap<Entry>();
    const keys = Array.from({ length: 200 }, (_, i) => `key-${i}`);
    for (const [i, key] of keys.entries()) m.set({ key, n: i, keyHash: 0 });
    for (let i = 0; i < keys.length; i += 2) expect(m.delete(keys[i]!)).toBe(true);
    for (let i = 0; i < keys.length; i++) {
      expect(m.getBinary(keys[i]!)?.n).toBe(i % 2 === 0 ? undefined : i);
    }
    expect(m.delete('key-0')).toBe(false);
    expect(m.size).toBe(100);
  });
});
