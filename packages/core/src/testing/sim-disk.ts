/**
 * SimDisk: a member's disk for the whole-node simulator — a NodeStorage whose contents survive
 * the member's crash exactly as far as they were fsynced, and no further.
 *
 * - The raft log is kept as the WAL's own framed records (wal-record.ts), replayed at reopen by
 *   the same scan and replay code a data dir uses. A write lands at once; an fsync takes a few
 *   (simulated) milliseconds; a save with `sync: false` (a commit-index-only Ready) is written
 *   and not fsynced. On a crash the unsynced tail is lost, except a random prefix of its records
 *   (the page cache wrote some out) and, with `tear`, a random cut into the next record — the torn
 *   tail that reopening must detect and drop.
 * - Snapshot files are durable once saved (written to a temp file, fsynced and renamed on a real
 *   disk), before the WAL marker that names them.
 * - The store's backend (LevelDB with fsync per batch on a real disk): a flushed batch becomes
 *   durable when its fsync completes; at a crash, batches in flight survive as a random prefix,
 *   each whole or not at all (LevelDB's log drops a torn batch). A restore builds a new backend
 *   that replaces the old one when the store closes the old one (the dir swap's commit point).
 * After `crash()` every handle of the dead incarnation is inert: its writes go nowhere and its
 * pending fsyncs fail with SimulatedCrashError.
 */

import { type Backend, type BackendEntry, type CloseOptions, MemoryBackend } from '@tsetcd/mvcc';
import type { Index, RandomSource, Snapshot } from '@tsetcd/raft';
import type { Clock } from '../clock.js';
import { CorruptWalError } from '../errors.js';
import type { NodeStorage, OpenedRaftLog, RaftLogStore } from '../node/node-storage.js';
import type { PersistBatch } from '../raft-storage.js';
import { latestSnapshotMarker, restoreLog } from '../wal/replay.js';
import { concatBytes, encodeRecord, scanRecords, type WalRecord } from '../wal/wal-record.js';

/** A write to a crashed member's disk: the process is gone, so is the call. */
export class SimulatedCrashError extends Error {
  constructor() {
    super('simulated crash: the member is gone');
    this.name = 'SimulatedCrashError';
  }
}

/** Options of a SimDisk. */
export interface SimDiskOptions {
  /** The member's clock: fsyncs take time on it (and wait while the member is paused). */
  readonly clock: Clock;
  /** Seeded source of fsync latencies and of what a crash keeps. */
  readonly rand: RandomSource;
  /** Shortest and longest fsync, ms (default 1–4). */
  readonly fsyncMs?: readonly [number, number];
}

/** What a crash did to the disk. */
export interface CrashReport {
  /** WAL records written but not fsynced, lost. */
  readonly lostRecords: number;
  /** Whether the WAL's tail was left torn (a partial record). */
  readonly torn: boolean;
  /** Store batches in flight, lost. */
  readonly lostBatches: number;
}

type BatchOp = readonly [key: Uint8Array, value: Uint8Array | undefined];

interface PendingBatch {
  readonly image: MemoryBackend;
  readonly ops: readonly BatchOp[];
}

/** One member's simulated disk; see the file comment. */
export class SimDisk implements NodeStorage {
  /** Framed WAL records, in write order; `synced` of them are durable. */
  private wal: Uint8Array[] = [];
  private synced = 0;
  /** Partial bytes of a torn record after the last whole one (only right after a crash). */
  private tornTail: Uint8Array | undefined;
  private readonly snapshots = new Map<string, Snapshot>();
  /** The store's durable contents. */
  private image = new MemoryBackend();
  /** The backend a restore is building, which replaces `image` when the old one is closed. */
  private successor: MemoryBackend | undefined;
  /** Store batches whose fsync has not completed, in order. */
  private inFlight: PendingBatch[] = [];
  /** Rejects each fsync under way: a crash fails them (the member's timers are gone too). */
  private readonly waiting = new Set<() => void>();
  /** Bumped by each crash: handles of older incarnations are dead. */
  private epoch = 0;
  /** Counters for the simulator's report. */
  readonly stats = { fsyncs: 0, crashes: 0, tornTails: 0, lostRecords: 0, lostBatches: 0 };

  constructor(private readonly opts: SimDiskOptions) {}

