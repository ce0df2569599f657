/**
 * Cross-check of our .proto files against a real etcd 3.4: a grpc-js client built only from
 * packages/server/proto talks to an `etcd` process. If etcd accepts our requests and we decode
 * its answers field for field, the contract holds in both directions. Skipped when no `etcd`
 * binary is installed.
 */
import { type Client, credentials, makeClientConstructor, type ServiceDefinition } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadEtcdProtos } from './proto.js';
import { hasEtcd, type RealEtcd, startRealEtcd } from './test/real-etcd.js';

const protos = loadEtcdProtos();

/** Half-closes a bidirectional call and waits for etcd to finish it with a status. */
function finish(stream: NodeJS.ReadWriteStream): Promise<{ code: number }> {
  return new Promise((resolve, reject) => {
    stream.once('error', reject);
    stream.once('status', resolve);
    stream.end();
  });
}

/** Cancels a call etcd keeps open (a watch stream outlives the client's half-close). */
function cancel(stream: NodeJS.ReadWriteStream): Promise<void> {
  return new Promise((resolve, reject) => {
    stream.once('error', (err: { code?: number }) => (err.code === 1 ? resolve() : reject(err)));
    (stream as unknown as { cancel(): void }).cancel();
  });
}

// biome-ignore lint/suspicious/noExplicitAny: decoded replies; the expectations check their shape.
type Decoded = any;

type Unary = (req: object, cb: (err: Error | null, res: Record<string, unknown>) => void) => void;

function call(client: Client, name: string, req: object): Promise<Decoded> {
  const fn = (client as unknown as Record<string, Unary>)[name];
  if (fn === undefined) throw new Error(`no method ${name}`);
  return new Promise((resolve, reject) => {
    fn.call(client, req, (err, res) => (err ? reject(err) : resolve(res)));
  });
}

