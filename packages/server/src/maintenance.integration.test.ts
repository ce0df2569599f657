/**
 * The Maintenance service of a served member, through a grpc-js client and through the real
 * etcdctl 3.4: status, hashes, defragment, alarms, the snapshot stream (framed as etcd's, so
 * `etcdctl snapshot save` accepts it) and MoveLeader, including NotLeader from a follower of an
 * in-process 3-member cluster.
 */

import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Client, credentials, makeClientConstructor, status } from '@grpc/grpc-js';
import { createTestCluster, systemClock } from '@tsetcd/core/testing';
import { snapshotStatus } from '@tsetcd/mvcc';
import { afterEach, describe, expect, it } from 'vitest';
import { frameSnapshot, SNAPSHOT_BLOCK_BYTES, unframeSnapshot } from './grpc/maintenance-service.js';
import { loadEtcdProtos } from './proto.js';
import { startServer } from './server.js';
import { type Decoded, hasEtcdctl, type Served, serve } from './test/harness.js';

let s: Served | undefined;
afterEach(async () => {
  await s?.close();
  s = undefined;
});

const b = (x: string) => Buffer.from(x);

async function* once(bytes: Uint8Array): AsyncIterable<Uint8Array> {
  yield bytes;
}

function snapshotMessages(client: Client): Promise<Decoded[]> {
  return new Promise((resolve, reject) => {
    const out: Decoded[] = [];
    const stream = (client as unknown as { Snapshot(req: object): NodeJS.EventEmitter }).Snapshot({});
    stream.on('data', (m: Decoded) => out.push(m));
    stream.on('error', reject);
    stream.on('end', () => resolve(out));
  });
}

describe('snapshot framing', () => {
  it('frames any image as etcd frames its db, and cuts it out again', () => {
    for (const n of [0, 1, 100, 509, 510, 511, 512, 1000, 70_000]) {
      const image = Buffer.alloc(n, 7);
      const { db, sha256 } = frameSnapshot(image);
      expect(db.length % SNAPSHOT_BLOCK_BYTES).toBe(0);
      const file = Buffer.concat([db, sha256]);
      expect(Buffer.from(unframeSnapshot(file)).equals(image)).toBe(true);
    }
    // An unframed image is returned as it is.
    expect(unframeSnapshot(b('TSETCDSN....'))).toEqual(b('TSETCDSN....'));
  });
});

