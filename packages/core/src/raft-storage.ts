/**
 * RaftStorage: Raft's durable storage, as etcd's `storage.go` composes WAL + snapshotter, with the
 * in-memory raft `MemoryStorage` rebuilt from them on restart.
 *
 * Layout (etcd's): `<dataDir>/member/wal/*.wal` and `<dataDir>/member/snap/*.snap`, plus
 * `<dataDir>/member/LOCK` while open (see data-dir-lock.ts): a second open fails with
 * DataDirLockedError. Directories created here have their parents fsynced.
 * Order of a save, following the Ready contract: snapshot file (fsync), then one WAL write holding
 * the snapshot marker, the entries and the hard state (one fsync). Only after the returned promise
 * resolves may the host send `persistedMessages`. The host keeps updating its MemoryStorage itself
 * (applySnapshot / append / setHardState); this class only makes the same writes durable.
 *
 * After each save that wrote a snapshot file, only the newest `snapshotsToKeep` files are kept.
 *
 * A damaged snapshot file whose marker is in the WAL is an error (CorruptSnapshotError): we do not
 * fall back to an older snapshot, since the WAL may no longer hold the entries in between.
 */

import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Entry, HardState, Index, MemoryStorage, Snapshot } from '@tsetcd/raft';
import { DataDirLock } from './data-dir-lock.js';
import { mkdirDurable, type StorageHooks, type StorageLogger } from './fsutil.js';
import {
  loadSnapFile,
  purgeSnapFiles,
  removeSnapTempFiles,
  SNAP_SUFFIX,
  saveSnapFile,
  snapFileName,
} from './snap/snapshotter.js';
import { latestSnapshotMarker, restoreLog } from './wal/replay.js';
import { Wal } from './wal/wal.js';
import type { WalRecord } from './wal/wal-record.js';

/** Snapshot files kept in `member/snap` after a save writes a new one (etcd's --max-snapshots is 5). */
export const DEFAULT_SNAPSHOTS_TO_KEEP = 5;

/** The part of a Ready that must be made durable. */
export interface PersistBatch {
  readonly hardState?: HardState;
  readonly entries: readonly Entry[];
  readonly snapshot?: Snapshot;
  /**
   * Whether the batch must be fsynced before the save resolves (raft's Ready.mustSync); default
   * true. A batch whose only change is the hard state's commit index need not be: losing it
   * loses nothing (the commit index is learned again from the leader or the log).
   */
  readonly sync?: boolean;
}

/** Options of `RaftStorage.open`. */
export interface RaftStorageOptions {
  /** WAL segment size; defaults to DEFAULT_SEGMENT_BYTES. */
  readonly segmentBytes?: number;
  /** Host bytes kept at the head of every WAL segment (e.g. node and cluster IDs). */
  readonly metadata?: Uint8Array;
  readonly hooks?: StorageHooks;
  /** Where notable events (a stale lock taken over) are reported. Default: silent. */
  readonly logger?: StorageLogger;
  /** Snapshot files kept after a snapshot save (DEFAULT_SNAPSHOTS_TO_KEEP, at least 1). */
  readonly snapshotsToKeep?: number;
}

/** What a (re)started member resumes from. */
export interface RecoveredState {
  readonly raftStorage: RaftStorage;
  /** Raft's view of the log: snapshot, entries after it and hard state, ready for a RawNode. */
  readonly storage: MemoryStorage;
  readonly hardState: HardState;
  readonly snapshot?: Snapshot;
  readonly lastIndex: Index;
  /** The WAL's metadata (from disk when reopening). */
  readonly metadata?: Uint8Array;
}

/** The member directory inside a data directory (etcd's `member/`). */
export function memberDir(dataDir: string): string {
  return join(dataDir, 'member');
}

/** Durable raft log and snapshots for one member. */
export class RaftStorage implements AsyncDisposable {
  /** Serialises saves, so a snapshot file being written never lets a later save overtake it. */
  private tail: Promise<void> = Promise.resolve();

  private constructor(
    private readonly wal: Wal,
    private readonly snapDir: string,
    private readonly hooks: StorageHooks,
    private readonly lock: DataDirLock,
    private readonly snapshotsToKeep: number,
  ) {}

