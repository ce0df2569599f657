/**
 * ServiceRegistry on a 3-member in-memory cluster: instances registered through different
 * members appear in a view on any member; an instance whose member crashes is removed when its
 * lease expires; through a leader isolation and heal the view ends equal to the live
 * registrations with no duplicate `added`; a view that loses its member resumes elsewhere, and
 * a compaction in between becomes a resync diff.
 */

import { afterEach, describe, expect, it } from 'vitest';
import type { TsetcdNode } from '../node/node.js';
import { createTestCluster, type TestCluster } from '../testing/test-cluster.js';
import { ServiceRegistry, type ServiceView } from './registry.js';

const text = (b: Uint8Array) => new TextDecoder().decode(b);
let cluster: TestCluster | undefined;
const registries: ServiceRegistry[] = [];

afterEach(async () => {
  for (const r of registries.splice(0)) await r.close();
  await cluster?.close();
  cluster = undefined;
});

function registryOn(c: TestCluster, node: TsetcdNode): ServiceRegistry {
  const r = new ServiceRegistry(node.client, { clock: c.clock, retryMs: 100 });
  registries.push(r);
  return r;
}

/** Records a view's events and checks it never adds an instance it has, or removes one it lacks. */
function track(view: ServiceView): { added: string[]; removed: string[]; ids: Set<string> } {
  const log = { added: [] as string[], removed: [] as string[], ids: new Set(view.instances().keys()) };
  view.on('added', (i) => {
    expect(log.ids.has(i.instanceId), `duplicate added ${i.instanceId}`).toBe(false);
    log.ids.add(i.instanceId);
    log.added.push(i.instanceId);
  });
  view.on('removed', (i) => {
    expect(log.ids.has(i.instanceId), `removed unknown ${i.instanceId}`).toBe(true);
    log.ids.delete(i.instanceId);
    log.removed.push(i.instanceId);
  });
  return log;
}

async function storeIds(node: TsetcdNode, service: string): Promise<string[]> {
  const r = await node.kv.get(`services/${service}/`, { prefix: true });
  return r.kvs.map((kv) => text(kv.key).slice(`services/${service}/`.length)).sort();
}

const idsOf = (view: ServiceView) => [...view.instances().keys()].sort();

/**
 * Registers one instance through each member, opens a view on each, isolates the leader, waits
 * until the majority has expired the cut-off instance, heals, and checks every view.
 */
async function isolateAndHeal(seed: number, ttl: number): Promise<void> {
  cluster = await createTestCluster({ nodes: 3, seed });
  const oldLeader = await cluster.waitForLeader();
  const views: ServiceView[] = [];
  const logs: ReturnType<typeof track>[] = [];
  for (let i = 0; i < 3; i++) {
    await registryOn(cluster, cluster.node(i)).register('web', `i${i}`, `addr${i}`, { ttl });
  }
  for (let i = 0; i < 3; i++) {
    const v = await registryOn(cluster, cluster.node(i)).discover('web');
    views.push(v);
    logs.push(track(v));
  }
  cluster.isolate(cluster.indexOf(oldLeader));
  const newLeader = await cluster.waitForLeader({ exclude: oldLeader });
  // The isolated member cannot renew: the new leader expires its instance.
  await cluster.sleep(ttl * 1000 + 4_000);
  const cutOff = `i${cluster.indexOf(oldLeader)}`;
  expect(await storeIds(newLeader, 'web')).toEqual(['i0', 'i1', 'i2'].filter((id) => id !== cutOff));
  cluster.heal();
  // The registry on the healed member registers its instance again.
  const all = ['i0', 'i1', 'i2'];
  for (let t = 0; t < 100 && (await storeIds(newLeader, 'web')).join() !== all.join(); t++) {
    await cluster.sleep(200);
  }
  expect(await storeIds(newLeader, 'web')).toEqual(all);
  await cluster.sleep(1_000);
  for (const [i, v] of views.entries()) {
    expect(idsOf(v), `view on member ${i}`).toEqual(all);
    expect(logs[i]!.added.filter((id) => id !== cutOff)).toEqual([]);
  }
  // The views on the majority saw the cut-off instance go and come back exactly once each.
  for (const m of cluster.running().filter((n) => n !== oldLeader)) {
    const log = logs[cluster.indexOf(m)]!;
    expect(log.removed).toEqual([cutOff]);
    expect(log.added).toEqual([cutOff]);
  }
}

