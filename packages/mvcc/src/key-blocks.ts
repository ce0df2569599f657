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
/**
 * Largest buffer a BlockBuilder starts a batch with (it grows as needed) or a BufferPool keeps:
 * a host that commits every 100 ms under load fills 1.5–3 MB a batch; a huge batch, such as a
 * restore's, should not leave a huge buffer behind.
 */
const MAX_KEPT_BUFFER_BYTES = 4 * 1024 * 1024;

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

/**
 * Cuts entries (strictly increasing keys) into blocks, calling `emit` with each block and its
 * LevelDB record key.
 */
export function encodeBlocks(
  keys: readonly Uint8Array[],
  values: readonly Uint8Array[],
  emit: (block: KeyBlock, recordKey: Uint8Array) => void,
): void {
  const builder = new BlockBuilder();
  for (let i = 0; i < keys.length; i++) builder.add(keys[i]!, values[i]!);
  for (const block of builder.take()) emit(block, blockRecordKey(block.first));
}

/**
 * Spare buffers for a BlockBuilder. A builder's buffer holds a whole batch (hundreds of KB), and a
 * fresh one per batch cost a calloc and a page fault per 4 KiB touched; once LevelDB has copied a
 * batch's blocks and nothing else can see them, the host gives the buffer back here.
 */
export class BufferPool {
  private readonly spare: Uint8Array[] = [];

  constructor(
    /** Most buffers kept. */
    private readonly capacity = 3,
  ) {}

  /**
   * A buffer of at least `bytes` bytes (any content: the builder writes every byte it uses): the
   * biggest kept, so that a batch seldom outgrows it, or a new one if none is big enough.
   */
  take(bytes: number): Uint8Array {
    let best = -1;
    for (let i = 0; i < this.spare.length; i++) {
      if (best < 0 || this.spare[i]!.length > this.spare[best]!.length) best = i;
    }
    if (best < 0 || this.spare[best]!.length < bytes) return new Uint8Array(bytes);
    return this.spare.splice(best, 1)[0]!;
  }

  /** Gives back a buffer nothing refers to any more; when full, the smallest kept makes room. */
  give(buffer: ArrayBufferLike): void {
    if (buffer.byteLength > MAX_KEPT_BUFFER_BYTES) return;
    if (this.spare.length < this.capacity) {
      this.spare.push(new Uint8Array(buffer));
      return;
    }
    let smallest = 0;
    for (let i = 1; i < this.spare.length; i++) {
      if (this.spare[i]!.length < this.spare[smallest]!.length) smallest = i;
    }
    if (this.spare[smallest]!.length < buffer.byteLength) this.spare[smallest] = new Uint8Array(buffer);
  }

  /** Buffers kept (for tests). */
  get size(): number {
    return this.spare.length;
  }
}

/** What BlockBuilder.takeBatch gives: the blocks, and the buffer they share. */
export interface TakenBatch {
  readonly blocks: KeyBlock[];
  readonly buffer: ArrayBufferLike;
  /** Whether a read was handed a view into `buffer` (it must then never be reused). */
  readonly seen: boolean;
}

/**
 * Encodes entries of increasing keys into blocks as they come, each block's bytes contiguous in
 * one growing buffer: a write is copied once, when it is made, and nothing per entry is kept
 * for the garbage collector to trace until the blocks are taken.
 */
export class BlockBuilder {
  private buf: Uint8Array;
  private at = 0;
  /** Where each block starts (its header), and its first key (a binary string). */
  private readonly starts: number[] = [];
  private readonly firsts: string[] = [];
  /** Entries in each block but the open one; `count` in the open one. */
  private readonly counts: number[] = [];
  private count = 0;
  /** The last key added: at lastAt, lastLength bytes (-1: none yet). */
  private lastAt = -1;
  private lastLength = 0;
  /** Whether `get` handed out a view into the current buffer. */
  private seen = false;

  constructor(
    private readonly initialBytes = 64 * 1024,
    /** Where the next batch's buffer comes from (none: a new one each time). */
    private readonly pool?: BufferPool,
  ) {
    this.buf = pool?.take(initialBytes) ?? new Uint8Array(initialBytes);
  }

  /** Whether nothing was added since the last `take`. */
  get isEmpty(): boolean {
    return this.starts.length === 0;
  }

  /** Whether `key` may be added next: it follows the last key added. */
  follows(key: Uint8Array): boolean {
    if (this.lastAt < 0) return true;
    const b = this.buf;
    const n = Math.min(key.length, this.lastLength);
    for (let i = 0; i < n; i++) {
      const d = key[i]! - b[this.lastAt + i]!;
      if (d !== 0) return d > 0;
    }
    return key.length > this.lastLength;
  }

  /** The last key added, a binary string ('' when none). */
  lastKey(): string {
    return this.lastAt < 0 ? '' : toBinary(this.buf.subarray(this.lastAt, this.lastAt + this.lastLength));
  }

