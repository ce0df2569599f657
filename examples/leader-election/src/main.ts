/**
 * Entry point of `pnpm --filter @tsetcd/example-leader-election start`: runs the demo (demo.ts) and
 * prints its story. Exits non-zero if the succession broke a promise of the election or the demo failed.
 */

import { runDemo } from './demo.js';

const DEADLINE_MS = 30_000;

const timer = setTimeout(() => {
  console.error(`✗ the demo did not finish within ${DEADLINE_MS / 1000} s`);
  process.exit(2);
}, DEADLINE_MS);
timer.unref();
try {
  const result = await runDemo((line) => console.log(line));
  if (!result.ok) process.exitCode = 1;
} catch (err) {
  console.error('✗', err);
  process.exitCode = 1;
}
