import type { ReadState } from '@tsetcd/raft';
import { describe, expect, it } from 'vitest';
import { NodeStoppedError, RequestTimeoutError } from '../node-errors.js';
import { ReadBarrier, type ReadBarrierHost } from './read-barrier.js';
import { AppliedIndexWaits } from './wait.js';

/** A host whose raft answers nothing by itself: the test feeds ReadStates and applies. */
function harness(opts: { readableNow?: () => boolean } = {}) {
  const applied = new AppliedIndexWaits();
  const contexts: Uint8Array[] = [];
  let ticks = 0;
  let now = 0;
  const host: ReadBarrierHost = {
    readIndex: (ctx) => void contexts.push(ctx),
    waitApplied: (index) => applied.wait(index),
    ticks: () => ticks,
    now: () => now,
    ...(opts.readableNow !== undefined ? { readableNow: opts.readableNow } : {}),
  };
  const barrier = new ReadBarrier(host, 5);
  const answer = (index: number): void => {
    const ctx = contexts[contexts.length - 1]!;
    barrier.onReadStates([{ index, requestCtx: ctx } as ReadState]);
  };
  const tick = (ms: number): void => {
    ticks++;
    now += ms;
    barrier.retry();
  };
  return { barrier, applied, contexts, answer, tick };
}

/** How a promise has settled so far (after the microtasks queued now have run). */
async function state(p: Promise<void>): Promise<'pending' | 'resolved' | Error> {
  let s: 'pending' | 'resolved' | Error = 'pending';
  p.then(
    () => {
      s = 'resolved';
    },
    (e: Error) => {
      s = e;
    },
  );
  for (let i = 0; i < 5; i++) await Promise.resolve();
  return s;
}

describe('ReadBarrier', () => {
  it('serves a read once the member has applied up to the read index', async () => {
    const h = harness();
    const read = h.barrier.wait(1_000);
    h.answer(7);
    expect(await state(read)).toBe('pending');
    h.applied.advance(7);
    expect(await state(read)).toBe('resolved');
  });

  it('batches reads that arrive while a round is in flight into one next round', async () => {
    const h = harness();
    const first = h.barrier.wait(1_000);
    const second = h.barrier.wait(1_000);
    const third = h.barrier.wait(1_000);
    expect(h.contexts).toHaveLength(1);
    h.answer(3);
    expect(h.contexts).toHaveLength(2); // second and third share the next round
    h.answer(4);
    h.applied.advance(4);
    expect([await state(first), await state(second), await state(third)]).toEqual([
      'resolved',
      'resolved',
      'resolved',
    ]);
  });

  it('keeps a read’s deadline while it waits for the apply after its round was answered', async () => {
    const h = harness();
    const read = h.barrier.wait(100);
    h.answer(9); // answered, but this member never applies index 9
    h.tick(50);
    expect(await state(read)).toBe('pending');
    h.tick(60);
    expect(await state(read)).toBeInstanceOf(RequestTimeoutError);
  });

  it('fails a read waiting for the apply when the node stops', async () => {
    // Found by the whole-node simulation (seed 99): a member crashed while installing a snapshot,
    // with two linearizable reads answered and waiting for it to apply; they never settled.
    const h = harness();
    const read = h.barrier.wait(Number.POSITIVE_INFINITY);
    h.answer(9);
    const stopped = new NodeStoppedError();
    h.barrier.failAll(stopped);
    expect(await state(read)).toBe(stopped);
  });

  it('fails a read waiting for the apply when the applied-index waits are failed', async () => {
    const h = harness();
    const read = h.barrier.wait(Number.POSITIVE_INFINITY);
    h.answer(9);
    const stopped = new NodeStoppedError();
    h.applied.failAll(stopped);
    expect(await state(read)).toBe(stopped);
  });

  it('re-sends a round left unanswered for resendTicks, and ignores a late answer to the old one', async () => {
    const h = harness();
    const read = h.barrier.wait(10_000);
    const oldCtx = h.contexts[0]!;
    for (let i = 0; i < 5; i++) h.tick(10);
    expect(h.contexts).toHaveLength(2);
    h.barrier.onReadStates([{ index: 2, requestCtx: oldCtx } as ReadState]);
    h.applied.advance(2);
    expect(await state(read)).toBe('pending');
    h.answer(2);
    expect(await state(read)).toBe('resolved');
  });

  it('serves a read with no round while the host says it is readable now (a single-voter leader)', async () => {
    let readable = true;
    const h = harness({ readableNow: () => readable });
    expect(await state(h.barrier.wait(1_000))).toBe('resolved');
    expect(h.contexts).toHaveLength(0);
    readable = false; // say, a voter was added: a round again
    const read = h.barrier.wait(1_000);
    expect(h.contexts).toHaveLength(1);
    expect(await state(read)).toBe('pending');
    h.answer(0);
    expect(await state(read)).toBe('resolved');
  });
});
