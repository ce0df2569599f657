/**
 * Commit records: how LevelBackend stores the few keys that every commit rewrites — the store's
 * current revision and applied (consistent) index, and the host's applied-requests table. As
 * records of their own, in the meta and requests buckets, they put one key past every key block
 * into every LevelDB table, so each table's key range spanned all the blocks written after its
 * first one: the tables all overlapped, and LevelDB's compactions merged them again at every
 * level instead of moving them down (docs/performance-investigations.md, sixth and fourteenth
 * sessions: two thirds of the bytes compaction wrote, 6–10% of the put row).
 *
 * So they travel together, in one record per batch whose LevelDB key sorts right after that
 * batch's newest key block: 0x00, the last key-bucket key, then COMMIT_RECORD_SUFFIX. Each batch's
 * tables then hold keys of their own stretch only. The previous record is not deleted in the same
 * batch: its tombstone would reach back into the previous table and chain every table to the
 * next (measured: as many bytes rewritten as with the meta keys). LevelBackend deletes old records
 * where a batch rewrites their stretch anyway (compaction), in bulk when too many pile up, and
 * any past the newest; with no per-commit key left there is no record at all. So the newest
 * record is always the one with the largest key. Its value:
 *
 *   u32 crc32(record key, rest) | u8 COMMIT_FORMAT | u16 count | count × (u16 keyLen | key | u32 valueLen | value)
 *
 * The suffix tells a record's key from a block's (LevelBackend refuses key-bucket keys that end
 * with it); the format byte, which differs from key blocks', makes a tsetcd that predates commit
 * records refuse one as a damaged block rather than misread it. LevelBackend reads a record
 * only when it opens and when it iterates a snapshot; in between it keeps the keys in memory. Pure.
 */

import { crc32 } from 'node:zlib';
import { bytesEqual, fromBinary } from './bytes.js';
import { Bucket } from './codec.js';
import { BLOCK_RECORD_PREFIX, BlockFormatError } from './key-blocks.js';
import { MetaKey } from './maintenance/image.js';

/** The format byte of a commit record (key blocks have 1). */
const COMMIT_FORMAT = 2;
const HEADER_BYTES = 4 + 1 + 2;
/**
 * The last bytes of every commit record's LevelDB key, and of no key block's: a put's revision
 * key ends with its 8-byte sub-revision, which would have to exceed 2^53 to end so, and a
 * tombstone's with 't' (LevelBackend refuses any other key-bucket key that ends so).
 */
export const COMMIT_RECORD_SUFFIX = Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x43);

/** Whether a backend key is one that commits rewrite, and so lives in the commit record. */
export function isPerCommitKey(key: Uint8Array): boolean {
  const bucket = key[0];
  if (bucket === Bucket.requests) return true;
  if (bucket !== Bucket.meta) return false;
  return bytesEqual(key, MetaKey.consistentIndex) || bytesEqual(key, MetaKey.currentRevision);
}

/**
 * The LevelDB key of the commit record written after the key block holding `lastKey` (a
 * binary string: the largest key-bucket key stored; '' when there is none).
 */
export function commitRecordKey(lastKey: string): Uint8Array {
  const last = fromBinary(lastKey);
  const out = new Uint8Array(1 + last.length + COMMIT_RECORD_SUFFIX.length);
  out[0] = BLOCK_RECORD_PREFIX;
  out.set(last, 1);
  out.set(COMMIT_RECORD_SUFFIX, 1 + last.length);
  return out;
}

/** Whether a key ends with COMMIT_RECORD_SUFFIX: a commit record's, among the 0x00 records. */
export function endsWithCommitSuffix(key: Uint8Array): boolean {
  const n = key.length;
  const m = COMMIT_RECORD_SUFFIX.length;
  if (n < m || key[n - 1] !== 0x43) return false;
  for (let i = 0; i < m; i++) if (key[n - m + i] !== COMMIT_RECORD_SUFFIX[i]) return false;
  return true;
}

/** Encodes a commit record holding `entries` (in any order; each key once) under `recordKey`. */
export function encodeCommitRecord(
  recordKey: Uint8Array,
  entries: ReadonlyArray<readonly [key: Uint8Array, value: Uint8Array]>,
): Uint8Array {
  if (entries.length > 0xffff) throw new RangeError(`commit record: ${entries.length} entries`);
  let size = HEADER_BYTES;
  for (const [k, v] of entries) {
    if (k.length > 0xffff) throw new RangeError(`commit record: a key of ${k.length} bytes`);
    size += 2 + k.length + 4 + v.length;
  }
  const out = new Uint8Array(size);
  out[4] = COMMIT_FORMAT;
  out[5] = entries.length >>> 8;
  out[6] = entries.length & 0xff;
  let at = HEADER_BYTES;
  for (const [k, v] of entries) {
    out[at] = k.length >>> 8;
    out[at + 1] = k.length & 0xff;
    out.set(k, at + 2);
    at += 2 + k.length;
    writeU32(out, at, v.length);
    out.set(v, at + 4);
    at += 4 + v.length;
  }
  writeU32(out, 0, checksum(recordKey, out.subarray(4)));
  return out;
}

/**
 * Decodes a commit record read back under `recordKey` into its entries (copies: the caller may
 * keep them); throws BlockFormatError if it is damaged.
 */
export function decodeCommitRecord(recordKey: Uint8Array, stored: Uint8Array): [Uint8Array, Uint8Array][] {
  if (stored.length < HEADER_BYTES || stored[4] !== COMMIT_FORMAT) {
    throw new BlockFormatError('bad commit record header');
  }
  if (readU32(stored, 0) !== checksum(recordKey, stored.subarray(4))) {
    throw new BlockFormatError('checksum mismatch in the commit record');
  }
  const count = (stored[5]! << 8) | stored[6]!;
  const out: [Uint8Array, Uint8Array][] = [];
  let at = HEADER_BYTES;
  for (let i = 0; i < count; i++) {
    if (at + 2 > stored.length) throw new BlockFormatError('entry past the end of the commit record');
    const kl = (stored[at]! << 8) | stored[at + 1]!;
    const key = stored.slice(at + 2, at + 2 + kl);
    at += 2 + kl;
    if (at + 4 > stored.length) throw new BlockFormatError('entry past the end of the commit record');
    const vl = readU32(stored, at);
    if (at + 4 + vl > stored.length) throw new BlockFormatError('value past the end of the commit record');
    out.push([key, stored.slice(at + 4, at + 4 + vl)]);
    at += 4 + vl;
  }
  if (at !== stored.length) throw new BlockFormatError('commit record length does not match its entries');
  return out;
}

function checksum(recordKey: Uint8Array, body: Uint8Array): number {
  return crc32(body, crc32(recordKey));
}

function writeU32(out: Uint8Array, at: number, n: number): void {
  out[at] = n >>> 24;
  out[at + 1] = (n >>> 16) & 0xff;
  out[at + 2] = (n >>> 8) & 0xff;
  out[at + 3] = n & 0xff;
}

function readU32(b: Uint8Array, at: number): number {
  return ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
}
