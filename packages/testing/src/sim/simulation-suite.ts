/**
 * The CI budget of whole-node simulations, split over several test files so vitest runs them in
 * parallel: each file runs a range of seeds and fails with every violation of every seed (each
 * replays exactly with `pnpm soak --from <seed> --runs 1 --nodes <n>`).
 */

import { expect, it } from 'vitest';
import { runSimulation, type SimulationReport } from './run.js';
import { addRun, emptySummary, formatSummary } from './soak.js';

/** Registers one test running seeds `from` … `from + runs - 1` on `nodes` members. */
export function simulationSuite(opts: {
  readonly from: number;
  readonly runs: number;
  readonly nodes: number;
}): void {
  it(`${opts.runs} seeded runs of ${opts.nodes} members × 1,000 operations under faults: no violation`, async () => {
    const summary = emptySummary();
    const failed: SimulationReport[] = [];
    for (let seed = opts.from; seed < opts.from + opts.runs; seed++) {
      const r = await runSimulation({ seed, nodes: opts.nodes, operations: 1_000 });
      addRun(summary, r);
      if (r.violations.length > 0) failed.push(r);
    }
    console.log(
      `simulation seeds ${opts.from}–${opts.from + opts.runs - 1}, ${opts.nodes} members\n${formatSummary(summary)}`,
    );
    const detail = failed.map(
      (r) => `seed ${r.seed} (${opts.nodes} members):\n  ${r.violations.join('\n  ')}`,
    );
    expect(detail).toEqual([]);
    expect(summary.operations).toBeGreaterThanOrEqual(opts.runs * 1_000);
  }, 900_000);
}