  async openRaftLog(metadata: Uint8Array): Promise<OpenedRaftLog> {
    const epoch = this.epoch;
    if (this.wal.length === 0 && this.tornTail === undefined) {
      this.wal.push(encodeRecord({ type: 'metadata', data: metadata }));
      this.synced = 1;
    }
    const records = this.readWal();
    const marker = latestSnapshotMarker(records);
    const snapshot =
      marker === undefined ? undefined : this.snapshots.get(snapKey(marker.term, marker.index));
    if (marker !== undefined && snapshot === undefined) {
      throw new Error(
        `sim disk: the WAL names snapshot ${snapKey(marker.term, marker.index)}, which is missing`,
      );
    }
    const storage = restoreLog(records, snapshot);
    const meta = records.find((r) => r.type === 'metadata');
    return {
      raftStorage: new SimRaftLog(this, epoch),
      storage,
      lastIndex: storage.lastIndex(),
      ...(snapshot !== undefined ? { snapshot } : {}),
      ...(meta?.type === 'metadata' ? { metadata: meta.data } : {}),
    };
  }

  async openBackend(): Promise<Backend> {
    return new SimBackend(this, this.epoch, this.image, this.image.clone());
  }

  newBackend(): Backend {
    const image = new MemoryBackend();
    this.successor = image;
    return new SimBackend(this, this.epoch, image, image.clone());
  }

  /**
   * The member crashed: keep what was fsynced, a random prefix of the rest, and with `tear` a
   * partial record after it. Every handle given out so far goes dead.
   */
  crash(opts: { readonly tear?: boolean } = {}): CrashReport {
    const { rand } = this.opts;
    this.epoch++;
    this.stats.crashes++;
    this.successor = undefined;
    const unsynced = this.wal.length - this.synced;
    const kept = unsynced === 0 ? 0 : rand(unsynced + 1);
    const next = this.wal[this.synced + kept];
    this.wal = this.wal.slice(0, this.synced + kept);
    this.synced = this.wal.length;
    const torn = opts.tear === true && next !== undefined && next.length > 1;
    if (torn) {
      this.tornTail = next.slice(0, 1 + rand(next.length - 1));
      this.stats.tornTails++;
    }
    let batchesKept = 0;
    for (const b of this.inFlight) {
      if (rand(2) === 0) break;
      applyOps(b.image, b.ops);
      batchesKept++;
    }
    const lostBatches = this.inFlight.length - batchesKept;
    this.inFlight = [];
    const failed = [...this.waiting];
    this.waiting.clear();
    for (const fail of failed) fail();
    this.stats.lostRecords += unsynced - kept;
    this.stats.lostBatches += lostBatches;
    return { lostRecords: unsynced - kept, torn, lostBatches };
  }

  /** @internal Whether a handle of incarnation `epoch` may still touch the disk. */
  alive(epoch: number): boolean {
    return epoch === this.epoch;
  }

  /** @internal Appends records (written, not yet durable). */
  write(epoch: number, records: readonly WalRecord[]): void {
    if (!this.alive(epoch)) throw new SimulatedCrashError();
    for (const r of records) this.wal.push(encodeRecord(r));
  }

  /** @internal Saves a snapshot file (durable at once; see the file comment). */
  saveSnapshotFile(epoch: number, snap: Snapshot): void {
    if (!this.alive(epoch)) throw new SimulatedCrashError();
    this.snapshots.set(snapKey(snap.metadata.term, snap.metadata.index), snap);
  }

  /** @internal fsyncs the WAL: everything written before the call is durable once it resolves. */
  async syncWal(epoch: number): Promise<void> {
    const upTo = this.wal.length;
    await this.fsyncDelay(epoch);
    this.synced = Math.max(this.synced, upTo);
  }

  /** @internal Writes a store batch to `image`, durable once the returned promise resolves. */
  async flushBatch(epoch: number, image: MemoryBackend, ops: readonly BatchOp[]): Promise<void> {
    if (!this.alive(epoch)) throw new SimulatedCrashError();
    const b: PendingBatch = { image, ops };
    this.inFlight.push(b);
    await this.fsyncDelay(epoch);
    // In order: an earlier batch still in flight is made durable with this one (one log).
    const at = this.inFlight.indexOf(b);
    for (const done of this.inFlight.splice(0, at + 1)) applyOps(done.image, done.ops);
  }

  /**
   * @internal A backend writing to `image` was closed cleanly. Closing the live store's backend
   * after a restore built a successor makes the successor the store (the dir swap's commit
   * point); closing a failed restore's target just forgets it.
   */
  closed(epoch: number, image: MemoryBackend): void {
    if (!this.alive(epoch)) return;
    if (image === this.image && this.successor !== undefined) {
      this.image = this.successor;
      this.successor = undefined;
    } else if (image === this.successor) {
      this.successor = undefined;
    }
  }

