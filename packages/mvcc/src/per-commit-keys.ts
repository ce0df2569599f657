/**
 * PerCommitKeys: LevelBackend's keeper of the keys every commit rewrites (see commit-record.ts
 * for the layout and why). It holds their newest values in memory, knows which commit records
 * LevelDB holds, and adds to a flush's batch the new record and the deletes of old ones; it
 * reads a record back at open and for an iteration's snapshot. LevelBackend keeps the blocks,
 * the overlays and the error messages.
 */

import type { ClassicLevel } from 'classic-level';
import { compareBytes, fromBinary, toBinary } from './bytes.js';
import { Bucket, bucketBounds } from './codec.js';
import {
  commitRecordKey,
  decodeCommitRecord,
  encodeCommitRecord,
  endsWithCommitSuffix,
} from './commit-record.js';
import { BLOCK_RECORD_PREFIX, BlockFormatError } from './key-blocks.js';
import { MetaKey } from './maintenance/image.js';

type Db = ClassicLevel<Uint8Array, Uint8Array>;
type ChainedBatch = ReturnType<Db['batch']>;
type Snapshot = ReturnType<Db['snapshot']>;

const RECORDS_GTE = new Uint8Array([BLOCK_RECORD_PREFIX]);
const RECORDS_LT = new Uint8Array([BLOCK_RECORD_PREFIX + 1]);

/**
 * Commit records kept before a batch deletes all but the newest, on a store that is never
 * compacted (compaction deletes them as it goes): a few MB on disk, and each bulk delete makes
 * LevelDB rewrite what it spans once.
 */
export const DEFAULT_MAX_COMMIT_RECORDS = 65_536;

/** The per-commit keys of one LevelBackend; see the file comment. */
export class PerCommitKeys {
  /** The newest values, by binary key. */
  private readonly values = new Map<string, Uint8Array>();
  /** Whether `values` changed since the last record was written. */
  private dirty = false;
  /** The LevelDB keys (binary strings) of the records written and not deleted, in key order: the last is the newest. */
  private records: string[] = [];
  /** Whether the next record's batch deletes every older one (defragment). */
  private dropAllNext = false;
  /** Per-commit keys found as records of their own (a store written before commit records). */
  private legacy: Uint8Array[] = [];

  constructor(
    private readonly maxRecords: number,
    /** The error to throw for a damaged commit record stored under `key`. */
    private readonly damaged: (e: BlockFormatError, key: Uint8Array) => Error,
  ) {}

  /** At open, for each 0x00 record key in order: whether it is a commit record's (then noted here). */
  noteStoredKey(key: Uint8Array): boolean {
    if (!endsWithCommitSuffix(key)) return false;
    this.records.push(toBinary(key));
    return true;
  }

  /**
   * At open, after every stored key was noted: loads the newest record's values, then takes over
   * per-commit keys stored as records of their own (`unseal` checks and strips their checksum),
   * which the next record's batch deletes.
   */
  async load(db: Db, unseal: (key: Uint8Array, stored: Uint8Array) => Uint8Array): Promise<void> {
    if (this.records.length > 0) {
      const key = fromBinary(this.records[this.records.length - 1]!);
      const stored = db.getSync(key);
      const entries =
        stored === undefined
          ? this.fail(new BlockFormatError('the newest commit record is missing'), key)
          : this.decode(key, stored);
      for (const [k, v] of entries) this.values.set(toBinary(k), v);
    }
    const found: [Uint8Array, Uint8Array][] = [];
    for (const key of [MetaKey.currentRevision, MetaKey.consistentIndex]) {
      const v = db.getSync(key);
      if (v !== undefined) found.push([key, v]);
    }
    const { gte, lt } = bucketBounds(Bucket.requests);
    for await (const entry of db.iterator({ gte, lt })) found.push(entry);
    for (const [k, stored] of found) {
      const value = unseal(k, stored);
      if (this.records.length === 0) this.values.set(toBinary(k), value);
      this.legacy.push(k);
      this.dirty = true;
    }
  }

