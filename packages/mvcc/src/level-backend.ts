/**
 * LevelBackend: the Backend on LevelDB (classic-level), with Uint8Array keys and values.
 *
 * Writes go to an in-memory overlay that `get` consults first; `flush` turns the overlay into one
 * LevelDB batch (atomic: all or nothing across a crash), written in order after earlier batches.
 * Until a batch is written its overlay stays readable, so reads never go back in time.
 *
 * The key bucket is stored in key blocks (see key-blocks.ts), many revisions per LevelDB record;
 * every other key is a record of its own. Every record starts with a CRC32 of its key and the
 * rest, verified when read: classic-level never enables LevelDB's own checksum verification, so
 * without this a bit flip inside a table file would be served as data. The keys every commit
 * rewrites (the applied index, the revision) share one record placed after the newest key block
 * (see commit-record.ts), kept by PerCommitKeys (per-commit-keys.ts).
 */

import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { ClassicLevel } from 'classic-level';
import type { Backend, BackendEntry, CloseOptions } from './backend.js';
import { compareBytes, toBinary } from './bytes.js';
import { Bucket } from './codec.js';
import { endsWithCommitSuffix, isPerCommitKey } from './commit-record.js';
import { CorruptDataDirError, StoreClosedError } from './errors.js';
import {
  BLOCK_RECORD_PREFIX,
  BlockBuilder,
  BlockDirectory,
  BlockFormatError,
  BufferPool,
  blockRecordKey,
  encodeBlocks,
  KeyBlock,
  type TakenBatch,
} from './key-blocks.js';
import {
  describeLevelError,
  droppedByRecovery,
  EMPTIED,
  isLevelDataError,
  suspectFiles,
  tableRanges,
  tablesHolding,
} from './level-damage.js';
import { DEFAULT_MAX_COMMIT_RECORDS, PerCommitKeys } from './per-commit-keys.js';
import { ReadCache } from './read-cache.js';
import { WriteOverlay } from './write-overlay.js';

type ChainedBatch = ReturnType<ClassicLevel<Uint8Array, Uint8Array>['batch']>;
type Snapshot = ReturnType<ClassicLevel<Uint8Array, Uint8Array>['snapshot']>;

/** Options of a LevelDB backend. */
export interface LevelBackendOptions {
  /** fsync every batch (default true). A host whose raft WAL is already fsynced may turn it off. */
  readonly sync?: boolean;
  /** Bytes of values read from LevelDB kept in memory (default DEFAULT_READ_CACHE_BYTES; 0 = none). */
  readonly readCacheBytes?: number;
  /**
   * Commit records kept before a batch deletes all but the newest (default
   * DEFAULT_MAX_COMMIT_RECORDS; see commit-record.ts).
   */
  readonly maxCommitRecords?: number;
}

/**
 * Bytes of values read from LevelDB kept in memory, and as much again for blocks of the key
 * bucket (see ReadCache). Filled by reads only: caching every write cost puts more than it saved
 * reads. A write or delete of a key drops its entry.
 */
export const DEFAULT_READ_CACHE_BYTES = 64 * 1024 * 1024;

/**
 * The bucket stored in key blocks (see key-blocks.ts): the key bucket, whose revision keys are
 * written in increasing order. Every other key is one LevelDB record, sealed with its checksum.
 */
const BLOCKED_BUCKET = Bucket.key;
const BLOCKED_GTE = new Uint8Array([BLOCKED_BUCKET]);
const BLOCKED_LT = new Uint8Array([BLOCKED_BUCKET + 1]);
const RECORDS_GTE = new Uint8Array([BLOCK_RECORD_PREFIX]);
const RECORDS_LT = new Uint8Array([BLOCK_RECORD_PREFIX + 1]);
/** Legacy records (one per key-bucket key, before key blocks) converted per LevelDB batch at open. */
const CONVERT_CHUNK = 4096;

const MIN_KEY = new Uint8Array([0]);
const MAX_KEY = new Uint8Array([0xff, 0xff, 0xff, 0xff]);

