/**
 * RaftLoop over the real durable log: a single member bootstraps, commits, stops, and restarts
 * from its data dir alone — its committed entries (membership included) are replayed to the
 * state machine and it carries on leading. Real temp directory, never a memory filesystem.
 */

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Entry, RawNode } from '@tsetcd/raft';
import { MemoryNetwork } from '@tsetcd/transport';
import { afterEach, describe, expect, it } from 'vitest';
import { RaftLoop } from './raft-loop.js';
import { RaftStorage } from './raft-storage.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

const text = new TextDecoder();
const bytes = (s: string) => new TextEncoder().encode(s);

async function startMember(dataDir: string, bootstrap: boolean) {
  const recovered = await RaftStorage.open(dataDir);
  const node = new RawNode({ id: 1n, storage: recovered.storage });
  if (bootstrap) node.bootstrap([1n]);
  const net = new MemoryNetwork({ seed: 1, mode: 'manual' });
  const transport = net.join(1n, {
    onMessage: () => {},
    onUnreachable: () => {},
    onSnapshotStatus: () => {},
  });
  const applied: string[] = [];
  const loop = new RaftLoop(node, recovered.storage, recovered.raftStorage, transport, {
    apply: (ents: readonly Entry[]) => {
      for (const e of ents)
        if (e.type === 'EntryNormal' && e.data.length > 0) applied.push(text.decode(e.data));
    },
  });
  const settle = async () => {
    for (let i = 0; i < 20; i++) {
      await loop.kick();
      if (!node.hasReady()) return;
    }
  };
  const elect = async () => {
    for (let i = 0; i < 30 && node.status().softState.raftState !== 'StateLeader'; i++) {
      loop.tick();
      await settle();
    }
  };
  const close = async () => {
    await loop.stop();
    await recovered.raftStorage.close();
    await net.close();
  };
  return { node, loop, applied, settle, elect, close };
}

describe('RaftLoop with RaftStorage', () => {
  it('restarts from its data dir with every committed entry and its membership', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tsetcd-loop-'));
    dirs.push(dir);

    const first = await startMember(dir, true);
    await first.settle();
    await first.elect();
    expect(first.node.status().softState.raftState).toBe('StateLeader');
    first.node.propose(bytes('a'));
    first.node.propose(bytes('b'));
    await first.settle();
    expect(first.applied).toEqual(['a', 'b']);
    await first.close();

    // Only the data dir survives: the state machine starts empty and is rebuilt by replay.
    const second = await startMember(dir, false);
    await second.settle();
    expect(second.applied).toEqual(['a', 'b']);
    expect(second.node.status().confState.voters).toEqual([1n]);
    await second.elect();
    expect(second.node.status().softState.raftState).toBe('StateLeader');
    second.node.propose(bytes('c'));
    await second.settle();
    expect(second.applied).toEqual(['a', 'b', 'c']);
    expect(second.loop.stats.saves).toBeGreaterThan(0);
    await second.close();
  });
});
