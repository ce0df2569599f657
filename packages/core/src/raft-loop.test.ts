/**
 * RaftLoop on the in-memory network: three members elect a leader, replicate and apply; acks
 * and votes never leave before the Ready they belong to is durable, and leave as soon as it is,
 * even while a long apply of that Ready runs; a Ready's messages are written before its apply;
 * a failed save stops the member without acknowledging anything.
 */

import {
  type Entry,
  type Index,
  MemoryStorage,
  type Message,
  RawNode,
  type Ready,
  seededRandom,
  type Term,
} from '@tsetcd/raft';
import { MemoryNetwork, type Transport } from '@tsetcd/transport';
import { describe, expect, it } from 'vitest';
import { type DurableLog, IN_MEMORY_LOG, RaftLoop } from './raft-loop.js';
import type { PersistBatch } from './raft-storage.js';

const IDS = [1n, 2n, 3n];
const text = new TextDecoder();

interface Member {
  readonly loop: RaftLoop;
  readonly applied: string[];
}

/** Lets every pending promise callback run (no wall clock involved). */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((r) => setImmediate(r));
}

/** Optional seams: wrap a member's transport, watch its applies. */
interface ClusterHooks {
  wrapTransport?(id: bigint, inner: Transport): Transport;
  onApply?(id: bigint, entries: readonly Entry[]): void;
}

function cluster(logFor: (id: bigint) => DurableLog = () => IN_MEMORY_LOG, hooks: ClusterHooks = {}) {
  const net = new MemoryNetwork({ seed: 1, mode: 'manual' });
  const members = new Map<bigint, Member>();
  for (const id of IDS) {
    const storage = new MemoryStorage({ voters: IDS });
    const node = new RawNode({
      id,
      storage,
      rand: seededRandom(Number(id)),
      checkQuorum: true,
      preVote: true,
    });
    const applied: string[] = [];
    let loop: RaftLoop | undefined;
    const joined = net.join(id, {
      onMessage: (m) => loop?.step(m),
      onUnreachable: (peer) => node.reportUnreachable(peer),
      onSnapshotStatus: (peer, status) => node.reportSnapshot(peer, status),
    });
    for (const peer of IDS) if (peer !== id) joined.addPeer(peer, `mem://${peer}`);
    const transport = hooks.wrapTransport?.(id, joined) ?? joined;
    loop = new RaftLoop(node, storage, logFor(id), transport, {
      apply: (ents: readonly Entry[]) => {
        hooks.onApply?.(id, ents);
        for (const e of ents)
          if (e.type === 'EntryNormal' && e.data.length > 0) applied.push(text.decode(e.data));
      },
    });
    members.set(id, { loop, applied });
  }
  /** Delivers messages and lets loops run until nothing moves. */
  const run = async () => {
    for (let i = 0; i < 50; i++) {
      await settle();
      if (net.deliverAll() === 0) {
        await settle();
        if (net.pending().length === 0) return;
      }
    }
  };
  const tickAll = async (n: number) => {
    for (let i = 0; i < n; i++) {
      for (const m of members.values()) m.loop.tick();
      await run();
    }
  };
  const leader = () =>
    [...members.values()].find((m) => m.loop.node.status().softState.raftState === 'StateLeader');
  return { net, members, run, tickAll, leader };
}