/** A LevelDB-backed Backend. Open with `LevelBackend.open(dir)`. */
export class LevelBackend implements Backend {
  private pending = new WriteOverlay();
  /**
   * Key-bucket puts of this batch that come after every stored key, in increasing order (what
   * applying requests writes), already encoded into blocks. Invariant: every key-bucket write
   * in `pending` was made after all of these (see `putFresh`), so `pending` is newer.
   */
  private builder: BlockBuilder;
  /** Whether `pending` holds a key-bucket write (the builder then takes none until the flush). */
  private blockedInOverlay = false;
  /** Overlays handed to LevelDB and not yet written, oldest first. */
  private readonly writing: WriteOverlay[] = [];
  private lastWrite: Promise<void> = Promise.resolve();
  private closed = false;
  /** Values of records read from LevelDB, by binary key. */
  private readonly cache: ReadCache<Uint8Array>;
  /** Key blocks read from LevelDB, by first key. */
  private readonly blockCache: ReadCache<KeyBlock>;
  /** Where the key bucket's blocks are; always as of the last flush, written or not. */
  private readonly blocks = new BlockDirectory();
  /**
   * Blocks made by flushes whose batch is not yet written, by first key: the directory already
   * points at them, and LevelDB does not have them yet.
   */
  private readonly unwritten = new Map<string, KeyBlock>();
  /** The builder's buffers, reused once LevelDB has a batch's blocks (see BufferPool). */
  private readonly buffers = new BufferPool();
  /**
   * Buffers of the builder's batches not yet written, and whether a read was handed a view into
   * one (a block of it served from `unwritten`): only a buffer nobody saw into is reused.
   */
  private readonly lent = new Map<ArrayBufferLike, boolean>();
  private readonly sealer = new Sealer();
  /** The keys every commit rewrites (see per-commit-keys.ts). */
  private readonly perCommit: PerCommitKeys;

  private constructor(
    private readonly db: ClassicLevel<Uint8Array, Uint8Array>,
    readonly dir: string,
    private readonly sync: boolean,
    readCacheBytes: number,
    maxCommitRecords: number,
    /** The MANIFEST that CURRENT named when opened (undefined: a new LevelDB). */
    readonly recoveredFrom: string | undefined,
  ) {
    this.cache = new ReadCache(readCacheBytes);
    this.blockCache = new ReadCache(readCacheBytes);
    this.builder = new BlockBuilder(undefined, this.buffers);
    this.perCommit = new PerCommitKeys(
      maxCommitRecords,
      (e, key) => new CorruptDataDirError(this.dir, `${e.message}${this.where(key)}`),
    );
  }

  /**
   * Opens (creating if missing) the LevelDB in `dir`. Damage is reported as CorruptDataDirError
   * naming the file where it can be told: LevelDB's own error, the log records its recovery
   * dropped (it reports them in its LOG file and opens anyway), or an existing LevelDB that
   * recovered empty (a truncated MANIFEST: LevelDB falls back to a version without tables).
   * A store written before key blocks has its key bucket converted to them.
   */
  static async open(dir: string, opts: LevelBackendOptions = {}): Promise<LevelBackend> {
    // Read before opening: a successful open replaces the MANIFEST that CURRENT names.
    const manifest = await readFile(join(dir, 'CURRENT'), 'utf8').then(
      (s) => s.trim(),
      () => undefined,
    );
    const db = new ClassicLevel<Uint8Array, Uint8Array>(dir, { keyEncoding: 'view', valueEncoding: 'view' });
    try {
      await db.open();
    } catch (e) {
      throw new CorruptDataDirError(dir, `${describeLevelError(e)}${await suspectFiles(dir, manifest)}`);
    }
    const backend = new LevelBackend(
      db,
      dir,
      opts.sync ?? true,
      opts.readCacheBytes ?? DEFAULT_READ_CACHE_BYTES,
      opts.maxCommitRecords ?? DEFAULT_MAX_COMMIT_RECORDS,
      manifest,
    );
    let problem: string | undefined;
    try {
      problem =
        (await droppedByRecovery(dir)) ??
        (manifest !== undefined && (await backend.isEmpty()) ? `${EMPTIED} (it was ${manifest})` : undefined);
      if (problem === undefined) await backend.loadBlocks();
    } catch (e) {
      // Reading the first key or the block records can hit a damaged table (a truncated .ldb is
      // an IO error). LevelDB names the file for some damage only: name the tables those reads
      // go through.
      const tables = isLevelDataError(e) ? backend.tablesOverlapping(RECORDS_GTE, RECORDS_LT) : [];
      await backend.close({ discard: true }).catch(() => undefined);
      if (!isLevelDataError(e)) throw e;
      const where = tables.length > 0 ? ` (reading ${tables.join(' or ')})` : '';
      throw new CorruptDataDirError(dir, `${describeLevelError(e)}${where}`);
    }
    if (problem !== undefined) {
      await backend.close();
      throw new CorruptDataDirError(dir, problem);
    }
    return backend;
  }

