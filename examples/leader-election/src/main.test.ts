/**
 * Runs the leader election demo (three candidate processes, the leader SIGKILLed, the next one
 * resigning) and checks the succession. Forks the compiled candidate script: run `tsc -b` first
 * (the root `pnpm test` does).
 */

import { expect, it } from 'vitest';
import { runDemo } from './demo.js';

it('hands leadership on after the leader is killed, one leader at a time', async () => {
  const result = await runDemo(() => undefined);
  expect(result.violations).toEqual([]);
  expect(result.ok).toBe(true);
  expect(result.succession.map((r) => r.end)).toEqual(['killed', 'resigned', 'leading']);
  expect(new Set(result.succession.map((r) => r.name)).size).toBe(3);
  const tokens = result.succession.map((r) => r.fencingToken);
  expect(tokens).toEqual([...tokens].sort((a, b) => a - b));
  // The killed leader's session lease had to expire first: at least 2/3 of its 2 s TTL.
  expect(result.takeoverMs).toBeGreaterThan(1_000);
}, 30_000);
