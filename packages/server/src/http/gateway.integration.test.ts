/**
 * The JSON gateway with fetch(), against the answers real etcd 3.4.23 gave to the same curl
 * requests (recorded below; only the header IDs and revisions differ between members): jsonpb
 * with the .proto's own field names, int64 as strings, base64 bytes, zero fields left out, and
 * grpc-gateway's error bodies and HTTP statuses.
 */

import { afterEach, describe, expect, it } from 'vitest';
import { type Served, serve } from '../test/harness.js';

let s: Served | undefined;
afterEach(async () => {
  await s?.close();
  s = undefined;
});

async function post(path: string, body: string, headers: Record<string, string> = {}) {
  const r = await fetch(`http://${s!.endpoint}${path}`, { method: 'POST', body, headers });
  return { status: r.status, json: (await r.json()) as Record<string, unknown> };
}

/** The header a fresh member sends at `revision`, as etcd's gateway writes it. */
function hdr(revision: number) {
  return {
    cluster_id: s!.node.clusterId.toString(),
    member_id: s!.node.id.toString(),
    revision: String(revision),
    raft_term: expect.any(String),
  };
}

describe('JSON gateway (etcd 3.4 grpc-gateway)', () => {
  it('kv: put, range, txn, deleterange, compaction as etcd answers them', async () => {
    s = await serve();
    // etcd: {"header":{...}}
    expect(await post('/v3/kv/put', '{"key": "Zm9v", "value": "YmFy", "prev_kv": true}')).toEqual({
      status: 200,
      json: { header: hdr(2) },
    });
    // camelCase field names are accepted too (jsonpb)
    expect((await post('/v3/kv/put', '{"key": "Zm9v", "value": "YmF6", "prevKv": true}')).json).toEqual({
      header: hdr(3),
      prev_kv: { key: 'Zm9v', create_revision: '2', mod_revision: '2', version: '1', value: 'YmFy' },
    });
    expect((await post('/v3/kv/range', '{"key": "Zm9v"}')).json).toEqual({
      header: hdr(3),
      kvs: [{ key: 'Zm9v', create_revision: '2', mod_revision: '3', version: '2', value: 'YmF6' }],
      count: '1',
    });
    // etcd: a miss has the header only
    expect((await post('/v3/kv/range', '{"key": "bm9uZQ=="}')).json).toEqual({ header: hdr(3) });
    expect(
      (
        await post(
          '/v3/kv/txn',
          '{"compare":[{"target":"VALUE","key":"Zm9v","value":"YmF6"}],"success":[{"request_range":{"key":"Zm9v","keys_only":true}}]}',
        )
      ).json,
    ).toEqual({
      header: hdr(3),
      succeeded: true,
      responses: [
        {
          response_range: {
            header: { revision: '3' },
            kvs: [{ key: 'Zm9v', create_revision: '2', mod_revision: '3', version: '2' }],
            count: '1',
          },
        },
      ],
    });
    expect(await post('/v3/kv/compaction', '{"revision": "100"}')).toEqual({
      status: 400,
      json: {
        error: 'etcdserver: mvcc: required revision is a future revision',
        message: 'etcdserver: mvcc: required revision is a future revision',
        code: 11,
      },
    });
    expect((await post('/v3/kv/compaction', '{"revision": "2"}')).json).toEqual({ header: hdr(3) });
    expect((await post('/v3/kv/deleterange', '{"key": "Zm9v"}')).json).toEqual({
      header: hdr(4),
      deleted: '1',
    });
  });

  it('errors as grpc-gateway writes them', async () => {
    s = await serve();
    expect(await post('/v3/kv/range', '{"key": ""}')).toEqual({
      status: 400,
      json: { error: 'etcdserver: key is not provided', message: 'etcdserver: key is not provided', code: 3 },
    });
    const bad = await post('/v3/kv/range', '{bad');
    expect(bad.status).toBe(400);
    expect(bad.json.code).toBe(3);
    const r = await fetch(`http://${s.endpoint}/v3/kv/range`);
    expect(r.status).toBe(405);
    expect((await fetch(`http://${s.endpoint}/v3/nope`, { method: 'POST', body: '{}' })).status).toBe(404);
  });

  it('lease routes, with the /v3/kv/lease aliases of etcd 3.4', async () => {
    s = await serve();
    const g = await post('/v3/lease/grant', '{"TTL": 30}');
    // etcd: {"header":{...},"ID":"...","TTL":"30"}
    expect(g.json).toEqual({ header: hdr(1), ID: expect.stringMatching(/^\d+$/), TTL: '30' });
    const id = g.json.ID as string;
    expect((await post('/v3/kv/lease/leases', '{}')).json).toEqual({ header: hdr(1), leases: [{ ID: id }] });
    expect((await post('/v3/lease/leases', '{}')).json).toEqual({ header: hdr(1), leases: [{ ID: id }] });
    const t = await post('/v3/kv/lease/timetolive', `{"ID": "${id}", "keys": true}`);
    expect(t.json).toEqual({ header: hdr(1), ID: id, TTL: expect.any(String), grantedTTL: '30' });
    expect((await post('/v3/lease/revoke', `{"ID": "${id}"}`)).json).toEqual({ header: hdr(1) });
    expect(await post('/v3/kv/lease/revoke', `{"ID": "${id}"}`)).toEqual({
      status: 404,
      json: {
        error: 'etcdserver: requested lease not found',
        message: 'etcdserver: requested lease not found',
        code: 5,
      },
    });
    // etcd: a lease that does not exist has TTL -1
    expect((await post('/v3/lease/timetolive', '{"ID": "1"}')).json).toEqual({
      header: hdr(1),
      ID: '1',
      TTL: '-1',
    });
  });

  it('cluster, maintenance and auth routes', async () => {
    s = await serve();
    const m = await post('/v3/cluster/member/list', '{}');
    expect(Object.keys(m.json)).toEqual(['header', 'members']);
    expect((m.json.members as Record<string, unknown>[])[0]).toMatchObject({ ID: s.node.id.toString() });
    const st = await post('/v3/maintenance/status', '{}');
    expect(st.json).toMatchObject({
      header: hdr(1),
      version: expect.any(String),
      leader: s.node.id.toString(),
    });
    expect(st.json).toHaveProperty('raftTerm');
    // etcd: 412 {"error":"etcdserver: authentication is not enabled",...,"code":9}
    expect(await post('/v3/auth/authenticate', '{"name":"root","password":"x"}')).toEqual({
      status: 412,
      json: {
        error: 'etcdserver: authentication is not enabled',
        message: 'etcdserver: authentication is not enabled',
        code: 9,
      },
    });
  });

  it('lock and election routes', async () => {
    s = await serve();
    const id = (await post('/v3/lease/grant', '{"TTL": 30}')).json.ID as string;
    const hex = BigInt(id).toString(16);
    const lock = await post('/v3/lock/lock', `{"name":"bXk=","lease":"${id}"}`);
    expect(lock.json).toEqual({ header: hdr(2), key: Buffer.from(`my/${hex}`).toString('base64') });
    const c = await post('/v3/election/campaign', `{"name":"ZWw=","lease":"${id}","value":"djE="}`);
    // etcd: {"header":{...},"leader":{"name":"ZWw=","key":"...","rev":"5","lease":"..."}}
    expect(c.json).toEqual({
      header: hdr(3),
      leader: { name: 'ZWw=', key: Buffer.from(`el/${hex}`).toString('base64'), rev: '3', lease: id },
    });
    expect((await post('/v3/election/leader', '{"name":"ZWw="}')).json).toEqual({
      header: hdr(3),
      kv: {
        key: Buffer.from(`el/${hex}`).toString('base64'),
        create_revision: '3',
        mod_revision: '3',
        version: '1',
        value: 'djE=',
        lease: id,
      },
    });
    // etcd: 500 {"error":"election: no leader",...,"code":2}
    expect(await post('/v3/election/leader', '{"name":"bm8="}')).toEqual({
      status: 500,
      json: { error: 'election: no leader', message: 'election: no leader', code: 2 },
    });
    expect(await post('/v3/election/resign', '{}')).toEqual({
      status: 500,
      json: { error: '"leader" field must be provided', message: '"leader" field must be provided', code: 2 },
    });
  });

  it('/v3/watch streams one {"result": WatchResponse} per line', async () => {
    s = await serve();
    const ac = new AbortController();
    const r = await fetch(`http://${s.endpoint}/v3/watch`, {
      method: 'POST',
      body: '{"create_request": {"key":"Zm9v"}}',
      signal: ac.signal,
    });
    expect(r.status).toBe(200);
    const reader = r.body!.getReader();
    let text = '';
    const lines = async (n: number) => {
      while (text.split('\n').length - 1 < n) {
        const { value } = await reader.read();
        text += new TextDecoder().decode(value);
      }
      return text
        .split('\n')
        .slice(0, n)
        .map((l) => JSON.parse(l));
    };
    await lines(1);
    await post('/v3/kv/put', '{"key": "Zm9v", "value": "YmFy"}');
    await post('/v3/kv/deleterange', '{"key": "Zm9v"}');
    // etcd 3.4.23, same requests:
    // {"result":{"header":{...,"revision":"1",...},"created":true}}
    // {"result":{"header":{...,"revision":"2",...},"events":[{"kv":{"key":"Zm9v","create_revision":"2","mod_revision":"2","version":"1","value":"YmFy"}}]}}
    // {"result":{"header":{...,"revision":"3",...},"events":[{"type":"DELETE","kv":{"key":"Zm9v","mod_revision":"3"}}]}}
    expect(await lines(3)).toEqual([
      { result: { header: hdr(1), created: true } },
      {
        result: {
          header: hdr(2),
          events: [
            { kv: { key: 'Zm9v', create_revision: '2', mod_revision: '2', version: '1', value: 'YmFy' } },
          ],
        },
      },
      { result: { header: hdr(3), events: [{ type: 'DELETE', kv: { key: 'Zm9v', mod_revision: '3' } }] } },
    ]);
    ac.abort();
  });
});

