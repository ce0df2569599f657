/**
 * Revisions as etcd stores them: a (main, sub) pair — main is the store revision of a write
 * request, sub the index of the write within it (a txn writes several keys at one main
 * revision). Encoded as 8-byte big-endian main, '_', 8-byte big-endian sub, and a trailing 't'
 * for a tombstone, so byte order of encoded keys is revision order. Pure.
 */

import type { Revision } from './types.js';

/** One write's position in history. */
export interface Rev {
  readonly main: Revision;
  readonly sub: number;
}

/** Length of an encoded revision without the tombstone marker. */
export const REV_BYTES = 17;
/** The byte that marks a tombstone (a delete) after the encoded revision. */
export const TOMBSTONE_MARK = 0x74; // 't'

/** Orders revisions: by main, then sub. */
export function compareRev(a: Rev, b: Rev): number {
  return a.main !== b.main ? a.main - b.main : a.sub - b.sub;
}

/** Writes a non-negative safe integer as 8 big-endian bytes at `at`. */
export function writeU64(out: Uint8Array, at: number, n: number): void {
  const hi = Math.floor(n / 0x100000000);
  const lo = n >>> 0;
  out[at] = hi >>> 24;
  out[at + 1] = (hi >>> 16) & 0xff;
  out[at + 2] = (hi >>> 8) & 0xff;
  out[at + 3] = hi & 0xff;
  out[at + 4] = lo >>> 24;
  out[at + 5] = (lo >>> 16) & 0xff;
  out[at + 6] = (lo >>> 8) & 0xff;
  out[at + 7] = lo & 0xff;
}

/** Reads 8 big-endian bytes written by writeU64. */
export function readU64(b: Uint8Array, at: number): number {
  const hi = ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
  const lo = ((b[at + 4]! << 24) | (b[at + 5]! << 16) | (b[at + 6]! << 8) | b[at + 7]!) >>> 0;
  return hi * 0x100000000 + lo;
}

/** Encodes (main, sub) into `out` at `at` (17 bytes), optionally followed by the tombstone mark. */
export function encodeRevInto(out: Uint8Array, at: number, rev: Rev, tombstone: boolean): void {
  writeU64(out, at, rev.main);
  out[at + 8] = 0x5f; // '_'
  writeU64(out, at + 9, rev.sub);
  if (tombstone) out[at + REV_BYTES] = TOMBSTONE_MARK;
}

/** Encodes a revision as etcd's bucket key bytes. */
export function encodeRev(rev: Rev, tombstone = false): Uint8Array {
  const out = new Uint8Array(REV_BYTES + (tombstone ? 1 : 0));
  encodeRevInto(out, 0, rev, tombstone);
  return out;
}

/** Decodes bytes made by `encodeRev` (at offset `at`). */
export function decodeRev(b: Uint8Array, at = 0): { rev: Rev; tombstone: boolean } {
  if (b.length - at < REV_BYTES || b[at + 8] !== 0x5f) throw new RangeError('mvcc: malformed revision key');
  const rev = { main: readU64(b, at) as Revision, sub: readU64(b, at + 9) };
  return { rev, tombstone: b.length - at > REV_BYTES && b[at + REV_BYTES] === TOMBSTONE_MARK };
}
