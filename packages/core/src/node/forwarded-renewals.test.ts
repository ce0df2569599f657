import type { ReadState } from '@tsetcd/raft';
import { describe, expect, it } from 'vitest';
import { NodeStoppedError } from '../node-errors.js';
import {
  encodeRenewalAnswer,
  encodeRenewalRequest,
  ForwardedRenewals,
  parseRenewalContext,
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
  const answer = (ctx: Uint8Array, outcome: number): ReadState =>
    ({ index: 7, requestCtx: encodeRenewalAnswer(ctx, outcome) }) as ReadState;
  return { renewals, sent, tick, answer };
}

describe('renewal contexts', () => {
  it('carry the nonce and lease ID there, and the outcome back; a read context is not one', () => {
    const req = encodeRenewalRequest(42n, (1n << 62n) + 5n);
    expect(parseRenewalContext(req)).toEqual({ nonce: 42n, id: (1n << 62n) + 5n });
    expect(parseRenewalContext(encodeRenewalAnswer(req, 30))).toEqual({
      nonce: 42n,
      id: (1n << 62n) + 5n,
      outcome: 30,
    });
    expect(parseRenewalContext(new Uint8Array(8))).toBeUndefined();
    const other = new Uint8Array(req);
    other[0] = 0;
    expect(parseRenewalContext(other)).toBeUndefined();
  });
});

describe('ForwardedRenewals', () => {
  it('answers each keep-alive from its context and hands reads on, in order', async () => {
    const h = harness();
    const a = h.renewals.renew(1n, 1_000);
    const b = h.renewals.renew(2n, 1_000);
    const gone = h.renewals.renew(3n, 1_000);
    const read = { index: 5, requestCtx: new Uint8Array(8) } as ReadState;
    const rest = h.renewals.takeAnswers([h.answer(h.sent[0]!, 10), read, h.answer(h.sent[2]!, 0)]);
    expect(rest).toEqual([read]);
    expect(await a).toBe(10);
    expect(await gone).toBe(0); // the caller says LeaseNotFound
    // A duplicate answer is dropped; a leader that is no longer the primary sends b to the proposal path.
    h.renewals.takeAnswers([h.answer(h.sent[0]!, 10), h.answer(h.sent[1]!, RENEWAL_NOT_PRIMARY)]);
    expect(await b).toBeUndefined();
  });

  it('re-sends an unanswered renewal, then gives up at its deadline; no leader gives up at once', async () => {
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
    expect(await harness({ dropped: true }).renewals.renew(1n, 1_000)).toBeUndefined();
  });

  it('fails waiting renewals when the node stops', async () => {
    const h = harness();
    const p = h.renewals.renew(1n, 1_000);
    h.renewals.failAll(new NodeStoppedError());
    await expect(p).rejects.toBeInstanceOf(NodeStoppedError);
  });
});
