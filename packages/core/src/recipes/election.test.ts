/**
 * Election: etcd's campaign / proclaim / resign / leader / observe with a fencing token, on a
 * 3-member in-memory cluster under deterministic virtual time — candidates elected in revision
 * order, a campaign that ends with its session, a crashed leader replaced after its TTL, and, on
 * many seeds with partitions and expiring sessions, never two leaders at once nor a deposed
 * leader's write.
 */

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { seededRandom } from '@tsetcd/raft';
import { afterEach, describe, expect, it } from 'vitest';
import type { Client } from '../node/client.js';
import type { TsetcdNode } from '../node/node.js';
import { randomFaults } from '../testing/faults.js';
import { createTestCluster, type TestCluster } from '../testing/test-cluster.js';
import {
  Election,
  ElectionNotLeaderError,
  type LeaderInfo,
  type Leadership,
  NoLeaderElectedError,
} from './election.js';
import { Session, SessionExpiredError } from './session.js';

let cluster: TestCluster | undefined;
let dir: string | undefined;

afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

async function setup(seed: number) {
  cluster = await createTestCluster({ nodes: 3, seed });
  const leader = await cluster.waitForLeader();
  const followers = cluster.running().filter((m) => m !== leader);
  return { c: cluster, leader, followers, all: [leader, ...followers] as TsetcdNode[] };
}

const text = (b: Uint8Array | undefined) => (b === undefined ? undefined : new TextDecoder().decode(b));
const enc = (s: string) => new TextEncoder().encode(s);

/** A txn writing `resource` only while `owner` leads. */
async function guardedWrite(client: Client, owner: Pick<Leadership, 'isOwner'>, v: string) {
  return client.kv.txn({
    compare: [owner.isOwner()],
    success: [{ type: 'put', request: { key: enc('resource'), value: enc(v) } }],
    failure: [],
  });
}