describe('JSON gateway: bodies it refuses', () => {
  it('a null item in a list of messages is a bad body, not a dropped connection (etcd 3.4 crashes)', async () => {
    s = await serve();
    expect(await post('/v3/kv/txn', '{"compare":[null]}')).toEqual({
      status: 400,
      json: {
        error: expect.stringContaining('null item in repeated message field'),
        message: expect.stringContaining('null item in repeated message field'),
        code: 3,
      },
    });
  });

  it('refuses a body over 32 times the gRPC receive limit with 429, reading no more of it, and keeps serving', async () => {
    // maxRequestBytes 1 KiB: the receive limit is 1 KiB + 512 KiB, so the gateway holds 16.8 MB.
    s = await serve({ maxRequestBytes: 1024 });
    const limit = 32 * (1024 + 512 * 1024);
    const big = `{"key": "Zm9v", "x": "${'a'.repeat(limit)}"}`;
    const r = await fetch(`http://${s.endpoint}/v3/kv/range`, { method: 'POST', body: big }).catch(
      (err: unknown) => err as Error,
    );
    // The answer may race the upload: either it arrives, or the connection closes first.
    if (!(r instanceof Error)) {
      expect(r.status).toBe(429);
      expect(await r.json()).toEqual({
        error: `gateway: request body larger than ${limit} bytes`,
        message: `gateway: request body larger than ${limit} bytes`,
        code: 8,
      });
    }
    // Just under the limit (an unknown field, which decodes to nothing) is read and answered.
    const under = `{"key": "Zm9v", "x": "${'a'.repeat(limit - 100)}"}`;
    expect((await post('/v3/kv/range', under)).status).toBe(200);
  });
});
