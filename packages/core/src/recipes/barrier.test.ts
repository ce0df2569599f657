/**
 * Barrier and DoubleBarrier on a 3-member in-memory cluster: waiters on every member are held
 * and released together, a participant on a cut-off member is released only once its member
 * catches up, and a participant cut off past its lease TTL no longer holds the others.
 */

import { afterEach, describe, expect, it } from 'vitest';
import { createTestCluster, type TestCluster } from '../testing/test-cluster.js';
import { Barrier, DoubleBarrier, KeyExistsError, TooManyClientsError } from './barrier.js';

let cluster: TestCluster | undefined;

afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
});

async function start(seed: number) {
  cluster = await createTestCluster({ nodes: 3, seed });
  await cluster.waitForLeader();
  return { c: cluster, m: [cluster.node(0), cluster.node(1), cluster.node(2)] as const };
}

/** A promise with a flag that says whether it has settled yet. */
function track(p: Promise<unknown>): {
  readonly done: boolean;
  readonly error: unknown;
  readonly p: Promise<void>;
} {
  const t = {
    done: false,
    error: undefined as unknown,
    p: p.then(
      () => {
        t.done = true;
      },
      (e: unknown) => {
        t.done = true;
        t.error = e;
      },
    ),
  };
  return t;
}

describe('Barrier', () => {
  it('holds waiters on every member until it is released', async () => {
    const { c, m } = await start(1);
    await new Barrier(m[0].client, 'gate').hold();
    const waiters = m.map((x) => track(new Barrier(x.client, 'gate').wait()));
    await c.sleep(1_000);
    expect(waiters.map((w) => w.done)).toEqual([false, false, false]);
    await new Barrier(m[1].client, 'gate').release();
    await Promise.all(waiters.map((w) => w.p));
    expect(waiters.map((w) => w.error)).toEqual([undefined, undefined, undefined]);
  });

  it('does not wait when the barrier is down, and cannot be held twice', async () => {
    const { m } = await start(2);
    await new Barrier(m[2].client, 'gate').wait();
    await new Barrier(m[0].client, 'gate').hold();
    await expect(new Barrier(m[1].client, 'gate').hold()).rejects.toBeInstanceOf(KeyExistsError);
  });

  it.each([3, 4, 5])(
    'releases a waiter on a cut-off member only once its member learns of the release (seed %i)',
    async (seed) => {
      const { c, m } = await start(seed);
      await new Barrier(m[0].client, 'gate').hold();
      const waiters = m.map((x) => track(new Barrier(x.client, 'gate').wait()));
      await c.sleep(200); // every waiter has read the barrier and is watching
      const cut = m.findIndex((x) => !x.isLeader);
      c.isolate(cut);
      const leader = await c.waitForLeader({ timeoutMs: 5_000 });
      await new Barrier(leader.client, 'gate').release();
      await Promise.all(waiters.filter((_, i) => i !== cut).map((w) => w.p));
      await c.sleep(2_000);
      expect(waiters[cut]!.done).toBe(false);
      c.heal();
      await waiters[cut]!.p;
      expect(waiters[cut]!.error).toBeUndefined();
    },
  );
});