  /**
   * Builds the block directory from the block records' keys and reads the commit record, then
   * converts legacy records (the key bucket's, and per-commit keys stored on their own).
   */
  private async loadBlocks(): Promise<void> {
    for await (const k of this.db.keys({ gte: RECORDS_GTE, lt: RECORDS_LT })) {
      if (!this.perCommit.noteStoredKey(k)) this.blocks.append(toBinary(k.subarray(1)));
    }
    await this.perCommit.load(this.db, (k, v) => this.unseal(k, v));
    if (this.blocks.size > 0)
      this.blocks.setLastKey(this.block(this.blocks.first(this.blocks.size - 1)).lastKey());
    let keys: Uint8Array[] = [];
    let values: Uint8Array[] = [];
    const convert = async () => {
      const batch = this.db.batch();
      for (const k of keys) batch.del(k);
      const made = this.writeBlocks(keys, values, batch);
      await batch.write({ sync: this.sync });
      this.written(made);
      keys = [];
      values = [];
    };
    for await (const [k, v] of this.db.iterator({ gte: BLOCKED_GTE, lt: BLOCKED_LT })) {
      keys.push(k);
      values.push(this.unseal(k, v));
      if (keys.length === CONVERT_CHUNK) await convert();
    }
    if (keys.length > 0) await convert();
  }

  get(key: Uint8Array): Uint8Array | undefined {
    if (this.closed) throw new StoreClosedError();
    const k = toBinary(key);
    if (isPerCommitKey(key)) return this.perCommit.get(k);
    const p = this.pending.lookup(k);
    if (p !== undefined) return p ?? undefined;
    if (key[0] === BLOCKED_BUCKET && !this.builder.isEmpty) {
      const b = this.builder.get(k);
      if (b !== undefined) return b;
    }
    for (let i = this.writing.length - 1; i >= 0; i--) {
      const w = this.writing[i]!.lookup(k);
      if (w !== undefined) return w ?? undefined;
    }
    if (key[0] === BLOCKED_BUCKET) {
      const i = this.blocks.find(k);
      return i < 0 ? undefined : this.block(this.blocks.first(i)).get(k);
    }
    const cached = this.cache.get(k);
    if (cached !== undefined) return cached;
    let stored: Uint8Array | undefined;
    try {
      stored = this.db.getSync(key);
    } catch (e) {
      throw this.readError(e, key);
    }
    if (stored === undefined) return undefined;
    const v = this.unseal(key, stored);
    this.cache.remember(k, v);
    return v;
  }

  /** The block whose first key is `first`: made by an unwritten flush, cached, or read and verified. */
  private block(first: string): KeyBlock {
    const unwritten = this.unwritten.get(first);
    if (unwritten !== undefined) {
      const buffer = unwritten.bytes.buffer;
      if (this.lent.has(buffer)) this.lent.set(buffer, true);
      return unwritten;
    }
    const known = this.blockCache.get(first);
    if (known !== undefined) return known;
    const recordKey = blockRecordKey(first);
    let stored: Uint8Array | undefined;
    try {
      stored = this.db.getSync(recordKey);
    } catch (e) {
      throw this.readError(e, recordKey);
    }
    if (stored === undefined) {
      throw new CorruptDataDirError(this.dir, `a block of the key bucket is missing${this.where(recordKey)}`);
    }
    const block = this.verifiedBlock(recordKey, stored);
    this.blockCache.remember(first, block);
    return block;
  }

