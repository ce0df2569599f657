/**
 * Tests of the in-memory network: delivery and copying, the virtual clock (advance, step,
 * deliverAll), partitions and cuts, per-link faults with their seeded randomness, reports to the
 * sender, membership (removePeer, close, crash), validation on arrival, 'auto' mode, and three
 * raft RawNodes electing a leader and committing through a lossy network.
 *
 * Deterministic: manual mode everywhere except the 'auto' tests, which await a delivery.
 */

import {
  EMPTY_CONF_STATE,
  type Entry,
  type Index,
  MemoryStorage,
  type Message,
  type MsgHeartbeat,
  type MsgSnap,
  type NodeId,
  ProposalDroppedError,
  RawNode,
  type Term,
} from '@tsetcd/raft';
import { describe, expect, it } from 'vitest';
import { MemoryNetwork, type MemoryNetworkOptions, type MemoryTransport } from './memory-network.js';
import { MemberExistsError, NetworkLivelockError } from './memory-network-errors.js';
import { describeNetworkEvent, sumCounts } from './memory-network-stats.js';
import type { TransportHandler } from './transport.js';

/** A heartbeat labelled `n` (its commit), the smallest valid message. */
function hb(from: NodeId, to: NodeId, n: number): MsgHeartbeat {
  return {
    type: 'MsgHeartbeat',
    from,
    to,
    term: 1 as Term,
    commit: n as Index,
    context: new Uint8Array([n & 0xff]),
  };
}

function snap(from: NodeId, to: NodeId): MsgSnap {
  return {
    type: 'MsgSnap',
    from,
    to,
    term: 1 as Term,
    snapshot: {
      metadata: { index: 5 as Index, term: 1 as Term, confState: EMPTY_CONF_STATE },
      data: new Uint8Array([1, 2, 3]),
    },
  };
}

function labels(ms: readonly Message[]): number[] {
  return ms.map((m) => (m as MsgHeartbeat).commit);
}

/** One member and everything it heard. */
interface Peer {
  readonly t: MemoryTransport;
  readonly got: Message[];
  readonly unreachable: NodeId[];
  readonly snaps: string[];
}

function recorder(): { handler: TransportHandler } & Omit<Peer, 't'> {
  const got: Message[] = [];
  const unreachable: NodeId[] = [];
  const snaps: string[] = [];
  return {
    got,
    unreachable,
    snaps,
    handler: {
      onMessage: (m) => got.push(m),
      onUnreachable: (p) => unreachable.push(p),
      onSnapshotStatus: (p, s) => snaps.push(`${p}:${s}`),
    },
  };
}

/** Joins `ids` and makes each a peer of every other. */
function mesh(net: MemoryNetwork, ids: readonly NodeId[]): Map<NodeId, Peer> {
  const peers = new Map<NodeId, Peer>();
  for (const id of ids) {
    const r = recorder();
    peers.set(id, { t: net.join(id, r.handler), got: r.got, unreachable: r.unreachable, snaps: r.snaps });
  }
  for (const [id, p] of peers)
    for (const other of ids) if (other !== id) p.t.addPeer(other, `mem://${other}`);
  return peers;
}

function setup(ids: readonly NodeId[] = [1n, 2n, 3n], opts: Partial<MemoryNetworkOptions> = {}) {
  const net = new MemoryNetwork({ seed: 1, logger: () => {}, ...opts });
  const peers = mesh(net, ids);
  const p = (id: NodeId): Peer => peers.get(id)!;
  return { net, p };
}

