/**
 * `pnpm soak`: runs whole-node simulations seed after seed until a run count or a time limit, and
 * prints runs, operations, faults injected by kind and violations found. A failing seed is printed
 * with its violations and replays exactly with `--from <seed> --runs 1`.
 *
 *   node packages/testing/dist/sim/soak.js [--runs N] [--minutes M] [--from SEED] [--nodes 3|5]
 *                                          [--ops N] [--json] [--trace]
 * Exit status 1 if any run found a violation.
 */

import { parseArgs } from 'node:util';
import { FAULT_KINDS, type FaultCounts } from './faults.js';
import { runSimulation, type SimulationReport } from './run.js';

/** Totals over many runs. */
export interface SoakSummary {
  runs: number;
  failedRuns: number[];
  operations: number;
  historyOps: number;
  ambiguous: number;
  watchEvents: number;
  crashes: number;
  tornTails: number;
  snapshotInstalls: number;
  violations: number;
  faults: FaultCounts;
}

/** Adds one run to the totals. */
export function addRun(s: SoakSummary, r: SimulationReport): void {
  s.runs++;
  s.operations += r.operations;
  s.historyOps += r.historyOps;
  s.ambiguous += r.ambiguous;
  s.watchEvents += r.watchEvents;
  s.crashes += r.crashes;
  s.tornTails += r.tornTails;
  s.snapshotInstalls += r.snapshotInstalls;
  s.violations += r.violations.length;
  if (r.violations.length > 0) s.failedRuns.push(r.seed);
  for (const k of FAULT_KINDS) s.faults[k] += r.faults[k];
}

/** Empty totals. */
export function emptySummary(): SoakSummary {
  return {
    runs: 0,
    failedRuns: [],
    operations: 0,
    historyOps: 0,
    ambiguous: 0,
    watchEvents: 0,
    crashes: 0,
    tornTails: 0,
    snapshotInstalls: 0,
    violations: 0,
    faults: Object.fromEntries(FAULT_KINDS.map((k) => [k, 0])) as FaultCounts,
  };
}

/** The summary as text. */
export function formatSummary(s: SoakSummary): string {
  const faults = FAULT_KINDS.map((k) => `${k} ${s.faults[k]}`).join(', ');
  const total = FAULT_KINDS.reduce((n, k) => n + s.faults[k], 0);
  return [
    `runs: ${s.runs}, operations: ${s.operations} (${s.historyOps} recorded, ${s.ambiguous} ambiguous), watch events checked: ${s.watchEvents}`,
    `faults injected: ${total} (${faults}); member crashes: ${s.crashes}, torn WAL tails: ${s.tornTails}, snapshots installed: ${s.snapshotInstalls}`,
    `violations: ${s.violations}${s.failedRuns.length > 0 ? ` in seeds ${s.failedRuns.join(', ')}` : ''}`,
  ].join('\n');
}

async function main(): Promise<void> {
  // `pnpm soak -- --runs 5` hands the `--` through.
  const argv = process.argv.slice(2);
  const { values } = parseArgs({
    args: argv[0] === '--' ? argv.slice(1) : argv,
    options: {
      runs: { type: 'string' },
      minutes: { type: 'string' },
      from: { type: 'string', default: '1' },
      nodes: { type: 'string', default: '3' },
      ops: { type: 'string', default: '1000' },
      json: { type: 'boolean', default: false },
      trace: { type: 'boolean', default: false },
    },
  });
  const runs = values.runs === undefined ? Number.POSITIVE_INFINITY : Number(values.runs);
  const minutes =
    values.minutes === undefined ? (values.runs === undefined ? 10 : Infinity) : Number(values.minutes);
  const until = performance.now() + minutes * 60_000;
  const summary = emptySummary();
  // A rejection nobody handled would end a member's process: a finding, reported with its seed.
  const unhandled: string[] = [];
  process.on('unhandledRejection', (err) =>
    unhandled.push(`unhandled rejection: ${(err as Error)?.stack ?? err}`),
  );
  for (let seed = Number(values.from); summary.runs < runs && performance.now() < until; seed++) {
    const run = await runSimulation({
      seed,
      nodes: Number(values.nodes),
      operations: Number(values.ops),
      ...(values.trace ? { trace: (line: string) => console.log(`  ${line}`) } : {}),
    });
    const r = { ...run, violations: [...run.violations, ...unhandled.splice(0)] };
    addRun(summary, r);
    if (values.json) console.log(JSON.stringify(r));
    else {
      console.log(
        `seed ${seed}: ${r.operations} ops, ${r.ambiguous} ambiguous, ${r.crashes} crashes, revision ${r.finalRevision}, ${r.linearizable}, ${r.violations.length} violation(s)`,
      );
    }
    if (r.violations.length > 0) {
      console.log(`seed ${seed}: ${r.violations.length} violation(s):`);
      for (const v of r.violations) console.log(`  ${v.replaceAll('\n', '\n  ')}`);
    }
  }
  console.log(formatSummary(summary));
  process.exitCode = summary.violations > 0 ? 1 : 0;
}

if (process.argv[1] !== undefined && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  // A bad flag is a one-line message and exit status 2, not a stack trace; other errors stay loud.
  await main().catch((e: unknown) => {
    if ((e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS_') !== true) throw e;
    console.error(`soak: ${(e as Error).message}`);
    process.exitCode = 2;
  });
}
