/**
 * The Cluster service of a served member, through a grpc-js client and through the real etcdctl
 * 3.4: etcd's member fields and headers, peer URLs mapped between etcd's http:// and our tcp://,
 * and etcd's membership errors.
 */

import { status } from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { peerUrlIn, peerUrlOut } from './grpc/cluster-service.js';
import { hasEtcdctl, type Served, serve } from './test/harness.js';

let s: Served | undefined;
afterEach(async () => {
  await s?.close();
  s = undefined;
});

describe('peer URL mapping', () => {
  it('maps http:// to tcp:// and https:// to tls:// on the way in, and back out', () => {
    expect(peerUrlIn('http://127.0.0.1:2380')).toBe('tcp://127.0.0.1:2380');
    expect(peerUrlIn('https://10.0.0.1:2380')).toBe('tls://10.0.0.1:2380');
    expect(peerUrlIn('mem://n1')).toBe('mem://n1');
    expect(peerUrlOut('tcp://127.0.0.1:2380')).toBe('http://127.0.0.1:2380');
    expect(peerUrlOut('tls://10.0.0.1:2380')).toBe('https://10.0.0.1:2380');
    expect(peerUrlOut('mem://n1')).toBe('mem://n1');
  });
});

describe('Cluster over gRPC', () => {
  it('lists, adds a learner, updates and removes it, with etcd fields and headers', async () => {
    s = await serve();
    const cl = s.client('Cluster');
    const id = s.node.id.toString();
    const list = await s.call(cl, 'MemberList', {});
    // etcd's cluster server leaves the revision out of the header.
    expect(list.header).toEqual({
      clusterId: s.node.clusterId.toString(),
      memberId: id,
      revision: '0',
      raftTerm: expect.any(String),
    });
    expect(list.members).toEqual([
      { ID: id, name: 'default', peerURLs: ['mem://default'], clientURLs: [], isLearner: false },
    ]);

    const add = await s.call(cl, 'MemberAdd', { peerURLs: ['http://127.0.0.1:23801'], isLearner: true });
    expect(add.member).toMatchObject({ name: '', peerURLs: ['http://127.0.0.1:23801'], isLearner: true });
    expect(add.members).toHaveLength(2);
    const learner = BigInt(add.member.ID);
    const inCore = (await s.node.client.cluster.members()).members.find((m) => m.id === learner);
    expect(inCore?.peerUrls).toEqual(['tcp://127.0.0.1:23801']);

    const upd = await s.call(cl, 'MemberUpdate', {
      ID: add.member.ID,
      peerURLs: ['https://127.0.0.1:23802'],
    });
    // Still a learner: etcd 3.4 lists an updated learner as a voter, which raft does not make it
    // (etcd#21694, fixed upstream): a difference kept on purpose.
    expect(upd.members.find((m: { ID: string }) => m.ID === add.member.ID)).toMatchObject({
      peerURLs: ['https://127.0.0.1:23802'],
      isLearner: true,
    });
    // A learner that has not caught up is not promoted.
    await expect(s.call(cl, 'MemberPromote', { ID: add.member.ID })).rejects.toMatchObject({
      code: status.FAILED_PRECONDITION,
      details: 'etcdserver: can only promote a learner member which is in sync with leader',
    });
    await expect(s.call(cl, 'MemberPromote', { ID: id })).rejects.toMatchObject({
      code: status.FAILED_PRECONDITION,
      details: 'etcdserver: can only promote a learner member',
    });
    await expect(
      s.call(cl, 'MemberAdd', { peerURLs: ['http://127.0.0.1:23803'], isLearner: true }),
    ).rejects.toMatchObject({
      code: status.FAILED_PRECONDITION,
      details: 'etcdserver: too many learner members in cluster',
    });
    const rm = await s.call(cl, 'MemberRemove', { ID: add.member.ID });
    expect(rm.members.map((m: { ID: string }) => m.ID)).toEqual([id]);
    await expect(s.call(cl, 'MemberRemove', { ID: '1234' })).rejects.toMatchObject({
      code: status.NOT_FOUND,
      details: 'etcdserver: member not found',
    });
  });
});

describe.skipIf(!hasEtcdctl)('Cluster through the real etcdctl', () => {
  it('member list (table, json), add, update, promote, remove as etcd prints them', {
    timeout: 30_000,
  }, async () => {
    s = await serve();
    const hex = s.node.id.toString(16);
    expect((await s.etcdctl('member', 'list')).stdout).toBe(
      `${hex}, started, default, mem://default, , false\n`,
    );
    const j = JSON.parse((await s.etcdctl('member', 'list', '-w', 'json')).stdout);
    expect(j).toEqual({
      header: {
        cluster_id: expect.any(Number),
        member_id: expect.any(Number),
        raft_term: expect.any(Number),
      },
      members: [{ ID: expect.any(Number), name: 'default', peerURLs: ['mem://default'] }],
    });

    const add = await s.etcdctl('member', 'add', 'm2', '--peer-urls=http://127.0.0.1:23801', '--learner');
    expect(add.status).toBe(0);
    const learner = (await s.node.client.cluster.members()).members.find((m) => m.isLearner)!;
    const lhex = learner.id.toString(16);
    expect(add.stdout).toBe(
      `Member ${lhex.padStart(16)} added to cluster ${s.node.clusterId.toString(16).padStart(16)}\n\n` +
        'ETCD_NAME="m2"\n' +
        `ETCD_INITIAL_CLUSTER="${[
          [learner.id, 'm2=http://127.0.0.1:23801'] as const,
          [s.node.id, 'default=mem://default'] as const,
        ]
          .sort((a, b) => (a[0] < b[0] ? -1 : 1))
          .map((x) => x[1])
          .join(',')}"\n` +
        'ETCD_INITIAL_ADVERTISE_PEER_URLS="http://127.0.0.1:23801"\n' +
        'ETCD_INITIAL_CLUSTER_STATE="existing"\n',
    );
    const table = (await s.etcdctl('member', 'list', '-w', 'table')).stdout;
    expect(table).toMatch(new RegExp(`\\| ${lhex} \\| unstarted \\| +\\| http://127\\.0\\.0\\.1:23801 \\|`));
    expect(table).toContain('|       true |');

    const upd = await s.etcdctl('member', 'update', lhex, '--peer-urls=http://127.0.0.1:23802');
    expect(upd.stdout).toBe(
      `Member ${lhex.padStart(16)} updated in cluster ${s.node.clusterId.toString(16).padStart(16)}\n`,
    );
    const promote = await s.etcdctl('member', 'promote', lhex);
    expect(promote.status).not.toBe(0);
    expect(promote.stderr).toContain(
      'Error: etcdserver: can only promote a learner member which is in sync with leader',
    );
    const rm = await s.etcdctl('member', 'remove', lhex);
    expect(rm.stdout).toBe(
      `Member ${lhex.padStart(16)} removed from cluster ${s.node.clusterId.toString(16).padStart(16)}\n`,
    );
    const missing = await s.etcdctl('member', 'remove', '1234');
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain('Error: etcdserver: member not found');
  });
});
