/**
 * Runs the distributed lock demo in-process and checks its outcome: an exact counter, no two
 * holders at once, growing fencing tokens, and the stale holder refused twice.
 */

import { expect, it } from 'vitest';
import { FencedStorage, runDemo } from './demo.js';

it('serialises the holders and fences off a holder whose session was lost', async () => {
  const result = await runDemo(() => undefined);
  expect(result.counter).toBe(6);
  expect(result.overlaps).toBe(0);
  expect(result.tokens).toEqual([...result.tokens].sort((a, b) => a - b));
  expect(result.freshToken).toBeGreaterThan(result.staleToken);
  expect(result.staleTxnRefused).toBe(true);
  expect(result.staleStorageRefused).toBe(true);
  expect(result.ok).toBe(true);
}, 30_000);

it('FencedStorage refuses only tokens older than the newest it has seen', () => {
  const s = new FencedStorage();
  expect(s.write(5, 'a')).toBe(true);
  expect(s.write(5, 'b')).toBe(true);
  expect(s.write(4, 'c')).toBe(false);
  expect(s.write(9, 'd')).toBe(true);
  expect(s.value).toBe('d');
});