describe('Maintenance over gRPC', () => {
  it('Status, Hash, HashKV, Defragment and alarms with etcd fields', async () => {
    s = await serve();
    const m = s.client('Maintenance');
    const id = s.node.id.toString();
    await s.call(s.client('KV'), 'Put', { key: b('foo'), value: b('bar') });
    const st = await s.call(m, 'Status', {});
    expect(st).toMatchObject({ version: '3.4.0', leader: id, isLearner: false, errors: [] });
    expect(st.header.memberId).toBe(id);
    expect(Number(st.raftIndex)).toBeGreaterThan(0);
    expect(Number(st.raftAppliedIndex)).toBeGreaterThan(0);
    expect(Number(st.dbSize)).toBeGreaterThan(0);
    expect(st.dbSizeInUse).toBe(st.dbSize);

    const hkv = await s.call(m, 'HashKV', {});
    expect(hkv.compactRevision).toBe('-1'); // never compacted, as etcd says
    expect(hkv.hash).toBe((await s.node.client.maintenance.hashKV()).hash);
    expect((await s.call(m, 'Hash', {})).header.revision).toBe('2');
    expect(await s.call(m, 'Defragment', {})).toEqual({ header: null });

    expect((await s.call(m, 'Alarm', { action: 'GET' })).alarms).toEqual([]);
    const on = await s.call(m, 'Alarm', { action: 'ACTIVATE', memberID: id, alarm: 'NOSPACE' });
    expect(on).toEqual({ header: null, alarms: [{ memberID: id, alarm: 'NOSPACE' }] });
    expect((await s.call(m, 'Alarm', { action: 'GET' })).alarms).toEqual([
      { memberID: id, alarm: 'NOSPACE' },
    ]);
    expect((await s.call(m, 'Status', {})).errors).toEqual([`memberID:${id} alarm:NOSPACE `]);
    await expect(s.call(s.client('KV'), 'Put', { key: b('foo'), value: b('x') })).rejects.toMatchObject({
      code: status.RESOURCE_EXHAUSTED,
      details: 'etcdserver: mvcc: database space exceeded',
    });
    const off = await s.call(m, 'Alarm', { action: 'DEACTIVATE', memberID: id, alarm: 'NOSPACE' });
    expect(off.alarms).toEqual([{ memberID: id, alarm: 'NOSPACE' }]);
    expect((await s.call(m, 'Alarm', { action: 'GET' })).alarms).toEqual([]);
  });

  it('streams a snapshot as etcd 3.4 does: chunks with remaining bytes, then the SHA-256', async () => {
    s = await serve();
    const kv = s.client('KV');
    const success = Array.from({ length: 100 }, (_, i) => ({
      requestPut: { key: b(`k${i}`), value: Buffer.alloc(1000, i) },
    }));
    await s.call(kv, 'Txn', { success });
    const msgs = await snapshotMessages(s.client('Maintenance'));
    expect(msgs.length).toBeGreaterThan(2);
    const last = msgs.at(-1);
    expect(last.blob).toHaveLength(32);
    expect(last.remainingBytes).toBe('0');
    const db = Buffer.concat(msgs.slice(0, -1).map((x) => x.blob));
    let remaining = db.length;
    for (const x of msgs.slice(0, -1)) {
      remaining -= x.blob.length;
      expect(x.remainingBytes).toBe(String(remaining));
      expect(x.header).toBeNull();
    }
    const image = unframeSnapshot(Buffer.concat([db, last.blob]));
    const st = await snapshotStatus(once(image));
    expect(st.revision).toBe(2);
  });

  it('MoveLeader: to itself is a no-op, to an unknown member a bad transferee', async () => {
    s = await serve();
    const m = s.client('Maintenance');
    expect(await s.call(m, 'MoveLeader', { targetID: s.node.id.toString() })).toEqual({ header: null });
    await expect(s.call(m, 'MoveLeader', { targetID: '1234' })).rejects.toMatchObject({
      code: status.FAILED_PRECONDITION,
      details: 'etcdserver: bad leader transferee',
    });
  });

  it('MoveLeader: a follower answers NotLeader; the leader hands over', { timeout: 20_000 }, async () => {
    await using cluster = await createTestCluster({ nodes: 3, clock: systemClock });
    const leader = await cluster.waitForLeader();
    const follower = cluster.running().find((n) => n !== leader)!;
    const protos = loadEtcdProtos();
    const Ctor = makeClientConstructor(protos.Maintenance, 'Maintenance');
    const call = (c: Client, req: object) =>
      new Promise<Decoded>((resolve, reject) =>
        (
          c as unknown as Record<string, (r: object, cb: (e: Error | null, r: Decoded) => void) => void>
        ).MoveLeader!.call(c, req, (e, r) => (e ? reject(e) : resolve(r))),
      );
    const servers = [await startServer(follower, { listenClientUrls: ['http://127.0.0.1:0'] })];
    servers.push(await startServer(leader, { listenClientUrls: ['http://127.0.0.1:0'] }));
    const clients = servers.map(
      (sv) => new Ctor(sv.urls[0]!.replace('http://', ''), credentials.createInsecure()),
    );
    try {
      await expect(call(clients[0]!, { targetID: follower.id.toString() })).rejects.toMatchObject({
        code: status.FAILED_PRECONDITION,
        details: 'etcdserver: not leader',
      });
      expect(await call(clients[1]!, { targetID: follower.id.toString() })).toEqual({ header: null });
      expect(follower.isLeader).toBe(true);
    } finally {
      for (const c of clients) c.close();
      for (const sv of servers) await sv.close();
    }
  });
});

