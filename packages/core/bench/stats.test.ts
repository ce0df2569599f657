import { describe, expect, it } from 'vitest';
import { medianRun } from './stats.js';

const run = (opsPerSec: number, p50Ms = 1) => ({ opsPerSec, p50Ms });

describe('medianRun', () => {
  it('picks the run with the median ops/s and carries the spread of all runs', () => {
    const m = medianRun([run(45_000, 3), run(27_000, 9), run(50_000, 2), run(44_000, 4), run(48_000, 2.5)]);
    expect(m).toEqual({ opsPerSec: 45_000, p50Ms: 3, runs: 5, minOpsPerSec: 27_000, maxOpsPerSec: 50_000 });
  });

  it('takes the upper middle run of an even count', () => {
    expect(medianRun([run(10), run(40), run(20), run(30)]).opsPerSec).toBe(30);
  });

  it('returns a single run unchanged, without a spread', () => {
    expect(medianRun([run(7, 5)])).toEqual(run(7, 5));
  });

  it('refuses no runs at all', () => {
    expect(() => medianRun([])).toThrow(/no runs/);
  });
});
