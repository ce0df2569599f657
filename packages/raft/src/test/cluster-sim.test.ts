/**
 * The deterministic cluster simulator, run over a fixed range of seeds in CI (3-node clusters on
 * odd seeds, 5-node on even ones; see test/sim/). Each seed is a whole run: faults, traffic and
 * membership changes, then heal-and-settle, with every invariant checked as it goes. A failure
 * names its seed; `pnpm --filter @tsetcd/raft sim -- --seed N --trace` replays it exactly.
 * More seeds: `pnpm --filter @tsetcd/raft sim -- --seeds 10000`.
 */

import { describe, expect, it } from 'vitest';
import { DEFAULT_STEPS, type HostMutant } from './sim/options.js';
import { runSeed } from './sim/run.js';
import { runSeeds } from './sim/seeds.js';
import { SimFailure } from './sim/violation.js';

/** Seeds CI runs, split into chunks so the output shows progress and no test nears its timeout. */
const CI_FIRST_SEED = 1;
const CI_SEEDS = 1000;
const CI_CHUNK = 100;
/** Chaotic-phase steps per seed (the settle phase comes on top); sim-cli's default too. */
const CI_STEPS = DEFAULT_STEPS;
/** How many seeds a mutant may take to be caught (they are caught within a few today). */
const MUTANT_SEEDS = 100;

const totals: Record<string, number> = {};

function failureReport(failures: readonly SimFailure[]): string {
  const seeds = failures.map((f) => `${f.seed} (${f.invariant})`).join(', ');
  return `${failures.length} seed(s) failed: ${seeds}\n\nfirst failure:\n${failures[0]!.message}`;
}

describe('cluster simulator', () => {
  it('replays a seed exactly: the same seed gives the same trace, line for line', () => {
    const a = runSeed({ seed: 7, steps: 1500, hashTrace: true });
    const b = runSeed({ seed: 7, steps: 1500, hashTrace: true });
    const c = runSeed({ seed: 8, steps: 1500, hashTrace: true });
    expect(b.traceHash).toBe(a.traceHash);
    expect(c.traceHash).not.toBe(a.traceHash);
  });

  for (let start = CI_FIRST_SEED; start < CI_FIRST_SEED + CI_SEEDS; start += CI_CHUNK) {
    const count = Math.min(CI_CHUNK, CI_FIRST_SEED + CI_SEEDS - start);
    it(`seeds ${start}–${start + count - 1} × ${CI_STEPS} steps keep every invariant`, () => {
      const report = runSeeds({ start, count, steps: CI_STEPS });
      for (const [k, v] of Object.entries(report.totals)) totals[k] = (totals[k] ?? 0) + v;
      if (report.failures.length > 0) throw new Error(failureReport(report.failures));
    });
  }

  it('the CI seeds exercise what the simulator claims to test', () => {
    // Guards against a harness change that silently stops injecting some fault. Sums come from
    // the seed tests above, so there is nothing to check when a filter skipped them.
    if (Object.keys(totals).length === 0) return;
    for (const k of [
      'leaderTerms',
      'committed',
      'acknowledged',
      'crashes',
      'partitions',
      'snapshotsInstalled',
      'confChanges',
      'decommissioned',
      'transfers',
      'reads',
      'lost',
    ]) {
      expect(totals[k] ?? 0, k).toBeGreaterThan(0);
    }
  });
});

describe('cluster simulator catches broken hosts (its checks are not vacuous)', () => {
  // The first seed (up to a bound) whose run fails in a way `accept`s.
  function firstCaught(mutant: HostMutant, accept: (f: SimFailure) => boolean): SimFailure | undefined {
    for (let seed = 1; seed <= MUTANT_SEEDS; seed++) {
      try {
        runSeed({ seed, steps: CI_STEPS, mutant });
      } catch (err) {
        if (!(err instanceof SimFailure)) throw err;
        if (accept(err)) return err;
      }
    }
    return undefined;
  }

  it('catches a host that does not persist its vote (one vote per term, election safety)', () => {
    const f = firstCaught(
      'forget-vote',
      (f) => f.invariant === 'one vote per term' || f.invariant === 'election safety',
    );
    expect(f, 'no seed caught the forget-vote mutant').toBeDefined();
    // The report names the seed first, and running that seed again fails identically.
    expect(f!.message.startsWith(`seed ${f!.seed}: ${f!.invariant}`)).toBe(true);
    expect(() => runSeed({ seed: f!.seed, steps: CI_STEPS, mutant: 'forget-vote' })).toThrow(f!.message);
  });

  it('catches a host that acknowledges entries before persisting them', () => {
    // Caught by the invariants (state machine safety, …) or by Raft's own check that a commit
    // index never passes the end of the log ("was the raft log … lost?").
    const f = firstCaught(
      'ack-before-persist',
      (f) => f.invariant !== 'exception' || f.detail.includes('out of range [lastIndex'),
    );
    expect(f, 'no seed caught the ack-before-persist mutant').toBeDefined();
  });
});
