/**
 * createTestCluster on the system clock under vitest's fake timers: the application's test
 * controls time with vi.advanceTimersByTimeAsync, and the cluster — elections, replication on
 * the in-memory network, lease expiry — moves with it.
 */

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { systemClock } from '../clock.js';
import { createTestCluster, type TestCluster } from './test-cluster.js';

let cluster: TestCluster | undefined;

beforeEach(() => {
  vi.useFakeTimers({
    toFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'clearImmediate', 'performance'],
  });
});

afterEach(async () => {
  const c = cluster;
  cluster = undefined;
  if (c !== undefined) {
    const closing = c.close();
    await vi.runAllTimersAsync().catch(() => undefined);
    await closing;
  }
  vi.useRealTimers();
});

/** Resolves `p` while advancing fake time in small steps. */
async function drive<T>(p: Promise<T>, maxMs = 10_000): Promise<T> {
  let done = false;
  let value: T | undefined;
  let error: unknown;
  p.then(
    (v) => {
      done = true;
      value = v;
    },
    (e) => {
      done = true;
      error = e;
    },
  );
  for (let t = 0; t < maxMs && !done; t += 10) await vi.advanceTimersByTimeAsync(10);
  if (!done) throw new Error(`not settled after ${maxMs} ms of fake time`);
  if (error !== undefined) throw error;
  return value as T;
}

describe('a test cluster under vitest fake timers', () => {
  it('elects a leader, replicates and expires leases as fake time advances', async () => {
    cluster = await createTestCluster({ nodes: 3, seed: 3, clock: systemClock });
    const leader = await drive(cluster.waitForLeader());
    const follower = cluster.running().find((m) => m !== leader)!;
    await drive(follower.kv.put('k', 'v'));
    const g = await drive(leader.kv.get('k'));
    expect(g.kvs).toHaveLength(1);

    const lease = await drive(leader.lease.grant(2));
    await drive(leader.kv.put('eph', 'v', { lease: lease.id }));
    await vi.advanceTimersByTimeAsync(4_000);
    expect((await drive(follower.kv.get('eph'))).kvs).toEqual([]);
  });
});