  private verifiedBlock(recordKey: Uint8Array, stored: Uint8Array): KeyBlock {
    try {
      return KeyBlock.verified(recordKey, stored);
    } catch (e) {
      if (!(e instanceof BlockFormatError)) throw e;
      throw new CorruptDataDirError(
        this.dir,
        `${e.message} in a stored block of the key bucket${this.where(recordKey)}`,
      );
    }
  }

  // The read caches' entries for written keys are dropped at flush, not here: until its batch is
  // written, a key's newest write is read from the overlays, which `get` consults first.
  put(key: Uint8Array, value: Uint8Array): void {
    checkKey(key);
    if (isPerCommitKey(key)) {
      this.perCommit.set(toBinary(key), value);
      return;
    }
    if (key[0] === BLOCKED_BUCKET) this.blockedInOverlay = true;
    this.pending.add(key, value);
  }

  putFresh(key: Uint8Array, value: Uint8Array): void {
    checkKey(key);
    if (isPerCommitKey(key)) {
      this.put(key, value.slice());
      return;
    }
    if (key[0] === BLOCKED_BUCKET) {
      if (!this.blockedInOverlay && this.appends(key)) {
        this.builder.add(key, value);
        return;
      }
      this.blockedInOverlay = true;
    }
    // The builder copies; the overlay keeps what it is given, so it gets copies (Backend.putFresh).
    this.pending.addFresh(key.slice(), value.slice());
  }

  /** Whether a key-bucket key comes after every key stored and every key in the builder. */
  private appends(key: Uint8Array): boolean {
    if (!this.builder.isEmpty) return this.builder.follows(key);
    const last = this.blocks.lastKey;
    return last === '' || toBinary(key) > last;
  }

  del(key: Uint8Array): void {
    checkKey(key);
    if (isPerCommitKey(key)) {
      this.perCommit.delete(toBinary(key));
      return;
    }
    if (key[0] === BLOCKED_BUCKET) this.blockedInOverlay = true;
    this.pending.add(key, null);
  }

  flush(): Promise<void> {
    if (this.pending.size === 0 && this.builder.isEmpty && !this.perCommit.isDirty) return this.lastWrite;
    const overlay = this.pending;
    this.pending = new WriteOverlay();
    this.blockedInOverlay = false;
    this.writing.push(overlay);
    // A chained batch hands each op straight to LevelDB's WriteBatch; the array form of batch()
    // clones, validates and re-encodes every op in JavaScript first (about 3x slower).
    const batch = this.db.batch();
    // The builder's blocks first: the overlay's key-bucket writes are newer.
    const made: KeyBlock[] = [];
    const lent = this.builder.isEmpty ? undefined : this.appendBlocks(this.builder, batch, made);
    if (lent !== undefined) this.lent.set(lent.buffer, lent.seen);
    const blockedKeys: Uint8Array[] = [];
    const blockedValues: (Uint8Array | null)[] = [];
    overlay.forEach((key, v) => {
      if (key[0] === BLOCKED_BUCKET) {
        blockedKeys.push(key);
        blockedValues.push(v);
        return;
      }
      if (this.cache.size > 0) this.cache.forget(toBinary(key));
      if (v === null) batch.del(key);
      else batch.put(key, this.sealer.seal(key, v));
    });
    if (blockedKeys.length > 0) made.push(...this.writeBlocks(blockedKeys, blockedValues, batch));
    if (this.perCommit.isDirty) this.perCommit.write(batch, this.blocks.lastKey);
    if (blockedKeys.length > 0) this.perCommit.dropAmong(blockedKeys, batch);
    // Chained, so batches reach LevelDB in the order they were flushed.
    this.lastWrite = this.lastWrite.then(async () => {
      try {
        await batch.write({ sync: this.sync });
      } catch (e) {
        // The blocks stay served from memory (unwritten): their buffer is never reused.
        if (lent !== undefined) this.lent.delete(lent.buffer);
        throw e;
      }
      this.writing.shift();
      this.written(made);
      // LevelDB copied the blocks when they were added to the batch, and they are no longer
      // served from memory: their buffer may be reused unless a read saw into it.
      if (lent !== undefined) {
        if (this.lent.get(lent.buffer) === false) this.buffers.give(lent.buffer);
        this.lent.delete(lent.buffer);
      }
    });
    return this.lastWrite;
  }

