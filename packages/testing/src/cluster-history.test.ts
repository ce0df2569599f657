/**
 * End to end: a history recorded from a real 3-member createTestCluster — concurrent clients on
 * every member doing puts, gets, deletes, txns and leases, with the leader cut off in the middle
 * (its clients' calls time out: ambiguous) — passes the checker.
 */

import { createTestCluster } from '@tsetcd/core/testing';
import { describe, expect, it } from 'vitest';
import { checkLinearizability } from './linearizability.js';
import { Recorder, type RecordingClient } from './recorder.js';

describe('a history recorded from a 3-member test cluster', () => {
  it('with a partition in the middle is linearizable', async () => {
    await using cluster = await createTestCluster({ nodes: 3, seed: 21 });
    const leader = await cluster.waitForLeader();
    const recorder = new Recorder({ now: () => cluster.clock.now() });
    const clients: RecordingClient[] = [];
    cluster.running().forEach((m, i) => {
      for (let c = 0; c < 2; c++) clients.push(recorder.client(m, i * 2 + c));
    });
    let seed = 7;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const work = async (c: RecordingClient, ops: number) => {
      for (let n = 0; n < ops; n++) {
        const key = `k${rand(3)}`;
        const r = rand(10);
        try {
          if (r < 3) await c.put(key, String(rand(5)), { prevKv: rand(2) === 0 });
          else if (r < 6) await c.get(key);
          else if (r < 7) await c.delete(key);
          else if (r < 9)
            await c.txn({
              compare: [{ key, target: 'VALUE', result: 'EQUAL', value: String(rand(5)) }],
              success: [{ type: 'put', key, value: String(rand(5)) }],
              failure: [{ type: 'get', key }],
            });
          else {
            const g = await c.leaseGrant(60);
            await c.put(`${key}/l`, 'x', { lease: g.id });
            await c.leaseRevoke(g.id);
          }
        } catch {
          // recorded (ambiguous or definite); carry on
        }
      }
    };
    await Promise.all(clients.map((c) => work(c, 15)));
    cluster.isolate(cluster.indexOf(leader));
    await cluster.waitForLeader({ exclude: leader });
    await Promise.all(clients.map((c) => work(c, 10)));
    cluster.heal();
    await cluster.sleep(1_000);
    await Promise.all(clients.map((c) => work(c, 10)));

    const h = recorder.history;
    const r = checkLinearizability(h, { timeoutMs: 20_000 });
    if (r.result === 'illegal') throw new Error(r.counterexample.text);
    expect(r.result).toBe('ok');
    expect(h.length).toBeGreaterThan(150);
  });
});
