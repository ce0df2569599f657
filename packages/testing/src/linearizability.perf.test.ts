/**
 * The checker at size: 10,000 operations over 5 keys from 10 concurrent clients, from a simulated
 * correct store with random overlap and ambiguous operations, check in seconds; the same history
 * with one answer corrupted fails, with a small counterexample.
 */

import { describe, expect, it } from 'vitest';
import type { Operation } from './history.js';
import { checkLinearizability } from './linearizability.js';
import { simulateHistory } from './simulate.js';

/** The budget the issue sets: "finish in seconds". */
const BUDGET_MS = 10_000;

describe('a 10,000-operation history', () => {
  for (const seed of [1, 2, 3]) {
    it(`from a correct store (seed ${seed}) checks as linearizable in seconds`, () => {
      const h = simulateHistory({ operations: 10_000, clients: 10, keys: 5, seed, ambiguous: 0.02 });
      const r = checkLinearizability(h, { timeoutMs: BUDGET_MS });
      console.log(
        `seed ${seed}: ${r.operations} ops (${r.ambiguous} ambiguous), ${r.steps} steps, ${r.elapsedMs.toFixed(0)} ms -> ${r.result}`,
      );
      expect(r.result).toBe('ok');
    });
  }

  it('with one stale read planted (no ambiguous ops) fails fast with a small counterexample', () => {
    // Without ambiguous ops: proving a violation means exhausting the search, which ambiguous ops widen.
    const h = simulateHistory({ operations: 10_000, clients: 10, keys: 5, seed: 4, ambiguous: 0 });
    // Make a late get answer what an early one answered: an old revision, after newer writes completed.
    const gets = h.flatMap((op, i) => (op.input.type === 'get' && op.output !== undefined ? [i] : []));
    const early = h[gets[10]!]!;
    const lateIndex = gets[gets.length - 10]!;
    const late = h[lateIndex]!;
    const broken: Operation[] = [...h];
    broken[lateIndex] = { ...late, input: early.input, output: early.output };
    const r = checkLinearizability(broken, { timeoutMs: BUDGET_MS });
    console.log(`planted stale read: ${r.result} in ${r.elapsedMs.toFixed(0)} ms`);
    if (r.result !== 'illegal') throw new Error(`expected illegal, got ${r.result}`);
    console.log(r.counterexample.text);
    expect(r.counterexample.operations).toContain(broken[lateIndex]);
    expect(r.counterexample.operations.length).toBeLessThan(30);
  });
});
