import { describe, expect, it } from 'vitest';
import { AppliedIndexWaits, type ApplyResult, ProposalWaits } from './wait.js';

describe('ProposalWaits', () => {
  it("settles a proposal only for its own member's ID: another proposer's equal counter wakes nobody", async () => {
    const waits = new ProposalWaits(0x00aa);
    const got: ApplyResult[] = [];
    void waits.register(41).then((r) => got.push(r));
    waits.trigger(0x00ab, 41, { ok: true, value: 'theirs' });
    await Promise.resolve();
    expect(got).toEqual([]);
    expect(waits.has(41)).toBe(true);
    waits.trigger(0x00aa, 41, { ok: true, value: 'ours' });
    await Promise.resolve();
    expect(got).toEqual([{ ok: true, value: 'ours' }]);
    expect(waits.size).toBe(0);
  });

  it('reports the proposals whose deadline has passed, with the leader changes each had seen', () => {
    const waits = new ProposalWaits(1);
    void waits.register(1, 100, 0);
    void waits.register(2, 300, 4);
    void waits.register(3, 200, 7);
    const expired: [number, number][] = [];
    waits.forEachExpired(200, (counter, seen) => {
      expired.push([counter, seen]);
      waits.settle(counter, { ok: false, error: 'timeout' });
    });
    expect(expired).toEqual([
      [1, 0],
      [3, 7],
    ]);
    expect([waits.size, waits.seenChangesOf(2), waits.seenChangesOf(1)]).toEqual([1, 4, undefined]);
  });

  it('refuses a counter registered twice, and fails every waiter when the node stops', async () => {
    const waits = new ProposalWaits(1);
    const a = waits.register(1);
    expect(() => waits.register(1)).toThrow(/duplicate/);
    const b = waits.register(2);
    waits.failAll('stopped');
    expect(await Promise.all([a, b])).toEqual([
      { ok: false, error: 'stopped' },
      { ok: false, error: 'stopped' },
    ]);
  });
});

describe('AppliedIndexWaits', () => {
  it('resolves the waiters whose index was reached, in one advance, and keeps the rest', async () => {
    const waits = new AppliedIndexWaits();
    const done: number[] = [];
    for (const i of [3, 5, 9]) void waits.wait(i).then(() => done.push(i));
    waits.advance(5);
    await new Promise((r) => setImmediate(r));
    expect(done).toEqual([3, 5]);
    waits.advance(9);
    await new Promise((r) => setImmediate(r));
    expect(done).toEqual([3, 5, 9]);
  });
});