describe('delivery', () => {
  it('offers a sender the receiver does not know to onUnknownPeer before its message, with its URL', () => {
    const net = new MemoryNetwork({ seed: 1, logger: () => {} });
    const a = recorder();
    const b = recorder();
    const events: string[] = [];
    const ta = net.join(1n, a.handler, 'mem://a');
    const tb = net.join(2n, {
      ...b.handler,
      onMessage: (m) => events.push(`message from ${m.from}`),
      onUnknownPeer: (peer, url) => {
        events.push(`unknown ${peer} at ${url}`);
        tb.addPeer(peer, url);
      },
    });
    ta.addPeer(2n, 'mem://b');
    ta.send([hb(1n, 2n, 1), hb(1n, 2n, 2)]);
    net.deliverAll();
    expect(events).toEqual(['unknown 1 at mem://a', 'message from 1', 'message from 1']);
    tb.send([hb(2n, 1n, 3)]);
    net.deliverAll();
    expect(labels(a.got)).toEqual([3]);
    expect(b.unreachable).toEqual([]);
  });

  it('delivers nothing until stepped, then a validated copy', () => {
    const { net, p } = setup();
    const m = hb(1n, 2n, 7);
    p(1n).t.send([m]);
    expect(p(2n).got).toEqual([]);
    expect(net.pending().map((x) => [x.from, x.to, x.type])).toEqual([[1n, 2n, 'MsgHeartbeat']]);
    (m.context as Uint8Array)[0] = 99; // the sender reuses its buffer after send
    expect(net.step()?.outcome).toBe('delivered');
    const got = p(2n).got[0] as MsgHeartbeat;
    expect(got).toEqual(hb(1n, 2n, 7));
    expect(got).not.toBe(m);
    expect(net.step()).toBeUndefined();
  });

  it('keeps each link FIFO under random delay when reorder is off', () => {
    const { net, p } = setup();
    net.setLinkFaults('*', '*', { delay: [0, 50] });
    for (let i = 0; i < 100; i++) p(1n).t.send([hb(1n, 2n, i)]);
    net.advance(1000);
    expect(labels(p(2n).got)).toEqual([...Array(100).keys()]);
  });

  it('delivers a delayed message when the clock reaches its due time', () => {
    const { net, p } = setup();
    net.setLinkFaults(1n, 2n, { delay: [10, 10] });
    p(1n).t.send([hb(1n, 2n, 1)]);
    expect(net.advance(9)).toBe(0);
    expect(p(2n).got).toHaveLength(0);
    expect(net.advance(1)).toBe(1);
    expect(p(2n).got).toHaveLength(1);
    expect(net.now).toBe(10);
  });

  it('steps in (dueAt, send order) order and moves the clock to each due time', () => {
    const { net, p } = setup();
    net.setLinkFaults(1n, 2n, { delay: [30, 30] });
    net.setLinkFaults(3n, 2n, { delay: [10, 10] });
    p(1n).t.send([hb(1n, 2n, 1)]);
    p(3n).t.send([hb(3n, 2n, 2), hb(3n, 2n, 3)]);
    p(2n).t.send([hb(2n, 1n, 4)]);
    const order = [];
    for (let r = net.step(); r !== undefined; r = net.step()) order.push([net.now, r.seq, r.from, r.to]);
    expect(order).toEqual([
      [0, 4, 2n, 1n],
      [10, 2, 3n, 2n],
      [10, 3, 3n, 2n],
      [30, 1, 1n, 2n],
    ]);
  });

  it('delivers what members send in reply within the same advance', () => {
    const net = new MemoryNetwork({ seed: 1 });
    net.setLinkFaults('*', '*', { delay: [5, 5] });
    const got: number[] = [];
    const a: MemoryTransport = net.join(1n, {
      onMessage: (m) => got.push(net.now, (m as MsgHeartbeat).commit),
      onUnreachable: () => {},
      onSnapshotStatus: () => {},
    });
    const b: MemoryTransport = net.join(2n, {
      onMessage: (m) => b.send([hb(2n, 1n, (m as MsgHeartbeat).commit + 1)]),
      onUnreachable: () => {},
      onSnapshotStatus: () => {},
    });
    a.addPeer(2n, 'mem://2');
    b.addPeer(1n, 'mem://1');
    a.send([hb(1n, 2n, 1)]);
    expect(net.advance(10)).toBe(2);
    expect(got).toEqual([10, 2]);
  });

  it('bounds deliverAll and advance when members ping-pong at zero delay', () => {
    const net = new MemoryNetwork({ seed: 1, maxDeliveriesPerAdvance: 50 });
    const t: MemoryTransport[] = [];
    const echo = (self: NodeId, peer: NodeId): TransportHandler => ({
      onMessage: (m) => t[Number(self)]!.send([hb(self, peer, (m as MsgHeartbeat).commit + 1)]),
      onUnreachable: () => {},
      onSnapshotStatus: () => {},
    });
    t[1] = net.join(1n, echo(1n, 2n));
    t[2] = net.join(2n, echo(2n, 1n));
    t[1].addPeer(2n, '');
    t[2].addPeer(1n, '');
    t[1].send([hb(1n, 2n, 0)]);
    expect(net.deliverAll(100)).toBe(100);
    expect(net.pending()).toHaveLength(1);
    expect(() => net.advance(1)).toThrow(NetworkLivelockError);
  });

  it('delivers or discards a chosen message out of order', () => {
    const { net, p } = setup();
    p(1n).t.send([hb(1n, 2n, 1), hb(1n, 2n, 2), hb(1n, 3n, 3)]);
    const [, second, third] = net.pending();
    expect(net.deliver(second!.seq)?.outcome).toBe('delivered');
    expect(net.discard(third!.seq)?.outcome).toBe('discarded');
    expect(net.deliver(third!.seq)).toBeUndefined();
    expect(p(1n).unreachable).toEqual([3n]);
    expect(net.now).toBe(0);
    net.deliverAll();
    expect(labels(p(2n).got)).toEqual([2, 1]);
  });
});

