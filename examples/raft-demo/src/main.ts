/**
 * Entry point of `pnpm start`: runs the Raft demo (demo.ts) and prints its story. Exits non-zero
 * if the demo fails its own final consistency check or throws.
 */

import { runDemo } from './demo.js';

const result = runDemo({ log: (line) => console.log(line) });
if (!result.consistent) process.exitCode = 1;
