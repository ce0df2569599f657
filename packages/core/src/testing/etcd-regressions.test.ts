/**
 * etcd's own known failures, replayed against tsetcd: one scripted scenario per bug report, on the
 * deterministic test cluster (virtual time, simulated disks, pauses), asserting the property etcd
 * broke. Each test is named after the etcd issue and says in one line what etcd got wrong.
 *
 * Not here: randomized exploration (the whole-node simulator in @tsetcd/testing does that); these
 * are fixed scripts, seeded, that replay the same schedule every run.
 */

import { CompactedError, type Event, type Watcher, type WatchResponse } from '@tsetcd/mvcc';
import { seededRandom } from '@tsetcd/raft';
import { describe, expect, it, vi } from 'vitest';
import { Mutex } from '../recipes/mutex.js';
import { Session, SessionExpiredError } from '../recipes/session.js';
import { MemberClock } from './member-clock.js';
import { createTestCluster, TEST_ELECTION_MS } from './test-cluster.js';

const text = (b: Uint8Array | undefined) => (b === undefined ? undefined : new TextDecoder().decode(b));

/** What a watcher delivered so far, consumed in the background. */
interface Collected {
  readonly responses: WatchResponse[];
  readonly events: Event[];
  /** The final canceled response, once it came. */
  canceled: WatchResponse | undefined;
}

/** Consumes `w` in the background, recording every response. */
function collect(w: Watcher): Collected {
  const c: Collected = { responses: [], events: [], canceled: undefined };
  void (async () => {
    for await (const r of w) {
      c.responses.push(r);
      c.events.push(...r.events);
      if (r.canceled) c.canceled = r;
    }
  })();
  return c;
}

/** Revisions of the events, one per revision (a put is one event at one revision here). */
const revisionsOf = (events: readonly Event[]) => events.map((e) => e.kv.modRevision);

/** Whether `xs` is strictly increasing. */
const strictlyIncreasing = (xs: readonly number[]) => xs.every((x, i) => i === 0 || xs[i - 1]! < x);

