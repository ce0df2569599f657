import { type LeaseId, LeaseNotFoundError } from '@tsetcd/mvcc';
import { describe, expect, it } from 'vitest';
import { RequestCanceledError } from '../node-errors.js';
import type { CallOptions } from './deadline.js';
import { RenewalBatcher } from './renewal-batcher.js';

/** A batcher whose proposals are recorded and answered by the test. */
function harness() {
  const proposals: {
    ids: readonly LeaseId[];
    opts: CallOptions;
    answer: (ttls: number[] | Error) => void;
  }[] = [];
  const batcher = new RenewalBatcher(
    (ids, opts) =>
      new Promise((resolve, reject) => {
        proposals.push({ ids, opts, answer: (a) => (a instanceof Error ? reject(a) : resolve(a)) });
      }),
  );
  return { batcher, proposals };
}

const settle = async () => {
  for (let i = 0; i < 5; i++) await Promise.resolve();
};

describe('RenewalBatcher', () => {
  it('proposes a lone keep-alive at once, and those arriving meanwhile as one batch when it settles', async () => {
    const h = harness();
    const first = h.batcher.renew(7n);
    expect(h.proposals.map((p) => p.ids)).toEqual([[7n]]); // nothing in flight: at once
    const a1 = h.batcher.renew(1n, { timeoutMs: 3_000 });
    const a2 = h.batcher.renew(1n);
    const b = h.batcher.renew(2n, { timeoutMs: 1_000 });
    const gone = h.batcher.renew(9n);
    expect(h.proposals).toHaveLength(1); // collected while the first is in flight
    h.proposals[0]!.answer([5]);
    expect(await first).toBe(5);
    await settle();
    expect(h.proposals.map((p) => p.ids)).toEqual([[7n], [1n, 2n, 9n]]); // one ID per lease
    expect(h.proposals[1]!.opts).toEqual({ timeoutMs: 1_000 }); // the earliest deadline
    h.proposals[1]!.answer([10, 20, 0]);
    expect(await a1).toBe(10);
    expect(await a2).toBe(10);
    expect(await b).toBe(20);
    await expect(gone).rejects.toBeInstanceOf(LeaseNotFoundError);
    // A failed batch fails its callers, and the next one still goes out.
    const c = h.batcher.renew(2n);
    const d = h.batcher.renew(3n);
    h.proposals[2]!.answer(new Error('leader lost'));
    await expect(c).rejects.toThrow('leader lost');
    await settle();
    h.proposals[3]!.answer([4]);
    expect(await d).toBe(4);
  });

  it('cancels only the caller whose signal aborts', async () => {
    const h = harness();
    const ac = new AbortController();
    const mine = h.batcher.renew(1n, { signal: ac.signal });
    const other = h.batcher.renew(2n);
    ac.abort();
    await expect(mine).rejects.toBeInstanceOf(RequestCanceledError);
    h.proposals[0]!.answer([5]);
    await settle();
    h.proposals[1]!.answer([6]);
    expect(await other).toBe(6);
  });
});
