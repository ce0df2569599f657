/**
 * The "application code" of this example: an order-number allocator, as a shop's order service
 * running several instances would use. Every instance embeds (or talks to) a tsetcd member and
 * asks for the next order number; numbers must never be handed out twice, whichever instance asks
 * and whatever the cluster goes through.
 *
 * How: read the counter key, then write counter+1 in a txn whose compare is "the counter's
 * mod revision is still the one I read" (optimistic concurrency, as etcd's STM does). The same
 * txn records which instance got the number under `<prefix>/by-number/<n>`, so an audit can
 * check every number handed out. A lost race or a retryable error (no leader, timeout during a
 * leader change) is retried until the call's deadline; a number is returned only once its txn
 * is acknowledged, i.e. committed on a quorum. A timed-out txn may still have been applied: the
 * retry then reads the new counter and allocates the number after it — a gap, never a duplicate.
 * Not here: gap-free numbering (that would need the outcome of timed-out txns).
 */

import { type CallOptions, type Client, CoreError } from '@tsetcd/core';

/** How long next() keeps trying by default, ms (on the member's clock). */
export const DEFAULT_ALLOCATE_DEADLINE_MS = 10_000;
/** Each attempt's request timeout, ms: short, so a leader change costs one retry, not the deadline. */
export const ATTEMPT_TIMEOUT_MS = 1_000;
/** Pause between attempts after a retryable error, ms. */
export const RETRY_MS = 50;

/** next() could not allocate a number before its deadline. */
export class AllocationTimeoutError extends Error {
  constructor(cause: unknown) {
    super('order numbers: no number allocated before the deadline', { cause });
    this.name = 'AllocationTimeoutError';
  }
}

const enc = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array) => new TextDecoder().decode(b);

/** Allocates unique, increasing order numbers; see the file comment. */
export class OrderNumbers {
  private readonly counterKey: string;

  constructor(
    private readonly client: Client,
    /** Who this instance is, recorded with each number it gets. */
    readonly instance: string,
    private readonly prefix = '/orders',
  ) {
    this.counterKey = `${prefix}/counter`;
  }

  /** The next order number; AllocationTimeoutError if none could be had within `deadlineMs`. */
  async next(opts: { readonly deadlineMs?: number } = {}): Promise<number> {
    const clock = this.client.clock;
    const limit = clock.now() + (opts.deadlineMs ?? DEFAULT_ALLOCATE_DEADLINE_MS);
    let lastError: unknown;
    while (clock.now() < limit) {
      const call: CallOptions = { timeoutMs: Math.max(1, Math.min(ATTEMPT_TIMEOUT_MS, limit - clock.now())) };
      try {
        const n = await this.tryNext(call);
        if (n !== undefined) return n;
        continue; // another instance took the number we read: read again at once
      } catch (err) {
        if (!(err instanceof CoreError && err.retryable)) throw err;
        lastError = err;
      }
      await new Promise<void>((r) => clock.setTimeout(r, RETRY_MS));
    }
    throw new AllocationTimeoutError(lastError);
  }

  /** Who got number `n` (the audit record), or undefined if nobody did. */
  async ownerOf(n: number): Promise<string | undefined> {
    const r = await this.client.kv.get(`${this.prefix}/by-number/${n}`);
    const kv = r.kvs[0];
    return kv === undefined ? undefined : text(kv.value);
  }

  /** The last number handed out (0 before the first). */
  async last(): Promise<number> {
    const kv = (await this.client.kv.get(this.counterKey)).kvs[0];
    return kv === undefined ? 0 : Number(text(kv.value));
  }

  /** One attempt: the number, or undefined if the counter moved since we read it. */
  private async tryNext(call: CallOptions): Promise<number | undefined> {
    const key = enc(this.counterKey);
    const kv = (await this.client.kv.get(key, call)).kvs[0];
    const n = (kv === undefined ? 0 : Number(text(kv.value))) + 1;
    const r = await this.client.kv.txn(
      {
        compare: [
          kv === undefined
            ? { target: 'CREATE', key, result: 'EQUAL', createRevision: 0 }
            : { target: 'MOD', key, result: 'EQUAL', modRevision: kv.modRevision },
        ],
        success: [
          { type: 'put', request: { key, value: enc(String(n)) } },
          { type: 'put', request: { key: enc(`${this.prefix}/by-number/${n}`), value: enc(this.instance) } },
        ],
        failure: [],
      },
      call,
    );
    return r.succeeded ? n : undefined;
  }
}
