/**
 * A lone in-memory member: the node as a unit-test double. Same semantics as a cluster —
 * revisions, ranges, txns, watches and leases as etcd has them — starting in milliseconds.
 */

import { CompactedError, LeaseNotFoundError } from '@tsetcd/mvcc';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../clock.js';
import { ConfigError } from '../config.js';
import { createNode } from './create-node.js';
import type { TsetcdNode } from './node.js';

const text = (b: Uint8Array | undefined) => (b === undefined ? undefined : new TextDecoder().decode(b));
let node: TsetcdNode | undefined;

afterEach(async () => {
  await node?.close();
  node = undefined;
});

describe('a single in-memory member', () => {
  it('is leader at once and serves puts and linearizable gets with etcd revisions', async () => {
    node = await createNode({ name: 'solo' });
    expect(node.isLeader).toBe(true);
    const p1 = await node.kv.put('foo', 'bar');
    expect(p1.header.revision).toBe(2);
    expect(p1.header.memberId).toBe(node.id);
    expect(p1.header.clusterId).toBe(node.clusterId);
    expect(p1.header.raftTerm).toBeGreaterThanOrEqual(1);
    await node.kv.put('foo', 'baz');
    const g = await node.kv.get('foo');
    expect(
      g.kvs.map((kv) => [text(kv.key), text(kv.value), kv.createRevision, kv.modRevision, kv.version]),
    ).toEqual([['foo', 'baz', 2, 3, 2]]);
    expect(g.header.revision).toBe(3);
    const old = await node.kv.get('foo', { revision: 2 });
    expect(text(old.kvs[0]?.value)).toBe('bar');
  });

  it('derives the default member ID exactly as etcd does', async () => {
    node = await createNode({ name: 'default', peers: { default: 'mem://localhost:2380' } });
    // etcd: sha1("http://localhost:2380" + "etcd-cluster") → 8e9e05c52164694d; same rule, our URL.
    const { memberIdFor } = await import('../ids.js');
    expect(memberIdFor(['http://localhost:2380'], 'etcd-cluster').toString(16)).toBe('8e9e05c52164694d');
    expect(node.id).toBe(memberIdFor(['mem://localhost:2380'], 'etcd-cluster'));
  });

  it('ranges by prefix and from-key, deletes ranges, and counts', async () => {
    node = await createNode();
    for (const k of ['a/1', 'a/2', 'b/1', 'c']) await node.kv.put(k, k);
    expect((await node.kv.get('a/', { prefix: true })).kvs.map((kv) => text(kv.key))).toEqual(['a/1', 'a/2']);
    expect((await node.kv.get('b', { fromKey: true, countOnly: true })).count).toBe(2);
    const d = await node.kv.delete('a/', { prefix: true, prevKv: true });
    expect(d.deleted).toBe(2);
    expect(d.prevKvs.map((kv) => text(kv.value))).toEqual(['a/1', 'a/2']);
    expect((await node.kv.get('a', { fromKey: true })).kvs.map((kv) => text(kv.key))).toEqual(['b/1', 'c']);
  });

  it('runs txns all-or-nothing and serves read-only txns without proposing', async () => {
    node = await createNode();
    const utf8 = (s: string) => new TextEncoder().encode(s);
    await node.kv.put('x', '1');
    const t = await node.kv.txn({
      compare: [{ target: 'VALUE', key: utf8('x'), result: 'EQUAL', value: utf8('1') }],
      success: [{ type: 'put', request: { key: utf8('x'), value: utf8('2') } }],
      failure: [],
    });
    expect(t.succeeded).toBe(true);
    expect(t.header.revision).toBe(3);
    const applied = node.parts.applier.appliedRequests;
    const ro = await node.kv.txn({
      compare: [],
      success: [{ type: 'range', request: { key: utf8('x') } }],
      failure: [],
    });
    expect(node.parts.applier.appliedRequests).toBe(applied);
    const first = ro.responses[0];
    expect(first?.type === 'range' ? text(first.response.kvs[0]?.value) : undefined).toBe('2');
  });

  it("refuses reads of compacted revisions with etcd's error", async () => {
    node = await createNode();
    for (let i = 0; i < 5; i++) await node.kv.put('k', String(i));
    await node.kv.compact(4, { physical: true });
    await expect(node.kv.get('k', { revision: 3 })).rejects.toBeInstanceOf(CompactedError);
    await expect(node.kv.get('k', { revision: 3 })).rejects.toThrow(
      'mvcc: required revision has been compacted',
    );
    expect(text((await node.kv.get('k', { revision: 4 })).kvs[0]?.value)).toBe('2');
  });

  it('delivers watch events in revision order with prev_kv, from a past revision too', async () => {
    node = await createNode();
    await node.kv.put('w/a', '1');
    const w = node.watch('w/', { prefix: true, startRevision: 1, prevKv: true });
    await node.kv.put('w/a', '2');
    await node.kv.delete('w/a');
    const seen: string[] = [];
    for await (const resp of w) {
      for (const ev of resp.events)
        seen.push(`${ev.type} ${text(ev.kv.key)}@${ev.kv.modRevision} prev=${text(ev.prevKv?.value)}`);
      if (seen.length === 3) break;
    }
    expect(seen).toEqual(['PUT w/a@2 prev=undefined', 'PUT w/a@3 prev=1', 'DELETE w/a@4 prev=2']);
  });

  it('expires a lease on its TTL and deletes its keys, unless kept alive', async () => {
    const clock = new ManualClock();
    node = await createNode({}, { clock });
    const kept = await node.lease.grant(5);
    const dropped = await node.lease.grant(5);
    await node.kv.put('kept', 'v', { lease: kept.id });
    await node.kv.put('dropped', 'v', { lease: dropped }); // the grant response itself will do
    for (let t = 0; t < 8_000; t += 1_000) {
      await node.lease.keepAliveOnce(kept.id);
      clock.advance(1_000);
      await new Promise((r) => setImmediate(r));
    }
    await new Promise((r) => setImmediate(r));
    expect((await node.kv.get('dropped')).kvs).toEqual([]);
    expect((await node.kv.get('kept')).kvs).toHaveLength(1);
    await expect(node.lease.keepAliveOnce(dropped.id)).rejects.toBeInstanceOf(LeaseNotFoundError);
    const ttl = await node.lease.timeToLive(kept.id, { keys: true });
    expect(ttl.grantedTtl).toBe(5);
    expect(ttl.ttl).toBeGreaterThan(3);
    expect(ttl.keys.map(text)).toEqual(['kept']);
  });

  it('rejects a bad config field by field', async () => {
    const err = await createNode({ heartbeatMs: 100, electionMs: 200, peers: { b: 'http://x' } }).catch(
      (e) => e,
    );
    expect(err).toBeInstanceOf(ConfigError);
    const paths = (err as ConfigError).issues.map((i) => i.path).sort();
    expect(paths).toEqual(['electionMs', 'peers', 'peers.b']);
    expect((err as Error).message).toContain('should be at least as 5 times as --heartbeat-interval');
  });
});
