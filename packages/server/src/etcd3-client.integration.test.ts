/**
 * A served member driven by the `etcd3` npm client (microsoft/etcd3), as a Node application would
 * use it: KV builders, `if(...).then(...)` transactions, leases with keep-alive, the watch builder,
 * etcd3's lock and election recipes (built client-side on KV, leases and watches — not on the
 * v3lock/v3election services), and etcd's gRPC errors surfacing as etcd3's error classes.
 *
 * Checks the client's view only; the wire details are covered by the grpc-js and etcdctl tests.
 */

import { once } from 'node:events';
import {
  Etcd3,
  EtcdAuthenticationFailedError,
  EtcdError,
  EtcdLeaseInvalidError,
  EtcdLockFailedError,
  EtcdPermissionDeniedError,
  EtcdUserExistsError,
  GRPCInvalidArgumentError,
  GRPCOutOfRangeError,
  type IKeyValue,
  NotCampaigningError,
} from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Served, serve } from './test/harness.js';

let s: Served;
let client: Etcd3;
beforeAll(async () => {
  s = await serve();
  client = new Etcd3({ hosts: `http://${s.endpoint}` });
});
afterAll(async () => {
  client?.close();
  await s?.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Resolves once `pred()` holds, polling; fails the test after `ms`. */
async function until(pred: () => boolean, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(10);
  }
}

describe('etcd3 KV', () => {
  it('puts, gets, lists a prefix, counts and deletes', async () => {
    const put = await client.put('kv/a').value('1');
    expect(Number(put.header.revision)).toBeGreaterThan(1);
    await client.put('kv/b').value('2');
    await client.put('kv/c').value('3');
    await client.put('other').value('x');

    expect(await client.get('kv/a').string()).toBe('1');
    expect(await client.get('kv/missing').string()).toBeNull();
    expect(await client.getAll().prefix('kv/').strings()).toEqual({ 'kv/a': '1', 'kv/b': '2', 'kv/c': '3' });
    expect(await client.getAll().prefix('kv/').keys()).toEqual(['kv/a', 'kv/b', 'kv/c']);
    expect(await client.getAll().prefix('kv/').count()).toBe(3);
    expect(await client.getAll().prefix('kv/').sort('Key', 'Descend').limit(2).keys()).toEqual([
      'kv/c',
      'kv/b',
    ]);

    // A put with prev_kv, a delete of one key, then of the prefix.
    const again = await client.put('kv/a').value('1b').getPrevious();
    expect(again?.value.toString()).toBe('1');
    const del = await client.delete().key('kv/a').getPrevious();
    expect(del.map((kv) => kv.key.toString())).toEqual(['kv/a']);
    const delAll = await client.delete().prefix('kv/').exec();
    expect(Number(delAll.deleted)).toBe(2);
    expect(await client.getAll().prefix('kv/').count()).toBe(0);
    expect(await client.get('other').string()).toBe('x');
  });

  it('reads at an older revision, and a serializable read sees the write', async () => {
    const first = await client.put('rev/k').value('old');
    await client.put('rev/k').value('new');
    expect(await client.get('rev/k').revision(first.header.revision).string()).toBe('old');
    expect(await client.get('rev/k').serializable(true).string()).toBe('new');
  });
});

describe('etcd3 transactions', () => {
  it('runs then() when the comparison holds and else() when it does not', async () => {
    await client.put('txn/k').value('1');
    const ok = await client
      .if('txn/k', 'Value', '==', '1')
      .then(client.put('txn/k').value('2'))
      .else(client.get('txn/k'))
      .commit();
    expect(ok.succeeded).toBe(true);
    expect(await client.get('txn/k').string()).toBe('2');

    const no = await client
      .if('txn/k', 'Value', '==', '1')
      .then(client.put('txn/k').value('3'))
      .else(client.get('txn/k'))
      .commit();
    expect(no.succeeded).toBe(false);
    const kvs = no.responses[0]?.response_range.kvs as IKeyValue[];
    expect(kvs.map((kv) => kv.value.toString())).toEqual(['2']);

    // Create == 0 on a missing key, and Version / Mod comparisons, in one and().
    const multi = await client
      .if('txn/new', 'Create', '==', 0)
      .and('txn/k', 'Version', '==', 2)
      .and('txn/k', 'Mod', '>', 0)
      .then(client.put('txn/new').value('n'), client.delete().key('txn/k'))
      .commit();
    expect(multi.succeeded).toBe(true);
    expect(await client.getAll().prefix('txn/').strings()).toEqual({ 'txn/new': 'n' });
  });
});

describe('etcd3 leases', () => {
  it('grants, keeps alive, attaches keys, and revoking deletes them', async () => {
    const lease = client.lease(3);
    const id = await lease.grant();
    let keepalives = 0;
    lease.on('keepaliveSucceeded', () => keepalives++);
    await lease.put('lease/a').value('x');
    // Attach an existing lease to a put from the plain client.
    await client.put('lease/b').value('y').lease(id);

    const ttl = await client.leaseClient.leaseTimeToLive({ ID: id, keys: true });
    expect(Number(ttl.TTL)).toBeGreaterThan(0);
    expect(Number(ttl.grantedTTL)).toBe(3);
    expect(ttl.keys.map((k) => k.toString()).sort()).toEqual(['lease/a', 'lease/b']);

    // etcd3 sends a keep-alive every TTL/3 s on its LeaseKeepAlive stream.
    await until(() => keepalives >= 1, 4000);
    const once1 = await lease.keepaliveOnce();
    expect(Number(once1.TTL)).toBe(3);
    expect(lease.revoked()).toBe(false);

    await lease.revoke();
    expect(await client.getAll().prefix('lease/').count()).toBe(0);
  });

  it('surfaces a revoked lease as EtcdLeaseInvalidError (keep-alive and put)', async () => {
    const lease = client.lease(30, { autoKeepAlive: false });
    const id = await lease.grant();
    const lost = once(lease, 'lost');
    await client.leaseClient.leaseRevoke({ ID: id });
    // A keep-alive answered with TTL 0 means "not found" to etcd3.
    await expect(lease.keepaliveOnce()).rejects.toBeInstanceOf(EtcdLeaseInvalidError);
    const [err] = await lost;
    expect(err).toBeInstanceOf(EtcdLeaseInvalidError);
    // A put on it fails with etcd's "requested lease not found", which etcd3 maps by message.
    await expect(client.put('lease/gone').value('v').lease(id)).rejects.toBeInstanceOf(EtcdLeaseInvalidError);
    await expect(client.leaseClient.leaseRevoke({ ID: id })).rejects.toBeInstanceOf(EtcdLeaseInvalidError);
  });

  it('lists leases', async () => {
    const lease = client.lease(30, { autoKeepAlive: false });
    const id = await lease.grant();
    const { leases } = await client.leaseClient.leaseLeases({});
    expect(leases.map((l) => l.ID)).toContain(id);
    await lease.revoke();
  });
});

describe('etcd3 watch', () => {
  it('delivers puts and deletes with prev_kv, then stops after cancel', async () => {
    const w = await client.watch().prefix('watch/').withPreviousKV().create();
    const seen: string[] = [];
    w.on('put', (kv, prev) => seen.push(`put ${kv.key} ${kv.value} prev=${prev?.value ?? '-'}`));
    w.on('delete', (kv, prev) => seen.push(`delete ${kv.key} prev=${prev?.value ?? '-'}`));
    await client.put('watch/a').value('1');
    await client.put('watch/a').value('2');
    await client.delete().key('watch/a');
    await client.put('elsewhere').value('x');
    await until(() => seen.length >= 3);
    expect(seen).toEqual(['put watch/a 1 prev=-', 'put watch/a 2 prev=1', 'delete watch/a prev=2']);

    await w.cancel();
    await client.put('watch/b').value('after');
    await sleep(100);
    expect(seen).toHaveLength(3);
  });

  it('replays history from a start revision, and only() filters event types', async () => {
    const first = await client.put('hist/k').value('1');
    await client.put('hist/k').value('2');
    await client.delete().key('hist/k');
    const w = await client.watch().key('hist/k').startRevision(first.header.revision).only('put').create();
    const values: string[] = [];
    w.on('put', (kv) => values.push(kv.value.toString()));
    await until(() => values.length >= 2);
    await sleep(50);
    expect(values).toEqual(['1', '2']);
    await w.cancel();
  });
});

describe('etcd3 compaction', () => {
  it('reports a compacted revision as GRPCOutOfRangeError and cancels a watch from before it', async () => {
    const old = await client.put('cmp/k').value('1');
    const latest = await client.put('cmp/k').value('2');
    await client.kv.compact({ revision: latest.header.revision, physical: true });

    const err = await client
      .get('cmp/k')
      .revision(old.header.revision)
      .string()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GRPCOutOfRangeError);
    expect((err as Error).message).toContain('etcdserver: mvcc: required revision has been compacted');

    // The server answers with created, then canceled with compact_revision; etcd3 emits that as
    // an 'error' on the watcher. Listen before connecting so neither response can be missed.
    const watcher = client.watch().key('cmp/k').startRevision(old.header.revision).watcher();
    const [watchErr] = await once(watcher, 'error');
    expect(watchErr).toBeInstanceOf(EtcdError);
    expect((watchErr as Error).message).toMatch(/^Watcher canceled/);
  });
});

