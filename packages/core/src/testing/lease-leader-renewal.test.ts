/**
 * Keep-alives on the leader, as etcd serves them: the leader's lessor renews the lease once a
 * ReadIndex round confirms it still leads — no log entry per keep-alive — and it checkpoints the
 * renewed leases so followers answer time-to-live. A lease renewed only on a leader that is then
 * cut off lives on under the new leader, which restarts every lease from its full TTL.
 */

import { describe, expect, it, vi } from 'vitest';
import { LEASE_CHECKPOINT_MS } from '../node/lease-checkpoints.js';
import { createTestCluster } from './test-cluster.js';

describe('keep-alives served by the leader', () => {
  it('renew without a log entry each; one checkpoint tells the followers', async () => {
    await using cluster = await createTestCluster({ nodes: 3, seed: 21 });
    const leader = await cluster.waitForLeader();
    const follower = cluster.running().find((m) => m !== leader)!;
    const lease = await leader.lease.grant(10);
    // A follower's keep-alive is replicated: the follower knows when the lease now expires.
    await follower.lease.keepAliveOnce(lease.id);
    await cluster.sleep(6_000);
    expect((await follower.lease.timeToLive(lease.id)).ttl).toBeLessThanOrEqual(4);

    const before = leader.parts.applier.appliedRequests;
    for (let i = 0; i < 20; i++) expect((await leader.lease.keepAliveOnce(lease.id)).ttl).toBe(10);
    expect(leader.parts.applier.appliedRequests - before).toBeLessThanOrEqual(1);
    expect((await leader.lease.timeToLive(lease.id)).ttl).toBeGreaterThanOrEqual(9);

    await cluster.sleep(LEASE_CHECKPOINT_MS + 200);
    expect(leader.parts.applier.appliedRequests - before).toBe(1); // the checkpoint
    const seen = await follower.lease.timeToLive(lease.id);
    expect(seen.ttl).toBeGreaterThanOrEqual(8);
    expect(seen.ttl).toBeLessThanOrEqual(10);
  });

  it('keeps a lease alive past its TTL, and across the loss of the leader that renewed it', async () => {
    await using cluster = await createTestCluster({ nodes: 3, seed: 22 });
    const leader = await cluster.waitForLeader();
    const lease = await leader.lease.grant(3);
    await leader.kv.put('held', 'x', { lease: lease.id });
    for (let t = 0; t < 5; t++) {
      await cluster.sleep(1_000);
      await leader.lease.keepAliveOnce(lease.id);
    }
    // 5 s after the grant: alive only thanks to the leader's local renewals.
    cluster.isolate(cluster.indexOf(leader));
    const next = await cluster.waitForLeader({ exclude: leader });
    expect((await next.kv.get('held')).kvs).toHaveLength(1);
    // Nobody renews it now: the new leader expires it, from its full TTL after its promotion.
    await cluster.sleep(5_000);
    expect((await next.kv.get('held')).kvs).toHaveLength(0);
    await expect(next.lease.keepAliveOnce(lease.id)).rejects.toThrow(/lease not found/);
  });

  it("forwards a follower's keep-alive to the leader, which renews it without a log entry", async () => {
    await using cluster = await createTestCluster({ nodes: 3, seed: 24 });
    const leader = await cluster.waitForLeader();
    const follower = cluster.running().find((m) => m !== leader)!;
    const lease = await follower.lease.grant(4);
    await follower.kv.put('held', 'x', { lease: lease.id });
    const proposed = vi.spyOn(follower.followerRenewals, 'renew');
    for (let t = 0; t < 8; t++) {
      await cluster.sleep(1_000);
      expect((await follower.lease.keepAliveOnce(lease.id)).ttl).toBe(4);
    }
    // 8 s after the grant, alive, and no keep-alive was proposed.
    expect((await leader.kv.get('held')).kvs).toHaveLength(1);
    expect(proposed).not.toHaveBeenCalled();
    expect((await leader.lease.timeToLive(lease.id)).ttl).toBeGreaterThanOrEqual(3);
    await leader.lease.revoke(lease.id);
    await expect(follower.lease.keepAliveOnce(lease.id)).rejects.toThrow(/lease not found/);
  });

  it('refuses to renew a lease the leader has revoked', async () => {
    await using cluster = await createTestCluster({ nodes: 3, seed: 23 });
    const leader = await cluster.waitForLeader();
    const lease = await leader.lease.grant(5);
    await leader.lease.revoke(lease.id);
    await expect(leader.lease.keepAliveOnce(lease.id)).rejects.toThrow(/lease not found/);
  });
});
