import { type LeaseId, LeaseNotFoundError } from '@tsetcd/mvcc';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../clock.js';
import { RequestCanceledError } from '../node-errors.js';
import type { CallOptions } from './deadline.js';
import { RenewalBatcher } from './renewal-batcher.js';

/** A batcher whose proposals are recorded and answered by the test. */
function harness() {
  const clock = new ManualClock();
  const proposals: {
    ids: readonly LeaseId[];
    opts: CallOptions;
    answer: (ttls: number[] | Error) => void;
  }[] = [];
  const batcher = new RenewalBatcher(
    clock,
    (ids, opts) =>
      new Promise((resolve, reject) => {
        proposals.push({ ids, opts, answer: (a) => (a instanceof Error ? reject(a) : resolve(a)) });
      }),
  );
  return { clock, batcher, proposals };
}

describe('RenewalBatcher', () => {
  it('proposes the keep-alives of one turn as one batch, one ID per lease, and answers each caller', async () => {
    const h = harness();
    const a1 = h.batcher.renew(1n, { timeoutMs: 3_000 });
    const a2 = h.batcher.renew(1n);
    const b = h.batcher.renew(2n, { timeoutMs: 1_000 });
    const gone = h.batcher.renew(9n);
    expect(h.proposals).toHaveLength(0); // collected until the clock's next turn
    h.clock.advance(0);
    expect(h.proposals.map((p) => p.ids)).toEqual([[1n, 2n, 9n]]);
    expect(h.proposals[0]!.opts).toEqual({ timeoutMs: 1_000 }); // the earliest deadline
    h.proposals[0]!.answer([10, 20, 0]);
    expect(await a1).toBe(10);
    expect(await a2).toBe(10);
    expect(await b).toBe(20);
    await expect(gone).rejects.toBeInstanceOf(LeaseNotFoundError);
    // The next keep-alive starts a new batch.
    const c = h.batcher.renew(2n);
    h.clock.advance(0);
    expect(h.proposals.map((p) => p.ids)).toEqual([[1n, 2n, 9n], [2n]]);
    h.proposals[1]!.answer(new Error('leader lost'));
    await expect(c).rejects.toThrow('leader lost');
  });

  it('cancels only the caller whose signal aborts', async () => {
    const h = harness();
    const ac = new AbortController();
    const mine = h.batcher.renew(1n, { signal: ac.signal });
    const other = h.batcher.renew(2n);
    ac.abort();
    await expect(mine).rejects.toBeInstanceOf(RequestCanceledError);
    h.clock.advance(0);
    h.proposals[0]!.answer([5, 6]);
    expect(await other).toBe(6);
  });
});
