/**
 * watchResilient on a 3-member in-memory cluster: a compacted start revision or a consumer
 * overtaken by compaction becomes a resync followed by the events after it, and a view built
 * from the items equals the store; a watch whose member stops resumes on another member from the
 * last revision seen, without a gap or a duplicate.
 */

import type { KeyValue } from '@tsetcd/mvcc';
import { afterEach, describe, expect, it } from 'vitest';
import { createTestCluster, type TestCluster } from '../testing/test-cluster.js';
import { type ResilientWatchItem, watchResilient } from './resilient-watch.js';

const text = (b: Uint8Array) => new TextDecoder().decode(b);
let cluster: TestCluster | undefined;

afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
});

/** A consumer's view of the range: key → value, built only from the items. */
function applyItem(view: Map<string, string>, item: ResilientWatchItem): void {
  if (item.type === 'resync') {
    view.clear();
    for (const kv of item.kvs) view.set(text(kv.key), text(kv.value));
    return;
  }
  for (const e of item.events) {
    if (e.type === 'PUT') view.set(text(e.kv.key), text(e.kv.value));
    else view.delete(text(e.kv.key));
  }
}

const asMap = (kvs: readonly KeyValue[]) => new Map(kvs.map((kv) => [text(kv.key), text(kv.value)]));

describe('watchResilient', () => {
  it('starts with a resync when the start revision is compacted, then delivers the following writes', async () => {
    cluster = await createTestCluster({ nodes: 3, seed: 21 });
    const leader = await cluster.waitForLeader();
    const follower = cluster.running().find((m) => m !== leader)!;
    for (let i = 0; i < 10; i++) await leader.kv.put(`w/k${i % 3}`, `v${i}`);
    await leader.kv.delete('w/k0');
    const compactAt = (await leader.kv.get('w/', { prefix: true })).header.revision;
    await leader.kv.compact(compactAt);
    await follower.kv.get('w/'); // the follower has applied the compaction

    const it = watchResilient(follower.client, 'w/', {
      prefix: true,
      startRevision: 2,
      clock: cluster.clock,
    });
    const first = (await it.next()).value!;
    expect(first.type).toBe('resync');
    expect(first.revision).toBeGreaterThanOrEqual(compactAt);
    const view = new Map<string, string>();
    applyItem(view, first);
    expect(view).toEqual(
      new Map([
        ['w/k1', 'v7'],
        ['w/k2', 'v8'],
      ]),
    );

    await leader.kv.put('w/k3', 'new');
    await leader.kv.delete('w/k1');
    const revs: number[] = [];
    while (revs.length < 2) {
      const item = (await it.next()).value!;
      expect(item.type).toBe('events');
      applyItem(view, item);
      if (item.type === 'events') revs.push(...item.events.map((e) => e.kv.modRevision));
    }
    expect(revs[0]).toBe(first.revision + 1);
    await it.return();
    expect(view).toEqual(asMap((await leader.kv.get('w/', { prefix: true })).kvs));
  });

  it('a consumer overtaken by compaction gets a resync, then continued events; its view equals the store', async () => {
    cluster = await createTestCluster({ nodes: 3, seed: 22 });
    const leader = await cluster.waitForLeader();
    const follower = cluster.running().find((m) => m !== leader)!;
    const it = watchResilient(follower.client, 'r/', { prefix: true, bufferSize: 1, clock: cluster.clock });
    const view = new Map<string, string>();
    const firstItem = it.next(); // opens the watch
    for (let i = 0; i < 30; i++) await leader.kv.put(`r/k${i % 5}`, `v${i}`);
    applyItem(view, (await firstItem).value!);
    // The consumer stalls: the watcher's buffer is full and it falls behind; history is compacted past it.
    const compactAt = (await leader.kv.put('r/k0', 'last-before-compaction')).header.revision;
    await leader.kv.compact(compactAt);
    await follower.kv.get('r/');

    const kinds: string[] = [];
    let resyncAt = 0;
    for (;;) {
      const item = (await it.next()).value!;
      kinds.push(item.type);
      applyItem(view, item);
      if (item.type === 'resync') {
        resyncAt = item.revision;
        expect(item.revision).toBeGreaterThanOrEqual(compactAt);
        break;
      }
    }
    expect(kinds.at(-1)).toBe('resync');
    expect(view).toEqual(asMap((await leader.kv.get('r/', { prefix: true, revision: resyncAt })).kvs));

    // Writes after the resync arrive as events, from the resync's revision + 1.
    await leader.kv.put('r/k9', 'after');
    await leader.kv.delete('r/k1');
    let seen = 0;
    while (seen < 2) {
      const item = (await it.next()).value!;
      expect(item.type).toBe('events');
      if (item.type === 'events') {
        for (const e of item.events) expect(e.kv.modRevision).toBeGreaterThan(resyncAt);
        seen += item.events.length;
      }
      applyItem(view, item);
    }
    await it.return();
    expect(view).toEqual(asMap((await leader.kv.get('r/', { prefix: true })).kvs));
  });

  it('resumes on another member from the last revision seen when its member stops', async () => {
    cluster = await createTestCluster({ nodes: 3, seed: 23 });
    const leader = await cluster.waitForLeader();
    const a = cluster.members.findIndex((m) => m !== undefined && m !== leader);
    const b = cluster.members.findIndex((m, i) => m !== undefined && m !== leader && i !== a);
    const c = cluster!;
    const source = () => (c.members[a] ?? c.node(b)).client;
    const it = watchResilient(source, 'm/', { prefix: true, clock: cluster.clock, retryMs: 50 });
    const revs: number[] = [];
    const take = async (n: number) => {
      while (revs.length < n) {
        const item = (await it.next()).value!;
        expect(item.type).toBe('events');
        if (item.type === 'events') revs.push(...item.events.map((e) => e.kv.modRevision));
      }
    };
    const pending = take(3);
    for (let i = 0; i < 3; i++) await leader.kv.put(`m/${i}`, 'x');
    await pending;
    await cluster.crash(a);
    const expected: number[] = [...revs];
    for (let i = 3; i < 6; i++) expected.push((await leader.kv.put(`m/${i}`, 'x')).header.revision);
    await take(6);
    await it.return();
    expect(revs).toEqual(expected);
  });

  it('ends when its signal aborts', async () => {
    cluster = await createTestCluster({ nodes: 1, seed: 24 });
    const node = await cluster.waitForLeader();
    const ac = new AbortController();
    const it = watchResilient(node.client, 's', { signal: ac.signal, clock: cluster.clock });
    const next = it.next();
    await cluster.sleep(10);
    ac.abort();
    expect(await next).toEqual({ done: true, value: undefined });
  });
});
