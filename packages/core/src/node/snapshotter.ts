/**
 * Snapshotter: raft snapshots of a member, as etcd's server makes them.
 *
 * Making one (every `snapshotCount` applied entries):
 *   1. flush the store, so its backend durably holds everything applied up to the index;
 *   2. record a raft snapshot at the applied index with the current ConfState; its data is only a
 *      marker — the state itself is the store's backend, already on disk;
 *   3. persist it (snapshot file + WAL marker), then drop log entries older than the index minus
 *      `snapshotCatchUpEntries` from memory and release WAL segments the snapshot covers.
 *
 * Sending one (raft asks for MsgSnap when a follower is too far behind the log):
 *   the store is flushed and its whole image streamed into the message's data. The image is taken
 *   NOW, so it may be newer than the snapshot's index; that is safe because the image carries the
 *   store's applied index, and the receiver's applier skips entries at or below it.
 *
 * Installing one (a Ready carries a snapshot from the leader): after raft storage has persisted it,
 * the store is replaced in place by the image (MvccStore.restore), and the member list reloaded.
 */

import { Decoder, Encoder } from '@msgpack/msgpack';
import { type MvccStore, snapshot as storeImage } from '@tsetcd/mvcc';
import type { ConfState, Index, MemoryStorage, Message, Snapshot, Term } from '@tsetcd/raft';
import { StorageMismatchError } from '../errors.js';
import type { RaftLogStore } from './node-storage.js';

/** What a raft snapshot's data holds. */
interface SnapshotData {
  /** Format version. */
  readonly v: 1;
  /** The store image (mvcc snapshot stream bytes); absent in a local marker snapshot. */
  readonly image?: Uint8Array;
}

const encoder = new Encoder();
const decoder = new Decoder();

/** The state raft snapshots come from and go to. */
export interface SnapshotterDeps {
  readonly store: MvccStore;
  readonly memoryStorage: MemoryStorage;
  /** Absent in in-memory mode. */
  readonly raftStorage: RaftLogStore | undefined;
  /** The ConfState after the last applied conf change. */
  readonly confState: () => ConfState;
  readonly snapshotCount: number;
  readonly catchUpEntries: number;
  /** Called after the store was replaced by a received snapshot (reload the member list). */
  readonly onInstalled: () => Promise<void>;
  readonly logger: (level: 'info' | 'warn', message: string) => void;
  /** Where the store lives, for errors ("<dataDir>/member/kv", or a description). */
  readonly storeLocation: string;
}

/** Makes, sends and installs raft snapshots; see the file comment. */
export class Snapshotter {
  private snapshotIndex: number;
  /** Set while an image for a follower is made; see `building`. */
  private gate: Promise<void> | undefined;

  constructor(private readonly deps: SnapshotterDeps) {
    this.snapshotIndex = deps.memoryStorage.snapshot().metadata.index;
  }

  /** Set while an image for a follower is made: applying waits for it (see fill). */
  get building(): Promise<void> | undefined {
    return this.gate;
  }

  /** The index of the newest raft snapshot. */
  get index(): number {
    return this.snapshotIndex;
  }

  /** Makes a snapshot if `snapshotCount` entries were applied since the last one. */
  async maybeSnapshot(applied: number): Promise<void> {
    if (applied - this.snapshotIndex < this.deps.snapshotCount) return;
    await this.create(applied);
  }

  /** Steps 1–3 of "making one". */
  async create(applied: number): Promise<void> {
    const { store, memoryStorage, raftStorage } = this.deps;
    // A snapshot from the leader may have been installed meanwhile, past `applied`.
    this.snapshotIndex = Math.max(this.snapshotIndex, memoryStorage.snapshot().metadata.index);
    if (applied <= this.snapshotIndex) return;
    await store.commit();
    if (applied <= memoryStorage.snapshot().metadata.index) return;
    const data = encoder.encode({ v: 1 } satisfies SnapshotData).slice();
    const snap = memoryStorage.createSnapshot(applied as Index, this.deps.confState(), data);
    this.snapshotIndex = applied;
    if (raftStorage !== undefined) await raftStorage.saveSnapshot(snap);
    const compactTo = applied - this.deps.catchUpEntries;
    if (compactTo > memoryStorage.firstIndex()) {
      memoryStorage.compact(compactTo as Index);
      if (raftStorage !== undefined) await raftStorage.releaseTo(applied as Index);
    }
    this.deps.logger('info', `saved snapshot at index ${applied}`);
  }

