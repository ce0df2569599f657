/**
 * How long this machine takes to read one cache line at a random place in a buffer of a given
 * size: a chain of dependent loads through a random cycle (each load's address is the previous
 * load's value, so neither the CPU nor the prefetcher can run ahead). Printed with every bench
 * run because the 100k-key rows wait on memory more than they compute: on a VM whose host is
 * busy, the same code has measured 30% slower within the hour, and this says whether it was the machine.
 */

import { Rng } from './fixtures.js';

/** Bytes of a cache line (the stride between the chain's slots). */
const LINE_BYTES = 64;
const SLOT_INTS = LINE_BYTES / 4;

/**
 * A chain of `lines` slots of `slotInts` ints, one slot per cache line, in which each slot's first
 * int is the index of the next slot's first int, and following them from 0 visits every slot once
 * (a single random cycle, seeded: the same on every run).
 */
export function randomChain(lines: number, slotInts = SLOT_INTS): Int32Array {
  const order = new Int32Array(lines);
  for (let i = 0; i < lines; i++) order[i] = i;
  const rng = new Rng();
  for (let i = lines - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = order[i]!;
    order[i] = order[j]!;
    order[j] = t;
  }
  // order[i] → order[i + 1] → … → order[lines - 1] → order[0].
  const chain = new Int32Array(lines * slotInts);
  for (let i = 0; i < lines; i++) chain[order[i]! * slotInts] = order[(i + 1) % lines]! * slotInts;
  return chain;
}

/** Nanoseconds per random read in a buffer of `bytes` (rounded down to whole lines), over `reads` reads. */
export function randomReadNs(bytes: number, reads = 1_000_000): number {
  const lines = Math.floor(bytes / LINE_BYTES);
  if (lines < 2)
    throw new RangeError(`bench: a latency probe needs at least two cache lines, got ${bytes} bytes`);
  const chain = randomChain(lines);
  let at = 0;
  for (let i = 0; i < lines; i++) at = chain[at]!; // warm: pages mapped, TLB and caches as steady
  const t0 = performance.now();
  for (let i = 0; i < reads; i++) at = chain[at]!;
  const ns = ((performance.now() - t0) * 1e6) / reads;
  // `at` is always a slot start; the check keeps the loop from being optimized away.
  if (at % SLOT_INTS !== 0) throw new Error('bench: latency probe lost its chain');
  return ns;
}
