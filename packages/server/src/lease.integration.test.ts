/**
 * The Lease service of a served member, through a grpc-js client built from our .proto files and
 * through the real etcdctl 3.4 (when installed): grant, revoke, the keep-alive stream,
 * time-to-live with keys, list — with etcd 3.4.23's answers and errors (checked against a real
 * etcd: TTL 0 for an unknown lease on the keep-alive stream, TTL -1 from time-to-live).
 */

import { type ClientDuplexStream, status } from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { type Decoded, hasEtcdctl, type Served, serve } from './test/harness.js';

let s: Served | undefined;
afterEach(async () => {
  await s?.close();
  s = undefined;
});

const b = (x: string) => Buffer.from(x);

describe('Lease over gRPC', () => {
  it('grants, lists, reports time-to-live with keys, and revokes (deleting the keys)', async () => {
    s = await serve();
    const lease = s.client('Lease');
    const kv = s.client('KV');
    const g = await s.call(lease, 'LeaseGrant', { TTL: 60 });
    expect(g).toMatchObject({ TTL: '60', error: '' });
    expect(BigInt(g.ID)).toBeGreaterThan(0n);
    expect(g.header.memberId).toBe(s.node.id.toString());
    const mine = await s.call(lease, 'LeaseGrant', { TTL: 30, ID: 4660 });
    expect(mine.ID).toBe('4660');
    await s.call(kv, 'Put', { key: b('lk2'), value: b('v'), lease: g.ID });
    await s.call(kv, 'Put', { key: b('lk1'), value: b('v'), lease: g.ID });
    const ttl = await s.call(lease, 'LeaseTimeToLive', { ID: g.ID, keys: true });
    expect(ttl).toMatchObject({ ID: g.ID, grantedTTL: '60' });
    expect(Number(ttl.TTL)).toBeGreaterThanOrEqual(58);
    expect(ttl.keys.map((k: Buffer) => k.toString())).toEqual(['lk1', 'lk2']);
    const noKeys = await s.call(lease, 'LeaseTimeToLive', { ID: g.ID });
    expect(noKeys.keys).toEqual([]);
    const list = await s.call(lease, 'LeaseLeases', {});
    expect(list.leases.map((l: Decoded) => l.ID).sort()).toEqual([g.ID, '4660'].sort());

    const rev = await s.call(lease, 'LeaseRevoke', { ID: g.ID });
    expect(rev.header.revision).toBe('4'); // the deletion of the lease's keys
    expect((await s.call(kv, 'Range', { key: b('lk'), rangeEnd: b('ll') })).kvs).toEqual([]);
    // Unknown lease: TTL -1 and no error (etcd's LeaseServer).
    const gone = await s.call(lease, 'LeaseTimeToLive', { ID: g.ID, keys: true });
    expect(gone).toMatchObject({ ID: g.ID, TTL: '-1', grantedTTL: '0', keys: [] });
  });

  it('takes a negative lease ID, as etcd does (the field is an int64)', async () => {
    s = await serve();
    const lease = s.client('Lease');
    const kv = s.client('KV');
    expect(await s.call(lease, 'LeaseGrant', { ID: -5, TTL: 100 })).toMatchObject({ ID: '-5', TTL: '100' });
    await s.call(kv, 'Put', { key: b('n'), value: b('v'), lease: -5 });
    expect((await s.call(kv, 'Range', { key: b('n') })).kvs[0].lease).toBe('-5');
    const ttl = await s.call(lease, 'LeaseTimeToLive', { ID: -5, keys: true });
    expect(ttl).toMatchObject({ ID: '-5', grantedTTL: '100' });
    expect(ttl.keys.map((k: Buffer) => k.toString())).toEqual(['n']);
    expect((await s.call(lease, 'LeaseLeases', {})).leases).toEqual([{ ID: '-5' }]);
    await s.call(lease, 'LeaseRevoke', { ID: -5 });
    expect((await s.call(kv, 'Range', { key: b('n') })).kvs).toEqual([]);
  });

  it("answers errors with etcd's codes and messages", async () => {
    s = await serve();
    const lease = s.client('Lease');
    await expect(s.call(lease, 'LeaseRevoke', { ID: 12345 })).rejects.toMatchObject({
      code: status.NOT_FOUND,
      details: 'etcdserver: requested lease not found',
    });
    await expect(s.call(lease, 'LeaseGrant', { TTL: '9000000001' })).rejects.toMatchObject({
      code: status.OUT_OF_RANGE,
      details: 'etcdserver: too large lease TTL',
    });
    await s.call(lease, 'LeaseGrant', { TTL: 10, ID: 7 });
    await expect(s.call(lease, 'LeaseGrant', { TTL: 10, ID: 7 })).rejects.toMatchObject({
      code: status.FAILED_PRECONDITION,
      details: 'etcdserver: lease already exists',
    });
    // A negative TTL is raised to the minimum, as etcd does.
    const neg = await s.call(lease, 'LeaseGrant', { TTL: -5 });
    expect(Number(neg.TTL)).toBeGreaterThan(0);
  });

  it('keep-alive stream: one answer per request, in order; TTL 0 for an unknown lease; ends on half-close', async () => {
    s = await serve();
    const lease = s.client('Lease');
    const g = await s.call(lease, 'LeaseGrant', { TTL: 20 });
    const ka = (
      lease as unknown as { LeaseKeepAlive(): ClientDuplexStream<object, Decoded> }
    ).LeaseKeepAlive();
    const got: Decoded[] = [];
    ka.on('data', (r: Decoded) => got.push(r));
    const ended = new Promise<number>((resolve) => ka.on('status', (st) => resolve(st.code)));
    ka.on('error', () => {});
    ka.write({ ID: g.ID });
    ka.write({ ID: 12345 });
    ka.write({ ID: g.ID });
    ka.end();
    expect(await ended).toBe(status.OK);
    expect(got.map((r) => [r.ID, r.TTL])).toEqual([
      [g.ID, '20'],
      ['12345', '0'],
      [g.ID, '20'],
    ]);
    expect(got[0].header.memberId).toBe(s.node.id.toString());
  });
});