describe('Election', () => {
  it('elects the first candidate, reports it as leader with its fencing token, follows its proclamations and resignation', async () => {
    const { followers } = await setup(1);
    const s = await Session.create(followers[0]!.client, { ttl: 5 });
    const e = new Election(s, 'elect/a');
    await expect(e.leader()).rejects.toBeInstanceOf(NoLeaderElectedError);
    const l = await e.campaign('one');
    expect(e.isLeader).toBe(true);
    const info = await e.leader();
    expect(info.key).toBe(`elect/a/${s.lease.toString(16)}`);
    expect(text(info.value)).toBe('one');
    expect(info.createRevision).toBe(l.fencingToken);
    await l.proclaim('two');
    expect(text((await e.leader()).value)).toBe('two');
    expect((await guardedWrite(s.client, l, 'x')).succeeded).toBe(true);
    await l.resign();
    expect(l.signal.aborted).toBe(true);
    expect(e.isLeader).toBe(false);
    await expect(e.leader()).rejects.toBeInstanceOf(NoLeaderElectedError);
    expect((await guardedWrite(s.client, l, 'y')).succeeded).toBe(false);
    await expect(e.proclaim('three')).rejects.toBeInstanceOf(ElectionNotLeaderError);
  });

  it("a candidate that waited keeps its campaign write's header apart from the read that made it leader", async () => {
    const { followers } = await setup(3);
    const s1 = await Session.create(followers[0]!.client, { ttl: 5 });
    const s2 = await Session.create(followers[1]!.client, { ttl: 5 });
    const first = await new Election(s1, 'elect/h').campaign('one');
    const waiting = new Election(s2, 'elect/h').campaign('two');
    await cluster!.sleep(100);
    await first.resign();
    const second = await waiting;
    // Its key was written before the first leader resigned; it led only after that delete.
    expect(second.campaignHeader.revision).toBe(second.fencingToken);
    expect(second.header.revision).toBeGreaterThan(second.fencingToken);
    expect(first.campaignHeader.revision).toBe(first.fencingToken);
  });

  it('proclaim fails with ElectionNotLeaderError once the leader key is gone, and the candidate stops believing', async () => {
    const { leader, followers } = await setup(2);
    const s = await Session.create(followers[0]!.client, { ttl: 5 });
    const e = new Election(s, 'elect/b');
    const l = await e.campaign('v');
    await leader.kv.delete(e.key);
    await expect(e.proclaim('w')).rejects.toBeInstanceOf(ElectionNotLeaderError);
    expect(e.isLeader).toBe(false);
    expect(l.signal.aborted).toBe(true);
    await expect(l.proclaim('w')).rejects.toBeInstanceOf(ElectionNotLeaderError);
  });

  it('elects waiting candidates in campaign order, one at a time, with increasing fencing tokens', async () => {
    const { c, all } = await setup(3);
    const sessions = await Promise.all(all.map((m) => Session.create(m.client, { ttl: 5 })));
    const elected: { i: number; l: Leadership }[] = [];
    const first = await new Election(sessions[0]!, 'q').campaign('c0');
    const pending = [1, 2].map(async (i) => {
      await c.sleep(100 * i);
      const l = await new Election(sessions[i]!, 'q').campaign(`c${i}`);
      elected.push({ i, l });
    });
    await c.sleep(1_000);
    expect(elected).toEqual([]);
    await first.resign();
    await c.sleep(500);
    expect(elected.map((x) => x.i)).toEqual([1]);
    expect(text((await new Election(sessions[0]!, 'q').leader()).value)).toBe('c1');
    await elected[0]!.l.resign();
    await Promise.all(pending);
    expect(elected.map((x) => x.i)).toEqual([1, 2]);
    const tokens = [first.fencingToken, elected[0]!.l.fencingToken, elected[1]!.l.fencingToken];
    expect(tokens[1]!).toBeGreaterThan(tokens[0]!);
    expect(tokens[2]!).toBeGreaterThan(tokens[1]!);
  });

  it('a candidate already in the running with another value proclaims the new one', async () => {
    const { followers } = await setup(4);
    const s = await Session.create(followers[0]!.client, { ttl: 5 });
    const e = new Election(s, 'p');
    const l1 = await e.campaign('old');
    const l2 = await new Election(s, 'p').campaign('new');
    expect(l2.fencingToken).toBe(l1.fencingToken); // the same candidacy
    expect(text((await e.leader()).value)).toBe('new');
  });

  it('observe yields the leader, its proclamations and its successor, and ends when aborted', async () => {
    const { c, all } = await setup(5);
    const [s0, s1, s2] = await Promise.all(all.map((m) => Session.create(m.client, { ttl: 5 })));
    const l0 = await new Election(s0!, 'obs').campaign('a');
    const w1 = new Election(s1!, 'obs').campaign('b');
    const seen: LeaderInfo[] = [];
    const ac = new AbortController();
    const observing = (async () => {
      for await (const info of new Election(s2!, 'obs').observe({ signal: ac.signal })) seen.push(info);
    })();
    await c.sleep(200);
    await l0.proclaim('a2');
    await c.sleep(200);
    await l0.resign();
    const l1 = await w1;
    await c.sleep(200);
    ac.abort();
    await observing;
    expect(seen.map((x) => text(x.value))).toEqual(['a', 'a2', 'b']);
    expect(seen.map((x) => x.createRevision)).toEqual([l0.fencingToken, l0.fencingToken, l1.fencingToken]);
  });

  it('a campaign ends with SessionExpiredError when its session is lost (no zombie candidate)', async () => {
    const { c, leader, followers } = await setup(6);
    const s0 = await Session.create(leader.client, { ttl: 5 });
    await new Election(s0, 'z').campaign('leader');
    const a = followers[0]!;
    const sa = await Session.create(a.client, { ttl: 2 });
    const ea = new Election(sa, 'z');
    const campaign = ea.campaign('zombie');
    campaign.catch(() => undefined);
    await c.sleep(100);
    c.isolate(c.indexOf(a));
    await c.sleep(2_500);
    await expect(campaign).rejects.toBeInstanceOf(SessionExpiredError);
    expect(ea.isLeader).toBe(false);
    c.heal();
    await c.sleep(3_000);
    expect((await leader.kv.get('z/', { prefix: true })).count).toBe(1);
  });

  it('when the leader`s member crashes, another candidate takes over after the TTL and the old leader cannot write', async () => {
    const { c, leader, followers } = await setup(7);
    // The election's leader lives on the raft leader: its crash costs both leaderships.
    const s0 = await Session.create(leader.client, { ttl: 2 });
    const s1 = await Session.create(followers[0]!.client, { ttl: 2 });
    const e0 = new Election(s0, 'crash');
    const l0 = await e0.campaign('n0');
    let tookOverAt: number | undefined;
    const w1 = new Election(s1, 'crash').campaign('n1').then((l) => {
      tookOverAt = c.clock.now();
      return l;
    });
    const seen: string[] = [];
    const ac = new AbortController();
    const observer = followers[1]!;
    const s2 = await Session.create(observer.client, { ttl: 5 });
    const observing = (async () => {
      for await (const info of new Election(s2, 'crash').observe({ signal: ac.signal }))
        seen.push(text(info.value)!);
    })();
    await c.sleep(200);
    const crashedAt = c.clock.now();
    await c.crash(c.indexOf(leader));
    const l1 = await w1;
    expect(tookOverAt! - crashedAt).toBeLessThan(2_000 + 3 * 1_000);
    expect(l1.fencingToken).toBeGreaterThan(l0.fencingToken);
    expect(e0.isLeader).toBe(false);
    expect((await guardedWrite(observer.client, l0, 'old')).succeeded).toBe(false);
    expect((await guardedWrite(followers[0]!.client, l1, 'new')).succeeded).toBe(true);
    await c.sleep(200);
    ac.abort();
    await observing;
    expect(seen).toEqual(['n0', 'n1']);
  });

  it('never two leaders across member restarts: a restarted member campaigns anew and waits its turn', async () => {
    dir = await mkdtemp(join(tmpdir(), 'tsetcd-election-'));
    cluster = await createTestCluster({ nodes: 3, seed: 31, dataDir: dir });
    const c = cluster;
    await c.waitForLeader();
    // Each member runs one candidate; every leadership is recorded with its tenure.
    const tenures: { name: string; token: number; from: number; to: number }[] = [];
    const candidate = async (i: number, name: string) => {
      const s = await Session.create(c.node(i).client, { ttl: 2 });
      const lead = await new Election(s, 'restarts').campaign(name);
      const t = { name, token: lead.fencingToken, from: c.clock.now(), to: Number.POSITIVE_INFINITY };
      tenures.push(t);
      lead.signal.addEventListener('abort', () => {
        t.to = c.clock.now();
      });
      return lead;
    };
    const first = await candidate(0, 'a');
    const others = [candidate(1, 'b').catch(() => undefined), candidate(2, 'c').catch(() => undefined)];
    await c.sleep(500);
    // The leader's member crashes (its candidate dies with it) and comes back from its data dir.
    await c.crash(0);
    await c.sleep(300);
    await c.restart(0);
    const again = candidate(0, 'a-again').catch(() => undefined);
    await c.waitForLeader();
    await c.sleep(6_000);
    expect(first.signal.aborted).toBe(true);
    const byToken = [...tenures].sort((x, y) => x.token - y.token);
    expect(byToken.map((t) => t.name)[0]).toBe('a');
    expect(byToken.length).toBeGreaterThanOrEqual(2);
    for (let k = 1; k < byToken.length; k++) {
      // Strictly increasing tokens, and each tenure began only after the previous one ended.
      expect(byToken[k]!.token).toBeGreaterThan(byToken[k - 1]!.token);
      expect(byToken[k]!.from).toBeGreaterThanOrEqual(byToken[k - 1]!.to);
    }
    expect(byToken.filter((t) => t.to === Number.POSITIVE_INFINITY)).toHaveLength(1);
    void others;
    void again;
  });
});

