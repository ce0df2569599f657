/**
 * A proposal that reaches the log twice (a duplicated MsgProp) is applied once, on every member
 * and across restarts — found by the whole-node simulator, where a duplicated forwarded put
 * took two revisions.
 */

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createNode } from './create-node.js';
import type { TsetcdNode } from './node.js';
import { encodeRequest, RequestIdGenerator } from './request.js';

const b = (s: string) => new TextEncoder().encode(s);

async function commitRaw(n: TsetcdNode, entries: readonly Uint8Array[]): Promise<void> {
  for (const data of entries) n.parts.raft.propose(data);
  await n.parts.loop.kick();
  await n.parts.applied.wait(n.parts.raft.status().lastIndex);
}

describe('a request committed twice', () => {
  it('is applied once: one revision, one version', async () => {
    const n = await createNode({ name: 'solo' });
    try {
      const put = encodeRequest({
        proposer: 7,
        counter: 1000,
        req: { op: 'put', put: { key: b('k'), value: b('v') } },
      });
      const before = n.parts.store.revision;
      await commitRaw(n, [put, put]);
      const g = await n.kv.get('k');
      expect(g.header.revision).toBe(before + 1);
      expect(g.kvs[0]?.version).toBe(1);
    } finally {
      await n.close();
    }
  });

  it('is not applied when it is older than a later request of the same proposer, even after a restart', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tsetcd-dup-'));
    try {
      const older = encodeRequest({
        proposer: 7,
        counter: 5,
        req: { op: 'put', put: { key: b('a'), value: b('1') } },
      });
      const newer = encodeRequest({
        proposer: 7,
        counter: 6,
        req: { op: 'put', put: { key: b('b'), value: b('2') } },
      });
      let n = await createNode({ name: 'solo', dataDir: dir });
      await commitRaw(n, [newer]);
      await n.close();
      n = await createNode({ name: 'solo', dataDir: dir });
      try {
        await commitRaw(n, [older, newer]);
        expect((await n.kv.get('a')).kvs).toEqual([]);
        expect((await n.kv.get('b')).kvs[0]?.version).toBe(1);
      } finally {
        await n.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("starts a member's own IDs above the ones it already applied, whatever its clock says", async () => {
    const g = new RequestIdGenerator(0x1234n, 0, 1_000_000);
    expect(g.prefix).toBe(0x1234);
    expect(g.next()).toBeGreaterThan(1_000_000);
  });
});
