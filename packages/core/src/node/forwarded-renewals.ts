/**
 * Keep-alives a follower forwards to the leader, as etcd's followers forward LeaseKeepAlive to
 * theirs — over raft's own ReadIndex messages, so no log entry, no fsync and no new message type.
 *
 *   1. The follower asks raft for a read index with a renewal context (RENEWAL_MAGIC, a nonce,
 *      the lease ID). Raft forwards it to the leader as MsgReadIndex.
 *   2. The leader's raft confirms it still leads with a heartbeat round that starts after it got
 *      the request — after the client's keep-alive reached the follower — and answers with
 *      MsgReadIndexResp carrying the context back. The context is opaque to raft.
 *   3. On its way out (RenewalAnsweringTransport), the leader's host waits until it has applied
 *      up to the read index (so a revocation committed earlier is applied first), renews the lease
 *      in its primary lessor exactly as for a keep-alive it serves itself (TsetcdNode.renewAsLeader
 *      explains why that is safe), and appends the outcome to the context: the TTL, 0 for an
 *      unknown or expired lease, -1 if it no longer is the lease primary.
 *   4. The follower's raft hands the context back as a ReadState; ForwardedRenewals answers the
 *      waiting keep-alive with it. -1, no answer (a leader that does not append one), no leader,
 *      or no answer before the deadline: the caller proposes the renewal instead (RenewalBatcher).
 *
 * A lost message is re-sent every `resendTicks` ticks with the same context; a duplicate answer
 * finds no waiter and is dropped. Pure bookkeeping: raft and the clock come from the host.
 */

import type { LeaseId } from '@tsetcd/mvcc';
import type { ReadState } from '@tsetcd/raft';
import { RequestCanceledError } from '../node-errors.js';

/** First bytes of a renewal context: "LR" and a format version. Read contexts are 8 bytes. */
const RENEWAL_MAGIC = [0x4c, 0x52, 0x01] as const;
/** Bytes of a renewal request context: magic, nonce (u64), lease ID (u64). */
const REQUEST_BYTES = RENEWAL_MAGIC.length + 16;
/** Bytes of an answered one: the request, then the outcome (i32). */
const ANSWER_BYTES = REQUEST_BYTES + 4;

/** What the leader appends: renewed with this TTL (> 0), or one of these. */
export const RENEWAL_NOT_FOUND = 0;
export const RENEWAL_NOT_PRIMARY = -1;

/** A renewal context's fields, and the leader's outcome once it answered. */
export interface RenewalContext {
  readonly nonce: bigint;
  readonly id: LeaseId;
  readonly outcome?: number;
}

/** The context a follower sends for renewing `id`. */
export function encodeRenewalRequest(nonce: bigint, id: LeaseId): Uint8Array {
  const b = new Uint8Array(REQUEST_BYTES);
  b.set(RENEWAL_MAGIC);
  const v = new DataView(b.buffer);
  v.setBigUint64(RENEWAL_MAGIC.length, nonce);
  v.setBigInt64(RENEWAL_MAGIC.length + 8, id);
  return b;
}

/** `request` with the leader's outcome appended. */
export function encodeRenewalAnswer(request: Uint8Array, outcome: number): Uint8Array {
  const b = new Uint8Array(ANSWER_BYTES);
  b.set(request.subarray(0, REQUEST_BYTES));
  new DataView(b.buffer).setInt32(REQUEST_BYTES, outcome);
  return b;
}

/** The renewal a context carries, or undefined if it is not one (a read's context, say). */
export function parseRenewalContext(ctx: Uint8Array): RenewalContext | undefined {
  if (ctx.length !== REQUEST_BYTES && ctx.length !== ANSWER_BYTES) return undefined;
  for (let i = 0; i < RENEWAL_MAGIC.length; i++) if (ctx[i] !== RENEWAL_MAGIC[i]) return undefined;
  const v = new DataView(ctx.buffer, ctx.byteOffset, ctx.byteLength);
  const nonce = v.getBigUint64(RENEWAL_MAGIC.length);
  const id = v.getBigInt64(RENEWAL_MAGIC.length + 8);
  if (ctx.length === REQUEST_BYTES) return { nonce, id };
  return { nonce, id, outcome: v.getInt32(REQUEST_BYTES) };
}