describe('partitions', () => {
  it('partition cuts both ways between groups, not within them; heal restores', () => {
    const { net, p } = setup();
    net.partition([1n], [2n, 3n]);
    p(1n).t.send([hb(1n, 2n, 1)]);
    p(2n).t.send([hb(2n, 1n, 2), hb(2n, 3n, 3)]);
    net.deliverAll();
    expect(p(1n).got).toEqual([]);
    expect(labels(p(3n).got)).toEqual([3]);
    expect(p(1n).unreachable).toEqual([2n]);
    expect(p(2n).unreachable).toEqual([1n]);
    net.heal();
    p(1n).t.send([hb(1n, 2n, 4)]);
    net.deliverAll();
    expect(labels(p(2n).got)).toEqual([4]);
  });

  it('cut is one-way', () => {
    const { net, p } = setup();
    net.cut(1n, 2n);
    p(1n).t.send([hb(1n, 2n, 1)]);
    p(2n).t.send([hb(2n, 1n, 2)]);
    net.deliverAll();
    expect(p(2n).got).toEqual([]);
    expect(labels(p(1n).got)).toEqual([2]);
    expect(net.stats().droppedByReason).toEqual({ partitioned: 1 });
  });

  it('isolate cuts a member off from everyone', () => {
    const { net, p } = setup();
    net.isolate(3n);
    p(3n).t.send([hb(3n, 1n, 1), hb(3n, 2n, 2)]);
    p(1n).t.send([hb(1n, 3n, 3), hb(1n, 2n, 4)]);
    net.deliverAll();
    expect(p(3n).unreachable).toEqual([1n, 2n]);
    expect(p(3n).got).toEqual([]);
    expect(labels(p(2n).got)).toEqual([4]);
  });

  it('loses a message whose link is cut while it is in flight', () => {
    const { net, p } = setup();
    p(1n).t.send([hb(1n, 2n, 1)]);
    net.partition([1n], [2n]);
    expect(net.step()?.outcome).toBe('partitioned');
    expect(p(1n).unreachable).toEqual([2n]);
  });
});

