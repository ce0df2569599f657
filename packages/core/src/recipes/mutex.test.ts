/**
 * Mutex: etcd's lock with a fencing token, on a 3-member in-memory cluster under deterministic
 * virtual time — revision-ordered waiters woken one at a time, tokens that grow from holder to
 * holder, a lost session that releases the lock (and tells the holder), and, on many seeds with
 * partitions and expiring sessions, never two holders at once nor a stale holder's write.
 */

import { seededRandom } from '@tsetcd/raft';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Client } from '../node/client.js';
import type { TsetcdNode } from '../node/node.js';
import { RequestCanceledError } from '../node-errors.js';
import { randomFaults } from '../testing/faults.js';
import { createTestCluster, type TestCluster } from '../testing/test-cluster.js';
import { LockedError, type LockGuard, Mutex } from './mutex.js';
import { Session, SessionExpiredError } from './session.js';

let cluster: TestCluster | undefined;

afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
});

async function setup(seed: number) {
  cluster = await createTestCluster({ nodes: 3, seed });
  const leader = await cluster.waitForLeader();
  const followers = cluster.running().filter((m) => m !== leader);
  return { c: cluster, leader, followers };
}

/** A client of its own on `node`, so a test can count what each contender asks. */
function clientOn(node: TsetcdNode): Client {
  return new Client({ node, authInfo: () => undefined });
}

const text = (b: Uint8Array | undefined) => (b === undefined ? undefined : new TextDecoder().decode(b));

/** A txn writing `resource` only if `guard` still holds the lock. */
async function guardedWrite(
  client: Client,
  guard: { isOwner(): ReturnType<LockGuard['isOwner']> },
  v: string,
) {
  const r = await client.kv.txn({
    compare: [guard.isOwner()],
    success: [
      {
        type: 'put',
        request: { key: new TextEncoder().encode('resource'), value: new TextEncoder().encode(v) },
      },
    ],
    failure: [],
  });
  return r;
}

