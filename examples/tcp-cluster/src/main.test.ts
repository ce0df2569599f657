/**
 * Runs the TCP cluster demo (three member processes, the leader SIGKILLed) and checks its outcome:
 * a new leader among the survivors, writes acknowledged after the kill, and none missing.
 * Forks the compiled member script: run `tsc -b` first (the root `pnpm test` does).
 */

import { expect, it } from 'vitest';
import { runDemo } from './demo.js';

it('keeps every acknowledged write across a SIGKILL of the leader', async () => {
  const lines: string[] = [];
  const result = await runDemo((line) => lines.push(line));
  expect(result.missing).toEqual([]);
  expect(result.ok).toBe(true);
  expect(result.newLeader).not.toBe(result.killed);
  expect(result.ackedAfter).toBeGreaterThanOrEqual(20);
  expect(lines.some((l) => l.startsWith('✓ all'))).toBe(true);
}, 30_000);
