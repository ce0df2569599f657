/**
 * RaftLoop: the one place that drives a RawNode — the host half of Raft. For each Ready, in this
 * order (see @tsetcd/raft's ready.ts for why):
 *
 *   1. send `rd.messages` at once: the leader's appends go out WHILE it writes them to its own
 *      disk (thesis §10.2.1), so one fsync latency is paid in parallel, not twice;
 *   2. make the snapshot, entries and hard state durable (`log.save`, one durable write for the
 *      Ready; none if only the commit index moved), then mirror them into raft's MemoryStorage; a
 *      snapshot then goes to the host's state machine (`applySnapshot`);
 *   3. only then send `rd.persistedMessages` (acks and votes promise durable state): as soon as
 *      the save completes, while step 4 may still be applying (a long apply hands the thread back
 *      to the event loop now and then while the save is in flight, so that an ack never waits
 *      for an apply; with a snapshot, after the snapshot is installed);
 *   4. apply `rd.committedEntries` in order (conf changes go to raft and then to the host). Raft
 *      hands out only entries that are committed AND were durable before this Ready, so applying
 *      them does not wait for step 2: it runs while the fsync is in flight (as etcd applies on its
 *      own goroutine while the WAL syncs). It starts only after the transport has written step
 *      1's messages, so a leader's new commit index reaches the followers while it applies. A
 *      Ready with a snapshot carries no committed entries; only after the snapshot is installed
 *      does the next Ready apply on top of it;
 *   5. hand `rd.readStates` to the host;
 *   6. `advance()`, and loop while there is more.
 *
 * Messages received and proposals made while a Ready is in flight are stepped into the node at
 * once (raft allows that between ready() and advance()); they come out in the next Ready.
 * A failed save is fatal for the member: the loop stops and reports it, and nothing is
 * acknowledged that is not durable. No timers here: the host calls tick().
 */

import type {
  ConfChange,
  ConfState,
  Entry,
  HardState,
  MemoryStorage,
  Message,
  RawNode,
  ReadState,
  Ready,
  Snapshot,
  SoftState,
} from '@tsetcd/raft';
import type { Transport } from '@tsetcd/transport';
import type { PersistBatch } from './raft-storage.js';

/** Where the loop makes a Ready durable: RaftStorage on disk, or nothing in in-memory mode. */
export interface DurableLog {
  /** Resolves once the batch is durable. */
  save(batch: PersistBatch): Promise<void>;
}

/** A DurableLog for the in-memory mode: nothing survives the process, by design. */
export const IN_MEMORY_LOG: DurableLog = { save: () => Promise.resolve() };

/** What the loop calls back into the host with. */
export interface RaftLoopHost {
  /** Applies committed normal entries, in log order; resolves once applied. */
  apply(entries: readonly Entry[]): void | Promise<void>;
  /**
   * A snapshot from the leader was made durable: replace the state machine with it. Runs BEFORE
   * the Ready's committed entries are applied (they follow the snapshot).
   */
  applySnapshot?(snapshot: Snapshot): Promise<void>;
  /** A committed membership change was applied to raft (update peers, members list). */
  onConfChange?(change: ConfChange, confState: ConfState, entry: Entry): void;
  /** ReadIndex answers: serve each read once the applied index reaches its index. */
  onReadStates?(states: readonly ReadState[]): void;
  /** Leader or role changed. */
  onSoftState?(state: SoftState): void;
  /** A Ready was made durable; `ms` is how long the save (one fsync on disk) took. */
  onSaved?(ms: number): void;
  /** Committed entries were applied; `ms` is how long that took. */
  onApplied?(ms: number, entries: number): void;
  /** The loop stopped because persisting or applying failed; the member must not go on. */
  onFatal?(err: unknown): void;
}

/** Counters the loop keeps, named like etcd's metrics. */
export interface RaftLoopStats {
  /** Readys handled. */
  readies: number;
  /** Durable saves (each one fsync on disk). */
  saves: number;
  /** Committed entries applied (normal and conf change). */
  applied: number;
}

