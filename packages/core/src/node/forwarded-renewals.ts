/**
 * Keep-alives a follower forwards to the leader, as etcd's followers forward LeaseKeepAlive to
 * theirs — over raft's own ReadIndex messages, so no log entry, no fsync and no new message type.
 *
 *   1. The follower asks raft for a read index with a renewal context: RENEWAL_MAGIC, a nonce and
 *      the IDs of the leases to renew. Raft forwards it to the leader as MsgReadIndex.
 *   2. The leader's raft confirms it still leads — with a heartbeat round that starts after it
 *      got the request, or, where it and the forwarding follower are a quorum (three members),
 *      by the request itself, which the follower sent after the clients' keep-alives reached it
 *      (raft's forwarderAcksReadIndex) — and answers with MsgReadIndexResp carrying the context
 *      back. The context is opaque to raft.
 *   3. On its way out (RenewalAnsweringTransport), the leader's host waits until it has applied
 *      up to the read index (so a revocation committed earlier is applied first), renews each lease
 *      in its primary lessor exactly as for a keep-alive it serves itself (TsetcdNode.renewAsLeader
 *      explains why that is safe), and sends the context back as an answer: per lease the TTL,
 *      RENEWAL_NOT_FOUND (unknown or expired), or RENEWAL_NOT_PRIMARY (it no longer decides expiry).
 *   4. The follower's raft hands the context back as a ReadState; ForwardedRenewals answers the
 *      waiting keep-alives with it. Not the primary, a context that comes back unanswered (a
 *      leader that does not answer renewals), no leader, or no answer before the deadline: the
 *      caller proposes the renewal instead (RenewalBatcher).
 *
 * As a group commit, one request is in flight at a time: keep-alives that arrive meanwhile go in
 * the next one, sent when it is answered — one confirmation on the leader for any number of
 * keep-alives. An unanswered request is re-sent every `resendTicks` ticks with the same context;
 * a duplicate answer finds no request and is dropped. Pure bookkeeping: raft and the clock come
 * from the host.
 */

import type { LeaseId } from '@tsetcd/mvcc';
import type { ReadState } from '@tsetcd/raft';
import { RequestCanceledError } from '../node-errors.js';

/** First bytes of a renewal context: "LR" and a format version. Read contexts are 8 bytes. */
const RENEWAL_MAGIC = [0x4c, 0x52, 0x02] as const;
const KIND_REQUEST = 0;
const KIND_ANSWER = 1;
/** Bytes before the IDs: magic, kind (u8), nonce (u64), count (u32). */
const HEADER_BYTES = RENEWAL_MAGIC.length + 1 + 8 + 4;

/** A lease the leader did not find, or found expired (the caller's LeaseNotFoundError). */
export const RENEWAL_NOT_FOUND = 0;
/** The leader no longer decides expiry: the caller proposes its renewal instead. */
export const RENEWAL_NOT_PRIMARY = -1;

/** A renewal context's fields; `outcomes` (one per ID) once the leader answered. */
export interface RenewalContext {
  readonly nonce: bigint;
  readonly ids: readonly LeaseId[];
  readonly outcomes?: readonly number[];
}

function encode(
  kind: number,
  nonce: bigint,
  ids: readonly LeaseId[],
  outcomes?: readonly number[],
): Uint8Array {
  const b = new Uint8Array(HEADER_BYTES + ids.length * (outcomes === undefined ? 8 : 12));
  b.set(RENEWAL_MAGIC);
  const v = new DataView(b.buffer);
  const m = RENEWAL_MAGIC.length;
  v.setUint8(m, kind);
  v.setBigUint64(m + 1, nonce);
  v.setUint32(m + 9, ids.length);
  let at = HEADER_BYTES;
  for (const id of ids) {
    v.setBigInt64(at, id);
    at += 8;
  }
  for (const o of outcomes ?? []) {
    v.setInt32(at, o);
    at += 4;
  }
  return b;
}

/** The context a follower sends for renewing `ids`. */
export function encodeRenewalRequest(nonce: bigint, ids: readonly LeaseId[]): Uint8Array {
  return encode(KIND_REQUEST, nonce, ids);
}

/** The leader's answer to `request`: one outcome per ID, in order. */
export function encodeRenewalAnswer(request: RenewalContext, outcomes: readonly number[]): Uint8Array {
  if (outcomes.length !== request.ids.length) throw new RangeError('renewal answer: one outcome per lease');
  return encode(KIND_ANSWER, request.nonce, request.ids, outcomes);
}

