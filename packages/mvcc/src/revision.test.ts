/**
 * Revisions as stored: (main, sub) encoded as 8-byte big-endian main, '_', 8-byte big-endian sub,
 * optional tombstone 't' — so that byte order of the encoded keys is revision order.
 */

import { describe, expect, it } from 'vitest';
import { compareBytes } from './bytes.js';
import {
  compareRev,
  decodeRev,
  encodeRev,
  encodeRevInto,
  REV_BYTES,
  type Rev,
  TOMBSTONE_MARK,
} from './revision.js';
import type { Revision } from './types.js';

const rev = (main: number, sub = 0): Rev => ({ main: main as Revision, sub });

describe('compareRev', () => {
  it('orders by main, then sub', () => {
    expect(compareRev(rev(1, 0), rev(1, 0))).toBe(0);
    expect(compareRev(rev(1, 5), rev(2, 0))).toBeLessThan(0);
    expect(compareRev(rev(2, 0), rev(1, 5))).toBeGreaterThan(0);
    expect(compareRev(rev(3, 1), rev(3, 2))).toBeLessThan(0);
  });
});

describe('encodeRev / decodeRev', () => {
  it("lays out main, '_', sub big-endian (etcd's revToBytes)", () => {
    const enc = encodeRev(rev(0x0102, 3));
    expect(enc.length).toBe(REV_BYTES);
    expect([...enc]).toEqual([0, 0, 0, 0, 0, 0, 1, 2, 0x5f, 0, 0, 0, 0, 0, 0, 0, 3]);
  });

  it("marks a tombstone with a trailing 't'", () => {
    const enc = encodeRev(rev(5, 1), true);
    expect(enc.length).toBe(REV_BYTES + 1);
    expect(enc[REV_BYTES]).toBe(TOMBSTONE_MARK);
    expect(decodeRev(enc)).toEqual({ rev: rev(5, 1), tombstone: true });
    expect(decodeRev(encodeRev(rev(5, 1)))).toEqual({ rev: rev(5, 1), tombstone: false });
  });

  it('round-trips values above 2^32 up to MAX_SAFE_INTEGER', () => {
    for (const main of [0, 1, 0xffffffff, 0x100000000, 2 ** 40 + 7, Number.MAX_SAFE_INTEGER]) {
      for (const sub of [0, 1, 0x1_0000_0001]) {
        expect(decodeRev(encodeRev(rev(main, sub)))).toEqual({ rev: rev(main, sub), tombstone: false });
      }
    }
  });

  it('decodes at an offset (the key bucket prefixes a byte)', () => {
    const out = new Uint8Array(1 + REV_BYTES + 1);
    out[0] = 0x01;
    encodeRevInto(out, 1, rev(9, 2), true);
    expect(decodeRev(out, 1)).toEqual({ rev: rev(9, 2), tombstone: true });
  });

  it('byte order of encodings is revision order', () => {
    const revs = [rev(1), rev(1, 1), rev(2), rev(255), rev(256), rev(2 ** 32), rev(2 ** 32, 1), rev(2 ** 40)];
    for (const a of revs) {
      for (const c of revs) {
        expect(Math.sign(compareBytes(encodeRev(a), encodeRev(c)))).toBe(Math.sign(compareRev(a, c)));
        // The tombstone mark sorts just after its own revision and before the next one.
        if (compareRev(a, c) < 0) expect(compareBytes(encodeRev(a, true), encodeRev(c))).toBeLessThan(0);
      }
    }
  });

  it('rejects bytes that are not an encoded revision', () => {
    expect(() => decodeRev(new Uint8Array(5))).toThrow(RangeError);
    const bad = encodeRev(rev(1));
    bad[8] = 0x2d;
    expect(() => decodeRev(bad)).toThrow(RangeError);
  });
});