  private async fsyncDelay(epoch: number): Promise<void> {
    const [lo, hi] = this.opts.fsyncMs ?? [1, 4];
    const ms = lo + this.opts.rand(Math.max(1, hi - lo + 1));
    await new Promise<void>((resolve, reject) => {
      const fail = () => reject(new SimulatedCrashError());
      this.waiting.add(fail);
      this.opts.clock.setTimeout(() => {
        this.waiting.delete(fail);
        resolve();
      }, ms);
    });
    if (!this.alive(epoch)) throw new SimulatedCrashError();
    this.stats.fsyncs++;
  }

  /** Reopens the WAL as a data dir's would: a torn tail is cut away, other damage is an error. */
  private readWal(): WalRecord[] {
    const parts = this.tornTail === undefined ? this.wal : [...this.wal, this.tornTail];
    const bytes = concatBytes(parts);
    const scan = scanRecords(bytes);
    if (scan.stop.kind === 'corrupt') {
      throw new CorruptWalError('sim-disk.wal', scan.stop.offset, scan.stop.detail);
    }
    if (scan.stop.kind === 'torn' && this.tornTail === undefined) {
      throw new Error(`sim disk: a torn WAL tail (${scan.stop.detail}) where none was made`);
    }
    this.tornTail = undefined;
    return scan.records;
  }
}

/** The raft log of one incarnation of a member on a SimDisk. */
class SimRaftLog implements RaftLogStore {
  private tail: Promise<void> = Promise.resolve();

  constructor(
    private readonly disk: SimDisk,
    private readonly epoch: number,
  ) {}

  save(batch: PersistBatch): Promise<void> {
    const run = this.tail.then(() => this.saveNow(batch));
    this.tail = run.catch(() => {});
    return run;
  }

  saveSnapshot(snapshot: Snapshot): Promise<void> {
    return this.save({ entries: [], snapshot });
  }

  /** Keeps every record (a simulated run is short): replay skips what a snapshot covers. */
  async releaseTo(_index: Index): Promise<void> {}

  async close(): Promise<void> {
    await this.tail;
  }

  private async saveNow(b: PersistBatch): Promise<void> {
    const records: WalRecord[] = [];
    if (b.snapshot !== undefined && b.snapshot.metadata.index > 0) {
      this.disk.saveSnapshotFile(this.epoch, b.snapshot);
      records.push({ type: 'snapshot', index: b.snapshot.metadata.index, term: b.snapshot.metadata.term });
    }
    if (b.entries.length > 0 || b.hardState !== undefined) {
      records.push(
        b.hardState === undefined
          ? { type: 'state', entries: b.entries }
          : { type: 'state', entries: b.entries, hardState: b.hardState },
      );
    }
    this.disk.write(this.epoch, records);
    if (b.sync !== false || b.snapshot !== undefined) await this.disk.syncWal(this.epoch);
  }
}

/** The store's backend of one incarnation: reads and writes in memory, batches to the disk. */
class SimBackend implements Backend {
  private buffered: BatchOp[] = [];
  private closed = false;

  constructor(
    private readonly disk: SimDisk,
    private readonly epoch: number,
    /** The durable contents this backend writes to. */
    private readonly image: MemoryBackend,
    /** What the process sees: the image plus everything written since. */
    private readonly view: MemoryBackend,
  ) {}

  get(key: Uint8Array): Uint8Array | undefined {
    return this.view.get(key);
  }

  put(key: Uint8Array, value: Uint8Array): void {
    this.view.put(key, value);
    this.buffered.push([key, value]);
  }

  del(key: Uint8Array): void {
    this.view.del(key);
    this.buffered.push([key, undefined]);
  }

  async flush(): Promise<void> {
    if (this.buffered.length === 0) return;
    const ops = this.buffered;
    this.buffered = [];
    await this.disk.flushBatch(this.epoch, this.image, ops);
  }

  iterate(gte: Uint8Array, lt: Uint8Array): AsyncIterable<BackendEntry> {
    return this.view.iterate(gte, lt);
  }

  isEmpty(): Promise<boolean> {
    return this.view.isEmpty();
  }

  sizeBytes(): Promise<number> {
    return this.view.sizeBytes();
  }

  defragment(): Promise<void> {
    return this.view.defragment();
  }

  async close(opts: CloseOptions = {}): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (opts.discard === true || !this.disk.alive(this.epoch)) return;
    await this.flush();
    this.disk.closed(this.epoch, this.image);
  }
}

function applyOps(image: MemoryBackend, ops: readonly BatchOp[]): void {
  for (const [k, v] of ops) {
    if (v === undefined) image.del(k);
    else image.put(k, v);
  }
}

function snapKey(term: number, index: number): string {
  return `${term.toString(16).padStart(16, '0')}-${index.toString(16).padStart(16, '0')}.snap`;
}