describe('DoubleBarrier', () => {
  it('lets participants on every member in once all have entered, and out once all have left', async () => {
    const { c, m } = await start(11);
    const b = m.map((x) => new DoubleBarrier(x.client, 'meet', 3, { ttl: 5 }));
    const enters = [track(b[0]!.enter()), track(b[1]!.enter())];
    await c.sleep(1_000);
    expect(enters.map((e) => e.done)).toEqual([false, false]);
    await b[2]!.enter();
    await Promise.all(enters.map((e) => e.p));
    expect(enters.map((e) => e.error)).toEqual([undefined, undefined]);

    const leaves = [track(b[1]!.leave()), track(b[2]!.leave())];
    await c.sleep(1_000);
    expect(leaves.map((l) => l.done)).toEqual([false, false]);
    await b[0]!.leave();
    await Promise.all(leaves.map((l) => l.p));
    expect(leaves.map((l) => l.error)).toEqual([undefined, undefined]);
    expect((await m[0].kv.get('meet/', { prefix: true })).kvs).toEqual([]);
    expect((await m[0].lease.leases()).leases).toEqual([]); // each participant's lease ended
  });

  it('refuses a participant beyond count', async () => {
    const { m } = await start(12);
    const b = [0, 1].map((i) => new DoubleBarrier(m[i]!.client, 'meet', 2, { ttl: 5 }));
    await Promise.all(b.map((x) => x.enter()));
    await expect(new DoubleBarrier(m[2].client, 'meet', 2).enter()).rejects.toBeInstanceOf(
      TooManyClientsError,
    );
    await Promise.all(b.map((x) => x.leave()));
  });

  it("uses the caller's lease when given one, and leaves it alive", async () => {
    const { m } = await start(13);
    const lease = await m[0].lease.grant(30);
    const b = [
      new DoubleBarrier(m[0].client, 'meet', 2, { lease: lease.id }),
      new DoubleBarrier(m[1].client, 'meet', 2, { lease: lease.id }),
    ];
    await Promise.all(b.map((x) => x.enter()));
    const keys = (await m[2].kv.get('meet/waiters/', { prefix: true })).kvs;
    expect(keys.map((k) => k.lease)).toEqual([lease.id, lease.id]);
    await Promise.all(b.map((x) => x.leave()));
    expect((await m[2].lease.timeToLive(lease.id)).ttl).toBeGreaterThan(0);
  });

  it.each([14, 24, 34])(
    'holds the others while a participant is cut off before entering; it enters once healed (seed %i)',
    async (seed) => {
      const { c, m } = await start(seed);
      const cut = m.findIndex((x) => !x.isLeader);
      const others = [0, 1, 2].filter((i) => i !== cut);
      c.isolate(cut);
      await c.waitForLeader({ timeoutMs: 5_000 });
      const b = m.map((x) => new DoubleBarrier(x.client, 'meet', 3, { ttl: 5 }));
      const enters = others.map((i) => track(b[i]!.enter()));
      await expect(b[cut]!.enter({ timeoutMs: 1_000 })).rejects.toThrow();
      expect(enters.map((e) => e.done)).toEqual([false, false]);
      c.heal();
      await c.waitForLeader();
      await b[cut]!.enter();
      await Promise.all(enters.map((e) => e.p));
      expect(enters.map((e) => e.error)).toEqual([undefined, undefined]);
      await Promise.all(b.map((x) => x.leave()));
    },
  );

  it.each([15, 25, 35])(
    'stops holding the others in leave once a cut-off participant has lost its lease (seed %i)',
    async (seed) => {
      const { c, m } = await start(seed);
      const b = m.map((x) => new DoubleBarrier(x.client, 'meet', 3, { ttl: 2 }));
      await Promise.all(b.map((x) => x.enter()));
      const cut = m.findIndex((x) => !x.isLeader);
      const others = [0, 1, 2].filter((i) => i !== cut);
      c.isolate(cut);
      const leaves = others.map((i) => track(b[i]!.leave()));
      await c.sleep(1_000);
      expect(leaves.map((l) => l.done)).toEqual([false, false]); // the cut-off one is still in
      // Its keep-alives cannot reach the leader: its lease expires and its key goes with it.
      await Promise.all(leaves.map((l) => l.p));
      expect(leaves.map((l) => l.error)).toEqual([undefined, undefined]);
      expect((await m[others[0]!]!.kv.get('meet/waiters/', { prefix: true })).kvs).toEqual([]);
      c.heal();
      await c.sleep(500);
      await b[cut]!.leave().catch(() => undefined); // nothing left to wait for
      expect((await m[cut]!.kv.get('meet/', { prefix: true })).kvs).toEqual([]);
    },
  );
});
