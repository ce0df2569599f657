/**
 * A leader frozen past the election timeout, whose clock leapt while it was frozen, wakes up
 * behind a new leader that has been acknowledging a lease's keep-alives. It must not revoke that
 * lease on its own stale view of time (found by the whole-node simulator: the wakened member still
 * took itself for the lease primary, and its revoke, forwarded to the new leader, was committed).
 */

import { describe, expect, it } from 'vitest';
import { createTestCluster } from './test-cluster.js';

describe('a deposed leader waking with its clock ahead', () => {
  for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
    it(`does not revoke a lease the new leader keeps alive (seed ${seed})`, async () => {
      await using cluster = await createTestCluster({ nodes: 3, seed, disk: 'simulated' });
      const old = await cluster.waitForLeader();
      const oi = cluster.indexOf(old);
      const client = cluster.node((oi + 1) % 3);
      const lease = await client.lease.grant(3);
      await client.kv.put('held', 'x', { lease: lease.id });
      // Freeze the leader; while frozen its clock leaps past the lease's TTL.
      cluster.pause(oi, 1_500);
      cluster.memberClock(oi).jump(2_500 + seed * 100);
      await cluster.waitForLeader({ exclude: old });
      // Keep the lease alive through the new leader before, during and after the wake-up.
      for (let t = 0; t < 8; t++) {
        await client.lease.keepAliveOnce(lease.id);
        await cluster.sleep(500);
        expect((await client.kv.get('held')).kvs.length, `at step ${t}`).toBe(1);
      }
    });
  }
});
