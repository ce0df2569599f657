/**
 * Membership and snapshots: a member added to a running cluster catches up by snapshot (the
 * leader's log was compacted); a follower cut off while the log moved past it is sent a snapshot
 * and its watchers carry on without a gap; learners are promoted; removed members stop.
 */

import { hashKV } from '@tsetcd/mvcc';
import { afterEach, describe, expect, it } from 'vitest';
import type { TsetcdNode } from '../node/node.js';
import {
  BadPeerUrlsError,
  MemberNotLearnerError,
  MemberRemovedError,
  NotEnoughStartedMembersError,
  PeerUrlExistsError,
  UnhealthyClusterError,
} from '../node-errors.js';
import { createTestCluster, type TestCluster } from './test-cluster.js';

const text = (b: Uint8Array | undefined) => (b === undefined ? undefined : new TextDecoder().decode(b));
let cluster: TestCluster | undefined;

afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
});

/** Small snapshot interval so that writing a few hundred keys compacts the log. */
const SNAPSHOTTING = { snapshotCount: 20, snapshotCatchUpEntries: 5 };

async function hashOf(m: TsetcdNode): Promise<number> {
  await m.kv.get('sync');
  return (await hashKV(m.parts.store.kv)).hash;
}

describe('membership and snapshots', () => {
  it('a member added after the log was compacted catches up by snapshot', async () => {
    cluster = await createTestCluster({ nodes: 3, seed: 4, config: SNAPSHOTTING });
    const leader = await cluster.waitForLeader();
    for (let i = 0; i < 100; i++) await leader.kv.put(`k${i}`, String(i));
    expect(leader.parts.snapshotter.index).toBeGreaterThan(50);
    const i = await cluster.addMember();
    const added = cluster.node(i);
    const g = await added.kv.get('k', { prefix: true, countOnly: true });
    expect(g.count).toBe(100);
    expect(added.parts.snapshotter.index).toBeGreaterThan(0); // it installed one
    const members = await added.cluster.members();
    expect(members.members).toHaveLength(4);
    expect(members.members.find((m) => m.id === added.id)?.isLearner).toBe(false);
    expect(await hashOf(added)).toBe(await hashOf(leader));
    expect(added.clusterId).toBe(leader.clusterId);
  });

  it('a follower cut off past the compacted log gets a snapshot, and its watcher has no gap', async () => {
    cluster = await createTestCluster({ nodes: 3, seed: 8, config: SNAPSHOTTING });
    const leader = await cluster.waitForLeader();
    const li = cluster.indexOf(leader);
    const fi = [0, 1, 2].find((x) => x !== li)!;
    const follower = cluster.node(fi);
    const w = follower.watch('k', { prefix: true });
    await leader.kv.put('k0', 'first');
    cluster.isolate(fi);
    for (let i = 1; i < 100; i++) await leader.kv.put(`k${i}`, String(i));
    cluster.heal();
    const g = await follower.kv.get('k', { prefix: true, countOnly: true });
    expect(g.count).toBe(100);
    const revs: number[] = [];
    for await (const r of w) {
      for (const e of r.events) revs.push(e.kv.modRevision);
      if (revs.length >= 100) break;
    }
    const first = revs[0]!;
    expect(revs).toEqual(Array.from({ length: 100 }, (_, i) => first + i));
    expect(await hashOf(follower)).toBe(await hashOf(leader));
  });

  it('adds a learner, refuses to re-add its URL, promotes it, and removes a member', async () => {
    cluster = await createTestCluster({ nodes: 3, seed: 12 });
    const leader = await cluster.waitForLeader();
    await leader.kv.put('a', '1');
    const li = await cluster.addMember({ isLearner: true });
    const learner = cluster.node(li);
    expect((await learner.kv.get('a')).kvs).toHaveLength(1);
    await expect(leader.cluster.add(['mem://n4'])).rejects.toBeInstanceOf(PeerUrlExistsError);
    let members = (await leader.cluster.members()).members;
    expect(members.find((m) => m.id === learner.id)?.isLearner).toBe(true);
    await cluster.sleep(200);
    const promoted = await leader.cluster.promote(learner.id);
    expect(promoted.member?.isLearner).toBe(false);
    await expect(leader.cluster.promote(learner.id)).rejects.toBeInstanceOf(MemberNotLearnerError);

    const victimIndex = [0, 1, 2].find((x) => cluster!.node(x) !== leader)!;
    const victim = cluster.node(victimIndex);
    await leader.cluster.remove(victim.id);
    members = (await leader.cluster.members()).members;
    expect(members.map((m) => m.id)).not.toContain(victim.id);
    await expect(leader.cluster.remove(victim.id)).rejects.toBeInstanceOf(MemberRemovedError);
    await leader.kv.put('after-remove', 'ok');
    expect(text((await learner.kv.get('after-remove')).kvs[0]?.value)).toBe('ok');
  });

  it("etcd's strict reconfiguration check: started members must stay a quorum, the leader must hear from them", async () => {
    cluster = await createTestCluster({ nodes: 1, seed: 21 });
    const only = await cluster.waitForLeader();
    // A one-member cluster may not remove its only voter …
    await expect(only.cluster.remove(only.id)).rejects.toBeInstanceOf(NotEnoughStartedMembersError);
    // … and may add a second voter (the documented way to grow it), although that voter has not
    // started, so the cluster has no quorum until it does; the member list is still answered.
    const added = await only.cluster.add(['tcp://127.0.0.1:1']);
    expect(added.members).toHaveLength(2);
    // Two voters, one started: a third voter would leave 1 started of 3.
    await expect(only.cluster.add(['tcp://127.0.0.1:2'])).rejects.toBeInstanceOf(
      NotEnoughStartedMembersError,
    );
    // Only learners can still be added … and malformed URLs are refused before anything else.
    await expect(only.cluster.add(['tcp://127.0.0.1'])).rejects.toBeInstanceOf(BadPeerUrlsError);
    await expect(only.cluster.add(['tcp://127.0.0.1:3/x'])).rejects.toBeInstanceOf(BadPeerUrlsError);
    await expect(only.cluster.add([])).rejects.toBeInstanceOf(BadPeerUrlsError);
    const listed = await only.cluster.members({ serializable: true });
    expect(listed.members.map((m) => m.peerUrls[0]).sort()).toEqual(['mem://n1', 'tcp://127.0.0.1:1']);
  });

  it('the leader refuses to add a voter while it does not hear from every voter', async () => {
    cluster = await createTestCluster({ nodes: 3, seed: 22 });
    const leader = await cluster.waitForLeader();
    await leader.kv.put('a', '1');
    const fi = [0, 1, 2].find((x) => cluster!.node(x) !== leader)!;
    cluster.isolate(fi);
    // The leader notices the silence once an election timeout passes (check quorum).
    await cluster.sleep(3_000);
    await expect(leader.cluster.add(['tcp://127.0.0.1:4'])).rejects.toBeInstanceOf(UnhealthyClusterError);
    // Removing the silent member is safe: it is not part of the active quorum.
    await leader.cluster.remove(cluster.node(fi).id);
    expect((await leader.cluster.members()).members).toHaveLength(2);
  });

  it('a member whose log ends before a member was added catches up once that member leads', async () => {
    // Soak seed 5000: the lagging member knew nothing of the new leader, so its answers to its
    // probes were dropped ('unknown peer') and the leader, waiting for one, never probed again.
    cluster = await createTestCluster({ nodes: 3, seed: 21 });
    const leader = await cluster.waitForLeader();
    const lagging = [0, 1, 2].find((x) => cluster!.node(x) !== leader)!;
    cluster.isolate(lagging);
    const added = cluster.node(await cluster.addMember());
    await added.kv.put('k', 'v');
    await leader.maintenance.moveLeader(added.id);
    expect(await cluster.waitForLeader()).toBe(added);
    cluster.heal();
    await added.kv.put('k', 'after');
    const m = cluster.node(lagging);
    const local = async () => text((await m.kv.get('k', { serializable: true })).kvs[0]?.value);
    for (let t = 0; t < 100 && (await local()) !== 'after'; t++) await cluster.sleep(20);
    expect(await local()).toBe('after');
    expect((await m.cluster.members()).members.map((x) => x.id)).toContain(added.id);
  });
});
