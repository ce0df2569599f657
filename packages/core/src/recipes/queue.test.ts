/**
 * Queue and PriorityQueue on a 3-member in-memory cluster: FIFO order across members, waiting
 * on an empty queue, exactly-once delivery to concurrent consumers on every member (also while
 * one member is cut off), and priority order.
 */

import { seededRandom } from '@tsetcd/raft';
import { afterEach, describe, expect, it } from 'vitest';
import { RequestCanceledError } from '../node-errors.js';
import { createTestCluster, type TestCluster } from '../testing/test-cluster.js';
import { PriorityQueue, Queue } from './queue.js';

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

describe('Queue', () => {
  it('dequeues in the order items were enqueued, whichever members enqueued them', async () => {
    const { m } = await start(1);
    for (let i = 0; i < 9; i++) await new Queue(m[i % 3]!.client, 'jobs').enqueue(`job-${i}`);
    const q = new Queue(m[1].client, 'jobs');
    const out: string[] = [];
    for (let i = 0; i < 9; i++) out.push(await q.dequeue());
    expect(out).toEqual(Array.from({ length: 9 }, (_, i) => `job-${i}`));
    expect((await m[0].kv.get('jobs/', { prefix: true })).count).toBe(0);
  });

  it('keeps items of other queues apart', async () => {
    const { m } = await start(2);
    await new Queue(m[0].client, 'a').enqueue('for-a');
    await new Queue(m[0].client, 'ab').enqueue('for-ab');
    expect(await new Queue(m[1].client, 'ab').dequeue()).toBe('for-ab');
    expect(await new Queue(m[1].client, 'a').dequeue()).toBe('for-a');
  });

  it('waits on an empty queue until an item is enqueued on another member', async () => {
    const { c, m } = await start(3);
    const q = new Queue(m[2].client, 'jobs');
    let got: string | undefined;
    const waiting = q.dequeue().then((v) => {
      got = v;
    });
    await c.sleep(1_000);
    expect(got).toBeUndefined();
    await new Queue(m[0].client, 'jobs').enqueue('late');
    await waiting;
    expect(got).toBe('late');
  });

  it('stops waiting with RequestCanceledError when the signal aborts', async () => {
    const { c, m } = await start(4);
    const ac = new AbortController();
    const waiting = new Queue(m[0].client, 'jobs').dequeue({ signal: ac.signal }).catch((e: unknown) => e);
    await c.sleep(200);
    ac.abort();
    expect(await waiting).toBeInstanceOf(RequestCanceledError);
  });

  /**
   * Producers on every member enqueue while two consumers per member dequeue; part way through
   * a member may be cut off. Every item reaches exactly one consumer, each consumer sees items
   * in enqueue order, and an item is missing only when a consumer's call failed (its claim may
   * have been applied without the consumer hearing of it).
   */
  async function consumers(seed: number, cutOff: boolean) {
    const { c, m } = await start(seed);
    const rand = seededRandom(seed);
    const ITEMS_PER_PRODUCER = 10;
    const enqueued = new Map<string, number>(); // item → revision
    const delivered: { consumer: string; item: string }[] = [];
    let failures = 0;
    const ac = new AbortController();

    const attempted = new Set<string>(); // every item a producer tried to enqueue
    const producer = async (p: number) => {
      const q = new Queue(m[p]!.client, 'work');
      for (let i = 0; i < ITEMS_PER_PRODUCER; i++) {
        await c.sleep(rand(100));
        // A failed enqueue may still have been applied: a retry enqueues a new item.
        for (let attempt = 0; ; attempt++) {
          const item = `p${p}-${i}-${attempt}`;
          attempted.add(item);
          try {
            enqueued.set(item, (await q.enqueue(item, { timeoutMs: 1_000 })).revision);
            break;
          } catch {
            await c.sleep(100);
          }
        }
      }
    };
    const consumer = async (member: number, id: string) => {
      const q = new Queue(m[member]!.client, 'work');
      for (;;) {
        try {
          delivered.push({ consumer: id, item: await q.dequeue({ signal: ac.signal, timeoutMs: 1_000 }) });
          await c.sleep(50 + rand(250)); // processing the item
        } catch (e) {
          if (e instanceof RequestCanceledError) return;
          failures++;
          await c.sleep(100);
        }
      }
    };

    const running = [0, 1, 2].flatMap((member) => [
      consumer(member, `c${member}a`),
      consumer(member, `c${member}b`),
    ]);
    const chaos = (async () => {
      if (!cutOff) return;
      await c.sleep(300 + rand(300));
      c.isolate(rand(3));
      await c.sleep(1_500);
      c.heal();
    })();
    await Promise.all([0, 1, 2].map(producer));
    await chaos;
    // Let the consumers drain the queue, then stop them.
    for (let i = 0; i < 100 && (await m[0].kv.get('work/', { prefix: true })).count > 0; i++)
      await c.sleep(100);
    await c.sleep(500);
    ac.abort();
    await Promise.all(running);

    const items = delivered.map((d) => d.item);
    expect(new Set(items).size).toBe(items.length); // no item twice
    for (const item of items) expect(attempted.has(item)).toBe(true);
    const undelivered = [...enqueued.keys()].filter((item) => !items.includes(item));
    expect(undelivered.length).toBeLessThanOrEqual(failures);
    if (failures === 0) expect(items.length).toBe(enqueued.size);
    expect((await m[0].kv.get('work/', { prefix: true })).count).toBe(0);
    for (const id of new Set(delivered.map((d) => d.consumer))) {
      const revs = delivered
        .filter((d) => d.consumer === id && enqueued.has(d.item))
        .map((d) => enqueued.get(d.item)!);
      expect(revs).toEqual([...revs].sort((a, b) => a - b));
    }
    return {
      enqueued: enqueued.size,
      delivered: items.length,
      failures,
      consumers: new Set(delivered.map((d) => d.consumer)).size,
    };
  }

  it.each([11, 12, 13, 14, 15])(
    'delivers each item exactly once to concurrent consumers on every member (seed %i)',
    async (seed) => {
      const r = await consumers(seed, false);
      expect(r).toMatchObject({ enqueued: 30, delivered: 30, failures: 0 });
      expect(r.consumers).toBeGreaterThan(1);
    },
  );

  it.each([21, 22, 23, 24, 25])(
    'delivers each item at most once while a member is cut off (seed %i)',
    async (seed) => {
      const r = await consumers(seed, true);
      expect(r.enqueued).toBe(30);
      expect(r.delivered).toBeGreaterThanOrEqual(30 - r.failures);
    },
  );
});