/** The renewal a context carries, or undefined if it is not one (a read's context, say). */
export function parseRenewalContext(ctx: Uint8Array): RenewalContext | undefined {
  if (ctx.length < HEADER_BYTES) return undefined;
  for (let i = 0; i < RENEWAL_MAGIC.length; i++) if (ctx[i] !== RENEWAL_MAGIC[i]) return undefined;
  const v = new DataView(ctx.buffer, ctx.byteOffset, ctx.byteLength);
  const kind = v.getUint8(RENEWAL_MAGIC.length);
  const nonce = v.getBigUint64(RENEWAL_MAGIC.length + 1);
  const n = v.getUint32(RENEWAL_MAGIC.length + 9);
  const per = kind === KIND_REQUEST ? 8 : kind === KIND_ANSWER ? 12 : 0;
  if (per === 0 || ctx.length !== HEADER_BYTES + n * per) return undefined;
  const ids: LeaseId[] = [];
  for (let i = 0; i < n; i++) ids.push(v.getBigInt64(HEADER_BYTES + i * 8));
  if (kind === KIND_REQUEST) return { nonce, ids };
  const outcomes: number[] = [];
  for (let i = 0; i < n; i++) outcomes.push(v.getInt32(HEADER_BYTES + n * 8 + i * 4));
  return { nonce, ids, outcomes };
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

/** One keep-alive waiting for the leader's answer; settled exactly once. */
interface Waiter {
  readonly id: LeaseId;
  readonly at: number;
  /** The TTL (0: not found), undefined to propose instead, or an error. */
  readonly settle: (ttl: number | undefined, err?: Error) => void;
  done: boolean;
}

/** The request in flight. */
interface Sent {
  readonly nonce: bigint;
  readonly ctx: Uint8Array;
  readonly waiters: Waiter[];
  sentAt: number;
}

/** The follower's side: keep-alives waiting for the leader's answer; see the file comment. */
export class ForwardedRenewals {
  private nonce = 0n;
  private next: Waiter[] = [];
  private inflight: Sent | undefined;

  constructor(
    private readonly host: ForwardedRenewalsHost,
    private readonly resendTicks: number,
  ) {}

  /**
   * Renews `id` through the leader: its TTL, 0 if the leader has no such lease, or undefined if
   * the caller should propose the renewal instead (no leader, not answered by `deadline`, or the
   * leader is not the lease primary).
   */
  renew(id: LeaseId, deadline: number, signal?: AbortSignal): Promise<number | undefined> {
    if (signal?.aborted) return Promise.reject(new RequestCanceledError(signal.reason));
    return new Promise((resolve, reject) => {
      const onAbort = () => w.settle(undefined, new RequestCanceledError(signal?.reason));
      const w: Waiter = {
        id,
        at: deadline,
        done: false,
        settle: (ttl, err) => {
          if (w.done) return;
          w.done = true;
          signal?.removeEventListener('abort', onAbort);
          if (err !== undefined) reject(err);
          else resolve(ttl);
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.next.push(w);
      if (this.inflight === undefined) this.send();
    });
  }

  /** Takes the answers to renewals out of a Ready's ReadStates; returns the others (reads). */
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
      const sent = this.inflight;
      if (sent === undefined || sent.nonce !== r.nonce) continue; // a duplicate, or given up on
      this.inflight = undefined;
      const outcomeOf = new Map<LeaseId, number>(
        r.ids.map((id, k) => [id, r.outcomes?.[k] ?? RENEWAL_NOT_PRIMARY]),
      );
      for (const w of sent.waiters) {
        const o = outcomeOf.get(w.id) ?? RENEWAL_NOT_PRIMARY;
        w.settle(o === RENEWAL_NOT_PRIMARY ? undefined : o);
      }
      this.send();
    }
    return rest ?? states;
  }

  /**
   * Every tick: keep-alives past their deadline go to the proposal path; an unanswered request is
   * re-sent (or, with no leader now, its keep-alives go to the proposal path, which waits for one).
   */
  retry(): void {
    const now = this.host.now();
    for (const w of this.next) if (now >= w.at) w.settle(undefined);
    this.next = this.next.filter((w) => !w.done);
    const sent = this.inflight;
    if (sent === undefined) {
      if (this.next.length > 0) this.send();
      return;
    }
    for (const w of sent.waiters) if (now >= w.at) w.settle(undefined);
    if (sent.waiters.every((w) => w.done)) {
      this.inflight = undefined;
      if (this.next.length > 0) this.send();
      return;
    }
    if (this.host.ticks() - sent.sentAt < this.resendTicks) return;
    sent.sentAt = this.host.ticks();
    this.ask(sent);
  }

  /** Fails every waiting keep-alive (the node stopped). */
  failAll(err: Error): void {
    for (const w of [...this.next, ...(this.inflight?.waiters ?? [])]) w.settle(undefined, err);
    this.next = [];
    this.inflight = undefined;
  }

  /** Sends the keep-alives collected so far as one request. */
  private send(): void {
    const waiters = this.next.filter((w) => !w.done);
    this.next = [];
    if (waiters.length === 0) return;
    const nonce = ++this.nonce;
    const ids = [...new Set(waiters.map((w) => w.id))];
    const sent: Sent = { nonce, ctx: encodeRenewalRequest(nonce, ids), waiters, sentAt: this.host.ticks() };
    this.inflight = sent;
    this.ask(sent);
  }

  private ask(sent: Sent): void {
    try {
      this.host.readIndex(sent.ctx);
    } catch {
      // No leader: these keep-alives are proposed instead (the proposer waits for a leader).
      if (this.inflight === sent) this.inflight = undefined;
      for (const w of sent.waiters) w.settle(undefined);
    }
  }
}