describe.skipIf(!hasEtcdctl)('Maintenance through the real etcdctl', () => {
  it('endpoint status/health/hashkv, alarm, defrag, snapshot save, move-leader', {
    timeout: 30_000,
  }, async () => {
    s = await serve();
    const hex = s.node.id.toString(16);
    const ep = s.endpoint;
    const st = await s.etcdctl('endpoint', 'status');
    expect(st.stdout).toMatch(
      new RegExp(`^${ep}, ${hex}, 3\\.4\\.0, \\d+ B, true, false, \\d+, \\d+, \\d+, \\n$`),
    );
    const j = JSON.parse((await s.etcdctl('endpoint', 'status', '-w', 'json')).stdout);
    expect(j[0].Endpoint).toBe(ep);
    expect(j[0].Status).toMatchObject({ version: '3.4.0', leader: expect.any(Number) });
    // etcd's fields, in etcd's order (dbSize and dbSizeInUse are left out while zero).
    expect(Object.keys(j[0].Status).filter((k) => !k.startsWith('dbSize'))).toEqual([
      'header',
      'version',
      'leader',
      'raftIndex',
      'raftTerm',
      'raftAppliedIndex',
    ]);
    // etcdctl 3.4 prints health to stderr.
    expect((await s.etcdctl('endpoint', 'health')).stderr).toMatch(
      new RegExp(`^${ep} is healthy: successfully committed proposal: took = .+\\n$`),
    );
    const hashkv = (await s.node.client.maintenance.hashKV()).hash;
    expect((await s.etcdctl('endpoint', 'hashkv')).stdout).toBe(`${ep}, ${hashkv}\n`);
    const hj = JSON.parse((await s.etcdctl('endpoint', 'hashkv', '-w', 'json')).stdout);
    expect(hj[0].HashKV.compact_revision).toBe(-1);

    expect(await s.etcdctl('alarm', 'list')).toMatchObject({ stdout: '', status: 0 });
    await s.node.propose({ op: 'alarm', action: 'ACTIVATE', memberId: s.node.id, alarm: 'NOSPACE' });
    expect((await s.etcdctl('alarm', 'list')).stdout).toBe(`memberID:${s.node.id} alarm:NOSPACE \n`);
    expect((await s.etcdctl('alarm', 'disarm')).stdout).toBe(`memberID:${s.node.id} alarm:NOSPACE \n`);
    expect(await s.etcdctl('alarm', 'list')).toMatchObject({ stdout: '', status: 0 });
    expect((await s.etcdctl('defrag')).stdout).toBe(`Finished defragmenting etcd member[${ep}]\n`);

    const dir = await mkdtemp(join(tmpdir(), 'tsetcd-snap-'));
    try {
      const file = join(dir, 'snap.db');
      const save = await s.etcdctl('snapshot', 'save', file);
      expect(save.stdout).toBe(`Snapshot saved at ${file}\n`);
      const bytes = await readFile(file);
      expect(bytes.length % 512).toBe(32);
      expect((await snapshotStatus(once(unframeSnapshot(bytes)))).revision).toBe(1);
      // etcd's tools cannot read our image: etcdctl opens the file as a bbolt database.
      const status_ = await s.etcdctl('snapshot', 'status', file);
      expect(status_.status).not.toBe(0);
      expect(status_.stderr).toContain('Error: invalid database');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }

    expect((await s.etcdctl('move-leader', hex)).stdout).toBe(
      `Leadership transferred from ${hex} to ${hex}\n`,
    );
    const bad = await s.etcdctl('move-leader', '1234');
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain('Error: etcdserver: bad leader transferee');
  });
});