/**
 * Entries applied between two looks at the event loop while a save is in flight: about a
 * millisecond of applying puts.
 */
const APPLY_SLICE_ENTRIES = 128;

/** Drives one RawNode against a durable log, a transport and the host's state machine. */
export class RaftLoop {
  readonly stats: RaftLoopStats = { readies: 0, saves: 0, applied: 0 };
  private running: Promise<void> | undefined;
  private again = false;
  private fatal: unknown;
  private stopped = false;
  /** The newest hard state not written yet (see step 2). */
  private unsavedHardState: HardState | undefined;

  constructor(
    readonly node: RawNode,
    private readonly storage: MemoryStorage,
    private readonly log: DurableLog,
    private readonly transport: Transport,
    private readonly host: RaftLoopHost,
  ) {}

  /** Steps a message from a peer and schedules processing. */
  step(m: Message): void {
    if (this.stopped) return;
    this.node.step(m);
    this.kick();
  }

  /** Advances raft's clock by one tick and schedules processing. */
  tick(): void {
    if (this.stopped) return;
    this.node.tick();
    this.kick();
  }

  /**
   * Schedules a processing pass after a local call on the node (propose, readIndex, …). Returns
   * a promise that resolves when every Ready available now has been handled.
   */
  kick(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.running !== undefined) {
      this.again = true;
      return this.running;
    }
    const run = this.process().finally(() => {
      this.running = undefined;
      // A kick that came after process() last looked at `again` would otherwise be lost.
      if (this.again && !this.stopped) void this.kick();
    });
    this.running = run;
    return run;
  }

  /**
   * Stops processing; a Ready in flight finishes first. With `flush` (the default), a hard state not written yet
   * (a commit index that moved on its own) is written, so a clean restart resumes from it.
   */
  async stop(flush = true): Promise<void> {
    this.stopped = true;
    await this.running;
    const hardState = this.unsavedHardState;
    this.unsavedHardState = undefined;
    if (flush && hardState !== undefined && this.fatal === undefined) {
      await this.log.save({ entries: [], sync: true, hardState });
    }
  }

  /** Whether a processing pass is under way (a save or an apply may be awaiting I/O). */
  get busy(): boolean {
    return this.running !== undefined;
  }

  /** The error that stopped the loop, if any. */
  get failure(): unknown {
    return this.fatal;
  }

  private async process(): Promise<void> {
    // Yield once, so a burst of steps and proposals is handled as one Ready.
    await Promise.resolve();
    do {
      this.again = false;
      while (!this.stopped && this.node.hasReady()) {
        try {
          await this.handle(this.node.ready());
        } catch (err) {
          this.stopped = true;
          this.fatal = err;
          this.host.onFatal?.(err);
          return;
        }
      }
    } while (this.again && !this.stopped);
  }

  /** Steps 1–6 of the doc block for one Ready (4 overlaps 2). */
  private async handle(rd: Ready): Promise<void> {
    this.stats.readies++;
    if (rd.softState !== undefined) this.host.onSoftState?.(rd.softState);
    // 1. Messages that promise nothing about our disk go out now.
    if (rd.messages.length > 0) this.transport.send(rd.messages);
    // 2. Durable first, then visible to raft's reads — started now, awaited after step 4.
    // A Ready that only moves the commit index is not written by itself: its hard state goes
    // with the next write (or at stop()). Nothing in it must survive a crash — the commit index
    // is learnt again from the leader, and the store skips entries it already holds — and every
    // write is a durable one (the WAL is O_DSYNC), which a lone client would pay twice per request.
    let saving: Promise<void> | undefined;
    let saved = false;
    const mustWrite =
      rd.snapshot !== undefined || rd.entries.length > 0 || (rd.hardState !== undefined && rd.mustSync);
    if (mustWrite) {
      const hardState = rd.hardState ?? this.unsavedHardState;
      this.unsavedHardState = undefined;
      const batch: PersistBatch = {
        entries: rd.entries,
        sync: rd.mustSync,
        ...(hardState !== undefined ? { hardState } : {}),
        ...(rd.snapshot !== undefined ? { snapshot: rd.snapshot } : {}),
      };
      const t0 = performance.now();
      saving = this.log.save(batch).then(() => {
        saved = true;
        this.host.onSaved?.(performance.now() - t0);
        this.stats.saves++;
        // A snapshot is installed below, after the apply, before its acknowledgement.
        if (rd.snapshot !== undefined) return;
        this.mirrorSaved(rd);
        // 3. Acks and votes as soon as what they promise is durable, even if the apply below is
        // still running: a follower's ack then does not wait for its apply (etcd applies on
        // another goroutine), nor a leader's commit for its own.
        this.sendPersisted(rd);
      });
    }
    // 4. Apply in order while the save is in flight; runs of normal entries go to the host
    // together. If applying fails, the save is still awaited (never left unobserved).
    if (rd.committedEntries.length > 0) {
      // The transport writes step 1's messages in a microtask (so that one Ready's sends share
      // frames); let it run before the apply holds the thread, so that a leader's appends and
      // commit index reach the followers while it applies, not after.
      if (rd.messages.length > 0) await Promise.resolve();
      const t0 = performance.now();
      try {
        await this.apply(rd.committedEntries, saving === undefined ? undefined : () => !saved);
      } catch (err) {
        await saving?.catch(() => undefined);
        throw err;
      }
      this.host.onApplied?.(performance.now() - t0, rd.committedEntries.length);
    }
    if (saving !== undefined) {
      await saving;
      if (rd.snapshot !== undefined) {
        this.storage.applySnapshot(rd.snapshot);
        this.mirrorSaved(rd);
        await this.host.applySnapshot?.(rd.snapshot);
        this.sendPersisted(rd);
      }
    } else {
      if (rd.hardState !== undefined) {
        this.unsavedHardState = rd.hardState;
        this.storage.setHardState(rd.hardState);
      }
      // 3. Nothing was written: acks and votes promise nothing new.
      this.sendPersisted(rd);
    }
    // 5. Reads.
    if (rd.readStates.length > 0) this.host.onReadStates?.(rd.readStates);
    // 6.
    this.node.advance();
  }

  /** After a save: the Ready's entries and hard state become visible to raft's reads. */
  private mirrorSaved(rd: Ready): void {
    this.storage.append(rd.entries);
    if (rd.hardState !== undefined) this.storage.setHardState(rd.hardState);
  }

  /** Step 3: the Ready's acks and votes, once what they promise is true. */
  private sendPersisted(rd: Ready): void {
    if (rd.persistedMessages.length > 0) this.transport.send(rd.persistedMessages);
  }

  /**
   * Applies entries in order. While `savePending` says the Ready's save is still in flight, it
   * hands the thread back to the event loop every APPLY_SLICE_ENTRIES entries, so that the save's
   * completion (and its acks) is handled during a long apply instead of after it.
   */
  private async apply(entries: readonly Entry[], savePending?: () => boolean): Promise<void> {
    let run: Entry[] = [];
    const flush = async () => {
      if (run.length === 0) return;
      const batch = run;
      run = [];
      await this.host.apply(batch);
    };
    for (const e of entries) {
      if (e.type === 'EntryNormal') {
        run.push(e);
        if (run.length >= APPLY_SLICE_ENTRIES && savePending?.() === true) {
          await flush();
          await new Promise<void>((resolve) => setImmediate(resolve));
        }
        continue;
      }
      await flush();
      const cs = this.node.applyConfChange(e.change);
      this.host.onConfChange?.(e.change, cs, e);
    }
    await flush();
    this.stats.applied += entries.length;
  }
}
