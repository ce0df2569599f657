/**
 * etcd's Maintenance service on a node: status, snapshot (restorable into a fresh store with the
 * same hashKV), defragment, hashKV agreement across members, the NOSPACE alarm from
 * --quota-backend-bytes to disarm, and moving the leadership. Members run under the test
 * cluster's deterministic virtual time.
 */

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashKV, MemoryBackend, MvccStore, NoSpaceError, restoreSnapshot } from '@tsetcd/mvcc';
import { afterEach, describe, expect, it } from 'vitest';
import { NotLeaderError } from '../node-errors.js';
import { createTestCluster, type TestCluster } from '../testing/test-cluster.js';
import { ETCD_API_VERSION } from './maintenance-client.js';
import type { TsetcdNode } from './node.js';

const text = (b: Uint8Array | undefined) => (b === undefined ? undefined : new TextDecoder().decode(b));

let cluster: TestCluster | undefined;
let dataDir: string | undefined;

afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
  if (dataDir !== undefined) await rm(dataDir, { recursive: true, force: true });
  dataDir = undefined;
});

/** Waits until every running member has applied what `leader` has. */
async function caughtUp(c: TestCluster, leader: TsetcdNode): Promise<void> {
  while (c.running().some((m) => m.appliedIndex < leader.appliedIndex)) await c.sleep(10);
}

describe('status', () => {
  it('reports the leader, raft index >= applied index, term, version and the flushed db size', async () => {
    cluster = await createTestCluster({ nodes: 3, seed: 2 });
    const leader = await cluster.waitForLeader();
    for (let i = 0; i < 10; i++) await leader.kv.put(`k${i}`, 'v');
    await caughtUp(cluster, leader);
    await cluster.sleep(300); // a few backend flushes (backendCommitMs = 100)
    for (const m of cluster.running()) {
      const s = await m.maintenance.status();
      expect(s.leader).toBe(leader.id);
      expect(s.header.memberId).toBe(m.id);
      expect(s.header.clusterId).toBe(leader.clusterId);
      expect(s.header.revision).toBe(11);
      expect(s.version).toBe(ETCD_API_VERSION);
      expect(s.raftTerm).toBe(leader.term);
      expect(s.raftTerm).toBeGreaterThanOrEqual(1);
      expect(s.raftAppliedIndex).toBeGreaterThanOrEqual(10);
      expect(s.raftIndex).toBeGreaterThanOrEqual(s.raftAppliedIndex);
      expect(s.dbSize).toBeGreaterThan(0);
      expect(s.errors).toEqual([]);
      expect(s.isLearner).toBe(false);
    }
  });
});

describe('snapshot, defragment and hashes', () => {
  it('streams a snapshot that restores into a fresh MvccStore with the same hashKV', async () => {
    cluster = await createTestCluster({ nodes: 1 });
    const n = await cluster.waitForLeader();
    for (let i = 0; i < 20; i++) await n.kv.put(`key/${i % 7}`, `value ${i}`);
    await n.kv.delete('key/3');
    const compacted = await n.kv.put('key/1', 'last');
    await n.kv.compact(compacted.header.revision - 5, { physical: true });

    const chunks: Uint8Array[] = [];
    for await (const chunk of n.maintenance.snapshot()) chunks.push(chunk);
    expect(chunks.length).toBeGreaterThan(0);
    const backend = new MemoryBackend();
    const status = await restoreSnapshot(
      (async function* () {
        yield* chunks;
      })(),
      backend,
    );
    expect(status.revision).toBe(n.parts.store.revision);
    const restored = await MvccStore.open({ backend });
    try {
      const mine = await n.maintenance.hashKV();
      const theirs = await hashKV(restored.kv);
      expect(theirs).toEqual({
        hash: mine.hash,
        compactRevision: mine.compactRevision,
        hashRevision: mine.hashRevision,
      });
      expect(text(restored.range({ key: new TextEncoder().encode('key/1') }).kvs[0]?.value)).toBe('last');
    } finally {
      await restored.close();
    }
  });

  it('defragments without changing the data or its hash', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'tsetcd-maint-'));
    cluster = await createTestCluster({ nodes: 1, dataDir });
    const n = await cluster.waitForLeader();
    for (let i = 0; i < 50; i++) await n.kv.put(`k${i % 5}`, 'x'.repeat(200));
    const last = await n.kv.put('k0', 'final');
    await n.kv.compact(last.header.revision, { physical: true });
    const before = await n.maintenance.hashKV();
    const d = await n.maintenance.defragment();
    expect(d.beforeBytes).toBeGreaterThan(0);
    expect(d.afterBytes).toBeGreaterThan(0);
    expect(d.header.revision).toBe(last.header.revision);
    expect(await n.maintenance.hashKV()).toEqual({ ...before, header: expect.anything() });
    expect(text((await n.kv.get('k0')).kvs[0]?.value)).toBe('final');
  });

  it('gives the same hashKV on every member of a 3-member cluster after writes', async () => {
    cluster = await createTestCluster({ nodes: 3, seed: 9 });
    const leader = await cluster.waitForLeader();
    const follower = cluster.running().find((m) => m !== leader)!;
    for (let i = 0; i < 30; i++) {
      await (i % 2 === 0 ? leader : follower).kv.put(`k${i % 4}`, `v${i}`);
    }
    await follower.kv.delete('k1');
    const rev = (await leader.kv.put('k9', 'end')).header.revision;
    await caughtUp(cluster, leader);
    const hashes = await Promise.all(cluster.running().map((m) => m.maintenance.hashKV(rev)));
    expect(new Set(hashes.map((h) => h.hash)).size).toBe(1);
    expect(hashes.map((h) => h.hashRevision)).toEqual([rev, rev, rev]);
    // A different history hashes differently.
    const older = await leader.maintenance.hashKV(rev - 1);
    expect(older.hash).not.toBe(hashes[0]!.hash);
  });
});