describe('ServiceRegistry', () => {
  it('discovers instances registered through different members, and removes one whose member crashed', async () => {
    cluster = await createTestCluster({ nodes: 3, seed: 41 });
    const leader = await cluster.waitForLeader();
    const [n0, n1, n2] = [0, 1, 2].map((i) => cluster!.node(i));
    await registryOn(cluster, n0!).register('api', 'i0', 'http://a:1', { ttl: 2 });
    const viewNode = cluster.running().find((m) => m !== leader)!;
    const view = await registryOn(cluster, viewNode).discover('api');
    const log = track(view);
    expect(idsOf(view)).toEqual(['i0']);
    await registryOn(cluster, n1!).register('api', 'i1', 'http://b:1', { ttl: 2 });
    await registryOn(cluster, n2!).register('api', 'i2', 'http://c:1', { ttl: 2 });
    await cluster.sleep(100);
    expect(idsOf(view)).toEqual(['i0', 'i1', 'i2']);
    expect(text(view.instances().get('i1')!.value)).toBe('http://b:1');

    // Crash a member other than the view's: its instance stops renewing and expires.
    const victim = [0, 1, 2].find((i) => cluster!.node(i) !== viewNode)!;
    await cluster.crash(victim);
    await cluster.sleep(8_000);
    expect(log.removed).toEqual([`i${victim}`]);
    expect(idsOf(view)).toEqual(['i0', 'i1', 'i2'].filter((id) => id !== `i${victim}`));
    expect(idsOf(view)).toEqual(await storeIds(viewNode, 'api'));
    expect(log.added.sort()).toEqual(['i1', 'i2']);
  });

  it('deregister removes an instance at once; updated on a new value', async () => {
    cluster = await createTestCluster({ nodes: 3, seed: 42 });
    const leader = await cluster.waitForLeader();
    const reg = registryOn(cluster, leader);
    await reg.register('db', 'a', 'v1', { ttl: 5 });
    const view = await registryOn(cluster, cluster.running().find((m) => m !== leader)!).discover('db');
    const updates: string[] = [];
    view.on('updated', (i, prev) => updates.push(`${text(prev.value)}->${text(i.value)}`));
    const log = track(view);
    await reg.register('db', 'a', 'v2', { ttl: 5 });
    await reg.deregister('db', 'a');
    await cluster.sleep(50);
    expect(updates).toEqual(['v1->v2']);
    expect(log.removed).toEqual(['a']);
    expect(view.instances().size).toBe(0);
  });

  // TTL 10 s: longer than the request timeout (5 s + 2 × election), see the skipped test below.
  it('through a leader isolation and heal, every view ends equal to the live registrations, with no duplicate added', async () => {
    await isolateAndHeal(43, 10);
  });

  it('a leader change does not expire short leases kept alive from the majority', async () => {
    await isolateAndHeal(43, 2);
  });

  it('a view whose member stops resumes on another; a compaction in between becomes a resync diff', async () => {
    cluster = await createTestCluster({ nodes: 3, seed: 44 });
    const leader = await cluster.waitForLeader();
    const a = cluster.members.findIndex((m) => m !== undefined && m !== leader);
    const c = cluster;
    const source = () => (c.members[a] ?? leader).client;
    const viewer = new ServiceRegistry(source, { clock: cluster.clock, retryMs: 100 });
    registries.push(viewer);
    const reg = registryOn(cluster, leader);
    await reg.register('q', 'stays', '1', { ttl: 10 });
    await reg.register('q', 'goes', '1', { ttl: 10 });
    const view = await viewer.discover('q');
    const log = track(view);
    const resyncs: number[] = [];
    view.on('resync', (r) => resyncs.push(r));
    await cluster.crash(a);
    await reg.deregister('q', 'goes');
    await reg.register('q', 'new', '1', { ttl: 10 });
    const r = await leader.kv.put('unrelated', 'x');
    await leader.kv.compact(r.header.revision);
    await cluster.sleep(1_000);
    expect(resyncs).toHaveLength(1);
    expect(log.removed).toEqual(['goes']);
    expect(log.added).toEqual(['new']);
    expect(idsOf(view)).toEqual(await storeIds(leader, 'q'));
  });
});