  /**
   * Adds to `batch` the block records that store these writes of key-bucket keys (each key once,
   * null = delete), updating the directory; returns the blocks made (unwritten until `written`).
   */
  private writeBlocks(keys: Uint8Array[], values: (Uint8Array | null)[], batch: ChainedBatch): KeyBlock[] {
    const made: KeyBlock[] = [];
    if (isAppend(keys, values, this.blocks.lastKey)) {
      const builder = new BlockBuilder();
      for (let i = 0; i < keys.length; i++) builder.add(keys[i]!, values[i]!);
      this.appendBlocks(builder, batch, made);
      return made;
    }
    const emit = (block: KeyBlock, recordKey: Uint8Array) => {
      batch.put(recordKey, block.bytes);
      this.unwritten.set(block.first, block);
      made.push(block);
    };
    // Anything else: merge the writes into the blocks whose intervals they fall in, and rewrite those.
    const sorted = keys.map((k, i) => ({ key: toBinary(k), keyBytes: k, value: values[i]! }));
    // Stable: a key written twice (a fresh write deleted in the same batch) keeps its last write.
    sorted.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    const ops = sorted.filter((op, i) => i + 1 === sorted.length || sorted[i + 1]!.key !== op.key);
    const changes = new Map<number, string[]>();
    for (let j = 0; j < ops.length; ) {
      const b = this.blocks.find(ops[j]!.key);
      const end = b + 1 < this.blocks.size ? this.blocks.first(b + 1) : undefined;
      let e = j;
      while (e < ops.length && (end === undefined || ops[e]!.key < end)) e++;
      const old = b < 0 ? undefined : this.block(this.blocks.first(b));
      const mergedKeys: Uint8Array[] = [];
      const mergedValues: Uint8Array[] = [];
      const n = old?.size ?? 0;
      let i = 0;
      let o = j;
      while (i < n || o < e) {
        const oldEntry = i < n ? old!.entry(i) : undefined;
        const op = o < e ? ops[o]! : undefined;
        if (op === undefined || (oldEntry !== undefined && oldEntry.key < op.key)) {
          mergedKeys.push(oldEntry!.keyBytes);
          mergedValues.push(oldEntry!.value);
          i++;
          continue;
        }
        if (oldEntry !== undefined && oldEntry.key === op.key) i++;
        if (op.value !== null) {
          mergedKeys.push(op.keyBytes);
          mergedValues.push(op.value);
        }
        o++;
      }
      if (old !== undefined) {
        batch.del(blockRecordKey(old.first));
        this.blockCache.forget(old.first);
        this.unwritten.delete(old.first);
      }
      const firsts: string[] = [];
      encodeBlocks(mergedKeys, mergedValues, (block, recordKey) => {
        emit(block, recordKey);
        firsts.push(block.first);
      });
      changes.set(b, firsts);
      j = e;
    }
    this.blocks.replace(changes);
    const size = this.blocks.size;
    this.blocks.setLastKey(size === 0 ? '' : this.block(this.blocks.first(size - 1)).lastKey());
    return made;
  }

  /**
   * Adds the blocks of `builder` (keys past every stored one) to `batch` and after every block
   * of the directory; they are served from memory (and listed in `made`) until written.
   */
  private appendBlocks(builder: BlockBuilder, batch: ChainedBatch, made: KeyBlock[]): TakenBatch {
    const last = builder.lastKey();
    const taken = builder.takeBatch();
    for (const block of taken.blocks) {
      batch.put(blockRecordKey(block.first), block.bytes);
      this.unwritten.set(block.first, block);
      this.blocks.append(block.first);
      made.push(block);
    }
    this.blocks.setLastKey(last);
    return taken;
  }

  /** The batch holding these blocks is written: LevelDB serves them from now on. */
  private written(made: readonly KeyBlock[]): void {
    for (const b of made) if (this.unwritten.get(b.first) === b) this.unwritten.delete(b.first);
  }