describe.skipIf(!hasEtcd)('our protos against a real etcd 3.4', () => {
  let etcd: RealEtcd | undefined;
  const clients: Client[] = [];

  function client(service: ServiceDefinition, name: string): Client {
    const Ctor = makeClientConstructor(service, name);
    const c = new Ctor(etcd!.endpoint, credentials.createInsecure());
    clients.push(c);
    return c;
  }

  beforeAll(async () => {
    etcd = await startRealEtcd();
  });

  afterAll(() => {
    for (const c of clients) c.close();
    etcd?.stop();
  });

  it('KV: Put with prev_kv, Range, Txn with a zero oneof compare, DeleteRange', async () => {
    const kv = client(protos.KV, 'KV');
    const first = await call(kv, 'Put', { key: Buffer.from('foo'), value: Buffer.from('bar') });
    expect(first.header.clusterId).toMatch(/^[1-9][0-9]*$/);
    const second = await call(kv, 'Put', {
      key: Buffer.from('foo'),
      value: Buffer.from('baz'),
      prevKv: true,
    });
    expect(second.prevKv.value.toString()).toBe('bar');
    const range = await call(kv, 'Range', { key: Buffer.from('foo') });
    expect(range.count).toBe('1');
    expect(range.kvs[0]).toMatchObject({ version: '2', value: Buffer.from('baz'), lease: '0' });
    expect(range.kvs[0].modRevision).toBe(second.header.revision);
    // version == 0 on a missing key: the oneof zero must reach etcd.
    const txn = await call(kv, 'Txn', {
      compare: [{ result: 'EQUAL', target: 'VERSION', key: Buffer.from('missing'), version: '0' }],
      success: [{ requestPut: { key: Buffer.from('missing'), value: Buffer.from('now') } }],
      failure: [],
    });
    expect(txn.succeeded).toBe(true);
    expect(txn.responses[0].response).toBe('responsePut');
    const del = await call(kv, 'DeleteRange', {
      key: Buffer.from('a'),
      rangeEnd: Buffer.from('z'),
      prevKv: true,
    });
    expect(del.deleted).toBe('2');
    expect(del.prevKvs.map((k: { key: Buffer }) => k.key.toString()).sort()).toEqual(['foo', 'missing']);
  });

  it('Watch: create, event, cancel over one bidirectional stream', async () => {
    const watch = client(protos.Watch, 'Watch') as unknown as Record<string, () => NodeJS.ReadWriteStream>;
    const kv = client(protos.KV, 'KV');
    const stream = watch.Watch!();
    const responses: Decoded[] = [];
    const next = (): Promise<Decoded> =>
      new Promise((resolve) => {
        stream.once('data', (r: unknown) => {
          responses.push(r);
          resolve(r);
        });
      });
    let pending = next();
    stream.write({ createRequest: { key: Buffer.from('w'), prevKv: true, filters: ['NODELETE'] } } as never);
    const created = await pending;
    expect(created).toMatchObject({ created: true });
    pending = next();
    await call(kv, 'Put', { key: Buffer.from('w'), value: Buffer.from('1') });
    const event = await pending;
    expect(event.events[0]).toMatchObject({
      type: 'PUT',
      kv: { key: Buffer.from('w'), value: Buffer.from('1') },
    });
    pending = next();
    stream.write({ cancelRequest: { watchId: created.watchId } } as never);
    expect(await pending).toMatchObject({ canceled: true });
    await cancel(stream);
  });

  it('Lease: grant, keep-alive stream, time-to-live, leases, revoke', async () => {
    const lease = client(protos.Lease, 'Lease');
    const grant = await call(lease, 'LeaseGrant', { TTL: '60' });
    expect(grant.TTL).toBe('60');
    const stream = (lease as unknown as Record<string, () => NodeJS.ReadWriteStream>).LeaseKeepAlive!();
    const reply = new Promise<Decoded>((resolve) => stream.once('data', resolve));
    stream.write({ ID: grant.ID } as never);
    expect(await reply).toMatchObject({ ID: grant.ID, TTL: '60' });
    expect(await finish(stream)).toMatchObject({ code: 0 });
    const ttl = await call(lease, 'LeaseTimeToLive', { ID: grant.ID, keys: true });
    expect(ttl.grantedTTL).toBe('60');
    const leases = await call(lease, 'LeaseLeases', {});
    expect(leases.leases).toContainEqual({ ID: grant.ID });
    await call(lease, 'LeaseRevoke', { ID: grant.ID });
    expect((await call(lease, 'LeaseTimeToLive', { ID: grant.ID })).TTL).toBe('-1');
  });

  it('Maintenance and Cluster: Status, MemberList, Alarm, HashKV', async () => {
    const maintenance = client(protos.Maintenance, 'Maintenance');
    const status = await call(maintenance, 'Status', {});
    expect(status.version).toMatch(/^3\.4\./);
    expect(status.leader).toBe(status.header.memberId);
    expect(status.isLearner).toBe(false);
    expect(BigInt(status.raftAppliedIndex)).toBeGreaterThan(0n);
    const members = await call(client(protos.Cluster, 'Cluster'), 'MemberList', {});
    expect(members.members).toHaveLength(1);
    expect(members.members[0]).toMatchObject({ ID: status.leader, name: 'real', isLearner: false });
    expect(await call(maintenance, 'Alarm', { action: 'GET' })).toMatchObject({ alarms: [] });
    const hash = await call(maintenance, 'HashKV', {});
    expect(typeof hash.hash).toBe('number');
  });

  it('Auth (roles and permissions), Lock, Election', async () => {
    const auth = client(protos.Auth, 'Auth');
    await call(auth, 'RoleAdd', { name: 'reader' });
    await call(auth, 'RoleGrantPermission', {
      name: 'reader',
      perm: { permType: 'READWRITE', key: Buffer.from('a'), rangeEnd: Buffer.from('b') },
    });
    const role = await call(auth, 'RoleGet', { role: 'reader' });
    expect(role.perm).toEqual([{ permType: 'READWRITE', key: Buffer.from('a'), rangeEnd: Buffer.from('b') }]);

    const lock = client(protos.Lock, 'Lock');
    const held = await call(lock, 'Lock', { name: Buffer.from('l') });
    expect(held.key.toString()).toMatch(/^l\//);
    await call(lock, 'Unlock', { key: held.key });

    const lease = await call(client(protos.Lease, 'Lease'), 'LeaseGrant', { TTL: '60' });
    const election = client(protos.Election, 'Election');
    const won = await call(election, 'Campaign', {
      name: Buffer.from('e'),
      lease: lease.ID,
      value: Buffer.from('v1'),
    });
    expect(won.leader).toMatchObject({ name: Buffer.from('e'), lease: lease.ID });
    const leader = await call(election, 'Leader', { name: Buffer.from('e') });
    expect(leader.kv.value.toString()).toBe('v1');
    await call(election, 'Resign', { leader: won.leader });
  });
});
