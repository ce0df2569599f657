/**
 * Session: a lease kept alive until closed; lost — once, and no later than the cluster expires
 * the lease — when it cannot be renewed in time or is revoked. Deterministic virtual time.
 */

import { afterEach, describe, expect, it } from 'vitest';
import { createTestCluster, type TestCluster } from '../testing/test-cluster.js';
import { DEFAULT_SESSION_TTL, Session, SessionClosedError, SessionExpiredError } from './session.js';

let cluster: TestCluster | undefined;

afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
});

async function setup(seed: number) {
  cluster = await createTestCluster({ nodes: 3, seed });
  const leader = await cluster.waitForLeader();
  const follower = cluster.running().find((m) => m !== leader)!;
  return { c: cluster, leader, follower };
}

describe('Session', () => {
  it('grants a lease of the default TTL (60 s, as etcd) and keeps it alive well past it', async () => {
    const { c, follower } = await setup(1);
    const s = await Session.create(follower.client);
    expect(s.ttl).toBe(DEFAULT_SESSION_TTL);
    const short = await Session.create(follower.client, { ttl: 2 });
    await follower.kv.put('eph', 'v', { lease: short.lease });
    await c.sleep(10_000);
    expect(short.signal.aborted).toBe(false);
    expect((await follower.lease.timeToLive(short.lease)).ttl).toBeGreaterThan(0);
    expect((await follower.kv.get('eph')).kvs).toHaveLength(1);
    await s.close();
    await short.close();
  });

  it('survives the raft leader being cut off: renewals move on to the new leader in time', async () => {
    const { c, leader, follower } = await setup(21);
    // Sessions started 150 ms apart renew at different moments: whenever the leader is cut off,
    // some of them have a renewal on its way to it, lost with it.
    const sessions: Session[] = [];
    let lost = 0;
    for (let i = 0; i < 24; i++) {
      const s = await Session.create(follower.client, { ttl: 10 });
      s.on('lost', () => lost++);
      sessions.push(s);
      await c.sleep(150);
    }
    c.isolate(c.indexOf(leader));
    await c.sleep(15_000);
    expect(lost).toBe(0);
    for (const s of sessions) expect((await follower.lease.timeToLive(s.lease)).ttl).toBeGreaterThan(0);
    c.heal();
    for (const s of sessions) await s.close();
  });

  it('close() revokes the lease, deleting its keys, and aborts the signal without emitting lost', async () => {
    const { follower } = await setup(2);
    const s = await Session.create(follower.client, { ttl: 5 });
    let lost = 0;
    s.on('lost', () => lost++);
    await follower.kv.put('eph', 'v', { lease: s.lease });
    await s.close();
    expect((await follower.kv.get('eph')).kvs).toEqual([]);
    expect(s.signal.reason).toBeInstanceOf(SessionClosedError);
    expect(s.isLost).toBe(false);
    expect(lost).toBe(0);
  });

  it('orphan() stops the keep-alive only: the keys live out the TTL', async () => {
    const { c, follower } = await setup(3);
    const s = await Session.create(follower.client, { ttl: 2 });
    await follower.kv.put('eph', 'v', { lease: s.lease });
    s.orphan();
    expect(s.signal.aborted).toBe(true);
    expect((await follower.kv.get('eph')).kvs).toHaveLength(1);
    await c.sleep(3_500);
    expect((await follower.kv.get('eph')).kvs).toEqual([]);
  });

  it('keeps an existing lease alive when given its ID', async () => {
    const { c, follower } = await setup(4);
    const g = await follower.lease.grant(2);
    const s = await Session.create(follower.client, { leaseId: g.id });
    expect(s.lease).toBe(g.id);
    expect(s.ttl).toBe(2);
    await c.sleep(6_000);
    expect((await follower.lease.timeToLive(g.id)).ttl).toBeGreaterThan(0);
    await s.close();
    await expect(Session.create(follower.client, { leaseId: g.id })).rejects.toBeInstanceOf(
      SessionExpiredError,
    );
  });

  it('is lost when its lease is revoked elsewhere', async () => {
    const { c, leader, follower } = await setup(5);
    const s = await Session.create(follower.client, { ttl: 6 });
    const lost: Error[] = [];
    s.on('lost', (e) => lost.push(e));
    await leader.lease.revoke(s.lease);
    await c.sleep(2_500); // the next renewal (every ttl/3) finds the lease gone
    expect(lost).toHaveLength(1);
    expect(lost[0]).toBeInstanceOf(SessionExpiredError);
    expect(s.signal.reason).toBe(lost[0]);
    expect(s.isLost).toBe(true);
  });

  it('is lost when its member is cut off, no later than the majority expires the lease', async () => {
    const { c, follower } = await setup(6);
    const s = await Session.create(follower.client, { ttl: 3 });
    await follower.kv.put('eph', 'v', { lease: s.lease });
    let lostAt: number | undefined;
    s.on('lost', () => {
      lostAt = c.clock.now();
    });
    const cutAt = c.clock.now();
    c.isolate(c.indexOf(follower));
    const majority = c.running().filter((m) => m !== follower);
    let goneAt: number | undefined;
    while (goneAt === undefined) {
      await c.sleep(20);
      if ((await majority[0]!.kv.get('eph', { serializable: true })).kvs.length === 0) goneAt = c.clock.now();
    }
    expect(lostAt).toBeDefined();
    expect(lostAt!).toBeLessThanOrEqual(goneAt);
    expect(lostAt! - cutAt).toBeLessThanOrEqual(3_000);
  });

  it('is lost when its member stops', async () => {
    const { c, follower } = await setup(7);
    const s = await Session.create(follower.client, { ttl: 3 });
    let lost = 0;
    s.on('lost', () => lost++);
    await c.crash(c.indexOf(follower));
    await c.sleep(3_500);
    expect(lost).toBe(1);
    expect(s.signal.reason).toBeInstanceOf(SessionExpiredError);
  });
});
