#!/usr/bin/env node
/**
 * Soak run of the crash test (src/crash-history.integration.test.ts): runs it again and again
 * with a new seed each time until the time limit, printing each run's one-line summary, and stops
 * at the first failure (its seed, the checker's counterexample and where the history was kept).
 *
 *   node packages/server/scripts/crash-soak.mjs [--minutes=30] [--cycles=20] [--seed=N]
 *
 * --seed is the first seed (then +1 per run); default random. Needs `npx tsc -b` first. Does not
 * build anything or run more than one cluster at a time.
 */

import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const arg = (name, fallback) => {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a === undefined ? fallback : Number(a.slice(name.length + 3));
};
const minutes = arg('minutes', 30);
const cycles = arg('cycles', 20);
let seed = arg('seed', Math.floor(Math.random() * 2 ** 31));
const root = fileURLToPath(new URL('../../..', import.meta.url));
const end = Date.now() + minutes * 60_000;

let runs = 0;
while (Date.now() < end) {
  const r = spawnSync('npx', ['vitest', 'run', 'packages/server/src/crash-history.integration.test.ts'], {
    cwd: root,
    env: { ...process.env, SEED: String(seed), CRASH_CYCLES: String(cycles) },
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  runs++;
  const out = `${r.stdout}${r.stderr}`;
  const summary = out.split('\n').find((l) => l.includes('crash-history: seed='));
  console.log(`run ${runs}: ${summary?.replace(/^.*crash-history: /, '') ?? `seed=${seed} (no summary)`}`);
  if (r.status !== 0) {
    console.log(out);
    console.log(`FAILED: replay with SEED=${seed} CRASH_CYCLES=${cycles}`);
    process.exit(1);
  }
  seed++;
}
console.log(`${runs} runs passed`);
