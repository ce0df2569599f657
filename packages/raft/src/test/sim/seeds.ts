/**
 * Runs a range of seeds and gathers failures and statistics: shared by the CI test and sim-cli.
 */

import type { HostMutant } from './options.js';
import { type RunResult, type RunStats, runSeed } from './run.js';
import { SimFailure } from './violation.js';

/** A range of seeds to run. */
export interface SeedRange {
  readonly start: number;
  readonly count: number;
  readonly steps: number;
  readonly nodes?: number;
  readonly mutant?: HostMutant;
  /** Stop at the first failure. */
  readonly stopOnFailure?: boolean;
  /** Called after each seed. */
  readonly onSeed?: (seed: number, outcome: RunResult | SimFailure) => void;
}

/** The outcome of a range of seeds. */
export interface SeedReport {
  readonly failures: SimFailure[];
  readonly passed: number;
  /** Sums of every passing run's statistics. */
  readonly totals: Record<keyof RunStats, number>;
  readonly totalSteps: number;
}

/** Runs every seed in the range; never throws for a failing seed. */
export function runSeeds(r: SeedRange): SeedReport {
  const failures: SimFailure[] = [];
  const totals: Record<string, number> = {};
  let passed = 0;
  let totalSteps = 0;
  for (let seed = r.start; seed < r.start + r.count; seed++) {
    let outcome: RunResult | SimFailure;
    try {
      outcome = runSeed({
        seed,
        steps: r.steps,
        ...(r.nodes !== undefined ? { nodes: r.nodes } : {}),
        ...(r.mutant !== undefined ? { mutant: r.mutant } : {}),
      });
      passed++;
      totalSteps += outcome.totalSteps;
      for (const [k, v] of Object.entries(outcome.stats)) totals[k] = (totals[k] ?? 0) + v;
    } catch (err) {
      if (!(err instanceof SimFailure)) throw err;
      outcome = err;
      failures.push(err);
    }
    r.onSeed?.(seed, outcome);
    if (outcome instanceof SimFailure && r.stopOnFailure === true) break;
  }
  return { failures, passed, totals: totals as Record<keyof RunStats, number>, totalSteps };
}