  /**
   * Fills an outgoing MsgSnap with the store's image ("sending one"). As etcd's merged snapshot
   * message, its metadata becomes the store's applied index, that entry's term and the current
   * ConfState: raft's stored snapshot may predate the recipient's own addition, and a member
   * refuses a snapshot whose configuration does not include it.
   */
  async fill(m: Message & { readonly type: 'MsgSnap' }): Promise<Message> {
    const { store, memoryStorage } = this.deps;
    // Nothing is applied while the image is made (onApply waits for `building`), so the image
    // holds exactly the state at `index`. Without this, entries applied during the flush made
    // the image run ahead of its metadata, and a follower that installed it and crashed before
    // logging those entries found its store ahead of its log (found by the simulator, seed 22).
    // One image at a time: every waiter wakes when one ends, so look again before taking it.
    while (this.gate !== undefined) await this.gate;
    let done!: () => void;
    this.gate = new Promise<void>((resolve) => {
      done = resolve;
    });
    const chunks: Uint8Array[] = [];
    let size = 0;
    let index: Index;
    let term: Term;
    let confState: ConfState;
    try {
      index = Math.max(store.kv.consistentIndex, m.snapshot.metadata.index) as Index;
      confState = index > m.snapshot.metadata.index ? this.deps.confState() : m.snapshot.metadata.confState;
      term = index > m.snapshot.metadata.index ? memoryStorage.term(index) : m.snapshot.metadata.term;
      await store.commit();
      for await (const c of storeImage(store.kv)) {
        chunks.push(c);
        size += c.length;
      }
    } finally {
      this.gate = undefined;
      done();
    }
    const image = new Uint8Array(size);
    let at = 0;
    for (const c of chunks) {
      image.set(c, at);
      at += c.length;
    }
    const data = encoder.encode({ v: 1, image } satisfies SnapshotData).slice();
    return { ...m, snapshot: { metadata: { index, term, confState }, data } };
  }

  /** Installs a snapshot received from the leader ("installing one"); raft storage has it already. */
  async install(snap: Snapshot): Promise<void> {
    const decoded = decodeSnapshotData(snap.data);
    if (decoded.image === undefined) {
      throw new Error(`snapshot at index ${snap.metadata.index} carries no store image`);
    }
    const image = decoded.image;
    await this.deps.store.restore(
      (async function* () {
        yield image;
      })(),
    );
    this.snapshotIndex = snap.metadata.index;
    await this.deps.onInstalled();
    this.deps.logger('info', `installed snapshot at index ${snap.metadata.index}`);
  }

  /**
   * At start-up: whether the store is behind the raft snapshot (a crash between persisting a
   * received snapshot and installing it); if so, installs it now from the persisted snapshot.
   */
  async recover(snap: Snapshot | undefined): Promise<void> {
    const applied = this.deps.store.kv.consistentIndex;
    if (snap === undefined || snap.metadata.index <= applied) return;
    if (decodeSnapshotData(snap.data).image === undefined) {
      // A snapshot this member made from its own store: the store had reached it, and lost it.
      throw new StorageMismatchError(
        this.deps.storeLocation,
        `the store has applied up to index ${applied}, behind the snapshot at index ${snap.metadata.index} made from it: the store lost data`,
      );
    }
    await this.install(snap);
  }
}

function decodeSnapshotData(bytes: Uint8Array): SnapshotData {
  const v = decoder.decode(bytes) as Partial<SnapshotData> | null;
  if (v === null || typeof v !== 'object' || v.v !== 1) throw new Error('snapshot data: unknown format');
  return v as SnapshotData;
}
