/**
 * Key blocks: how LevelBackend stores one bucket whose keys are written in increasing order (the
 * key bucket: a revision is written once, after every earlier one). Instead of one LevelDB record
 * per key, consecutive keys share a record of up to BLOCK_MAX_ENTRIES entries: a batch of 1,000
 * revisions is 16 LevelDB puts, checksums and memtable entries instead of 1,000, which was half
 * the cost of applying a put.
 *
 * Every block covers an interval of keys, from its first key to the next block's first key (the
 * last block: to the end), and holds every stored key of that interval: a key's block is found
 * from the first keys alone, which the directory keeps in memory. Appending keys past the last
 * block's last key writes new blocks only; any other write or delete rewrites the blocks it
 * touches (compaction deletes old revisions: those blocks shrink or vanish).
 *
 * A block's LevelDB key is 0x00 then its first key (bucket keys never start with 0x00). Its
 * value, big-endian:
 *
 *   u32 crc32(record key, rest) | u8 format | u16 count | count × (u16 keyLen | key | u32 valueLen | value)
 *
 * Pure: the encoding, the parsed form and the directory; LevelBackend does the I/O.
 */

import { crc32 } from 'node:zlib';
import { toBinary } from './bytes.js';

/** Most entries one block holds. */
export const BLOCK_MAX_ENTRIES = 64;
/** A block is closed once its entries reach this many bytes (a bigger entry gets a block of its own). */
export const BLOCK_TARGET_BYTES = 32 * 1024;
/** First byte of every block's LevelDB key. */
export const BLOCK_RECORD_PREFIX = 0x00;

const FORMAT = 1;
const HEADER_BYTES = 4 + 1 + 2;
const ENTRY_OVERHEAD = 2 + 4;
const MAX_KEY_BYTES = 0xffff;

/** A block's entries could not be trusted (bad checksum or layout). */
export class BlockFormatError extends Error {
  override readonly name = 'BlockFormatError';
}

/** The LevelDB key of the block whose first key is `first` (a binary string). */
export function blockRecordKey(first: string): Uint8Array {
  const out = new Uint8Array(1 + first.length);
  out[0] = BLOCK_RECORD_PREFIX;
  for (let i = 0; i < first.length; i++) out[i + 1] = first.charCodeAt(i);
  return out;
}

function checksum(recordKey: Uint8Array, body: Uint8Array): number {
  return crc32(body, crc32(recordKey));
}

/** Bytes entries [from, to) take in a block. */
function entriesBytes(
  keys: readonly Uint8Array[],
  values: readonly Uint8Array[],
  from: number,
  to: number,
): number {
  let n = 0;
  for (let i = from; i < to; i++) n += ENTRY_OVERHEAD + keys[i]!.length + values[i]!.length;
  return n;
}

/**
 * Where the next block ends when entries [from, n) are cut into blocks: at most BLOCK_MAX_ENTRIES,
 * closed once BLOCK_TARGET_BYTES are reached.
 */
function blockEnd(
  keys: readonly Uint8Array[],
  values: readonly Uint8Array[],
  from: number,
  n: number,
): number {
  const max = Math.min(n, from + BLOCK_MAX_ENTRIES);
  let bytes = 0;
  let i = from;
  while (i < max && bytes < BLOCK_TARGET_BYTES) {
    bytes += ENTRY_OVERHEAD + keys[i]!.length + values[i]!.length;
    i++;
  }
  return i;
}

/**
 * Cuts entries (strictly increasing keys) into blocks, calling `emit` with each block's first key
 * (a binary string), LevelDB record key and encoded value.
 */
export function encodeBlocks(
  keys: readonly Uint8Array[],
  values: readonly Uint8Array[],
  emit: (block: KeyBlock, recordKey: Uint8Array) => void,
): void {
  const n = keys.length;
  for (let from = 0; from < n; ) {
    const to = blockEnd(keys, values, from, n);
    const out = new Uint8Array(HEADER_BYTES + entriesBytes(keys, values, from, to));
    out[4] = FORMAT;
    out[5] = (to - from) >>> 8;
    out[6] = (to - from) & 0xff;
    let at = HEADER_BYTES;
    for (let i = from; i < to; i++) {
      const k = keys[i]!;
      const v = values[i]!;
      if (k.length > MAX_KEY_BYTES) throw new RangeError(`key-blocks: a key of ${k.length} bytes`);
      out[at] = k.length >>> 8;
      out[at + 1] = k.length & 0xff;
      out.set(k, at + 2);
      at += 2 + k.length;
      const vl = v.length;
      out[at] = vl >>> 24;
      out[at + 1] = (vl >>> 16) & 0xff;
      out[at + 2] = (vl >>> 8) & 0xff;
      out[at + 3] = vl & 0xff;
      out.set(v, at + 4);
      at += 4 + vl;
    }
    const first = toBinary(keys[from]!);
    const recordKey = blockRecordKey(first);
    const c = checksum(recordKey, out.subarray(4));
    out[0] = c >>> 24;
    out[1] = (c >>> 16) & 0xff;
    out[2] = (c >>> 8) & 0xff;
    out[3] = c & 0xff;
    emit(new KeyBlock(first, out), recordKey);
    from = to;
  }
}