describe('link faults', () => {
  it('drops close to the drop rate, exactly reproducibly for a seed', () => {
    const run = (seed: number) => {
      const { net, p } = setup([1n, 2n], { seed });
      net.setLinkFaults('*', '*', { drop: 0.3 });
      for (let i = 0; i < 4000; i++) p(1n).t.send([hb(1n, 2n, i)]);
      net.deliverAll();
      return p(2n).got.length;
    };
    const delivered = run(7);
    expect(Math.abs(delivered - 2800)).toBeLessThan(100); // 3.5 standard deviations
    expect(delivered).toBe(2802);
    expect(run(7)).toBe(delivered);
  });

  it('duplicates: every copy arrives, stats count the extras', () => {
    const { net, p } = setup();
    net.setLinkFaults(1n, 2n, { duplicate: 1 });
    p(1n).t.send([hb(1n, 2n, 1), hb(1n, 2n, 2)]);
    net.deliverAll();
    expect(labels(p(2n).got)).toEqual([1, 1, 2, 2]);
    expect(p(2n).got[0]).not.toBe(p(2n).got[1]);
    const s = net.stats();
    expect(s).toMatchObject({ sent: { MsgHeartbeat: 2 }, duplicated: { MsgHeartbeat: 2 } });
    expect(s.delivered.MsgHeartbeat).toBe(4);
  });

  it('reorders only when reorder is set', () => {
    const deliveredOrder = (reorder: boolean) => {
      const { net, p } = setup([1n, 2n], { seed: 3 });
      net.setLinkFaults('*', '*', { delay: [0, 100], reorder });
      for (let i = 0; i < 50; i++) p(1n).t.send([hb(1n, 2n, i)]);
      net.advance(200);
      return labels(p(2n).got);
    };
    const inOrder = [...Array(50).keys()];
    expect(deliveredOrder(false)).toEqual(inOrder);
    const shuffled = deliveredOrder(true);
    expect(shuffled).not.toEqual(inOrder);
    expect([...shuffled].sort((a, b) => a - b)).toEqual(inOrder);
  });

  it('picks the most specific rule', () => {
    const { net, p } = setup();
    net.setLinkFaults('*', '*', { drop: 1 });
    net.setLinkFaults(1n, '*', { delay: [5, 5] });
    net.setLinkFaults(1n, 3n, {});
    p(1n).t.send([hb(1n, 2n, 1), hb(1n, 3n, 2)]);
    p(2n).t.send([hb(2n, 3n, 3)]);
    expect(net.pending().map((x) => [x.to, x.dueAt])).toEqual([
      [3n, 0],
      [2n, 5],
    ]);
    net.clearLinkFaults();
    p(2n).t.send([hb(2n, 3n, 4)]);
    expect(net.pending()).toHaveLength(3);
  });

  it('refuses nonsense fault settings', () => {
    const { net } = setup();
    expect(() => net.setLinkFaults('*', '*', { drop: 1.5 })).toThrow(RangeError);
    expect(() => net.setLinkFaults('*', '*', { delay: [5, 1] })).toThrow(RangeError);
    expect(() => net.setLinkFaults('*', '*', { delay: [0.5, 1] })).toThrow(RangeError);
  });
});

describe('determinism', () => {
  const trace = (seed: number): string[] => {
    const lines: string[] = [];
    const { net, p } = setup([1n, 2n, 3n], { seed, onEvent: (e) => lines.push(describeNetworkEvent(e)) });
    net.setLinkFaults('*', '*', { drop: 0.2, duplicate: 0.2, delay: [0, 30], reorder: true });
    for (let i = 0; i < 30; i++) {
      p(1n).t.send([hb(1n, 2n, i), hb(1n, 3n, i)]);
      p(2n).t.send([hb(2n, 3n, i)]);
      net.advance(7);
    }
    net.deliverAll();
    return lines;
  };

  it('the same seed replays the same delivery trace', () => {
    const a = trace(42);
    expect(a.length).toBeGreaterThan(90);
    expect(a.some((l) => l.includes('deliver'))).toBe(true);
    expect(trace(42)).toEqual(a);
  });

  it('different seeds give different traces', () => {
    expect(trace(43)).not.toEqual(trace(42));
  });
});