  /** Opens the data directory (a missing one is a fresh member) and replays it. */
  static async open(dataDir: string, options: RaftStorageOptions = {}): Promise<RecoveredState> {
    const hooks = options.hooks ?? {};
    const snapshotsToKeep = options.snapshotsToKeep ?? DEFAULT_SNAPSHOTS_TO_KEEP;
    if (!Number.isSafeInteger(snapshotsToKeep) || snapshotsToKeep < 1) {
      throw new RangeError(`snapshotsToKeep must be a positive integer, got ${snapshotsToKeep}`);
    }
    const member = memberDir(dataDir);
    const walDir = join(member, 'wal');
    const snapDir = join(member, 'snap');
    await mkdirDurable(member, hooks);
    const lock = await DataDirLock.acquire(member, hooks, options.logger ?? (() => {}));
    let wal: Wal | undefined;
    try {
      await mkdirDurable(snapDir, hooks);
      await removeSnapTempFiles(snapDir);
      const walOptions = {
        hooks,
        ...(options.segmentBytes === undefined ? {} : { segmentBytes: options.segmentBytes }),
        ...(options.metadata === undefined ? {} : { metadata: options.metadata }),
      };
      const opened = await Wal.open(walDir, walOptions);
      wal = opened.wal;
      const records = opened.records;
      const marker = latestSnapshotMarker(records);
      const snapshot =
        marker === undefined ? undefined : await loadSnapFile(snapDir, marker.term, marker.index);
      const storage = restoreLog(records, snapshot);
      const hardState = storage.initialState().hardState;
      const raftStorage = new RaftStorage(wal, snapDir, hooks, lock, snapshotsToKeep);
      const metadata = wal.getMetadata();
      return {
        raftStorage,
        storage,
        hardState,
        lastIndex: storage.lastIndex(),
        ...(snapshot === undefined ? {} : { snapshot }),
        ...(metadata === undefined ? {} : { metadata }),
      };
    } catch (err) {
      await wal?.close();
      await lock.release();
      throw err;
    }
  }

  /** Persists one Ready's snapshot, entries and hard state; resolves once durable (one WAL fsync). */
  save(rd: PersistBatch): Promise<void> {
    return this.saveMany([rd]);
  }

  /**
   * Persists several Readys in order with a single WAL fsync (group commit across Readys).
   * Concurrent calls are applied in call order.
   */
  saveMany(batches: readonly PersistBatch[]): Promise<void> {
    const run = this.tail.then(() => this.saveNow(batches));
    this.tail = run.catch(() => {});
    return run;
  }

  private async saveNow(batches: readonly PersistBatch[]): Promise<void> {
    const records: WalRecord[] = [];
    let newestSnap: string | undefined;
    for (const rd of batches) {
      if (rd.snapshot !== undefined && rd.snapshot.metadata.index > 0) {
        // BEFORE the marker: the marker promises the file is durable.
        await saveSnapFile(this.snapDir, rd.snapshot, this.hooks);
        newestSnap = snapFileName(rd.snapshot.metadata.term, rd.snapshot.metadata.index);
        records.push({
          type: 'snapshot',
          index: rd.snapshot.metadata.index,
          term: rd.snapshot.metadata.term,
        });
      }
      if (rd.entries.length > 0 || rd.hardState !== undefined) {
        records.push(
          rd.hardState === undefined
            ? { type: 'state', entries: rd.entries }
            : { type: 'state', entries: rd.entries, hardState: rd.hardState },
        );
      }
    }
    const sync = batches.some((b) => b.sync !== false || b.snapshot !== undefined);
    await this.wal.append(records, { sync });
    // AFTER the marker is durable: older snapshots are no longer the one a restart loads.
    if (newestSnap !== undefined) await purgeSnapFiles(this.snapDir, this.snapshotsToKeep, newestSnap);
  }

  /** Persists a snapshot the host made itself (after `MemoryStorage.createSnapshot`). */
  saveSnapshot(snapshot: Snapshot): Promise<void> {
    return this.saveMany([{ entries: [], snapshot }]);
  }

  /** Deletes WAL segments whose entries a durable snapshot at `index` or later covers. */
  releaseTo(index: Index): Promise<void> {
    return this.wal.releaseTo(index);
  }

  /** WAL segment file names, oldest first (for tests and tooling). */
  segmentNames(): string[] {
    return this.wal.segmentNames();
  }

  /** Snapshot file names, oldest first (for tests and tooling). */
  async snapshotNames(): Promise<string[]> {
    return (await readdir(this.snapDir)).filter((n) => n.endsWith(SNAP_SUFFIX)).sort();
  }

  /** Waits for pending saves, closes the WAL and releases the data-dir lock. */
  async close(): Promise<void> {
    await this.tail;
    try {
      await this.wal.close();
    } finally {
      await this.lock.release();
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
