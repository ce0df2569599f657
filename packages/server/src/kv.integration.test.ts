/**
 * The KV service and the HTTP endpoints of a served member, through a grpc-js client built from
 * our .proto files and through the real etcdctl 3.4 (when installed): etcd's answers, field for
 * field, and etcd's errors with their gRPC codes.
 */

import { status } from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { hasEtcdctl, type Served, serve } from './test/harness.js';

let s: Served | undefined;
afterEach(async () => {
  await s?.close();
  s = undefined;
});

const b = (x: string) => Buffer.from(x);

describe('KV over gRPC', () => {
  it('puts, ranges, deletes and runs txns with etcd headers and revisions', async () => {
    s = await serve();
    const kv = s.client('KV');
    const put = await s.call(kv, 'Put', { key: b('foo'), value: b('bar') });
    expect(put.header.revision).toBe('2');
    expect(put.header.memberId).toBe(s.node.id.toString());
    expect(put.header.clusterId).toBe(s.node.clusterId.toString());
    const again = await s.call(kv, 'Put', { key: b('foo'), value: b('baz'), prevKv: true });
    expect(again.prevKv.value.toString()).toBe('bar');
    const r = await s.call(kv, 'Range', { key: b('foo') });
    expect(r.kvs).toHaveLength(1);
    expect(r.kvs[0]).toMatchObject({ createRevision: '2', modRevision: '3', version: '2' });
    expect(r.kvs[0].value.toString()).toBe('baz');
    expect(r.count).toBe('1');
    const t = await s.call(kv, 'Txn', {
      compare: [{ target: 'VALUE', result: 'EQUAL', key: b('foo'), value: b('baz') }],
      success: [{ requestPut: { key: b('foo'), value: b('qux') } }, { requestRange: { key: b('foo') } }],
    });
    expect(t.succeeded).toBe(true);
    expect(t.responses[1].responseRange.kvs[0].value.toString()).toBe('qux');
    const d = await s.call(kv, 'DeleteRange', { key: b('f'), rangeEnd: b('g'), prevKv: true });
    expect(d.deleted).toBe('1');
    expect(d.prevKvs[0].value.toString()).toBe('qux');
  });

  it("answers errors with etcd's gRPC codes and messages", async () => {
    s = await serve();
    const kv = s.client('KV');
    await s.call(kv, 'Put', { key: b('k'), value: b('v') });
    await expect(s.call(kv, 'Range', { key: b('k'), revision: 99 })).rejects.toMatchObject({
      code: status.OUT_OF_RANGE,
      details: 'etcdserver: mvcc: required revision is a future revision',
    });
    await expect(s.call(kv, 'Put', { key: b(''), value: b('v') })).rejects.toMatchObject({
      code: status.INVALID_ARGUMENT,
      details: 'etcdserver: key is not provided',
    });
    await expect(s.call(kv, 'Put', { key: b('k'), value: b('v'), lease: 12345 })).rejects.toMatchObject({
      code: status.NOT_FOUND,
      details: 'etcdserver: requested lease not found',
    });
    await s.call(kv, 'Put', { key: b('k'), value: b('v2') });
    await s.call(kv, 'Compact', { revision: 3 });
    await expect(s.call(kv, 'Range', { key: b('k'), revision: 2 })).rejects.toMatchObject({
      code: status.OUT_OF_RANGE,
      details: 'etcdserver: mvcc: required revision has been compacted',
    });
  });

  it('serves /health, /version and /metrics on the same port', async () => {
    s = await serve();
    const base = `http://${s.endpoint}`;
    expect(await (await fetch(`${base}/health`)).json()).toEqual({ health: 'true' });
    expect(await (await fetch(`${base}/version`)).json()).toMatchObject({ etcdserver: expect.any(String) });
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toContain('etcd_server_has_leader 1');
  });
});

describe.skipIf(!hasEtcdctl)('KV through the real etcdctl', () => {
  it('put, get (plain and JSON), txn, del, historical reads, as etcd prints them', {
    timeout: 60_000,
  }, async () => {
    s = await serve();
    expect((await s.etcdctl('put', 'foo', 'bar')).stdout).toBe('OK\n');
    expect((await s.etcdctl('get', 'foo')).stdout).toBe('foo\nbar\n');
    const j = JSON.parse((await s.etcdctl('get', 'foo', '-w', 'json')).stdout);
    expect(j.kvs[0]).toMatchObject({
      key: 'Zm9v',
      value: 'YmFy',
      create_revision: 2,
      mod_revision: 2,
      version: 1,
    });
    expect(j.header.revision).toBe(2);
    const txn = await s.etcdctlWithInput('value("foo") = "bar"\n\nput foo baz\n\nput foo nope\n\n', 'txn');
    expect(txn.stdout).toBe('SUCCESS\n\nOK\n');
    expect((await s.etcdctl('get', 'foo', '--rev=2')).stdout).toBe('foo\nbar\n');
    expect((await s.etcdctl('get', '', '--prefix', '--keys-only')).stdout).toBe('foo\n\n');
    expect((await s.etcdctl('del', 'foo')).stdout).toBe('1\n');
    const future = await s.etcdctl('get', 'foo', '--rev=99');
    expect(future.status).not.toBe(0);
    expect(future.stderr).toContain('etcdserver: mvcc: required revision is a future revision');
  });
});