  /** Adds an entry; its key must follow the last one (see `follows`). */
  add(key: Uint8Array, value: Uint8Array): void {
    if (key.length > MAX_KEY_BYTES) throw new RangeError(`key-blocks: a key of ${key.length} bytes`);
    const start = this.starts.length === 0 ? -1 : this.starts[this.starts.length - 1]!;
    const entryBytes = ENTRY_OVERHEAD + key.length + value.length;
    const full =
      start < 0 || this.count === BLOCK_MAX_ENTRIES || this.at - start - HEADER_BYTES >= BLOCK_TARGET_BYTES;
    this.reserve((full ? HEADER_BYTES : 0) + entryBytes);
    const b = this.buf;
    if (full) {
      if (start >= 0) this.counts.push(this.count);
      this.starts.push(this.at);
      this.firsts.push(toBinary(key));
      this.at += HEADER_BYTES;
      this.count = 0;
    }
    let at = this.at;
    b[at] = key.length >>> 8;
    b[at + 1] = key.length & 0xff;
    b.set(key, at + 2);
    this.lastAt = at + 2;
    this.lastLength = key.length;
    at += 2 + key.length;
    const vl = value.length;
    b[at] = vl >>> 24;
    b[at + 1] = (vl >>> 16) & 0xff;
    b[at + 2] = (vl >>> 8) & 0xff;
    b[at + 3] = vl & 0xff;
    b.set(value, at + 4);
    this.at = at + 4 + vl;
    this.count++;
  }

  /**
   * The value of `key` (a binary string) if it was added since the last `take`. Parses the
   * block each time: only reads of writes not yet flushed come here, which the store's own
   * cache of recent revisions answers first.
   */
  get(key: string): Uint8Array | undefined {
    const i = findFirstAtOrBefore(this.firsts, key);
    const v = i < 0 ? undefined : this.block(i).get(key);
    if (v !== undefined) this.seen = true;
    return v;
  }

  /** Blocks of everything added (checksummed; they share this builder's buffer), and starts afresh. */
  take(): KeyBlock[] {
    return this.takeBatch().blocks;
  }

  /**
   * take(), with the buffer the blocks share and whether `get` handed out a view into it: a
   * buffer nobody saw into may go back to the pool once the blocks are no longer needed.
   */
  takeBatch(): TakenBatch {
    const buffer = this.buf.buffer;
    const seen = this.seen;
    const out: KeyBlock[] = [];
    for (let i = 0; i < this.starts.length; i++) {
      const block = this.block(i);
      const c = checksum(blockRecordKey(block.first), block.bytes.subarray(4));
      const b = block.bytes;
      b[0] = c >>> 24;
      b[1] = (c >>> 16) & 0xff;
      b[2] = (c >>> 8) & 0xff;
      b[3] = c & 0xff;
      out.push(block);
    }
    // The blocks keep the old buffer; the next batch gets another, about as big as this one
    // (within reason: a huge batch, such as a restore's, should not leave a huge buffer behind).
    const next = Math.min(Math.max(this.initialBytes, this.at), MAX_KEPT_BUFFER_BYTES);
    this.buf = this.pool?.take(next) ?? new Uint8Array(next);
    this.seen = false;
    this.at = 0;
    this.starts.length = 0;
    this.firsts.length = 0;
    this.counts.length = 0;
    this.count = 0;
    this.lastAt = -1;
    this.lastLength = 0;
    return { blocks: out, buffer, seen };
  }

  /** Block i as it stands (header written; checksum not yet). */
  private block(i: number): KeyBlock {
    const start = this.starts[i]!;
    const end = i + 1 < this.starts.length ? this.starts[i + 1]! : this.at;
    const count = i < this.counts.length ? this.counts[i]! : this.count;
    const b = this.buf;
    b[start + 4] = FORMAT;
    b[start + 5] = count >>> 8;
    b[start + 6] = count & 0xff;
    return new KeyBlock(this.firsts[i]!, b.subarray(start, end));
  }

  private reserve(n: number): void {
    if (this.at + n <= this.buf.length) return;
    const size = Math.max(this.buf.length * 2, this.at + n);
    const bigger = this.pool?.take(size) ?? new Uint8Array(size);
    bigger.set(this.buf.subarray(0, this.at));
    // No block refers to the old buffer yet: it is free unless `get` handed out a view into it,
    // in which case it is simply dropped.
    if (!this.seen) this.pool?.give(this.buf.buffer);
    this.buf = bigger;
    this.seen = false;
  }
}

/** Index of the last of `sorted` at or before `key`, or -1. */
function findFirstAtOrBefore(sorted: readonly string[], key: string): number {
  let lo = 0;
  let hi = sorted.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! <= key) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
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
    return findFirstAtOrBefore(this.firsts, key);
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