describe.skipIf(!hasEtcdctl)('Lease through the real etcdctl', () => {
  it('lease grant, put --lease, keep-alive --once, timetolive --keys, list, revoke, as etcd prints them', {
    timeout: 30_000,
  }, async () => {
    s = await serve();
    const grant = await s.etcdctl('lease', 'grant', '60');
    expect(grant.stdout).toMatch(/^lease [0-9a-f]{16} granted with TTL\(60s\)\n$/);
    const id = grant.stdout.split(' ')[1]!;
    const other = (await s.etcdctl('lease', 'grant', '60')).stdout.split(' ')[1]!;
    expect((await s.etcdctl('put', '--lease', id, 'lk', 'lv')).stdout).toBe('OK\n');
    expect((await s.etcdctl('put', `--lease=${id}`, 'lk2', 'lv')).stdout).toBe('OK\n');
    expect((await s.etcdctl('lease', 'keep-alive', '--once', id)).stdout).toBe(
      `lease ${id} keepalived with TTL(60)\n`,
    );
    expect((await s.etcdctl('lease', 'timetolive', id)).stdout).toMatch(
      new RegExp(`^lease ${id} granted with TTL\\(60s\\), remaining\\(5[89]s\\)\\n$`),
    );
    expect((await s.etcdctl('lease', 'timetolive', '--keys', id)).stdout).toMatch(
      new RegExp(
        `^lease ${id} granted with TTL\\(60s\\), remaining\\(5[89]s\\), attached keys\\(\\[lk lk2\\]\\)\\n$`,
      ),
    );
    const list = (await s.etcdctl('lease', 'list')).stdout.split('\n');
    expect(list[0]).toBe('found 2 leases');
    expect(list.slice(1, 3).sort()).toEqual([id, other].sort());
    expect((await s.etcdctl('lease', 'revoke', id)).stdout).toBe(`lease ${id} revoked\n`);
    expect((await s.etcdctl('get', 'lk', '--prefix')).stdout).toBe('');
    expect((await s.etcdctl('lease', 'timetolive', id)).stdout).toBe(`lease ${id} already expired\n`);
    const ka = await s.etcdctl('lease', 'keep-alive', '--once', id);
    expect(ka.status).toBe(2);
    expect(ka.stderr).toContain('etcdserver: requested lease not found');
    const revoke = await s.etcdctl('lease', 'revoke', id);
    expect(revoke.status).toBe(1);
    expect(revoke.stderr).toContain('Error: failed to revoke lease (etcdserver: requested lease not found)');
    const big = await s.etcdctl('lease', 'grant', '9000000001');
    expect(big.status).toBe(1);
    expect(big.stderr).toContain('Error: failed to grant lease (etcdserver: too large lease TTL)');
  });
});