// ---- safety under faults ---------------------------------------------------------------------

const SAFETY_SEEDS = Array.from({ length: 30 }, (_, i) => 100 + i);
const RUN_MS = 16_000;
const TTL = 2;

/**
 * Three candidates, one per member, campaign again and again, write as leader and resign, while
 * members are partitioned and the raft leader isolated — at times long enough for sessions to
 * expire. Returns what went wrong.
 */
async function contend(seed: number): Promise<{ terms: number; violations: string[] }> {
  const c = await createTestCluster({ nodes: 3, seed });
  cluster = c;
  await c.waitForLeader();
  const rand = seededRandom(seed);
  const violations: string[] = [];
  const leaders: Leadership[] = [];
  const stop = new AbortController();
  const endAt = c.clock.now() + RUN_MS;
  let lastWrite = { rev: 0, token: 0 };

  const candidate = async (i: number) => {
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
        const l = await new Election(session, 'safety').campaign(`n${i}`, { signal: stop.signal });
        const sameTerm = (x: Leadership) => x.key === l.key && x.fencingToken === l.fencingToken;
        const believers = leaders.filter((x) => !sameTerm(x) && !x.signal.aborted);
        if (believers.length > 0) {
          violations.push(
            `t=${c.clock.now()} n${i} elected (${l.fencingToken}) while ${believers.map((x) => x.fencingToken)} led`,
          );
        }
        const previous = leaders[leaders.length - 1];
        leaders.push(l);
        if (previous !== undefined && !sameTerm(previous)) {
          if (l.fencingToken <= previous.fencingToken)
            violations.push(`token ${l.fencingToken} after ${previous.fencingToken}`);
          const r = await guardedWrite(node.client, previous, 'deposed');
          if (r.succeeded)
            violations.push(`deposed leader ${previous.fencingToken} wrote under ${l.fencingToken}`);
        }
        for (let k = 1 + rand(3); k > 0 && !l.signal.aborted; k--) {
          const r = await guardedWrite(node.client, l, `${l.fencingToken}`);
          if (r.succeeded) {
            if (r.header.revision > lastWrite.rev && l.fencingToken < lastWrite.token) {
              violations.push(`write by ${l.fencingToken} after one by ${lastWrite.token}`);
            }
            if (r.header.revision > lastWrite.rev)
              lastWrite = { rev: r.header.revision, token: l.fencingToken };
          }
          if (rand(2) === 0) await l.proclaim(`n${i}:${k}`);
          await c.sleep(50 + rand(900));
        }
        await l.resign();
      } catch {
        // Lost sessions, deposed leaders, timeouts on a cut-off member, the end of the run.
      }
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

  await Promise.all([faults(), candidate(0), candidate(1), candidate(2)]);
  return { terms: leaders.length, violations };
}

describe('Election safety under faults', () => {
  it.each(SAFETY_SEEDS)(
    'seed %i: one leader at a time, increasing tokens, no write by a deposed leader',
    async (seed) => {
      const out = await contend(seed);
      expect(out.violations).toEqual([]);
      expect(out.terms).toBeGreaterThanOrEqual(3);
    },
    20_000,
  );
});
