/**
 * The write-ahead log (etcd's `server/storage/wal`): append-only segment files in one directory.
 *
 * - `append(records)` writes all records in one write, durable when it returns (group commit):
 *   segments are open with O_DSYNC, so each write carries its own fdatasync — one trip to the I/O
 *   thread pool per append instead of a write and then an fsync, each waiting its turn on the
 *   event loop; a small append (SYNC_APPEND_MAX_BYTES) skips the pool and writes at once.
 * - A segment rolls when it reaches `segmentBytes`; the new one starts with a header (metadata, the
 *   latest snapshot marker, the current hard state) so older segments are never needed for them and
 *   can be released once a snapshot covers all their entries.
 * - The segment being written is preallocated: extended (a sparse run of zeros) PREALLOCATE_BYTES
 *   past its records, and again whenever appends reach the end, so an append overwrites zeros
 *   inside the file instead of growing it, and its O_DSYNC write need not also commit a new file
 *   size (on ext4 here: 120–150 µs per small append instead of 160–260 µs; etcd preallocates its
 *   segments for the same reason). A segment is cut back to its records when the next one starts,
 *   so only the last one has a zero tail, and that tail is short enough to read at open.
 * - `open` reads every segment; a torn tail of the last segment (a short or checksum-failing
 *   last record, then nothing but zeros) is cut away, any other damage is a CorruptWalError
 *   naming the file and offset.
 * It does not interpret the log (see replay.ts) and does not write snapshot files (see snap/).
 */