describe('etcd3 lock', () => {
  it('acquires, refuses a second holder with EtcdLockFailedError, and releases', async () => {
    const held = await client.lock('locks/a').ttl(5).acquire();
    await expect(client.lock('locks/a').ttl(5).acquire()).rejects.toBeInstanceOf(EtcdLockFailedError);
    expect(await client.get('locks/a').exists()).toBe(true);
    await held.release();
    expect(await client.get('locks/a').exists()).toBe(false);
    expect(
      await client
        .lock('locks/a')
        .ttl(5)
        .do(async () => 42),
    ).toBe(42);
    expect(await client.get('locks/a').exists()).toBe(false);
  });
});

describe('etcd3 election', () => {
  it('elects in campaign order, observers follow the leader, resign hands over', async () => {
    const election = client.election('el', 5);
    const c1 = election.campaign('a');
    await c1.wait();
    expect(await election.leader()).toBe('a');

    const observer = await election.observe();
    expect(observer.leader()).toBe('a');
    const changes: string[] = [];
    observer.on('change', (v) => changes.push(v ?? ''));

    const c2 = election.campaign('b');
    let elected2 = false;
    const waiting = c2.wait().then(() => {
      elected2 = true;
    });
    await sleep(200);
    expect(elected2).toBe(false);

    await c1.resign();
    await waiting;
    await until(() => changes.includes('b'));
    await expect(c1.proclaim('again')).rejects.toBeInstanceOf(NotCampaigningError);

    await c2.proclaim('b2');
    await until(() => changes.includes('b2'));
    expect(await election.leader()).toBe('b2');

    await observer.cancel();
    await c2.resign();
    expect(await election.leader()).toBeUndefined();
  });
});