/** [from, from+1, …, to]. */
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('etcd regressions replayed against tsetcd', () => {
  // etcd acknowledged puts on a single member before the WAL entry was fsynced; a crash lost them.
  it('etcd #14370: a single member never loses a put it acknowledged before a crash', async () => {
    await using cluster = await createTestCluster({ nodes: 1, seed: 14370, disk: 'simulated' });
    const rand = seededRandom(14370);
    const acked = new Map<string, string>();
    let unacked = 0;
    for (let round = 0; round < 6; round++) {
      const node = await cluster.waitForLeader();
      const puts = Array.from({ length: 40 }, (_, n) => {
        const key = `r${round}/k${n}`;
        return node.kv.put(key, `v${round}.${n}`).then(
          () => acked.set(key, `v${round}.${n}`),
          () => unacked++,
        );
      });
      await cluster.sleep(1 + rand(15));
      await cluster.crash(0, { tear: true });
      await Promise.all(puts);
      await cluster.restart(0);
      const after = await cluster.waitForLeader();
      const g = await after.kv.get('r', { prefix: true });
      const present = new Map(g.kvs.map((kv) => [text(kv.key)!, text(kv.value)]));
      for (const [k, v] of acked) expect(present.get(k), `${k} after crash ${round}`).toBe(v);
    }
    const stats = cluster.disks[0]!.stats;
    // The script must really crash with writes in flight, or it proves nothing.
    expect(acked.size).toBeGreaterThan(0);
    expect(unacked).toBeGreaterThan(0);
    expect(stats.crashes).toBe(6);
    expect(stats.lostRecords + stats.tornTails).toBeGreaterThan(0);
  });

  // etcd saved the consistent (applied) index apart from the data it covered, so a crash between the
  // two made a restarted member apply entries twice or skip them, and its hash diverged.
  it('etcd #13766: a follower crashed repeatedly while applying converges to the same hashKV', async () => {
    await using cluster = await createTestCluster({
      nodes: 3,
      seed: 13766,
      disk: 'simulated',
      // Slow fsyncs and frequent backend commits: store batches are in flight most of the time.
      fsyncMs: [5, 20],
      config: { backendCommitMs: 5 },
    });
    const leader = await cluster.waitForLeader();
    const li = cluster.indexOf(leader);
    const fi = (li + 1) % 3;
    const rand = seededRandom(13766);
    // Five clients writing without pause: overwrites and deletes too, so applying an entry twice
    // or skipping one changes the key history, and with it the hash.
    let writing = true;
    let n = 0;
    const client = async () => {
      while (writing) {
        const i = n++;
        const key = `k${i % 17}`;
        await (i % 5 === 4 ? leader.kv.delete(key) : leader.kv.put(key, `v${i}`)).catch(() => undefined);
      }
    };
    const clients = Array.from({ length: 5 }, client);
    for (let round = 0; round < 8; round++) {
      await cluster.sleep(20 + rand(100));
      await cluster.crash(fi, { tear: round % 2 === 0 });
      await cluster.sleep(rand(50));
      await cluster.restart(fi);
    }
    writing = false;
    await Promise.all(clients);
    const rev = (await leader.kv.put('sync', '1')).header.revision;
    await cluster.sleep(1_000);
    const hashes = new Set<number>();
    for (const m of cluster.running()) {
      const h = await m.maintenance.hashKV(rev);
      expect(h.header.revision).toBe(rev);
      hashes.add(h.hash);
    }
    expect(hashes.size).toBe(1);
    const count = async (i: number) => {
      const g = await cluster.node(i).kv.get('k', { prefix: true, serializable: true });
      return { revision: g.header.revision, keys: g.kvs.map((kv) => `${text(kv.key)}=${text(kv.value)}`) };
    };
    expect(await count(fi)).toEqual(await count(li));
    // The crashes did lose store batches in flight (the hazard etcd's bug needed).
    expect(cluster.disks[fi]!.stats.lostBatches).toBeGreaterThan(0);
  });

  // After a follower installed a snapshot, etcd's watchers on it replayed older revisions or
  // skipped some (the watch went back in time).
  it('etcd #15271: a watch on a follower never goes back or skips across a snapshot install', async () => {
    // Without compaction the snapshot carries the whole history: the watch must continue
    // contiguously. With the majority compacting meanwhile, it must be cancelled, saying so.
    for (const compactDuringIsolation of [false, true]) {
      const label = `compaction: ${compactDuringIsolation}`;
      await using cluster = await createTestCluster({
        nodes: 3,
        seed: 15271,
        config: { snapshotCount: 20, snapshotCatchUpEntries: 5 },
      });
      const leader = await cluster.waitForLeader();
      const fi = (cluster.indexOf(leader) + 1) % 3;
      const f = cluster.node(fi);
      for (let i = 0; i < 10; i++) await leader.kv.put(`w/${i}`, `${i}`);
      await cluster.sleep(100);
      const start = (await f.kv.get('w/', { prefix: true })).header.revision + 1;
      const snapshotIndex = f.parts.snapshotter.index;
      const installs = vi.spyOn(f.parts.snapshotter, 'install');
      const seen = collect(f.watch('w/', { prefix: true, startRevision: start }));
      await leader.kv.put('w/a', 'before isolation');
      await cluster.sleep(50);
      cluster.isolate(fi);
      let compactedAt = 0;
      for (let i = 0; i < 100; i++) {
        const r = await leader.kv.put(`w/${i % 7}`, `iso ${i}`);
        if (compactDuringIsolation && i === 60) {
          compactedAt = r.header.revision;
          await leader.kv.compact(compactedAt);
        }
      }
      cluster.heal();
      let last = 0;
      for (let i = 0; i < 5; i++) last = (await leader.kv.put(`w/after${i}`, 'x')).header.revision;
      await cluster.sleep(2_000);
      // F caught up by installing the leader's snapshot, not by replaying entries.
      expect(installs, label).toHaveBeenCalled();
      expect(f.parts.snapshotter.index, label).toBeGreaterThan(snapshotIndex);
      expect((await f.kv.get('w/', { prefix: true, serializable: true })).header.revision, label).toBe(last);
      const revs = revisionsOf(seen.events);
      expect(strictlyIncreasing(revs), label).toBe(true);
      expect(revs[0], label).toBe(start);
      if (!compactDuringIsolation) {
        expect(seen.canceled, label).toBeUndefined();
        expect(revs, label).toEqual(range(start, last));
      } else {
        // Cancelled, saying why, with no gap before it and nothing from below the compaction after it.
        expect(seen.canceled?.compactRevision, label).toBe(compactedAt);
        expect(revs, label).toEqual(range(start, start + revs.length - 1));
        expect(revs[revs.length - 1]!, label).toBeLessThan(compactedAt);
      }
    }
  });

  // etcd's watch stream dropped events when a slow consumer let the send buffer fill up.
  it('etcd #17529: a watcher with a tiny buffer, not read during 500 writes, still gets every revision once', async () => {
    await using cluster = await createTestCluster({ nodes: 1, seed: 17529 });
    const node = await cluster.waitForLeader();
    const start = (await node.kv.put('s/0', 'start')).header.revision + 1;
    const w = node.watch('s/', { prefix: true, startRevision: start, bufferSize: 2 });
    let last = 0;
    for (let batch = 0; batch < 10; batch++) {
      const puts = Array.from({ length: 50 }, (_, i) => node.kv.put(`s/${i % 13}`, `${batch}.${i}`));
      for (const r of await Promise.all(puts)) last = Math.max(last, r.header.revision);
    }
    expect(last - start + 1).toBe(500);
    const revs: number[] = [];
    for await (const r of w) {
      expect(r.canceled).toBe(false);
      revs.push(...revisionsOf(r.events));
      if (revs.length >= 500) break;
    }
    expect(revs).toEqual(range(start, last));
  });

  // etcd's revision went backwards after a crash in the middle of a compaction (the latest
  // revision's key was compacted away and the restarted store recomputed its revision from it).
  it('etcd #17780: a crash during compaction never takes the revision backwards', async () => {
    // Crash moments: before the compaction commits, the instant it is acknowledged (physical
    // compaction still under way), and after it finished and was flushed (150 ms, 1 s).
    const moments = [
      { beforeAck: 0 },
      { beforeAck: 1 },
      { afterAck: 0 },
      { afterAck: 150 },
      { afterAck: 1_000 },
    ];
    for (const [m, moment] of moments.entries()) {
      const label = JSON.stringify(moment);
      await using cluster = await createTestCluster({ nodes: 1, seed: 17780 + m, disk: 'simulated' });
      const node = await cluster.waitForLeader();
      for (let batch = 0; batch < 6; batch++) {
        await Promise.all(Array.from({ length: 50 }, (_, i) => node.kv.put(`c/${i % 9}`, `${batch}.${i}`)));
      }
      // The newest revision deletes a key: compacting at it leaves that key nothing but its tombstone.
      const lastAcked = (await node.kv.delete('c/0')).header.revision;
      const at = lastAcked;
      let compactAcked = false;
      const compaction = node.kv.compact(at).then(
        () => {
          compactAcked = true;
        },
        () => undefined,
      );
      if ('beforeAck' in moment) {
        await cluster.sleep(moment.beforeAck);
      } else {
        await compaction;
        if (moment.afterAck > 0) await cluster.sleep(moment.afterAck);
      }
      await cluster.crash(0, { tear: true });
      await compaction;
      await cluster.restart(0);
      const after = await cluster.waitForLeader();
      const rev = (await after.kv.get('c/', { prefix: true })).header.revision;
      expect(rev, label).toBeGreaterThanOrEqual(lastAcked);
      // At or above the compaction revision, reads work (or at worst say compacted).
      for (const r of [at, rev]) {
        const g = await after.kv.get('c/', { prefix: true, revision: r }).catch((e: Error) => e);
        if (g instanceof Error) expect(g, label).toBeInstanceOf(CompactedError);
        else
          expect(
            g.kvs.map((kv) => text(kv.key)),
            label,
          ).not.toContain('c/0');
      }
      if (compactAcked) {
        // An acknowledged compaction is not forgotten: history below it stays gone.
        await expect(after.kv.get('c/', { prefix: true, revision: at - 1 }), label).rejects.toBeInstanceOf(
          CompactedError,
        );
      }
      expect(compactAcked, label).toBe('afterAck' in moment);
      const next = await after.kv.put('c/new', 'x');
      expect(next.header.revision, label).toBeGreaterThan(lastAcked);
    }
  });

  // etcd compacted away the tombstone at the compaction revision, so a watch from that revision
  // missed the delete, and one from just before it was not told it had been compacted.
  it('etcd #18089 / #19179: the delete at the compaction revision is delivered, or the watch is cancelled', async () => {
    for (const crash of [false, true]) {
      await using cluster = await createTestCluster({ nodes: 1, seed: 18089, disk: 'simulated' });
      let node = await cluster.waitForLeader();
      for (let i = 0; i < 200; i++) await node.kv.put(`other/${i % 40}`, `${i}`);
      await node.kv.put('k', 'v');
      const r = (await node.kv.delete('k')).header.revision;
      await node.kv.compact(r, crash ? {} : { physical: true });
      if (crash) {
        // The compaction is committed; its physical part is cut short by the crash.
        await cluster.crash(0, { tear: true });
        await cluster.restart(0);
        node = await cluster.waitForLeader();
      }
      const fromR = collect(node.watch('k', { startRevision: r }));
      const beforeR = collect(node.watch('k', { startRevision: r - 1 }));
      await cluster.sleep(100);
      expect(
        fromR.events.map((e) => [e.type, text(e.kv.key), e.kv.modRevision]),
        `crash: ${crash}`,
      ).toEqual([['DELETE', 'k', r]]);
      expect(fromR.canceled).toBeUndefined();
      expect(beforeR.events).toEqual([]);
      expect(beforeR.canceled?.compactRevision, `crash: ${crash}`).toBe(r);
    }
  });

  // etcd's old leader, frozen past the election timeout, answered a linearizable read with the value
  // it had before the pause, after a new leader had committed a newer one.
  it('etcd #20418: a leader woken from a long pause never serves a stale linearizable read', async () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      await using cluster = await createTestCluster({ nodes: 3, seed: 20418 + seed });
      const old = await cluster.waitForLeader();
      const oi = cluster.indexOf(old);
      await old.kv.put('x', 'old');
      await cluster.sleep(50);
      cluster.pause(oi, 10 * TEST_ELECTION_MS);
      const next = await cluster.waitForLeader({ exclude: old });
      await next.kv.put('x', 'new');
      // A read that arrived while it was frozen (waiting in its socket), and one right at wake-up.
      const queued = old.kv.get('x', { timeoutMs: 2_000 }).catch((e: Error) => e);
      await cluster.whenResumed(oi);
      const atWake = old.kv.get('x', { timeoutMs: 2_000 }).catch((e: Error) => e);
      for (const [name, p] of [
        ['queued', queued],
        ['at wake', atWake],
      ] as const) {
        const g = await p;
        if (g instanceof Error) continue; // failing is allowed, stale is not
        expect(text(g.kvs[0]?.value), `seed ${seed}, ${name}`).toBe('new');
      }
    }
  });

  // Jepsen (etcd 3.4.3): a client whose session lease expired while it waited for a lock was still
  // granted the lock, so two clients believed they held it at once.
  it('Jepsen etcd 3.4.3: a waiter whose session expired never acquires the lock', async () => {
    // Three ways for B's lease to expire while B waits: B's member cut off, B's member frozen, and
    // B's own clock running slow (B does not even notice: only the lock's final check can tell).
    for (const how of ['isolate', 'pause', 'slow client clock'] as const) {
      await using cluster = await createTestCluster({ nodes: 3, seed: 343 });
      const leader = await cluster.waitForLeader();
      const ai = cluster.indexOf(leader);
      const bi = (ai + 1) % 3;
      const a = cluster.node(ai);
      const b = cluster.node(bi);
      const sa = await Session.create(a.client, { ttl: 30 });
      const sb = await Session.create(b.client, {
        ttl: 2,
        ...(how === 'slow client clock' ? { clock: new MemberClock(cluster.clock, 0.1) } : {}),
      });
      const ma = new Mutex(sa, 'lock');
      const mb = new Mutex(sb, 'lock');
      const ga = await ma.lock();
      let bLocked = false;
      const bLock = mb.lock().then(
        (g) => {
          bLocked = true;
          return g;
        },
        (e: unknown) => e,
      );
      await cluster.sleep(200);
      // B is queued: its key exists, with its would-be fencing token as create revision.
      const bKey = (await a.kv.get(mb.key)).kvs[0];
      expect(bKey, how).toBeDefined();
      const bToken = bKey!.createRevision;
      if (how === 'isolate') cluster.isolate(bi);
      if (how === 'pause') cluster.pause(bi, 6_000);
      // Long enough for the leader to expire B's lease (TTL 2 s, checked every 500 ms).
      await cluster.sleep(4_000);
      expect((await a.kv.get(mb.key)).kvs, how).toEqual([]);
      if (how === 'slow client clock') expect(sb.isLost, 'B has not noticed yet').toBe(false);
      await ga.unlock();
      if (how === 'isolate') cluster.heal();
      if (how === 'pause') await cluster.whenResumed(bi);
      const outcome = await bLock;
      await cluster.sleep(500);
      expect(bLocked, how).toBe(false);
      expect(outcome, how).toBeInstanceOf(SessionExpiredError);
      expect(mb.isLocked, how).toBe(false);
      // A write fenced by B's token fails, on any member.
      const enc = (x: string) => new TextEncoder().encode(x);
      for (const m of [a, b]) {
        const t = await m.kv.txn({
          compare: [{ target: 'CREATE', key: enc(mb.key), result: 'EQUAL', createRevision: bToken }],
          success: [{ type: 'put', request: { key: enc('fenced'), value: enc('B') } }],
          failure: [],
        });
        expect(t.succeeded, how).toBe(false);
      }
      expect((await a.kv.get('fenced')).kvs, how).toEqual([]);
      sb.orphan();
      await sa.close();
    }
  });
});