describe('reports to the sender', () => {
  it('reports an unknown or closed peer as unreachable, once per batch per peer', () => {
    const { net, p } = setup([1n, 2n]);
    const loner = recorder();
    const t = net.join(9n, loner.handler);
    t.send([hb(9n, 1n, 1), hb(9n, 1n, 2)]); // never added 1 as a peer
    expect(loner.unreachable).toEqual([1n]);
    p(1n).t.addPeer(8n, 'mem://8'); // added, but never joined
    p(1n).t.send([hb(1n, 8n, 1), hb(1n, 2n, 2), hb(1n, 8n, 3)]);
    p(1n).t.send([hb(1n, 8n, 4)]);
    expect(p(1n).unreachable).toEqual([8n, 8n]);
    expect(net.stats().droppedByReason).toEqual({ 'unknown-peer': 2, 'peer-down': 3 });
  });

  it('reports a delivered MsgSnap as SnapshotFinish, exactly once even when duplicated', () => {
    const { net, p } = setup([1n, 2n]);
    net.setLinkFaults('*', '*', { duplicate: 1 });
    p(1n).t.send([snap(1n, 2n)]);
    expect(p(1n).snaps).toEqual([]);
    net.deliverAll();
    expect(p(2n).got.map((m) => m.type)).toEqual(['MsgSnap', 'MsgSnap']);
    expect(p(1n).snaps).toEqual(['2:SnapshotFinish']);
  });

  it('reports a lost MsgSnap as SnapshotFailure and the peer as unreachable', () => {
    const { net, p } = setup([1n, 2n]);
    net.setLinkFaults('*', '*', { drop: 1 });
    p(1n).t.send([snap(1n, 2n)]);
    expect(p(1n).snaps).toEqual(['2:SnapshotFailure']);
    expect(p(1n).unreachable).toEqual([2n]);
    net.clearLinkFaults();
    p(1n).t.send([snap(1n, 2n)]);
    net.crash(2n);
    expect(p(1n).snaps).toEqual(['2:SnapshotFailure', '2:SnapshotFailure']);
  });
});

describe('membership', () => {
  it('removePeer drops the queue to it; later sends are unreachable', () => {
    const { net, p } = setup();
    p(1n).t.send([hb(1n, 2n, 1), snap(1n, 2n), hb(1n, 3n, 2)]);
    p(1n).t.removePeer(2n);
    expect(p(1n).snaps).toEqual(['2:SnapshotFailure']);
    expect(p(1n).unreachable).toEqual([]);
    p(1n).t.send([hb(1n, 2n, 3)]);
    expect(p(1n).unreachable).toEqual([2n]);
    net.deliverAll();
    expect(p(2n).got).toEqual([]);
    expect(labels(p(3n).got)).toEqual([2]);
  });

  it('close drops queued messages both ways, tells live senders, and lets the ID rejoin', async () => {
    const { net, p } = setup();
    p(1n).t.send([hb(1n, 2n, 1)]);
    p(2n).t.send([hb(2n, 3n, 2)]);
    await p(2n).t.close();
    expect(p(2n).t.closed).toBe(true);
    expect(net.pending()).toEqual([]);
    expect(p(1n).unreachable).toEqual([2n]);
    p(2n).t.send([hb(2n, 3n, 3)]); // never throws, never reports to a closed member
    expect(p(2n).unreachable).toEqual([]);
    expect(net.stats().droppedByReason).toEqual({ 'peer-down': 1, 'sender-closed': 2 });
    const again = recorder();
    const t = net.join(2n, again.handler);
    p(1n).t.send([hb(1n, 2n, 4)]);
    net.deliverAll();
    expect(labels(again.got)).toEqual([4]);
    expect(p(2n).got).toEqual([]);
    await t[Symbol.asyncDispose]();
    expect(t.closed).toBe(true);
  });

  it('crash closes the transport; a live ID cannot join twice', async () => {
    const { net, p } = setup();
    expect(() => net.join(1n, recorder().handler)).toThrow(MemberExistsError);
    expect(net.crash(1n)).toBe(true);
    expect(p(1n).t.closed).toBe(true);
    expect(net.crash(1n)).toBe(false);
    await net.close();
    expect(p(2n).t.closed).toBe(true);
  });

  it('keeps the counters balanced: sent + duplicated = delivered + dropped + in flight', () => {
    const { net, p } = setup([1n, 2n, 3n], { seed: 5 });
    net.setLinkFaults('*', '*', { drop: 0.2, duplicate: 0.3, delay: [0, 20], reorder: true });
    for (let i = 0; i < 200; i++) p(1n).t.send([hb(1n, 2n, i), hb(1n, 3n, i)]);
    net.advance(10);
    net.crash(3n);
    const s = net.stats();
    expect(sumCounts(s.sent) + sumCounts(s.duplicated)).toBe(
      sumCounts(s.delivered) + sumCounts(s.dropped) + net.pending().length,
    );
    expect(sumCounts(s.sent)).toBe(400);
  });
});