describe('etcd3 errors and auth', () => {
  it('maps invalid arguments, auth failures and permission denied to etcd3 classes', async () => {
    await expect(client.put('').value('x')).rejects.toBeInstanceOf(GRPCInvalidArgumentError);

    // Auth changes the whole member, so it runs on its own.
    const own = await serve();
    const root = new Etcd3({ hosts: `http://${own.endpoint}` });
    try {
      await root.user('root').create('rootpw');
      await root.user('root').addRole('root');
      await expect(root.user('root').create('again')).rejects.toBeInstanceOf(EtcdUserExistsError);
      await root.role('reader').create();
      await root.role('reader').grant({ permission: 'Read', range: root.range({ prefix: 'pub/' }) });
      await root.user('alice').create('alicepw');
      await root.user('alice').addRole('reader');
      await root.auth.authEnable({});

      const asRoot = new Etcd3({
        hosts: `http://${own.endpoint}`,
        auth: { username: 'root', password: 'rootpw' },
      });
      const asAlice = new Etcd3({
        hosts: `http://${own.endpoint}`,
        auth: { username: 'alice', password: 'alicepw' },
      });
      const wrong = new Etcd3({
        hosts: `http://${own.endpoint}`,
        auth: { username: 'alice', password: 'nope' },
      });
      try {
        await asRoot.put('pub/a').value('1');
        expect(await asAlice.get('pub/a').string()).toBe('1');
        await expect(asAlice.put('pub/a').value('2')).rejects.toBeInstanceOf(EtcdPermissionDeniedError);
        await expect(asAlice.get('secret').string()).rejects.toBeInstanceOf(EtcdPermissionDeniedError);
        await expect(wrong.get('pub/a').string()).rejects.toBeInstanceOf(EtcdAuthenticationFailedError);
        await asRoot.auth.authDisable({});
      } finally {
        asRoot.close();
        asAlice.close();
        wrong.close();
      }
    } finally {
      root.close();
      await own.close();
    }
  });
});
