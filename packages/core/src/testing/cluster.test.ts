/**
 * Three in-memory members under deterministic virtual time: writes on any member reach the
 * leader, reads are linearizable on every member, the majority keeps working when the leader is
 * cut off, and leases expire only through the leader.
 */

import { afterEach, describe, expect, it } from 'vitest';
import { etcdRequestBytes } from '../node/etcd-request-size.js';
import { NoLeaderError, RequestCanceledError, RequestTooLargeError } from '../node-errors.js';
import { createTestCluster, type TestCluster } from './test-cluster.js';

const text = (b: Uint8Array | undefined) => (b === undefined ? undefined : new TextDecoder().decode(b));
let cluster: TestCluster | undefined;

afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
});

describe('a 3-member in-memory cluster', () => {
  it('elects one leader and replicates a write made on a follower to every member', async () => {
    cluster = await createTestCluster({ nodes: 3, seed: 7 });
    const leader = await cluster.waitForLeader();
    const follower = cluster.running().find((m) => m !== leader)!;
    const put = await follower.kv.put('k', 'v');
    expect(put.header.memberId).toBe(follower.id);
    for (const m of cluster.running()) {
      const g = await m.kv.get('k');
      expect(text(g.kvs[0]?.value)).toBe('v');
      expect(g.header.revision).toBe(put.header.revision);
    }
  });

  it('serves a serializable read from local state and a linearizable one after catching up', async () => {
    cluster = await createTestCluster({ nodes: 3, seed: 3 });
    const leader = await cluster.waitForLeader();
    const follower = cluster.running().find((m) => m !== leader)!;
    await leader.kv.put('x', '1');
    const lin = await follower.kv.get('x');
    expect(text(lin.kvs[0]?.value)).toBe('1');
    const ser = await follower.kv.get('x', { serializable: true });
    expect(ser.header.revision).toBeLessThanOrEqual(lin.header.revision);
  });

  it('keeps serving on the majority when the leader is isolated, and the old leader catches up on heal', async () => {
    cluster = await createTestCluster({ nodes: 3, seed: 11 });
    const oldLeader = await cluster.waitForLeader();
    await oldLeader.kv.put('before', '1');
    cluster.isolate(cluster.indexOf(oldLeader));
    const newLeader = await cluster.waitForLeader({ exclude: oldLeader });
    expect(newLeader).not.toBe(oldLeader);
    await newLeader.kv.put('during', '2');
    // The cut-off member cannot serve a linearizable read.
    await expect(oldLeader.kv.get('during', { timeoutMs: 500 })).rejects.toThrow();
    cluster.heal();
    await cluster.sleep(500);
    const g = await oldLeader.kv.get('during');
    expect(text(g.kvs[0]?.value)).toBe('2');
  });

  it('expires a lease through the leader and deletes its keys on every member', async () => {
    cluster = await createTestCluster({ nodes: 3, seed: 5 });
    const leader = await cluster.waitForLeader();
    const follower = cluster.running().find((m) => m !== leader)!;
    const lease = await follower.lease.grant(2);
    await follower.kv.put('eph', 'v', { lease: lease.id });
    const ttl = await follower.lease.timeToLive(lease.id);
    expect(ttl.grantedTtl).toBe(2);
    await cluster.sleep(3_500);
    for (const m of cluster.running()) expect((await m.kv.get('eph')).kvs).toEqual([]);
  });

  it('keeps a lease alive from a follower with keepAlive', async () => {
    cluster = await createTestCluster({ nodes: 3, seed: 9 });
    const leader = await cluster.waitForLeader();
    const follower = cluster.running().find((m) => m !== leader)!;
    const lease = await follower.lease.grant(2);
    await follower.kv.put('live', 'v', { lease: lease.id });
    const ka = follower.lease.keepAlive(lease.id);
    let renewals = 0;
    ka.on('keepalive', () => renewals++);
    await cluster.sleep(6_000);
    ka.close();
    expect(renewals).toBeGreaterThan(3);
    expect((await leader.kv.get('live')).kvs).toHaveLength(1);
  });

  it('watches on a follower see writes made through the leader, in order', async () => {
    cluster = await createTestCluster({ nodes: 3, seed: 2 });
    const leader = await cluster.waitForLeader();
    const follower = cluster.running().find((m) => m !== leader)!;
    const w = follower.watch('w/', { prefix: true });
    for (let i = 0; i < 5; i++) await leader.kv.put(`w/${i}`, String(i));
    const revs: number[] = [];
    for await (const r of w) {
      for (const e of r.events) revs.push(e.kv.modRevision);
      if (revs.length === 5) break;
    }
    expect(revs).toEqual([...revs].sort((a, b) => a - b));
    expect(new Set(revs).size).toBe(5);
  });

  it('auto-compacts on the leader in revision mode, keeping the last `retention` revisions', async () => {
    cluster = await createTestCluster({
      nodes: 3,
      seed: 13,
      config: { autoCompactionMode: 'revision', autoCompactionRetention: '10' },
    });
    const leader = await cluster.waitForLeader();
    for (let i = 0; i < 30; i++) await leader.kv.put('k', String(i));
    const rev = (await leader.kv.get('k')).header.revision;
    await cluster.sleep(5 * 60 * 1000 + 1_000); // etcd's revision compactor runs every 5 minutes
    for (const m of cluster.running()) {
      await expect(m.kv.get('k', { revision: rev - 11 })).rejects.toThrow(
        'required revision has been compacted',
      );
      expect((await m.kv.get('k', { revision: rev - 10 })).kvs).toHaveLength(1);
    }
  });

  it('keeps etcd-named metrics', async () => {
    cluster = await createTestCluster({ nodes: 3, seed: 14 });
    const leader = await cluster.waitForLeader();
    for (let i = 0; i < 10; i++) await leader.kv.put(`m${i}`, 'v');
    await cluster.sleep(50);
    const snap = leader.metrics.snapshot();
    expect(snap.etcd_server_is_leader).toBe(1);
    expect(snap.etcd_server_has_leader).toBe(1);
    expect(snap.etcd_server_leader_changes_seen_total).toBeGreaterThanOrEqual(1);
    expect(snap.etcd_server_proposals_applied_total).toBeGreaterThanOrEqual(10);
    expect(snap.etcd_server_proposals_pending).toBe(0);
    expect(snap.etcd_debugging_mvcc_keys_total).toBe(10);
    const fsync = snap.etcd_disk_wal_fsync_duration_seconds as { count: number };
    expect(fsync.count).toBeGreaterThan(0);
  });

  it('fails a write with NoLeaderError when no leader can be elected, and honours AbortSignal', async () => {
    cluster = await createTestCluster({ nodes: 3, seed: 15 });
    const leader = await cluster.waitForLeader();
    const li = cluster.indexOf(leader);
    const others = [0, 1, 2].filter((i) => i !== li);
    // Every member alone: no majority anywhere.
    cluster.partition([0], [1], [2]);
    const lone = cluster.node(others[0]!);
    await cluster.sleep(1_000);
    const failedBefore = lone.metrics.snapshot().etcd_server_proposals_failed_total;
    await expect(lone.kv.put('x', '1', { timeoutMs: 2_000 })).rejects.toBeInstanceOf(NoLeaderError);
    // A retryable failure counts as a failed proposal; a canceled one (below) does not.
    expect(lone.metrics.snapshot().etcd_server_proposals_failed_total).toBe((failedBefore as number) + 1);
    const ac = new AbortController();
    const p = lone.kv.put('y', '1');
    ac.abort();
    await expect(lone.kv.put('y', '1', { signal: ac.signal })).rejects.toBeInstanceOf(RequestCanceledError);
    const ac3 = new AbortController();
    const aborted = lone.kv.put('z', '1', { signal: ac3.signal });
    await cluster.sleep(10);
    ac3.abort();
    await expect(aborted).rejects.toBeInstanceOf(RequestCanceledError);
    expect(lone.metrics.snapshot().etcd_server_proposals_failed_total).toBe((failedBefore as number) + 1);
    const ac2 = new AbortController();
    const pending = lone.kv.get('y', { signal: ac2.signal });
    await cluster.sleep(10);
    ac2.abort();
    await expect(pending).rejects.toBeInstanceOf(RequestCanceledError);
    cluster.heal();
    await p; // the first one, without a deadline shorter than the default, completes after healing
    expect((await lone.kv.get('y')).kvs).toHaveLength(1);
  });

  it('refuses a request over the size limit with ErrRequestTooLarge', async () => {
    cluster = await createTestCluster({ nodes: 3, seed: 16, config: { maxRequestBytes: 1024 } });
    const leader = await cluster.waitForLeader();
    await expect(leader.kv.put('big', 'x'.repeat(4096))).rejects.toBeInstanceOf(RequestTooLargeError);
    await expect(leader.kv.put('big', 'x'.repeat(4096))).rejects.toThrow('etcdserver: request is too large');
    await leader.kv.put('small', 'x'.repeat(100));
    // As etcd counts it: the whole proposed request, so a value of exactly the limit is too large,
    // and one that leaves room for the key, the framing and the request header is not.
    await expect(leader.kv.put('k', 'x'.repeat(1024))).rejects.toBeInstanceOf(RequestTooLargeError);
    // The header (at its smallest here: a member's request IDs may take up to 3 bytes more), then
    // the put: the value plus 9 bytes of framing for key 'k' and a value of about 1,000 bytes.
    const header = etcdRequestBytes({ op: 'put', put: { key: new Uint8Array(1) } }, { idPrefix: 0 }) - 5;
    const fits = 1024 - header - 12;
    await leader.kv.put('k', 'x'.repeat(fits - 4));
    await expect(leader.kv.put('k', 'x'.repeat(fits + 4))).rejects.toBeInstanceOf(RequestTooLargeError);
  });

  it("emits 'leader' on every member when leadership moves", async () => {
    cluster = await createTestCluster({ nodes: 3, seed: 17 });
    const leader = await cluster.waitForLeader();
    const target = cluster.running().find((m) => m !== leader)!;
    const seen: bigint[] = [];
    for (const m of cluster.running()) m.on('leader', (e) => seen.push(e.leader));
    await leader.maintenance.moveLeader(target.id);
    await cluster.sleep(100);
    expect(seen.filter((id) => id === target.id)).toHaveLength(3);
    expect(target.isLeader).toBe(true);
  });
});
