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
 */

import type { ReadState } from '@tsetcd/raft';

interface Round {
  readonly ctx: string;
  readonly waiters: (() => void)[];
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
}

/** Batches linearizable reads into ReadIndex rounds; see the file comment. */
export class ReadBarrier {
  private counter = 0n;
  private next: (() => void)[] = [];
  private inflight: Round | undefined;

  constructor(
    private readonly host: ReadBarrierHost,
    private readonly resendTicks: number,
  ) {}

  /** Resolves once a read started now may be served from the local store. */
  wait(): Promise<void> {
    return new Promise((resolve) => {
      this.next.push(resolve);
      if (this.inflight === undefined) this.startRound();
    });
  }

  /** Feeds ReadStates from a Ready (step 2). */
  onReadStates(states: readonly ReadState[]): void {
    for (const s of states) {
      const round = this.inflight;
      if (round === undefined || toKey(s.requestCtx) !== round.ctx) continue;
      this.inflight = undefined;
      void this.host.waitApplied(s.index).then(
        () => {
          for (const w of round.waiters) w();
        },
        () => undefined, // the node stopped: the readers' own deadlines fail them
      );
      if (this.next.length > 0) this.startRound();
    }
  }

  /** Re-sends a round that was dropped or went unanswered (step 3). */
  retry(): void {
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

  private startRound(): void {
    const ctxBytes = new Uint8Array(8);
    new DataView(ctxBytes.buffer).setBigUint64(0, ++this.counter, false);
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