/** What ForwardedRenewals needs from the node. */
export interface ForwardedRenewalsHost {
  /** Asks raft for a read index with `ctx`; throws if raft dropped it (no leader). */
  readIndex(ctx: Uint8Array): void;
  /** Current tick count. */
  ticks(): number;
  /** The host's clock (ms), for deadlines. */
  now(): number;
}

interface Waiter {
  readonly ctx: Uint8Array;
  readonly at: number;
  sentAt: number;
  readonly settle: (ttl: number | undefined, err?: Error) => void;
}

/** The follower's side: keep-alives waiting for the leader's answer; see the file comment. */
export class ForwardedRenewals {
  private nonce = 0n;
  private readonly waiting = new Map<bigint, Waiter>();

  constructor(
    private readonly host: ForwardedRenewalsHost,
    private readonly resendTicks: number,
  ) {}

  /**
   * Renews `id` through the leader: its TTL, or undefined if the caller should propose the
   * renewal instead (no leader, not answered by `deadline`, or the leader is not the primary).
   * LeaseNotFoundError-worthy outcomes come back as 0.
   */
  renew(id: LeaseId, deadline: number, signal?: AbortSignal): Promise<number | undefined> {
    if (signal?.aborted) return Promise.reject(new RequestCanceledError(signal.reason));
    const nonce = ++this.nonce;
    const ctx = encodeRenewalRequest(nonce, id);
    try {
      this.host.readIndex(ctx);
    } catch {
      return Promise.resolve(undefined);
    }
    return new Promise((resolve, reject) => {
      const onAbort = () => w.settle(undefined, new RequestCanceledError(signal?.reason));
      const w: Waiter = {
        ctx,
        at: deadline,
        sentAt: this.host.ticks(),
        settle: (ttl, err) => {
          if (!this.waiting.delete(nonce)) return;
          signal?.removeEventListener('abort', onAbort);
          if (err !== undefined) reject(err);
          else resolve(ttl);
        },
      };
      this.waiting.set(nonce, w);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /**
   * Takes the answers to renewals out of a Ready's ReadStates; returns the others (reads).
   * A renewal context that comes back without an outcome (a leader that does not answer
   * renewals) sends its caller to the proposal path.
   */
  takeAnswers(states: readonly ReadState[]): readonly ReadState[] {
    let rest: ReadState[] | undefined;
    for (let i = 0; i < states.length; i++) {
      const s = states[i]!;
      const r = parseRenewalContext(s.requestCtx);
      if (r === undefined) {
        rest?.push(s);
        continue;
      }
      rest ??= states.slice(0, i);
      const w = this.waiting.get(r.nonce);
      if (w === undefined) continue; // a duplicate, or past its deadline
      w.settle(r.outcome === undefined || r.outcome === RENEWAL_NOT_PRIMARY ? undefined : r.outcome);
    }
    return rest ?? states;
  }

  /** Every tick: re-sends unanswered renewals, sends those past their deadline to the proposal path. */
  retry(): void {
    const now = this.host.now();
    const ticks = this.host.ticks();
    for (const w of [...this.waiting.values()]) {
      if (now >= w.at) {
        w.settle(undefined);
        continue;
      }
      if (ticks - w.sentAt < this.resendTicks) continue;
      w.sentAt = ticks;
      try {
        this.host.readIndex(w.ctx);
      } catch {
        w.settle(undefined); // no leader now: propose instead (it waits for one)
      }
    }
  }

  /** Fails every waiting renewal (the node stopped). */
  failAll(err: Error): void {
    for (const w of [...this.waiting.values()]) w.settle(undefined, err);
  }
}
