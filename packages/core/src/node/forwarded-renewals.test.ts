import type { ReadState } from '@tsetcd/raft';
import { describe, expect, it } from 'vitest';
import { NodeStoppedError } from '../node-errors.js';
import {
  encodeRenewalAnswer,
  encodeRenewalRequest,
  ForwardedRenewals,
  parseRenewalContext,
  RENEWAL_NOT_FOUND,
  RENEWAL_NOT_PRIMARY,
} from './forwarded-renewals.js';

function harness(opts: { dropped?: boolean } = {}) {
  const sent: Uint8Array[] = [];
  let ticks = 0;
  let now = 0;
  const renewals = new ForwardedRenewals(
    {
      readIndex: (ctx) => {
        if (opts.dropped) throw new Error('no leader');
        sent.push(ctx);
      },
      ticks: () => ticks,
      now: () => now,
    },
    3,
  );
  const tick = (ms: number) => {
    ticks++;
    now += ms;
    renewals.retry();
  };
  /** The ReadState that answers the k-th request sent with `outcomes`. */
  const answer = (k: number, outcomes: number[]): ReadState => {
    const req = parseRenewalContext(h(k))!;
    return { index: 7, requestCtx: encodeRenewalAnswer(req, outcomes) } as ReadState;
  };
  const h = (k: number) => sent[k]!;
  const ids = (k: number) => parseRenewalContext(h(k))!.ids;
  return { renewals, sent, tick, answer, ids };
}

describe('renewal contexts', () => {
  it('carry the nonce and lease IDs there, and one outcome per lease back; a read context is not one', () => {
    const big = (1n << 62n) + 5n;
    const req = encodeRenewalRequest(42n, [big, 7n]);
    expect(parseRenewalContext(req)).toEqual({ nonce: 42n, ids: [big, 7n] });
    const parsed = parseRenewalContext(req)!;
    expect(parseRenewalContext(encodeRenewalAnswer(parsed, [30, 0]))).toEqual({
      nonce: 42n,
      ids: [big, 7n],
      outcomes: [30, 0],
    });
    expect(() => encodeRenewalAnswer(parsed, [30])).toThrow(RangeError);
    expect(parseRenewalContext(new Uint8Array(8))).toBeUndefined();
    expect(parseRenewalContext(req.subarray(0, req.length - 1))).toBeUndefined();
    const other = new Uint8Array(req);
    other[0] = 0;
    expect(parseRenewalContext(other)).toBeUndefined();
  });
});

describe('ForwardedRenewals', () => {
  it('sends a lone keep-alive at once and those arriving meanwhile as one request when it is answered', async () => {
    const h = harness();
    const first = h.renewals.renew(1n, 1_000);
    expect(h.sent).toHaveLength(1);
    const a = h.renewals.renew(2n, 1_000);
    const a2 = h.renewals.renew(2n, 1_000);
    const gone = h.renewals.renew(3n, 1_000);
    const moved = h.renewals.renew(4n, 1_000);
    expect(h.sent).toHaveLength(1); // collected while the first is in flight
    const read = { index: 5, requestCtx: new Uint8Array(8) } as ReadState;
    expect(h.renewals.takeAnswers([read, h.answer(0, [10])])).toEqual([read]);
    expect(await first).toBe(10);
    expect(h.ids(1)).toEqual([2n, 3n, 4n]); // one ID per lease
    h.renewals.takeAnswers([h.answer(1, [20, RENEWAL_NOT_FOUND, RENEWAL_NOT_PRIMARY])]);
    expect(await a).toBe(20);
    expect(await a2).toBe(20);
    expect(await gone).toBe(0); // the caller says LeaseNotFound
    expect(await moved).toBeUndefined(); // proposed instead
    // A duplicate answer finds no request.
    expect(h.renewals.takeAnswers([h.answer(1, [20, 0, 0])])).toEqual([]);
  });

  it('re-sends an unanswered request, then gives up at the deadline; no leader gives up at once', async () => {
    const h = harness();
    const p = h.renewals.renew(1n, 1_000);
    h.tick(100);
    h.tick(100);
    expect(h.sent).toHaveLength(1);
    h.tick(100); // 3 ticks: re-sent with the same context
    expect(h.sent).toHaveLength(2);
    expect(h.sent[1]).toEqual(h.sent[0]);
    for (let i = 0; i < 7; i++) h.tick(100);
    expect(await p).toBeUndefined();
    const later = h.renewals.renew(5n, 5_000); // the next request goes out
    expect(h.ids(h.sent.length - 1)).toEqual([5n]);
    h.renewals.failAll(new NodeStoppedError());
    await expect(later).rejects.toBeInstanceOf(NodeStoppedError);
    expect(await harness({ dropped: true }).renewals.renew(1n, 1_000)).toBeUndefined();
  });
});
