/**
 * The v3lock and v3election services of a served member, through grpc-js clients and through the
 * real etcdctl 3.4 (`etcdctl lock`, `etcdctl elect`, run as background processes): etcd's keys,
 * LeaderKeys, waiting order and error texts.
 */

import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { status } from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { hasEtcdctl, type Served, serve } from './test/harness.js';

let s: Served | undefined;
const children: ChildProcessWithoutNullStreams[] = [];
afterEach(async () => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
  await s?.close();
  s = undefined;
});

const b = (x: string) => Buffer.from(x);

async function grant(srv: Served, ttl = 30): Promise<string> {
  return (await srv.call(srv.client('Lease'), 'LeaseGrant', { TTL: ttl })).ID;
}

describe('Lock over gRPC', () => {
  it('locks as `name/<lease hex>`, queues a second holder until Unlock, keeps the lease', async () => {
    s = await serve();
    const lock = s.client('Lock');
    const l1 = await grant(s);
    const l2 = await grant(s);
    const first = await s.call(lock, 'Lock', { name: b('mylock'), lease: l1 });
    expect(first.key.toString()).toBe(`mylock/${BigInt(l1).toString(16)}`);
    expect(Number(first.header.revision)).toBeGreaterThan(1);
    let got: string | undefined;
    const second = s.call(lock, 'Lock', { name: b('mylock'), lease: l2 }).then((r) => {
      got = r.key.toString();
      return r;
    });
    await new Promise((r) => setTimeout(r, 200));
    expect(got).toBeUndefined();
    await s.call(lock, 'Unlock', { key: first.key });
    expect((await second).key.toString()).toBe(`mylock/${BigInt(l2).toString(16)}`);
    // The lease is the caller's: still there, carrying the second key.
    const ttl = await s.call(s.client('Lease'), 'LeaseTimeToLive', { ID: l2, keys: true });
    expect(Number(ttl.TTL)).toBeGreaterThan(0);
    expect(ttl.keys.map((k: Buffer) => k.toString())).toEqual([`mylock/${BigInt(l2).toString(16)}`]);
  });

  it('fails on a lease that does not exist as etcd does (Unknown, lease not found)', async () => {
    s = await serve();
    await expect(s.call(s.client('Lock'), 'Lock', { name: b('x'), lease: '12345' })).rejects.toMatchObject({
      code: status.UNKNOWN,
      details: 'etcdserver: requested lease not found',
    });
  });
});