  async *iterate(gte: Uint8Array, lt: Uint8Array): AsyncIterable<BackendEntry> {
    await this.flush();
    const snapshot = this.db.snapshot();
    let at = gte;
    try {
      // Logical keys never start below the blocked bucket: its keys come first, then the records'.
      const blockedGte = maxBytes(gte, BLOCKED_GTE);
      const blockedLt = minBytes(lt, BLOCKED_LT);
      if (compareBytes(blockedGte, blockedLt) < 0) {
        for await (const e of this.iterateBlocks(blockedGte, blockedLt, snapshot)) {
          at = e[0];
          yield e;
        }
      }
      const recordsGte = maxBytes(gte, BLOCKED_LT);
      if (compareBytes(recordsGte, lt) < 0) {
        // The per-commit keys as of the snapshot, in key order.
        const lo = toBinary(recordsGte);
        const hi = toBinary(lt);
        const perCommit = (await this.perCommit.inSnapshot(this.db, snapshot))
          .filter(([k]) => {
            const b = toBinary(k);
            return b >= lo && b < hi;
          })
          .sort(([a], [b]) => compareBytes(a, b));
        let next = 0;
        for await (const [k, v] of this.db.iterator({ gte: recordsGte, lt, snapshot })) {
          while (next < perCommit.length && compareBytes(perCommit[next]![0], k) < 0)
            yield perCommit[next++]!;
          at = k;
          yield [k, this.unseal(k, v)];
        }
        while (next < perCommit.length) yield perCommit[next++]!;
      }
    } catch (e) {
      throw this.readError(e, at);
    } finally {
      await snapshot.close();
    }
  }

  /** Key-bucket entries with gte <= key < lt (both in the bucket), from the blocks in `snapshot`. */
  private async *iterateBlocks(
    gte: Uint8Array,
    lt: Uint8Array,
    snapshot: Snapshot,
  ): AsyncIterable<BackendEntry> {
    const from = toBinary(gte);
    const to = toBinary(lt);
    // Start at the block whose interval holds gte: the last block record at or before gte's.
    let start = blockRecordKey(from);
    for await (const k of this.db.keys({ gte: RECORDS_GTE, lte: start, reverse: true, snapshot })) {
      if (endsWithCommitSuffix(k)) continue;
      start = k;
      break;
    }
    for await (const [k, v] of this.db.iterator({ gte: start, lt: blockRecordKey(to), snapshot })) {
      if (endsWithCommitSuffix(k)) continue;
      const block = this.verifiedBlock(k, v);
      for (let i = 0; i < block.size; i++) {
        const e = block.entry(i);
        if (e.key < from) continue;
        if (e.key >= to) return;
        yield [e.keyBytes, e.value];
      }
    }
  }

  async sizeBytes(): Promise<number> {
    let total = 0;
    for (const name of await readdir(this.dir)) {
      const s = await stat(join(this.dir, name)).catch(() => undefined);
      if (s?.isFile()) total += s.size;
    }
    return total;
  }

  async defragment(): Promise<void> {
    this.perCommit.dropAllOnNextWrite();
    await this.flush();
    await this.db.compactRange(MIN_KEY, MAX_KEY);
  }

  /** Checks and strips the checksum of a stored record's value. */
  private unseal(key: Uint8Array, stored: Uint8Array): Uint8Array {
    const value = stored.subarray(CHECKSUM_BYTES);
    if (stored.length < CHECKSUM_BYTES || readU32(stored) !== checksum(key, value)) {
      throw new CorruptDataDirError(this.dir, `checksum mismatch for a stored entry${this.where(key)}`);
    }
    return value;
  }

  /** Where LevelDB keeps `key`: the table files whose range holds it, else the log or memtable. */
  private where(key: Uint8Array): string {
    const tables = tablesHolding(this.db.getProperty('leveldb.sstables'), key);
    return tables.length > 0 ? ` in ${tables.join(' or ')}` : ' (in the log or memtable)';
  }

  /**
   * The table files whose key ranges meet [gte, lt), and the one holding the first key (which
   * `isEmpty` reads): where an open-time read that failed without naming a file was reading.
   */
  tablesOverlapping(gte: Uint8Array, lt: Uint8Array): string[] {
    const sstables = this.db.getProperty('leveldb.sstables');
    const lo = toBinary(gte);
    const hi = toBinary(lt);
    const out = new Set<string>();
    let first: { key: string; table: string } | undefined;
    for (const { table, smallest, largest } of tableRanges(sstables)) {
      if (smallest < hi && largest >= lo) out.add(table);
      if (first === undefined || smallest < first.key) first = { key: smallest, table };
    }
    if (first !== undefined) out.add(first.table);
    return [...out];
  }

