/**
 * The application (order-numbers.ts) tested against a real 3-member cluster in one process under
 * deterministic virtual time (createTestCluster): one instance of the app per member; the raft
 * leader is partitioned away from the other two; the instances on the majority keep handing out
 * numbers, the one on the minority hands out none, and after the heal every number handed out
 * is unique and recorded for the instance that got it. Several seeds, each replaying exactly.
 */

import { createTestCluster, type TestCluster } from '@tsetcd/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { AllocationTimeoutError, OrderNumbers } from './order-numbers.js';

let cluster: TestCluster | undefined;

afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
});

/** Allocates `count` numbers through each app concurrently; returns [instance, number] pairs. */
async function allocate(apps: readonly OrderNumbers[], count: number): Promise<[string, number][]> {
  const got: [string, number][] = [];
  await Promise.all(
    apps.map(async (app) => {
      for (let i = 0; i < count; i++) got.push([app.instance, await app.next()]);
    }),
  );
  return got;
}

describe('order numbers on a 3-member cluster', () => {
  for (const seed of [1, 2, 3]) {
    it(`keeps allocating on the majority while the leader is partitioned (seed ${seed})`, async () => {
      cluster = await createTestCluster({ nodes: 3, seed });
      const leader = await cluster.waitForLeader();
      const l = cluster.indexOf(leader);
      const others = [0, 1, 2].filter((i) => i !== l);
      const apps = [0, 1, 2].map((i) => new OrderNumbers(cluster!.node(i).client, `app-${i + 1}`));

      // All three instances, healthy cluster: contention is resolved by the txn compare.
      const before = await allocate(apps, 5);
      expect(before.map(([, n]) => n).sort((a, b) => a - b)).toEqual(
        Array.from({ length: 15 }, (_, i) => i + 1),
      );

      // The leader is cut off: the instances on the majority carry on.
      cluster.partition([l], others);
      const majority = others.map((i) => apps[i]!);
      const during = await allocate(majority, 10);
      expect(during).toHaveLength(20);
      const newLeader = cluster.leader();
      expect(newLeader).toBeDefined();
      expect(cluster.indexOf(newLeader!)).not.toBe(l);

      // ...while the instance on the minority gets no number at all.
      await expect(apps[l]!.next({ deadlineMs: 3_000 })).rejects.toBeInstanceOf(AllocationTimeoutError);

      // Heal: the old leader's instance works again, and the audit holds.
      cluster.heal();
      await cluster.waitForLeader();
      const after = await allocate(apps, 2);
      const all = [...before, ...during, ...after];
      const numbers = all.map(([, n]) => n);
      expect(new Set(numbers).size).toBe(numbers.length);
      for (const app of apps) {
        const mine = all.filter(([who]) => who === app.instance).map(([, n]) => n);
        expect(mine).toEqual([...mine].sort((a, b) => a - b));
      }
      for (const [who, n] of all) expect(await apps[0]!.ownerOf(n)).toBe(who);
      expect(await apps[l]!.last()).toBe(Math.max(...numbers));
    });
  }
});
