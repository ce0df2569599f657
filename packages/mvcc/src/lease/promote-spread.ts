/**
 * Spreading expiries after a promotion. A new leader extends every lease by the same amount, so
 * leases whose expiries were close together (or all of them, after a restart, when every lease
 * restarts from its full TTL) would expire in one burst and flood the log with revocations. etcd's
 * Promote therefore delays some of them when there are many; this is the same idea with a simple
 * rule that is easy to check. Pure.
 *
 * Rule: with expiries sorted ascending, raise each e[i] to at least e[i - perSecond] + 1 s.
 * Then no one-second window holds more than `perSecond` expiries, the order is unchanged (each
 * raised value is still <= every later one), and nothing moves when fewer than perSecond + 1
 * leases are close together. (etcd's own arithmetic differs in detail, not in intent.)
 */

const WINDOW_MS = 1000;

/** Returns `sortedExpiries` (ms, ascending) spread to at most `perSecond` per one-second window. */
export function spreadExpiries(sortedExpiries: readonly number[], perSecond: number): number[] {
  if (!Number.isSafeInteger(perSecond) || perSecond < 1) {
    throw new RangeError(`lease: perSecond must be a positive integer, got ${perSecond}`);
  }
  const out = sortedExpiries.slice();
  for (let i = perSecond; i < out.length; i++) {
    out[i] = Math.max(out[i]!, out[i - perSecond]! + WINDOW_MS);
  }
  return out;
}