describe('Election over gRPC', () => {
  it('campaigns, reports the leader, streams Observe, proclaims and resigns', async () => {
    s = await serve();
    const el = s.client('Election');
    const lease = await grant(s);
    await expect(s.call(el, 'Leader', { name: b('e') })).rejects.toMatchObject({
      code: status.UNKNOWN,
      details: 'election: no leader',
    });
    const seen: string[] = [];
    const obs = (
      el as unknown as { Observe(req: object): NodeJS.ReadableStream & { cancel(): void } }
    ).Observe({
      name: b('e'),
    });
    obs.on('data', (r: { kv: { value: Buffer } }) => seen.push(r.kv.value.toString()));
    obs.on('error', () => undefined);
    const c = await s.call(el, 'Campaign', { name: b('e'), lease, value: b('v1') });
    const key = `e/${BigInt(lease).toString(16)}`;
    expect(c.leader.name.toString()).toBe('e');
    expect(c.leader.key.toString()).toBe(key);
    expect(c.leader.lease).toBe(lease);
    expect(c.leader.rev).toBe(c.header.revision);
    const l = await s.call(el, 'Leader', { name: b('e') });
    expect(l.kv.key.toString()).toBe(key);
    expect(l.kv.value.toString()).toBe('v1');
    expect(l.kv).toMatchObject({ createRevision: c.leader.rev, version: '1', lease });
    await s.call(el, 'Proclaim', { leader: c.leader, value: b('v2') });
    await expect(
      s.call(el, 'Proclaim', { leader: { ...c.leader, rev: '1' }, value: b('x') }),
    ).rejects.toMatchObject({ code: status.UNKNOWN, details: 'election: not leader' });
    await expect(s.call(el, 'Resign', {})).rejects.toMatchObject({
      code: status.UNKNOWN,
      details: '"leader" field must be provided',
    });
    await s.call(el, 'Resign', { leader: c.leader });
    await expect(s.call(el, 'Leader', { name: b('e') })).rejects.toMatchObject({
      details: 'election: no leader',
    });
    const c2 = await s.call(el, 'Campaign', { name: b('e'), lease, value: b('v3') });
    expect(Number(c2.leader.rev)).toBeGreaterThan(Number(c.leader.rev));
    await new Promise((r) => setTimeout(r, 100));
    obs.cancel();
    expect(seen).toEqual(['v1', 'v2', 'v3']);
  });

  it('a second candidate waits until the leader resigns', async () => {
    s = await serve();
    const el = s.client('Election');
    const [l1, l2] = [await grant(s), await grant(s)];
    const c1 = await s.call(el, 'Campaign', { name: b('e'), lease: l1, value: b('a') });
    let won = false;
    const c2 = s.call(el, 'Campaign', { name: b('e'), lease: l2, value: b('b') }).then((r) => {
      won = true;
      return r;
    });
    await new Promise((r) => setTimeout(r, 200));
    expect(won).toBe(false);
    await s.call(el, 'Resign', { leader: c1.leader });
    expect((await c2).leader.key.toString()).toBe(`e/${BigInt(l2).toString(16)}`);
    expect((await s.call(el, 'Leader', { name: b('e') })).kv.value.toString()).toBe('b');
  });
});

function background(
  srv: Served,
  ...args: string[]
): { child: ChildProcessWithoutNullStreams; lines: () => string[] } {
  const child = spawn('etcdctl', [`--endpoints=${srv.endpoint}`, ...args], {
    env: { ...process.env, ETCDCTL_API: '3' },
  });
  children.push(child);
  let out = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  return { child, lines: () => out.split('\n').filter((x) => x !== '') };
}

async function until(cond: () => boolean, ms = 8000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe.skipIf(!hasEtcdctl)('etcdctl lock and elect', () => {
  it('etcdctl lock holds the lock; a second waits until the first exits', async () => {
    s = await serve();
    const a = background(s, 'lock', 'mylock');
    await until(() => a.lines().length > 0);
    expect(a.lines()[0]).toMatch(/^mylock\/[0-9a-f]+$/);
    const b2 = background(s, 'lock', 'mylock');
    await new Promise((r) => setTimeout(r, 300));
    expect(b2.lines()).toEqual([]);
    a.child.kill('SIGINT'); // etcdctl closes its session: the lease and the key go
    await until(() => b2.lines().length > 0);
    expect(b2.lines()[0]).toMatch(/^mylock\/[0-9a-f]+$/);
    expect(b2.lines()[0]).not.toBe(a.lines()[0]);
  });

  it('etcdctl elect wins, etcdctl elect -l observes, the next candidate takes over', async () => {
    s = await serve();
    const a = background(s, 'elect', 'myelection', 'one');
    await until(() => a.lines().length >= 2);
    expect(a.lines()[0]).toMatch(/^myelection\/[0-9a-f]+$/);
    expect(a.lines()[1]).toBe('one');
    const obs = background(s, 'elect', '-l', 'myelection');
    await until(() => obs.lines().length >= 2);
    expect(obs.lines()).toEqual(a.lines());
    const b2 = background(s, 'elect', 'myelection', 'two');
    await new Promise((r) => setTimeout(r, 300));
    expect(b2.lines()).toEqual([]);
    a.child.kill('SIGINT');
    await until(() => b2.lines().length >= 2);
    expect(b2.lines()[1]).toBe('two');
    await until(() => obs.lines().length >= 4);
    expect(obs.lines().slice(2)).toEqual(b2.lines());
  });
});