describe('PriorityQueue', () => {
  it('dequeues the lowest priority number first, FIFO within a priority', async () => {
    const { m } = await start(31);
    const items: [string, number][] = [
      ['e1', 5],
      ['a1', 1],
      ['c1', 3],
      ['a2', 1],
      ['z', 0],
      ['e2', 5],
      ['max', 65535],
    ];
    for (const [i, [v, p]] of items.entries()) await new PriorityQueue(m[i % 3]!.client, 'pq').enqueue(v, p);
    const q = new PriorityQueue(m[2].client, 'pq');
    const out: string[] = [];
    for (let i = 0; i < items.length; i++) out.push(await q.dequeue());
    expect(out).toEqual(['z', 'a1', 'a2', 'c1', 'e1', 'e2', 'max']);
  });

  it('gives concurrent enqueuers at one priority distinct, ordered sequence numbers', async () => {
    const { m } = await start(32);
    const keys = await Promise.all(
      Array.from({ length: 9 }, (_, i) => new PriorityQueue(m[i % 3]!.client, 'pq').enqueue(`v${i}`, 7)),
    );
    expect(new Set(keys.map((k) => k.key)).size).toBe(9);
    const byRevision = [...keys].sort((a, b) => a.revision - b.revision).map((k) => k.key);
    expect(byRevision).toEqual([...byRevision].sort());
  });

  it('rejects a priority outside [0, 65535]', async () => {
    const { m } = await start(33);
    await expect(new PriorityQueue(m[0].client, 'pq').enqueue('x', 65536)).rejects.toThrow(RangeError);
    await expect(new PriorityQueue(m[0].client, 'pq').enqueue('x', -1)).rejects.toThrow(RangeError);
  });

  it('waits on an empty queue until an item is enqueued', async () => {
    const { c, m } = await start(34);
    const waiting = new PriorityQueue(m[1].client, 'pq').dequeue();
    await c.sleep(500);
    await new PriorityQueue(m[0].client, 'pq').enqueue('urgent', 0);
    expect(await waiting).toBe('urgent');
  });
});
