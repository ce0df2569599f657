/**
 * Command line for the cluster simulator: run any number of seeds and print the failures, or
 * replay one seed with its whole trace.
 *
 *   pnpm --filter @tsetcd/raft sim -- --seeds 10000 --start 1 --steps 5000
 *   pnpm --filter @tsetcd/raft sim -- --seed 4242 --trace
 *
 * Exits 1 if any seed failed. Wall-clock time is measured here only, never inside a run.
 */

import { performance } from 'node:perf_hooks';
import { DEFAULT_STEPS, type HostMutant } from './sim/options.js';
import { runSeed } from './sim/run.js';
import { runSeeds } from './sim/seeds.js';
import { SimFailure } from './sim/violation.js';

const USAGE = `usage: sim [options]
  --seeds N      how many seeds to run (default 100)
  --start S      first seed (default 1)
  --steps K      chaotic-phase steps per seed (default ${DEFAULT_STEPS})
  --nodes 3|5    initial cluster size (default: odd seeds 3, even seeds 5)
  --seed S       run only seed S (same as --start S --seeds 1) and print its statistics
  --trace        with --seed: print the whole trace
  --tail N       trace lines in a failure report (default 30)
  --mutant M     run with a deliberately broken host: forget-vote | ack-before-persist
  --stop         stop at the first failure
  --quiet        print only failures and the summary`;

interface CliArgs {
  seeds: number;
  start: number;
  steps: number;
  nodes: number | undefined;
  single: number | undefined;
  trace: boolean;
  tail: number | undefined;
  mutant: HostMutant | undefined;
  stop: boolean;
  quiet: boolean;
}

function parseArgs(argv: readonly string[]): CliArgs {
  const a: CliArgs = {
    seeds: 100,
    start: 1,
    steps: DEFAULT_STEPS,
    nodes: undefined,
    single: undefined,
    trace: false,
    tail: undefined,
    mutant: undefined,
    stop: false,
    quiet: false,
  };
  const num = (flag: string, v: string | undefined): number => {
    const n = Number(v);
    if (v === undefined || !Number.isSafeInteger(n) || n < 0) fail(`${flag} needs a non-negative integer`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    switch (flag) {
      case '--':
        break;
      case '--seeds':
        a.seeds = num(flag, argv[++i]);
        break;
      case '--start':
        a.start = num(flag, argv[++i]);
        break;
      case '--steps':
        a.steps = num(flag, argv[++i]);
        break;
      case '--nodes':
        a.nodes = num(flag, argv[++i]);
        break;
      case '--seed':
        a.single = num(flag, argv[++i]);
        break;
      case '--tail':
        a.tail = num(flag, argv[++i]);
        break;
      case '--trace':
        a.trace = true;
        break;
      case '--stop':
        a.stop = true;
        break;
      case '--quiet':
        a.quiet = true;
        break;
      case '--mutant': {
        const m = argv[++i];
        if (m !== 'forget-vote' && m !== 'ack-before-persist')
          fail('--mutant is forget-vote or ack-before-persist');
        a.mutant = m;
        break;
      }
      case '--help':
      case '-h':
        console.log(USAGE);
        process.exit(0);
        break;
      default:
        fail(`unknown argument ${flag}`);
    }
  }
  return a;
}

function fail(msg: string): never {
  console.error(`sim: ${msg}\n${USAGE}`);
  process.exit(2);
}

function runOne(a: CliArgs, seed: number): number {
  try {
    const r = runSeed({
      seed,
      steps: a.steps,
      ...(a.nodes !== undefined ? { nodes: a.nodes } : {}),
      ...(a.mutant !== undefined ? { mutant: a.mutant } : {}),
      ...(a.tail !== undefined ? { tail: a.tail } : {}),
      ...(a.trace ? { sink: (line: string) => console.log(line), hashTrace: true } : {}),
    });
    console.log(
      `seed ${seed}: ok after ${r.totalSteps} steps${a.trace ? `, trace hash ${r.traceHash}` : ''}`,
    );
    console.log(
      `  ${Object.entries(r.stats)
        .map(([k, v]) => `${k}=${v}`)
        .join(' ')}`,
    );
    return 0;
  } catch (err) {
    if (!(err instanceof SimFailure)) throw err;
    console.log(err.message);
    return 1;
  }
}

function main(): number {
  const a = parseArgs(process.argv.slice(2));
  if (a.single !== undefined) return runOne(a, a.single);
  const t0 = performance.now();
  let done = 0;
  const report = runSeeds({
    start: a.start,
    count: a.seeds,
    steps: a.steps,
    stopOnFailure: a.stop,
    ...(a.nodes !== undefined ? { nodes: a.nodes } : {}),
    ...(a.mutant !== undefined ? { mutant: a.mutant } : {}),
    onSeed: (seed, outcome) => {
      done++;
      if (outcome instanceof SimFailure) {
        console.log(`\nFAIL ${outcome.message}\n`);
      } else if (!a.quiet && done % 100 === 0) {
        const secs = ((performance.now() - t0) / 1000).toFixed(1);
        console.log(`… ${done}/${a.seeds} seeds (last ${seed}), ${secs}s`);
      }
    },
  });
  const secs = ((performance.now() - t0) / 1000).toFixed(1);
  const totals = Object.entries(report.totals)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  console.log(
    `\n${done} seeds × ${a.steps} steps from seed ${a.start}: ${report.passed} passed, ` +
      `${report.failures.length} failed, ${secs}s`,
  );
  if (report.failures.length > 0) {
    const bySeed = report.failures.map((f) => `${f.seed} (${f.invariant})`).join(', ');
    console.log(`failing seeds: ${bySeed}`);
  }
  if (!a.quiet) console.log(`totals over passing seeds: ${totals}`);
  return report.failures.length > 0 ? 1 : 0;
}

process.exitCode = main();