import { constants } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { open, readdir, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { HardState } from '@tsetcd/raft';
import { CorruptWalError, StorageClosedError } from '../errors.js';
import {
  asUint8Array,
  mkdirDurable,
  type StorageHooks,
  syncDir,
  syncFile,
  writeFully,
  writeFullySync,
} from '../fsutil.js';
import { concatBytes, encodeRecord, type SnapshotRecord, scanRecords, type WalRecord } from './wal-record.js';
import { segmentFileName, sortSegments } from './wal-segment.js';

/** How segment files are opened for appending: every write is durable (data and size) on return. */
const APPEND_FLAGS = constants.O_RDWR | constants.O_DSYNC;
/** Likewise, for a segment that must not exist yet. */
const CREATE_FLAGS = APPEND_FLAGS | constants.O_CREAT | constants.O_EXCL;

/**
 * A small append (up to SYNC_APPEND_MAX_BYTES) that comes after the log was idle for
 * SYNC_APPEND_AFTER_IDLE_MS is written on the event loop's own thread, blocking it for the
 * O_DSYNC write (~0.15–0.25 ms here); every other append goes to the I/O thread pool. That is a
 * lone request (one entry; a follower's one-entry MsgApp), for which the pool's two thread
 * wake-ups (to the pool, and back to the loop) cost more than they free. Appends that follow one
 * another closely are a stream of requests: written asynchronously, so that applying and reading
 * requests go on during the fsync (writing every append under 16 KiB on the loop cost put 10x100
 * 30%; every one under 1 KiB, 8% at 10x100 and 100x1000).
 */
const SYNC_APPEND_MAX_BYTES = 1024;
const SYNC_APPEND_AFTER_IDLE_MS = 0.25;

/** How far past its records the current segment is extended at a time (see the file comment). */
const PREALLOCATE_BYTES = 4 * 1024 * 1024;

/** Size at which a segment is closed and a new one started (etcd's `SegmentSizeBytes`). */
export const DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024;

/** Tunables of a WAL. */
export interface WalOptions {
  /** Roll to a new segment once the current one holds at least this many bytes. */
  readonly segmentBytes?: number;
  /** Written at the head of every segment; kept from the existing log when reopening. */
  readonly metadata?: Uint8Array;
  readonly hooks?: StorageHooks;
}

/** The mutable state of an open WAL. */
interface WalState {
  readonly segments: Segment[];
  fh: FileHandle;
  /** Bytes of records in the current (last) segment. */
  size: number;
  /** The current segment's file size: its records, then preallocated zeros. */
  allocated: number;
  /** Index of the last entry appended (after truncations). */
  lastIndex: number;
  hardState: HardState | undefined;
  snapshotMarker: SnapshotRecord | undefined;
  readonly metadata: Uint8Array | undefined;
}

interface Segment {
  readonly name: string;
  readonly seq: number;
  /** The highest entry index stored in the segment (0 if none). */
  maxIndex: number;
}

/** An open WAL: the records found on disk, then appends. */
export class Wal {
  private closed = false;
  /** Serialises appends: each waits for the previous one's fsync. */
  private tail: Promise<void> = Promise.resolve();
  /** When the last append finished (performance.now()), to tell a lone request from a stream. */
  private lastAppended = Number.NEGATIVE_INFINITY;

  private constructor(
    private readonly dir: string,
    private readonly segmentBytes: number,
    private readonly hooks: StorageHooks,
    private readonly s: WalState,
  ) {}

  /** Opens (or creates) the WAL in `dir` and returns every valid record in log order. */
  static async open(dir: string, options: WalOptions = {}): Promise<{ wal: Wal; records: WalRecord[] }> {
    const hooks = options.hooks ?? {};
    const segmentBytes = options.segmentBytes ?? DEFAULT_SEGMENT_BYTES;
    await mkdirDurable(dir, hooks);
    const found = sortSegments(await readdir(dir));
    if (found.length === 0) {
      const name = segmentFileName(0, 0);
      const fh = await open(join(dir, name), CREATE_FLAGS);
      const header =
        options.metadata === undefined ? [] : [{ type: 'metadata', data: options.metadata } as const];
      const bytes = concatBytes(header.map(encodeRecord));
      await writeFully(fh, bytes, 0);
      hooks.onFsync?.(join(dir, name));
      const allocated = await preallocate(fh, join(dir, name), bytes.length, hooks);
      await syncDir(dir, hooks);
      const segs = [{ name, seq: 0, maxIndex: 0 }];
      const wal = new Wal(dir, segmentBytes, hooks, {
        segments: segs,
        fh,
        size: bytes.length,
        allocated,
        lastIndex: 0,
        hardState: undefined,
        snapshotMarker: undefined,
        metadata: options.metadata,
      });
      return { wal, records: [] };
    }
    const records: WalRecord[] = [];
    const segments: Segment[] = [];
    let validBytes = 0;
    for (const [i, seg] of found.entries()) {
      const path = join(dir, seg.name);
      if (i > 0 && seg.seq !== found[i - 1]!.seq + 1) {
        throw new CorruptWalError(path, 0, `segment sequence gap after ${found[i - 1]!.name}`);
      }
      const buf = asUint8Array(await readFile(path));
      const scan = scanRecords(buf);
      const isLast = i === found.length - 1;
      if (scan.stop.kind === 'corrupt' || (scan.stop.kind === 'torn' && !isLast)) {
        throw new CorruptWalError(path, scan.stop.offset, scan.stop.detail);
      }
      let maxIndex = 0;
      for (const r of scan.records) {
        if (r.type === 'state') for (const e of r.entries) maxIndex = Math.max(maxIndex, e.index);
      }
      records.push(...scan.records);
      segments.push({ name: seg.name, seq: seg.seq, maxIndex });
      validBytes = scan.validBytes;
    }
    const last = segments[segments.length - 1]!;
    const lastPath = join(dir, last.name);
    const fh = await open(lastPath, APPEND_FLAGS);
    const { size } = await fh.stat();
    if (size > validBytes) {
      // A torn tail from a crash mid-write, or the zeros of preallocation: cut them so no stale
      // bytes of a torn record stay after the records to come, then preallocate afresh.
      await fh.truncate(validBytes);
      await syncFile(fh, lastPath, hooks);
    }
    const allocated = await preallocate(fh, lastPath, validBytes, hooks);
    let lastIndex = 0;
    let hardState: HardState | undefined;
    let marker: SnapshotRecord | undefined;
    let logMetadata: Uint8Array | undefined;
    for (const r of records) {
      if (r.type === 'state') {
        const e = r.entries[r.entries.length - 1];
        if (e !== undefined) lastIndex = e.index;
        if (r.hardState !== undefined) hardState = r.hardState;
      } else if (r.type === 'snapshot') {
        if (marker === undefined || r.index >= marker.index) marker = r;
      } else if (logMetadata === undefined) {
        logMetadata = r.data;
      }
    }
    const metadata = logMetadata ?? options.metadata;
    const wal = new Wal(dir, segmentBytes, hooks, {
      segments,
      fh,
      size: validBytes,
      allocated,
      lastIndex,
      hardState,
      snapshotMarker: marker,
      metadata,
    });
    return { wal, records };
  }

  /**
   * Appends records and resolves once they are durable: one O_DSYNC write for all of them.
   * `sync: false` marks a record that would lose nothing if lost (a hard state whose only change
   * is the commit index): it is not reported to `hooks.onFsync`, though the write is durable too.
   */
  append(records: readonly WalRecord[], opts: { readonly sync?: boolean } = {}): Promise<void> {
    const run = this.tail.then(() => this.appendNow(records, opts.sync ?? true));
    this.tail = run.catch(() => {});
    return run;
  }

  private async appendNow(records: readonly WalRecord[], sync: boolean): Promise<void> {
    if (this.closed) throw new StorageClosedError();
    if (records.length === 0) return;
    if (this.s.size >= this.segmentBytes) await this.roll();
    const seg = this.s.segments[this.s.segments.length - 1]!;
    const bytes = concatBytes(records.map(encodeRecord));
    if (this.s.size + bytes.length > this.s.allocated) {
      const path = join(this.dir, seg.name);
      this.s.allocated = await preallocate(this.s.fh, path, this.s.size + bytes.length, this.hooks);
    }
    const idle = performance.now() - this.lastAppended >= SYNC_APPEND_AFTER_IDLE_MS;
    if (idle && bytes.length <= SYNC_APPEND_MAX_BYTES) writeFullySync(this.s.fh, bytes, this.s.size);
    else await writeFully(this.s.fh, bytes, this.s.size);
    this.lastAppended = performance.now();
    this.s.size += bytes.length;
    if (sync) this.hooks.onFsync?.(join(this.dir, seg.name)); // O_DSYNC: durable already
    for (const r of records) {
      if (r.type === 'state') {
        for (const e of r.entries) seg.maxIndex = Math.max(seg.maxIndex, e.index);
        const e = r.entries[r.entries.length - 1];
        if (e !== undefined) this.s.lastIndex = e.index;
        if (r.hardState !== undefined) this.s.hardState = r.hardState;
      } else if (r.type === 'snapshot') {
        this.s.snapshotMarker = r;
      }
    }
  }

  /** Closes the current segment and starts the next one with a self-contained header. */
  private async roll(): Promise<void> {
    const prev = this.s.segments[this.s.segments.length - 1]!;
    const seq = prev.seq + 1;
    const name = segmentFileName(seq, this.s.lastIndex + 1);
    const path = join(this.dir, name);
    const header: WalRecord[] = [];
    if (this.s.metadata !== undefined) header.push({ type: 'metadata', data: this.s.metadata });
    if (this.s.snapshotMarker !== undefined) header.push(this.s.snapshotMarker);
    if (this.s.hardState !== undefined)
      header.push({ type: 'state', entries: [], hardState: this.s.hardState });
    // The finished segment ends at its last record (only the last segment has a zero tail).
    await this.s.fh.truncate(this.s.size);
    await syncFile(this.s.fh, join(this.dir, prev.name), this.hooks);
    const fh = await open(path, CREATE_FLAGS);
    const bytes = concatBytes(header.map(encodeRecord));
    await writeFully(fh, bytes, 0);
    this.hooks.onFsync?.(path);
    const allocated = await preallocate(fh, path, bytes.length, this.hooks);
    await syncDir(this.dir, this.hooks);
    await this.s.fh.close();
    this.s.fh = fh;
    this.s.size = bytes.length;
    this.s.allocated = allocated;
    this.s.segments.push({ name, seq, maxIndex: 0 });
  }

  /**
   * Deletes the oldest segments whose entries are all at or below `index` (covered by a durable
   * snapshot). The current segment is always kept.
   */
  releaseTo(index: number): Promise<void> {
    const run = this.tail.then(async () => {
      if (this.closed) throw new StorageClosedError();
      let n = 0;
      while (n < this.s.segments.length - 1 && this.s.segments[n]!.maxIndex <= index) n++;
      if (n === 0) return;
      // Oldest first: a crash midway leaves a contiguous suffix of segments.
      for (const seg of this.s.segments.slice(0, n)) await unlink(join(this.dir, seg.name));
      this.s.segments.splice(0, n);
      await syncDir(this.dir, this.hooks);
    });
    this.tail = run.catch(() => {});
    return run;
  }

  /** The segment file names currently on disk, oldest first (for tests and tooling). */
  segmentNames(): string[] {
    return this.s.segments.map((s) => s.name);
  }

  /** The metadata the WAL was created with. */
  getMetadata(): Uint8Array | undefined {
    return this.s.metadata;
  }

  /** Waits for pending appends, then closes the segment. Idempotent. */
  async close(): Promise<void> {
    await this.tail;
    if (this.closed) return;
    this.closed = true;
    await this.s.fh.close();
  }
}

/**
 * Extends a segment holding `used` bytes of records to PREALLOCATE_BYTES past them (zeros, no
 * blocks written) and makes the new size durable, so the appends that follow write inside the
 * file; returns the file's size.
 */
async function preallocate(fh: FileHandle, path: string, used: number, hooks: StorageHooks): Promise<number> {
  const target = used + PREALLOCATE_BYTES;
  const { size } = await fh.stat();
  if (size >= target) return size;
  await fh.truncate(target);
  await syncFile(fh, path, hooks);
  return target;
}