describe('RaftLoop', () => {
  it('elects a leader, replicates proposals and applies them on every member in order', async () => {
    const c = cluster();
    await c.tickAll(30);
    const leader = c.leader();
    expect(leader).toBeDefined();
    for (let i = 0; i < 20; i++) leader!.loop.node.propose(new TextEncoder().encode(`v${i}`));
    leader!.loop.kick();
    await c.run();
    await c.tickAll(2);
    const want = Array.from({ length: 20 }, (_, i) => `v${i}`);
    for (const m of c.members.values()) expect(m.applied).toEqual(want);
    // One Ready carried the burst: far fewer saves than proposals on the leader.
    expect(leader!.loop.stats.saves).toBeLessThan(20);
  });

  it('sends acknowledgements only after the Ready they belong to is durable', async () => {
    const held: { resolve: () => void; batch: PersistBatch }[] = [];
    let holdFollower = false;
    const c = cluster((id) => ({
      save: (batch) =>
        id === 2n && holdFollower
          ? new Promise<void>((resolve) => held.push({ resolve, batch }))
          : Promise.resolve(),
    }));
    await c.tickAll(30);
    const leader = c.leader()!;
    expect(leader.loop.node.status().id).not.toBe(2n);
    holdFollower = true;
    leader.loop.node.propose(new TextEncoder().encode('x'));
    leader.loop.kick();
    await c.run();
    // Follower 2 is writing the entry and must not have acknowledged it yet.
    expect(held.length).toBe(1);
    const ackFrom2 = (m: Message) => m.from === 2n && m.type === 'MsgAppResp';
    expect(c.net.pending().some((p) => ackFrom2(p.message))).toBe(false);
    held[0]!.resolve();
    await settle();
    expect(c.net.pending().some((p) => ackFrom2(p.message))).toBe(true);
    holdFollower = false;
    for (const h of held.slice(1)) h.resolve();
    await c.run();
    await c.tickAll(2);
    for (const m of c.members.values()) expect(m.applied).toEqual(['x']);
  });

  it("lets the transport write a Ready's messages before that Ready's apply holds the thread", async () => {
    // TCP's transport writes in a microtask, so that one Ready's sends share frames. A leader's
    // commit index must reach the followers while it applies, not after: that is the latency
    // of a write forwarded by a follower.
    const written: Message[] = [];
    let commitWrittenBeforeApply: boolean | undefined;
    const c = cluster(undefined, {
      wrapTransport: (_id, inner) => ({
        id: inner.id,
        send: (ms) =>
          queueMicrotask(() => {
            written.push(...ms);
            inner.send(ms);
          }),
        addPeer: (peer, url) => inner.addPeer(peer, url),
        removePeer: (peer) => inner.removePeer(peer),
        close: () => inner.close(),
        [Symbol.asyncDispose]: () => inner.close(),
      }),
      onApply: (id, entries) => {
        const x = entries.find((e) => e.type === 'EntryNormal' && text.decode(e.data) === 'x');
        if (x === undefined || id !== c.leader()?.loop.node.status().id) return;
        commitWrittenBeforeApply = written.some(
          (m) => m.from === id && m.type === 'MsgApp' && m.commit >= x.index,
        );
      },
    });
    await c.tickAll(30);
    const leader = c.leader()!;
    leader.loop.node.propose(new TextEncoder().encode('x'));
    leader.loop.kick();
    await c.run();
    await c.tickAll(2);
    expect(commitWrittenBeforeApply).toBe(true);
    for (const m of c.members.values()) expect(m.applied).toEqual(['x']);
  });

  it("sends a Ready's acks once its save completes, while a long apply of that Ready is still running", async () => {
    // A follower's Ready: one new entry to write, 600 committed entries to apply. The write
    // completes while the first slice is applied; the ack must not wait for the other slices.
    const entry = (i: number): Entry => ({
      type: 'EntryNormal',
      term: 2 as Term,
      index: i as Index,
      data: new Uint8Array([1]),
    });
    const ack: Message = {
      type: 'MsgAppResp',
      from: 2n,
      to: 1n,
      term: 2 as Term,
      index: 601 as Index,
      reject: false,
      rejectHint: 0 as Index,
      logTerm: 0 as Term,
    };
    const ready: Ready = {
      entries: [entry(601)],
      committedEntries: Array.from({ length: 600 }, (_, i) => entry(i + 1)),
      messages: [],
      persistedMessages: [ack],
      readStates: [],
      mustSync: true,
    };
    let pending = true;
    const node = {
      hasReady: () => pending,
      ready: () => {
        pending = false;
        return ready;
      },
      advance: () => undefined,
    } as unknown as RawNode;
    let finishSave: (() => void) | undefined;
    const log: DurableLog = { save: () => new Promise<void>((resolve) => (finishSave = resolve)) };
    let applied = 0;
    let appliedWhenAcked: number | undefined;
    const transport = {
      send: (ms: readonly Message[]) => {
        if (ms.includes(ack)) appliedWhenAcked = applied;
      },
    } as unknown as Transport;
    const storage = new MemoryStorage({ voters: IDS });
    storage.append(ready.committedEntries);
    const loop = new RaftLoop(node, storage, log, transport, {
      apply: (entries) => {
        applied += entries.length;
        finishSave?.();
      },
    });
    await loop.kick();
    expect(applied).toBe(600);
    expect(appliedWhenAcked).toBeDefined();
    expect(appliedWhenAcked!).toBeLessThan(600);
  });

  it('stops a member whose save fails, acknowledging nothing it could not persist', async () => {
    let c3Broken = false;
    const c = cluster((id) => ({
      save: () => (id === 3n && c3Broken ? Promise.reject(new Error('disk gone')) : Promise.resolve()),
    }));
    await c.tickAll(30);
    const leader = c.leader()!;
    c3Broken = true;
    leader.loop.node.propose(new TextEncoder().encode('y'));
    leader.loop.kick();
    await c.run();
    await c.tickAll(3);
    const m3 = c.members.get(3n)!;
    if (leader.loop.node.status().id === 3n) {
      // The leader itself lost its disk: nothing may be committed anywhere.
      for (const m of c.members.values()) expect(m.applied).toEqual([]);
    } else {
      expect(m3.loop.failure).toBeInstanceOf(Error);
      expect(m3.applied).toEqual([]);
      // The other two still form a quorum and commit.
      for (const id of IDS.filter((i) => i !== 3n)) expect(c.members.get(id)!.applied).toEqual(['y']);
    }
  });
});
