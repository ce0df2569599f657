/**
 * Members on disk: a member killed mid-write — the leader included — restarts from its data dir,
 * rejoins, and no acknowledged write is lost; all members converge to the same hashKV.
 */

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashKV } from '@tsetcd/mvcc';
import { afterEach, describe, expect, it } from 'vitest';
import { createNode } from '../node/create-node.js';
import { createTestCluster, type TestCluster } from './test-cluster.js';

const text = (b: Uint8Array | undefined) => (b === undefined ? undefined : new TextDecoder().decode(b));
let cluster: TestCluster | undefined;
let dir: string | undefined;

afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

async function hashes(c: TestCluster): Promise<number[]> {
  const out: number[] = [];
  for (const m of c.running()) {
    await m.kv.get('sync'); // linearizable: applied up to the leader's commit
    out.push((await hashKV(m.parts.store.kv)).hash);
  }
  return out;
}

describe('durability across restarts', () => {
  it('a lone member restarts from its data dir with every acknowledged write', async () => {
    dir = await mkdtemp(join(tmpdir(), 'tsetcd-core-'));
    const a = await createNode({ name: 'a', dataDir: dir });
    for (let i = 0; i < 50; i++) await a.kv.put(`k${i}`, `v${i}`);
    const lease = await a.lease.grant(60);
    await a.kv.put('leased', 'x', { lease: lease.id });
    const rev = (await a.kv.get('k0')).header.revision;
    await a.close();
    const b = await createNode({ name: 'a', dataDir: dir });
    try {
      const g = await b.kv.get('k', { prefix: true, countOnly: true });
      expect(g.count).toBe(50);
      expect(g.header.revision).toBe(rev);
      expect((await b.lease.leases()).leases).toEqual([lease.id]);
      await b.kv.put('after', 'restart');
      expect((await b.kv.get('after')).header.revision).toBe(rev + 1);
    } finally {
      await b.close();
    }
  });

  it('refuses to open a data dir that belongs to another member', async () => {
    dir = await mkdtemp(join(tmpdir(), 'tsetcd-core-'));
    const a = await createNode({ name: 'a', dataDir: dir });
    await a.close();
    await expect(createNode({ name: 'b', dataDir: dir })).rejects.toThrow(/belongs to member/);
  });

  it('the leader killed mid-write restarts, catches up, and no acknowledged write is lost', async () => {
    dir = await mkdtemp(join(tmpdir(), 'tsetcd-core-'));
    cluster = await createTestCluster({ nodes: 3, seed: 21, dataDir: dir });
    const leader = await cluster.waitForLeader();
    const li = cluster.indexOf(leader);
    const acked: string[] = [];
    const writers = Array.from({ length: 20 }, (_, i) =>
      leader.kv.put(`w${i}`, String(i)).then(
        () => acked.push(`w${i}`),
        () => undefined,
      ),
    );
    await cluster.sleep(1); // some writes are in flight, some maybe committed
    await cluster.crash(li);
    await Promise.all(writers);
    const next = await cluster.waitForLeader();
    for (let i = 0; i < 10; i++) {
      await next.kv.put(`after${i}`, String(i));
      acked.push(`after${i}`);
    }
    await cluster.restart(li);
    await cluster.sleep(1_000);
    for (const m of cluster.running()) {
      for (const k of acked) expect(text((await m.kv.get(k)).kvs[0]?.key)).toBe(k);
    }
    const hs = await hashes(cluster);
    expect(new Set(hs).size).toBe(1);
  });
});
