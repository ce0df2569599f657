/**
 * Snapshot save and restore (etcdctl snapshot save / etcdutl snapshot restore): a member's store
 * streamed out is restored into the data dir of a new cluster, keeping keys and revisions and
 * taking the new cluster's membership.
 */

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createNode } from './create-node.js';
import { DataDirNotEmptyError, restoreDataDir } from './restore-data-dir.js';

let dir: string | undefined;
afterEach(async () => {
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

async function collect(src: AsyncIterable<Uint8Array>): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for await (const c of src) out.push(c);
  return out;
}

async function* replay(chunks: readonly Uint8Array[]): AsyncGenerator<Uint8Array> {
  yield* chunks;
}

describe('restoreDataDir', () => {
  it('restores a snapshot into a new single-member cluster with the same keys and revisions', async () => {
    dir = await mkdtemp(join(tmpdir(), 'tsetcd-restore-'));
    const src = await createNode({ name: 'old' });
    for (let i = 0; i < 20; i++) await src.kv.put(`k${i}`, `v${i}`);
    const lease = await src.lease.grant(600);
    await src.kv.put('leased', 'x', { lease: lease.id });
    const before = await src.kv.get('k', { prefix: true });
    const snapshot = await collect(src.maintenance.snapshot());
    const oldCluster = src.clusterId;
    await src.close();

    const target = join(dir, 'new');
    const status = await restoreDataDir(replay(snapshot), target);
    expect(status.revision).toBe(before.header.revision);
    const node = await createNode({ name: 'fresh', dataDir: target });
    try {
      const after = await node.kv.get('k', { prefix: true });
      expect(after.kvs).toEqual(before.kvs);
      expect(after.header.revision).toBe(before.header.revision);
      expect((await node.lease.leases()).leases).toEqual([lease.id]);
      const members = (await node.cluster.members()).members;
      expect(members.map((m) => m.name)).toEqual(['fresh']);
      expect(node.clusterId).not.toBe(oldCluster);
      const put = await node.kv.put('new', 'write');
      expect(put.header.revision).toBe(before.header.revision + 1);
    } finally {
      await node.close();
    }
  });

  it('refuses a data dir that already holds a member', async () => {
    dir = await mkdtemp(join(tmpdir(), 'tsetcd-restore-'));
    const a = await createNode({ name: 'a', dataDir: dir });
    const snapshot = await collect(a.maintenance.snapshot());
    await a.close();
    await expect(restoreDataDir(replay(snapshot), dir)).rejects.toBeInstanceOf(DataDirNotEmptyError);
  });
});
