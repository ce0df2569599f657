/**
 * Members on simulated disks: a crash keeps exactly what was fsynced (and maybe a torn tail,
 * which restart drops), restarted members lose no acknowledged write and converge.
 */

import { describe, expect, it } from 'vitest';
import { createTestCluster } from './test-cluster.js';

const text = (b: Uint8Array | undefined) => (b === undefined ? undefined : new TextDecoder().decode(b));

describe('a 3-member cluster on simulated disks', () => {
  it('loses no acknowledged write when the leader crashes mid-write with a torn WAL tail', async () => {
    await using cluster = await createTestCluster({ nodes: 3, seed: 4, disk: 'simulated' });
    const leader = await cluster.waitForLeader();
    const acked: string[] = [];
    const writes = Array.from({ length: 40 }, (_, n) =>
      leader.kv.put(`k${n}`, `v${n}`).then(
        () => acked.push(`k${n}`),
        () => undefined,
      ),
    );
    await cluster.sleep(3);
    const li = cluster.indexOf(leader);
    const report = await cluster.crash(li, { tear: true });
    await Promise.all(writes);
    await cluster.waitForLeader();
    await cluster.restart(li);
    await cluster.sleep(1_000);
    const rev = (await cluster.node((li + 1) % 3).kv.put('sync', '1')).header.revision;
    await cluster.sleep(500);
    const hashes = new Set<number>();
    for (const m of cluster.running()) {
      const g = await m.kv.get('k', { prefix: true, serializable: true });
      const present = new Set(g.kvs.map((kv) => text(kv.key)));
      for (const k of acked) expect(present.has(k)).toBe(true);
      hashes.add((await m.maintenance.hashKV(rev)).hash);
    }
    expect(report).toBeDefined();
    expect(hashes.size).toBe(1);
    expect(cluster.disks[li]!.stats.crashes).toBe(1);
  });

  it('restores every acknowledged write after all members crash at once and restart', async () => {
    await using cluster = await createTestCluster({ nodes: 3, seed: 9, disk: 'simulated' });
    const leader = await cluster.waitForLeader();
    for (let n = 0; n < 30; n++) await leader.kv.put(`a${n}`, `${n}`);
    for (let i = 0; i < 3; i++) await cluster.crash(i, { tear: true });
    for (let i = 0; i < 3; i++) await cluster.restart(i);
    const l2 = await cluster.waitForLeader();
    const g = await l2.kv.get('a', { prefix: true });
    expect(g.kvs.map((kv) => text(kv.value)).sort((x, y) => Number(x) - Number(y))).toEqual(
      Array.from({ length: 30 }, (_, n) => `${n}`),
    );
  });

  it('freezes a paused leader: the others elect a new one, and the old one steps down after it wakes', async () => {
    await using cluster = await createTestCluster({ nodes: 3, seed: 2, disk: 'simulated' });
    const leader = await cluster.waitForLeader();
    const li = cluster.indexOf(leader);
    cluster.pause(li, 2_000);
    const next = await cluster.waitForLeader({ exclude: leader });
    expect(next).not.toBe(leader);
    await cluster.whenResumed(li);
    await cluster.sleep(500);
    expect(leader.isLeader).toBe(false);
    const g = await leader.kv.get('x');
    expect(g.header.revision).toBeGreaterThanOrEqual(1);
  });
});