describe('validation on arrival', () => {
  const logged = () => {
    const lines: string[] = [];
    const { net, p } = setup([1n, 2n], { logger: (level, m) => lines.push(`${level} ${m}`) });
    return { net, p, lines };
  };

  it('drops a malformed message with a logged reason, never delivering it', () => {
    const { net, p, lines } = logged();
    p(1n).t.send([{ ...hb(1n, 2n, 1), term: -1 } as unknown as Message, hb(1n, 2n, 2)]);
    net.deliverAll();
    expect(labels(p(2n).got)).toEqual([2]);
    expect(lines).toEqual([
      'warn memory network: dropped MsgHeartbeat #1 1→2: raft: invalid message: message.term must be a non-negative safe integer',
    ]);
    expect(p(1n).unreachable).toEqual([]);
    expect(net.stats().droppedByReason).toEqual({ invalid: 1 });
  });

  it('drops forged, unroutable and uncopyable messages without throwing', () => {
    const { net, p, lines } = logged();
    p(1n).t.send([
      hb(3n, 2n, 1),
      { ...hb(1n, 2n, 2), to: 2 } as unknown as Message,
      { ...hb(1n, 2n, 3), extra: () => {} } as unknown as Message,
      null as unknown as Message,
    ]);
    net.deliverAll();
    expect(p(2n).got).toEqual([]);
    expect(lines).toEqual([
      'warn memory network: dropped MsgHeartbeat #2 1→0: message.to must be a bigint',
      expect.stringMatching(/^warn memory network: dropped MsgHeartbeat #3 1→2: cannot be copied: /),
      'warn memory network: dropped (untyped) #4 1→0: message.to must be a bigint',
      'warn memory network: dropped MsgHeartbeat #1 1→2: claims to be from 3, sent by 1',
    ]);
    expect(net.stats().dropped).toEqual({ MsgHeartbeat: 3, '(untyped)': 1 });
  });

  it('drops a queued message that was tampered with', () => {
    const { net, p, lines } = logged();
    p(1n).t.send([hb(1n, 2n, 1)]);
    (net.pending()[0]!.message as { commit: unknown }).commit = 'x';
    net.deliverAll();
    expect(p(2n).got).toEqual([]);
    expect(lines[0]).toMatch(/message.commit must be a non-negative safe integer/);
  });
});

describe("'auto' mode", () => {
  it('delivers by itself, FIFO, honouring delay', async () => {
    await using net = new MemoryNetwork({ seed: 1, mode: 'auto' });
    const got: number[] = [];
    let done!: () => void;
    const finished = new Promise<void>((resolve) => {
      done = resolve;
    });
    const a = net.join(1n, recorder().handler);
    net.join(2n, {
      onMessage: (m) => {
        got.push((m as MsgHeartbeat).commit);
        if (got.length === 3) done();
      },
      onUnreachable: () => {},
      onSnapshotStatus: () => {},
    });
    a.addPeer(2n, 'mem://2');
    a.send([hb(1n, 2n, 1)]);
    net.setLinkFaults('*', '*', { delay: [1, 3] });
    a.send([hb(1n, 2n, 2), hb(1n, 2n, 3)]);
    expect(got).toEqual([]);
    await finished;
    expect(got).toEqual([1, 2, 3]);
    expect(net.now).toBeGreaterThanOrEqual(1);
  });

  it('delivers nothing after close', async () => {
    const net = new MemoryNetwork({ seed: 1, mode: 'auto' });
    const b = recorder();
    const a = net.join(1n, recorder().handler);
    net.join(2n, b.handler);
    a.addPeer(2n, '');
    a.send([hb(1n, 2n, 1)]);
    await net.close();
    await new Promise((resolve) => setImmediate(resolve));
    expect(b.got).toEqual([]);
  });
});

describe('raft on a lossy network', () => {
  const TICK_MS = 50;
  const PROPOSALS = 20;

  /** A minimal host: tick, and for each Ready send, persist, send, apply, advance (ready.ts). */
  class Host {
    readonly storage: MemoryStorage;
    readonly raw: RawNode;
    readonly applied: Entry[] = [];
    readonly t: MemoryTransport;

    constructor(
      readonly id: NodeId,
      ids: readonly NodeId[],
      net: MemoryNetwork,
    ) {
      this.storage = new MemoryStorage({ voters: ids });
      this.raw = new RawNode({ id, storage: this.storage, electionTick: 10, heartbeatTick: 1 });
      this.t = net.join(id, {
        onMessage: (m) => this.raw.step(m),
        onUnreachable: (peer) => this.raw.reportUnreachable(peer),
        onSnapshotStatus: (peer, status) => this.raw.reportSnapshot(peer, status),
      });
      for (const peer of ids) if (peer !== id) this.t.addPeer(peer, `mem://${peer}`);
    }

    handleReady(): void {
      while (this.raw.hasReady()) {
        const rd = this.raw.ready();
        this.t.send(rd.messages);
        if (rd.snapshot !== undefined) this.storage.applySnapshot(rd.snapshot);
        this.storage.append(rd.entries);
        if (rd.hardState !== undefined) this.storage.setHardState(rd.hardState);
        this.t.send(rd.persistedMessages);
        for (const e of rd.committedEntries) {
          if (e.type === 'EntryConfChange') this.raw.applyConfChange(e.change);
          this.applied.push(e);
        }
        this.raw.advance();
      }
    }
  }

  const text = (e: Entry) => (e.type === 'EntryNormal' ? new TextDecoder().decode(e.data) : '(conf change)');

  /** Runs until every member applied every proposal; returns what happened, for comparison. */
  const run = (seed: number) => {
    const net = new MemoryNetwork({ seed });
    net.setLinkFaults('*', '*', { drop: 0.1, delay: [1, 20] });
    const ids = [1n, 2n, 3n];
    const hosts = ids.map((id) => new Host(id, ids, net));
    const leaders = new Set<NodeId>();
    let proposed = 0;
    for (let tick = 0; tick < 500; tick++) {
      for (const h of hosts) {
        h.raw.tick();
        h.handleReady();
      }
      for (let slice = 0; slice < TICK_MS / 10; slice++) {
        net.advance(10);
        for (const h of hosts) h.handleReady();
      }
      const leader = hosts.find((h) => h.raw.status().softState.raftState === 'StateLeader');
      if (leader !== undefined) leaders.add(leader.id);
      if (leader !== undefined && proposed < PROPOSALS) {
        try {
          leader.raw.propose(new TextEncoder().encode(`cmd-${proposed}`));
          proposed++;
          leader.handleReady();
        } catch (err) {
          if (!(err instanceof ProposalDroppedError)) throw err;
        }
      }
      const logs = hosts.map((h) => h.applied.map((e) => `${e.index}/${e.term} ${text(e)}`));
      if (logs.every((log) => log.filter((l) => l.includes('cmd-')).length === PROPOSALS)) {
        return { tick, leaders: [...leaders], logs, stats: net.stats() };
      }
    }
    throw new Error(`seed ${seed}: proposals not applied everywhere within 500 ticks`);
  };

  it('elects a leader and commits proposals on every member under 10% loss, replayably', () => {
    const result = run(2024);
    expect(result.leaders).toHaveLength(1);
    const [first, ...rest] = result.logs;
    for (const log of rest) expect(log).toEqual(first);
    expect(first?.filter((l) => l.includes('cmd-')).map((l) => l.split(' ')[1])).toEqual(
      [...Array(PROPOSALS).keys()].map((i) => `cmd-${i}`),
    );
    expect(result.stats.droppedByReason.fault).toBeGreaterThan(5);
    expect(run(2024)).toEqual(result);
  });
});
