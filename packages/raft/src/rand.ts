/**
 * A small seedable PRNG (mulberry32) so election jitter is reproducible: the same seed gives the
 * same timeouts, which is what makes a failing simulation seed replay exactly. Pure.
 */

/** Returns an integer in [0, n). Injected into Raft as `Config.rand`. */
export type RandomSource = (n: number) => number;

/** A deterministic RandomSource seeded with a 32-bit integer. */
export function seededRandom(seed: number): RandomSource {
  let state = seed >>> 0;
  return (n: number) => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const u = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    return Math.floor(u * n);
  };
}