  /** Whether the LevelDB holds no entry at all. */
  async isEmpty(): Promise<boolean> {
    for await (const _ of this.db.keys({ limit: 1 })) return false;
    return true;
  }

  /** A LevelDB read error as CorruptDataDirError, naming the table files that hold `near`. */
  private readError(e: unknown, near: Uint8Array): unknown {
    if (e instanceof StoreClosedError || !isLevelDataError(e)) return e;
    const sstables = this.db.getProperty('leveldb.sstables');
    // An iterator's error may come from a table past `near`: then any table may be the one.
    let tables = tablesHolding(sstables, near);
    if (tables.length === 0) tables = tableRanges(sstables).map(({ table }) => table);
    const where = tables.length > 0 ? ` (reading ${tables.join(' or ')})` : '';
    return new CorruptDataDirError(this.dir, `${describeLevelError(e)}${where}`);
  }

  async close(opts: CloseOptions = {}): Promise<void> {
    if (this.closed) return;
    if (opts.discard) {
      this.pending = new WriteOverlay();
      this.builder = new BlockBuilder();
      await this.lastWrite.catch(() => undefined);
    } else {
      await this.flush();
    }
    this.closed = true;
    await this.db.close();
  }
}

/**
 * Keys starting with 0x00 are the backend's own (block and commit records): a caller's key must
 * not, nor may a key-bucket key end as commit records' keys do.
 */
function checkKey(key: Uint8Array): void {
  if (key.length === 0 || key[0] === BLOCK_RECORD_PREFIX) {
    throw new RangeError('LevelBackend: keys must be non-empty and must not start with 0x00');
  }
  if (key[0] === BLOCKED_BUCKET && endsWithCommitSuffix(key)) {
    throw new RangeError('LevelBackend: a key-bucket key must not end with the commit record suffix');
  }
}

/**
 * Whether key-bucket writes only add keys past every stored one, in increasing order (applying
 * requests: each new revision after the last), so they become new blocks without reading any.
 */
function isAppend(
  keys: readonly Uint8Array[],
  values: readonly (Uint8Array | null)[],
  lastKey: string,
): boolean {
  for (let i = 0; i < keys.length; i++) {
    if (values[i] === null) return false;
    if (i > 0 && compareBytes(keys[i - 1]!, keys[i]!) >= 0) return false;
  }
  return lastKey === '' || toBinary(keys[0]!) > lastKey;
}

function maxBytes(a: Uint8Array, b: Uint8Array): Uint8Array {
  return compareBytes(a, b) >= 0 ? a : b;
}

function minBytes(a: Uint8Array, b: Uint8Array): Uint8Array {
  return compareBytes(a, b) <= 0 ? a : b;
}

/** Bytes of the per-entry checksum that precedes every stored value. */
const CHECKSUM_BYTES = 4;

function checksum(key: Uint8Array, value: Uint8Array): number {
  return crc32(value, crc32(key));
}

function readU32(b: Uint8Array): number {
  return ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
}

/**
 * Makes the stored form of values — CRC32(key, value) big-endian, then the value — in one reused
 * buffer: LevelDB's batch copies each op as it is added (classic-level's batch_put), so the
 * sealed bytes need only live until `batch.put` returns, and a fresh array per entry (its own
 * ArrayBuffer past 64 bytes) cost a put more than its checksum.
 */
class Sealer {
  private buf = new Uint8Array(1024);

  /** The sealed form of `value`, valid until the next call. */
  seal(key: Uint8Array, value: Uint8Array): Uint8Array {
    const n = CHECKSUM_BYTES + value.length;
    if (n > this.buf.length) this.buf = new Uint8Array(Math.max(n, this.buf.length * 2));
    const out = this.buf;
    const c = checksum(key, value);
    out[0] = c >>> 24;
    out[1] = (c >>> 16) & 0xff;
    out[2] = (c >>> 8) & 0xff;
    out[3] = c & 0xff;
    out.set(value, CHECKSUM_BYTES);
    return out.subarray(0, n);
  }
}
