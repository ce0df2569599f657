/**
 * ReadBarrier: linearizable reads by raft's ReadIndex, batched as etcd's linearizableReadLoop
 * batches them. Every read that arrives while a ReadIndex round is in flight joins the NEXT round,
 * so one round (one heartbeat exchange on the leader) serves any number of reads:
 *
 *   1. a read calls wait(); if no round is open, one starts: a fresh 8-byte context goes to
 *      raft's readIndex (forwarded to the leader by raft on a follower);
 *   2. raft answers with a ReadState (context, index) once the leader has confirmed it is still
 *      the leader; the round's reads then wait until this member has applied up to that index;
 *   3. a round that is dropped (no leader) or unanswered for a while is re-sent with a new
 *      context on the next retry() — the host calls it every tick.
 *
 * A read keeps its deadline through all three steps, including the wait for the apply in step 2,
 * and failAll() (the node stopped) fails it wherever it is.
 */

import type { ReadState } from '@tsetcd/raft';
import { RequestCanceledError, RequestTimeoutError } from '../node-errors.js';

/** One read waiting for its round; settled exactly once. */
interface Waiter {
  /** Deadline on the host's clock (ms). */
  readonly at: number;
  done: boolean;
  readonly resolve: () => void;
  readonly reject: (err: Error) => void;
}

interface Round {
  readonly ctx: string;
  readonly waiters: Waiter[];
  sentAt: number;
}

/** What the barrier needs from the node. */
export interface ReadBarrierHost {
  /** Asks raft for a read index; throws if raft dropped the request (no leader). */
  readIndex(ctx: Uint8Array): void;
  /** Resolves once the applied index reaches `index`. */
  waitApplied(index: number): Promise<void>;
  /** Current tick count (the barrier re-sends a round unanswered for `resendTicks`). */
  ticks(): number;
  /** The host's clock, for deadlines (checked at every retry(), i.e. every tick). */
  now(): number;
  /**
   * Whether a read may be served now with no round at all: this member leads a single-voter
   * cluster and has applied everything committed (raft would answer its own ReadIndex at once).
   */
  readableNow?(): boolean;
}

/** Batches linearizable reads into ReadIndex rounds; see the file comment. */
export class ReadBarrier {
  /** Rounds started; a safe integer (2^53 rounds are beyond any member's life). */
  private counter = 0;
  private next: Waiter[] = [];
  private inflight: Round | undefined;
  /** Answered rounds whose reads wait for this member to apply up to the read index. */
  private readonly applying = new Set<Round>();

  constructor(
    private readonly host: ReadBarrierHost,
    private readonly resendTicks: number,
  ) {}

  /**
   * Resolves once a read started now may be served from the local store; rejects with
   * RequestTimeoutError once the clock passes `deadline` (checked each tick), or with
   * RequestCanceledError when `signal` aborts.
   */
  wait(deadline: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(new RequestCanceledError(signal.reason));
    if (this.host.readableNow?.() === true) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const w: Waiter = {
        at: deadline,
        done: false,
        resolve: () => {
          if (w.done) return;
          w.done = true;
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        reject: (err) => {
          if (w.done) return;
          w.done = true;
          signal?.removeEventListener('abort', onAbort);
          reject(err);
        },
      };
      const onAbort = () => w.reject(new RequestCanceledError(signal?.reason));
      signal?.addEventListener('abort', onAbort, { once: true });
      this.next.push(w);
      if (this.inflight === undefined) this.startRound();
    });
  }

  /** Feeds ReadStates from a Ready (step 2). */
  onReadStates(states: readonly ReadState[]): void {
    for (const s of states) {
      const round = this.inflight;
      if (round === undefined || toKey(s.requestCtx) !== round.ctx) continue;
      this.inflight = undefined;
      this.applying.add(round);
      this.host.waitApplied(s.index).then(
        () => {
          this.applying.delete(round);
          for (const w of round.waiters) w.resolve();
        },
        (err: unknown) => {
          this.applying.delete(round);
          for (const w of round.waiters) w.reject(err instanceof Error ? err : new Error(String(err)));
        },
      );
      if (this.next.length > 0) this.startRound();
    }
  }

  /** Re-sends a round that was dropped or went unanswered (step 3); fails reads past their deadline. */
  retry(): void {
    this.expire();
    const r = this.inflight;
    if (r === undefined) {
      if (this.next.length > 0) this.startRound();
      return;
    }
    if (this.host.ticks() - r.sentAt < this.resendTicks) return;
    // Fold the unanswered round into a new one; late answers to the old context are ignored.
    this.next = [...r.waiters, ...this.next];
    this.inflight = undefined;
    this.startRound();
  }

  /** Fails every waiting read (the node stopped). */
  failAll(err: Error): void {
    for (const w of this.next) w.reject(err);
    for (const w of this.inflight?.waiters ?? []) w.reject(err);
    for (const r of this.applying) for (const w of r.waiters) w.reject(err);
    this.next = [];
    this.inflight = undefined;
    this.applying.clear();
  }

  private expire(): void {
    const now = this.host.now();
    const sweep = (ws: Waiter[]) => {
      for (const w of ws) if (!w.done && now >= w.at) w.reject(new RequestTimeoutError());
    };
    sweep(this.next);
    if (this.inflight !== undefined) sweep(this.inflight.waiters);
    for (const r of this.applying) sweep(r.waiters);
    this.next = this.next.filter((w) => !w.done);
  }

  private startRound(): void {
    // The counter as a big-endian u64, byte by byte: a DataView over a small array's `.buffer`
    // moves its bytes off V8's heap.
    const ctxBytes = new Uint8Array(8);
    let rest = ++this.counter;
    for (let i = 7; i >= 0; i--) {
      ctxBytes[i] = rest % 256;
      rest = Math.floor(rest / 256);
    }
    const round: Round = { ctx: toKey(ctxBytes), waiters: this.next, sentAt: this.host.ticks() };
    this.next = [];
    this.inflight = round;
    try {
      this.host.readIndex(ctxBytes);
    } catch {
      round.sentAt = Number.NEGATIVE_INFINITY; // dropped: retry() re-sends at the next tick
    }
  }
}

function toKey(b: Uint8Array): string {
  let s = '';
  for (const x of b) s += x.toString(16).padStart(2, '0');
  return s;
}