describe('alarms', () => {
  it('raises NOSPACE past the quota on every member; deletes still work; compact + defrag + disarm restores writes', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'tsetcd-quota-'));
    const quota = 256 * 1024;
    cluster = await createTestCluster({ nodes: 3, seed: 6, dataDir, config: { quotaBackendBytes: quota } });
    const leader = await cluster.waitForLeader();
    const events: { member: bigint; action: string; alarm: string }[] = [];
    for (const m of cluster.running()) {
      m.on('alarm', (e) => events.push({ member: m.id, action: e.action, alarm: e.alarm }));
    }

    // Writes succeed until the flushed db size plus the request passes the quota.
    const value = 'x'.repeat(4096);
    let refused: unknown;
    let written = 0;
    for (let i = 0; i < 1000 && refused === undefined; i++) {
      try {
        await leader.kv.put(`big/${i}`, value);
        written++;
      } catch (err) {
        refused = err;
      }
      if (i % 8 === 7) await cluster.sleep(150); // let the backend flush and re-measure
    }
    expect(written).toBeGreaterThan(0);
    expect(refused).toBeInstanceOf(NoSpaceError);
    expect((refused as Error).message).toBe('etcdserver: mvcc: database space exceeded');

    // The alarm is raised through the log: listed on every member, an event on every member.
    await cluster.sleep(100);
    await caughtUp(cluster, leader);
    for (const m of cluster.running()) {
      const { alarms } = await m.maintenance.alarms();
      expect(alarms).toEqual([{ memberId: leader.id, alarm: 'NOSPACE' }]);
      expect((await m.maintenance.status()).errors).toEqual([`memberID:${leader.id} alarm:NOSPACE `]);
      expect(events).toContainEqual({ member: m.id, action: 'ACTIVATE', alarm: 'NOSPACE' });
    }
    // Every member refuses puts now, even small ones.
    const follower = cluster.running().find((m) => m !== leader)!;
    await expect(follower.kv.put('small', '1')).rejects.toThrow(NoSpaceError);
    // (A member over the quota itself raises its own NOSPACE alarm, as in etcd: let it land.)
    await cluster.sleep(100);
    await caughtUp(cluster, leader);

    // Deletes and compaction still work.
    const del = await leader.kv.delete('big/', { prefix: true });
    expect(del.deleted).toBe(written);
    await leader.kv.compact(del.header.revision, { physical: true });
    await caughtUp(cluster, leader);
    for (const m of cluster.running())
      expect((await m.maintenance.defragment()).afterBytes).toBeLessThan(quota);
    // Each member re-measures its db size at its next backend flush.
    for (let i = 0; i < 50 && cluster.running().some((m) => m.dbSize >= quota / 2); i++)
      await cluster.sleep(100);
    expect(cluster.running().filter((m) => m.dbSize >= quota / 2)).toEqual([]);
    // Still capped until the alarm is disarmed.
    await expect(leader.kv.put('small', '1')).rejects.toThrow(NoSpaceError);

    const disarmed = await leader.maintenance.disarm('NOSPACE');
    expect(disarmed.alarms).toEqual([{ memberId: leader.id, alarm: 'NOSPACE' }]);
    await caughtUp(cluster, leader);
    for (const m of cluster.running()) {
      expect((await m.maintenance.alarms()).alarms).toEqual([]);
      expect(events).toContainEqual({ member: m.id, action: 'DEACTIVATE', alarm: 'NOSPACE' });
    }
    await leader.kv.put('small', '1');
    await follower.kv.put('small', '2');
    expect(text((await leader.kv.get('small')).kvs[0]?.value)).toBe('2');
  });
});

describe('moveLeader', () => {
  it('hands leadership to a follower', async () => {
    cluster = await createTestCluster({ nodes: 3, seed: 8 });
    const leader = await cluster.waitForLeader();
    const target = cluster.running().find((m) => m !== leader)!;
    const termBefore = leader.term;
    await leader.maintenance.moveLeader(target.id);
    expect(target.isLeader).toBe(true);
    expect(await cluster.waitForLeader()).toBe(target);
    expect(target.term).toBeGreaterThan(termBefore);
    expect(leader.isLeader).toBe(false);
    await target.kv.put('after', 'move');
    expect(text((await leader.kv.get('after')).kvs[0]?.value)).toBe('move');
  });

  it('fails with NotLeaderError when asked of a follower', async () => {
    cluster = await createTestCluster({ nodes: 3, seed: 8 });
    const leader = await cluster.waitForLeader();
    const [a, b] = cluster.running().filter((m) => m !== leader);
    await expect(a!.maintenance.moveLeader(b!.id)).rejects.toMatchObject({
      code: 'ErrNotLeader',
      message: 'etcdserver: not leader',
    });
    await expect(a!.maintenance.moveLeader(leader.id)).rejects.toThrow(NotLeaderError);
    expect(cluster.leader()).toBe(leader);
  });
});