/**
 * One block: its first key and bytes, parsed on the first read (a block written and never read
 * back, the usual fate of fresh history, is never parsed).
 */
export class KeyBlock {
  private keys: string[] | undefined;
  private keyBytes: Uint8Array[] | undefined;
  private values: Uint8Array[] | undefined;

  constructor(
    /** The block's first key, a binary string. */
    readonly first: string,
    /** The encoded block (checksum verified, or just made). */
    readonly bytes: Uint8Array,
  ) {}

  /** Verifies a block read back from LevelDB; throws BlockFormatError if it is damaged. */
  static verified(recordKey: Uint8Array, bytes: Uint8Array): KeyBlock {
    if (bytes.length < HEADER_BYTES || bytes[4] !== FORMAT) throw new BlockFormatError('bad block header');
    const stored = ((bytes[0]! << 24) | (bytes[1]! << 16) | (bytes[2]! << 8) | bytes[3]!) >>> 0;
    if (stored !== checksum(recordKey, bytes.subarray(4))) throw new BlockFormatError('checksum mismatch');
    const block = new KeyBlock(toBinary(recordKey.subarray(1)), bytes);
    block.parse();
    if (block.keys![0] !== block.first) throw new BlockFormatError('first key differs from the record key');
    return block;
  }

  /** Bytes the block holds, for cache budgets. */
  get byteLength(): number {
    return this.bytes.length;
  }

  /** Number of entries. */
  get size(): number {
    return (this.bytes[5]! << 8) | this.bytes[6]!;
  }

  /** The value stored under `key` (a binary string), if the block holds it. */
  get(key: string): Uint8Array | undefined {
    const keys = this.keys ?? this.parse();
    let lo = 0;
    let hi = keys.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const k = keys[mid]!;
      if (k < key) lo = mid + 1;
      else if (k > key) hi = mid - 1;
      else return this.values![mid];
    }
    return undefined;
  }

  /** The last key, a binary string. */
  lastKey(): string {
    const keys = this.keys ?? this.parse();
    return keys[keys.length - 1]!;
  }

  /** Entry i: its key as a binary string and as bytes, and its value (views into the block). */
  entry(i: number): { key: string; keyBytes: Uint8Array; value: Uint8Array } {
    if (this.keys === undefined) this.parse();
    return { key: this.keys![i]!, keyBytes: this.keyBytes![i]!, value: this.values![i]! };
  }

  private parse(): string[] {
    const b = this.bytes;
    const n = this.size;
    const keys: string[] = [];
    const keyBytes: Uint8Array[] = [];
    const values: Uint8Array[] = [];
    let at = HEADER_BYTES;
    for (let i = 0; i < n; i++) {
      if (at + 2 > b.length) throw new BlockFormatError('entry past the end of the block');
      const kl = (b[at]! << 8) | b[at + 1]!;
      const kb = b.subarray(at + 2, at + 2 + kl);
      at += 2 + kl;
      if (at + 4 > b.length) throw new BlockFormatError('entry past the end of the block');
      const vl = ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
      if (at + 4 + vl > b.length) throw new BlockFormatError('value past the end of the block');
      const k = toBinary(kb);
      if (i > 0 && !(keys[i - 1]! < k)) throw new BlockFormatError('keys out of order');
      keys.push(k);
      keyBytes.push(kb);
      values.push(b.subarray(at + 4, at + 4 + vl));
      at += 4 + vl;
    }
    if (n === 0 || at !== b.length) throw new BlockFormatError('block length does not match its entries');
    this.keys = keys;
    this.keyBytes = keyBytes;
    this.values = values;
    return keys;
  }
}

/**
 * The first key of every block, in order, and the last key of the last block: enough to find the
 * block of any key and to tell an append (past every stored key) from a rewrite.
 */
export class BlockDirectory {
  /** Invariant: strictly increasing. */
  private firsts: string[] = [];
  /** The last key of the last block ('' when there is no block). */
  private last = '';

  /** Number of blocks. */
  get size(): number {
    return this.firsts.length;
  }

  /** The largest key stored ('' when none). */
  get lastKey(): string {
    return this.last;
  }

  /** First key of block i. */
  first(i: number): string {
    return this.firsts[i]!;
  }

  /** The index of the block whose interval holds `key`, or -1 when key is before every block. */
  find(key: string): number {
    const f = this.firsts;
    let lo = 0;
    let hi = f.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (f[mid]! <= key) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  }

  /** Adds a block after every other (its first key is past `lastKey`); then set the last key. */
  append(first: string): void {
    this.firsts.push(first);
  }

  /**
   * Replaces blocks: `changes` maps a block index (-1: before the first block) to the first keys
   * of the blocks that now hold its interval's keys (none: its keys are all gone). The caller
   * then sets the last key with `setLastKey`.
   */
  replace(changes: ReadonlyMap<number, readonly string[]>): void {
    const next: string[] = [...(changes.get(-1) ?? [])];
    for (let i = 0; i < this.firsts.length; i++) {
      const c = changes.get(i);
      if (c === undefined) next.push(this.firsts[i]!);
      else next.push(...c);
    }
    this.firsts = next;
  }

  /** Records the last key of the last block. */
  setLastKey(last: string): void {
    this.last = last;
  }
}
