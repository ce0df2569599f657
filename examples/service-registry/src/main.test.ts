/**
 * Runs the service registry demo in-process and checks what the gateway saw: three instances
 * arriving, then only the dead one leaving, once its lease expired.
 */

import { expect, it } from 'vitest';
import { runDemo } from './demo.js';

it('drops a dead instance from the gateway view when its lease expires', async () => {
  const result = await runDemo(() => undefined);
  expect(result.added).toEqual(['api-1', 'api-2', 'api-3']);
  expect(result.removed).toEqual(['api-3']);
  expect(result.final).toEqual(['api-1', 'api-2']);
  expect(result.ok).toBe(true);
}, 30_000);