describe('Mutex', () => {
  it('locks a free lock at once with its key`s create revision as fencing token, and unlocks', async () => {
    const { followers } = await setup(1);
    const s = await Session.create(followers[0]!.client, { ttl: 5 });
    const m = new Mutex(s, 'locks/a');
    expect(m.key).toBe(`locks/a/${s.lease.toString(16)}`);
    const g = await m.lock();
    const kv = (await followers[0]!.kv.get(m.key)).kvs[0]!;
    expect(g.fencingToken).toBe(kv.createRevision);
    expect(kv.lease).toBe(s.lease);
    expect(m.isLocked).toBe(true);
    expect((await guardedWrite(s.client, g, 'a')).succeeded).toBe(true);
    await g.unlock();
    expect(g.signal.aborted).toBe(true);
    expect(m.isLocked).toBe(false);
    expect((await followers[0]!.kv.get(m.key)).kvs).toEqual([]);
    expect((await guardedWrite(s.client, g, 'b')).succeeded).toBe(false);
    expect((await guardedWrite(s.client, m, 'b')).succeeded).toBe(false);
    await s.close();
  });

  it('tryLock fails with LockedError while another session holds the lock, leaving no key behind', async () => {
    const { c, leader, followers } = await setup(2);
    const s1 = await Session.create(leader.client, { ttl: 5 });
    const s2 = await Session.create(followers[1]!.client, { ttl: 5 });
    const g1 = await new Mutex(s1, 'L').tryLock();
    const m2 = new Mutex(s2, 'L');
    await expect(m2.tryLock()).rejects.toBeInstanceOf(LockedError);
    expect((await leader.kv.get('L/', { prefix: true })).count).toBe(1);
    await g1.unlock();
    const g2 = await m2.tryLock();
    expect(g2.fencingToken).toBeGreaterThan(g1.fencingToken);
    await c.sleep(1);
  });

  it('queues waiters in revision order and wakes only the next one at each release', async () => {
    const { c, leader, followers } = await setup(3);
    const nodes = [leader, followers[0]!, followers[1]!];
    const holder = await Session.create(clientOn(leader), { ttl: 5 });
    const h = await new Mutex(holder, 'q').lock();
    const waiters = await Promise.all(
      [0, 1, 2].map(async (i) => {
        const client = clientOn(nodes[i]!);
        return { client, session: await Session.create(client, { ttl: 5 }) };
      }),
    );
    const calls = waiters.map((w) => ({
      get: vi.spyOn(w.client.kv, 'get'),
      watch: vi.spyOn(w.client, 'watch'),
    }));
    const acquired: { i: number; guard: LockGuard }[] = [];
    const pending = waiters.map(async (w, i) => {
      await c.sleep(100 * i); // queue up in order W0, W1, W2
      const guard = await new Mutex(w.session, 'q').lock();
      acquired.push({ i, guard });
      return guard;
    });
    await c.sleep(1_000);
    expect(acquired).toEqual([]);
    // Each waiter watches one key: the one just below its own.
    expect(calls.map((x) => x.watch.mock.calls.length)).toEqual([1, 1, 1]);
    const work = (x: (typeof calls)[number]) => x.get.mock.calls.length + x.watch.mock.calls.length;
    const prev: number[] = [];
    const releases: { unlock(): Promise<void> }[] = [h];
    for (let k = 0; k < 3; k++) {
      calls.forEach((x, i) => {
        prev[i] = work(x);
      });
      await releases[k]!.unlock();
      await c.sleep(500);
      expect(acquired.map((a) => a.i)).toEqual([0, 1, 2].slice(0, k + 1));
      // Only the woken waiter did any work; the ones behind it stayed asleep.
      calls.forEach((x, i) => {
        if (i !== k) expect(work(x)).toBe(prev[i]);
      });
      releases.push(acquired[k]!.guard);
    }
    const tokens = [h.fencingToken, ...(await Promise.all(pending)).map((g) => g.fencingToken)];
    expect([...tokens].sort((a, b) => a - b)).toEqual(tokens);
    expect(new Set(tokens).size).toBe(4);
  });

  it('gives fencing tokens that strictly increase across successive holders, also for one session re-locking', async () => {
    const { leader, followers } = await setup(4);
    const sessions = await Promise.all(
      [leader, ...followers].map((m) => Session.create(m.client, { ttl: 5 })),
    );
    const tokens: number[] = [];
    for (let round = 0; round < 3; round++) {
      for (const s of sessions) {
        const g = await new Mutex(s, 'seq').lock();
        tokens.push(g.fencingToken);
        await g.unlock();
      }
    }
    for (let i = 1; i < tokens.length; i++) expect(tokens[i]!).toBeGreaterThan(tokens[i - 1]!);
  });

  it('a waiter that gives up leaves the queue, and the one behind it still gets the lock in turn', async () => {
    const { c, leader, followers } = await setup(5);
    const [s0, s1, s2] = await Promise.all(
      [leader, ...followers].map((m) => Session.create(m.client, { ttl: 5 })),
    );
    const g0 = await new Mutex(s0!, 'g').lock();
    const ac = new AbortController();
    const w1 = new Mutex(s1!, 'g').lock({ signal: ac.signal });
    await c.sleep(100);
    const w2 = new Mutex(s2!, 'g').lock();
    await c.sleep(100);
    ac.abort();
    await expect(w1).rejects.toBeInstanceOf(RequestCanceledError);
    await c.sleep(100);
    expect((await leader.kv.get('g/', { prefix: true })).count).toBe(2);
    await g0.unlock();
    const g2 = await w2;
    expect(g2.fencingToken).toBeGreaterThan(g0.fencingToken);
  });

  it('a lost session releases the lock: the holder is told, the next waiter gets it after the TTL, and the stale holder cannot write', async () => {
    const { c, leader, followers } = await setup(6);
    const [a, b] = followers as [TsetcdNode, TsetcdNode];
    const sa = await Session.create(a.client, { ttl: 2 });
    const sb = await Session.create(b.client, { ttl: 2 });
    const ma = new Mutex(sa, 'res');
    const ga = await ma.lock();
    let lostAt: number | undefined;
    ma.on('lost', (err) => {
      expect(err).toBeInstanceOf(SessionExpiredError);
      lostAt = c.clock.now();
    });
    let gotAt: number | undefined;
    const wb = new Mutex(sb, 'res').lock().then((g) => {
      gotAt = c.clock.now();
      return g;
    });
    await c.sleep(100);
    const cutAt = c.clock.now();
    c.isolate(c.indexOf(a));
    await c.sleep(1_500);
    expect(gotAt).toBeUndefined();
    const gb = await wb;
    expect(ga.signal.aborted).toBe(true);
    expect(ma.isLocked).toBe(false);
    expect(lostAt!).toBeLessThanOrEqual(gotAt!);
    expect(gotAt! - cutAt).toBeGreaterThanOrEqual(1_500);
    expect(gb.fencingToken).toBeGreaterThan(ga.fencingToken);
    // The stale holder's guarded write fails wherever it is made.
    expect((await guardedWrite(leader.client, ga, 'stale')).succeeded).toBe(false);
    expect((await guardedWrite(b.client, gb, 'fresh')).succeeded).toBe(true);
    c.heal();
    await c.sleep(500);
    expect((await guardedWrite(a.client, ga, 'stale')).succeeded).toBe(false);
    expect(text((await a.kv.get('resource')).kvs[0]?.value)).toBe('fresh');
  });

  it('a waiter whose session is lost stops waiting with SessionExpiredError', async () => {
    const { c, leader, followers } = await setup(7);
    const holder = await Session.create(leader.client, { ttl: 5 });
    await new Mutex(holder, 'w').lock();
    const a = followers[0]!;
    const sa = await Session.create(a.client, { ttl: 2 });
    const wa = new Mutex(sa, 'w').lock();
    wa.catch(() => undefined);
    await c.sleep(100);
    c.isolate(c.indexOf(a));
    await c.sleep(2_500);
    await expect(wa).rejects.toBeInstanceOf(SessionExpiredError);
  });
});