  /** The newest value of a per-commit key (a binary string). */
  get(key: string): Uint8Array | undefined {
    return this.values.get(key);
  }

  /** Sets a per-commit key; the caller must not mutate `value`. */
  set(key: string, value: Uint8Array): void {
    this.values.set(key, value);
    this.dirty = true;
  }

  /** Deletes a per-commit key. */
  delete(key: string): void {
    if (this.values.delete(key)) this.dirty = true;
  }

  /** Whether the next flush must write a record. */
  get isDirty(): boolean {
    return this.dirty;
  }

  /** Makes the next flush write a record and delete every older one (defragment). */
  dropAllOnNextWrite(): void {
    this.dropAllNext = true;
    this.dirty = true;
  }

  /**
   * Adds to `batch` a record after `lastKey` (the largest key-bucket key as of this batch) and
   * the deletes of older records that may go now: any past it (left behind when compaction
   * removed the newest revisions), or all of them when too many piled up. With no per-commit key
   * left, no record: every one goes (so a backend emptied of all keys is empty).
   */
  write(batch: ChainedBatch, lastKey: string): void {
    for (const k of this.legacy) batch.del(k);
    this.legacy = [];
    this.dirty = false;
    const dropAll = this.dropAllNext || this.records.length >= this.maxRecords;
    this.dropAllNext = false;
    const records = this.records;
    if (this.values.size === 0 || dropAll) {
      for (const r of records) batch.del(fromBinary(r));
      records.length = 0;
      if (this.values.size === 0) return;
    }
    const key = commitRecordKey(lastKey);
    const entries = [...this.values].map(([k, v]) => [fromBinary(k), v] as const);
    batch.put(key, encodeCommitRecord(key, entries));
    const k = toBinary(key);
    while (records.length > 0 && records[records.length - 1]! >= k) {
      const r = records.pop()!;
      if (r !== k) batch.del(fromBinary(r));
    }
    records.push(k);
  }

  /**
   * Adds to `batch` the deletes of the records among these rewritten key-bucket keys
   * (compaction's), but the newest: the batch's tables span that stretch anyway.
   */
  dropAmong(keys: readonly Uint8Array[], batch: ChainedBatch): void {
    const records = this.records;
    if (records.length < 2) return;
    const [from, to] = keySpan(keys);
    const lo = `\x00${from}`;
    const hi = `\x00${to}`;
    const newest = records.length - 1;
    let first = 0;
    while (first < newest && records[first]! < lo) first++;
    let end = first;
    while (end < newest && records[end]! < hi) end++;
    if (end === first) return;
    for (let i = first; i < end; i++) batch.del(fromBinary(records[i]!));
    records.splice(first, end - first);
  }

  /**
   * The per-commit keys in `snapshot`: its newest record's (the one with the largest key), none
   * if it holds no record. Not the values in memory: they may already hold later writes.
   */
  async inSnapshot(db: Db, snapshot: Snapshot): Promise<[Uint8Array, Uint8Array][]> {
    // Usually the last 0x00 record: blocks written after it, by a batch that changed no
    // per-commit key, are read past.
    for await (const [k, stored] of db.iterator({
      gte: RECORDS_GTE,
      lt: RECORDS_LT,
      reverse: true,
      snapshot,
    })) {
      if (endsWithCommitSuffix(k)) return this.decode(k, stored);
    }
    return [];
  }

  private decode(key: Uint8Array, stored: Uint8Array): [Uint8Array, Uint8Array][] {
    try {
      return decodeCommitRecord(key, stored);
    } catch (e) {
      if (!(e instanceof BlockFormatError)) throw e;
      return this.fail(e, key);
    }
  }

  private fail(e: BlockFormatError, key: Uint8Array): never {
    throw this.damaged(e, key);
  }
}

/** The smallest and the largest of some keys, as binary strings. */
function keySpan(keys: readonly Uint8Array[]): [string, string] {
  let min = keys[0]!;
  let max = min;
  for (const k of keys) {
    if (compareBytes(k, min) < 0) min = k;
    if (compareBytes(k, max) > 0) max = k;
  }
  return [toBinary(min), toBinary(max)];
}