// ---- safety under faults ---------------------------------------------------------------------

const SAFETY_SEEDS = Array.from({ length: 30 }, (_, i) => i + 1);
const RUN_MS = 16_000;
const TTL = 2;

interface Outcome {
  readonly acquisitions: number;
  readonly violations: string[];
  readonly writes: { readonly rev: number; readonly token: number }[];
}

/**
 * Three workers, one per member, take the lock again and again and write under it, while
 * members are partitioned and the raft leader isolated — long enough, at times, for sessions
 * to expire.
 */
async function contend(seed: number): Promise<Outcome> {
  const c = await createTestCluster({ nodes: 3, seed });
  cluster = c;
  await c.waitForLeader();
  const rand = seededRandom(seed);
  const violations: string[] = [];
  const writes: { rev: number; token: number }[] = [];
  const holders: LockGuard[] = [];
  const stop = new AbortController();
  const endAt = c.clock.now() + RUN_MS;
  let maxToken = 0;

  const worker = async (i: number) => {
    const node = c.node(i);
    let session: Session | undefined;
    while (!stop.signal.aborted) {
      if (session === undefined || session.signal.aborted) {
        try {
          session = await Session.create(node.client, { ttl: TTL, signal: stop.signal });
        } catch {
          await c.sleep(100);
          continue;
        }
      }
      try {
        const guard = await new Mutex(session, 'safety').lock({ signal: stop.signal });
        // A session taking its lock again while its key still stands (an unlock that failed)
        // continues the same tenure, as in etcd: same key, same token. Any other is a new holder.
        const sameTenure = (g: LockGuard) => g.key === guard.key && g.fencingToken === guard.fencingToken;
        const believers = holders.filter((g) => !sameTenure(g) && !g.signal.aborted);
        if (believers.length > 0) {
          violations.push(
            `t=${c.clock.now()} worker ${i} got token ${guard.fencingToken} while ${believers.map((g) => g.fencingToken)} still held`,
          );
        }
        const previous = holders[holders.length - 1];
        holders.push(guard);
        if (previous !== undefined && !sameTenure(previous)) {
          if (guard.fencingToken <= maxToken)
            violations.push(`token ${guard.fencingToken} after ${maxToken}`);
          const r = await guardedWrite(node.client, previous, `stale ${previous.fencingToken}`);
          if (r.succeeded)
            violations.push(`stale holder ${previous.fencingToken} wrote after ${guard.fencingToken}`);
        }
        maxToken = guard.fencingToken;
        for (let k = 1 + rand(3); k > 0 && !guard.signal.aborted; k--) {
          const r = await guardedWrite(node.client, guard, `${guard.fencingToken}`);
          if (r.succeeded) writes.push({ rev: r.header.revision, token: guard.fencingToken });
          await c.sleep(50 + rand(900));
        }
        await guard.unlock();
      } catch {
        // Lost sessions, timeouts on a cut-off member, the end of the run: try again.
      }
      // Now and then start over with a new session; else the same key is taken again.
      if (rand(2) === 0 || stop.signal.aborted) {
        await session.close().catch(() => undefined);
        session = undefined;
      }
    }
  };

  const faults = async () => {
    await randomFaults(c, { until: endAt, rand });
    stop.abort();
  };

  await Promise.all([faults(), worker(0), worker(1), worker(2)]);
  console.log(
    seed,
    holders.length,
    holders.filter((g) => (g.signal.reason as Error)?.name === 'SessionExpiredError').length,
    writes.length,
  );
  return { acquisitions: holders.length, violations, writes };
}

describe('Mutex safety under faults', () => {
  it.each(SAFETY_SEEDS)(
    'seed %i: one holder at a time, increasing tokens, no stale write',
    async (seed) => {
      const out = await contend(seed);
      expect(out.violations).toEqual([]);
      expect(out.acquisitions).toBeGreaterThanOrEqual(3);
      const byRev = [...out.writes].sort((a, b) => a.rev - b.rev);
      for (let i = 1; i < byRev.length; i++)
        expect(byRev[i]!.token).toBeGreaterThanOrEqual(byRev[i - 1]!.token);
    },
    20_000,
  );
});
