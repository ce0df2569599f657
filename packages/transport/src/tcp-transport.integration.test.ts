import type { Index, Message, Term } from '@tsetcd/raft';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_MAX_FRAME_BYTES } from './framing.js';
import { InvalidPeerUrlError } from './tcp-errors.js';
import { encodeAccept, encodeSnapAck } from './tcp-protocol.js';
import { TcpTransport } from './tcp-transport.js';
import {
  closeAll,
  connectAll,
  heartbeat,
  member,
  nextEvent,
  pattern,
  RawServer,
  Recorder,
  snapMessage,
} from './test/tcp-harness.js';

afterEach(closeAll);

const commits = (ms: readonly Message[]) => ms.map((m) => (m.type === 'MsgHeartbeat' ? m.commit : -1));

describe('TcpTransport', () => {
  it('delivers messages between three members, in order per pair', async () => {
    const ms = await Promise.all([member(1n), member(2n), member(3n)]);
    await connectAll(ms);
    for (const a of ms) {
      const out: Message[] = [];
      for (const b of ms) if (a !== b) for (let n = 0; n < 100; n++) out.push(heartbeat(a.id, b.id, n));
      a.transport.send(out);
    }
    for (const b of ms) {
      await b.rec.until(() => b.rec.messages.length === 200, `member ${b.id} got 200 messages`);
      for (const a of ms) {
        if (a === b) continue;
        const fromA = b.rec.messages.filter((m) => m.from === a.id);
        expect(commits(fromA)).toEqual(Array.from({ length: 100 }, (_, i) => i));
        expect(fromA.every((m) => m.to === b.id)).toBe(true);
      }
    }
    expect(ms.flatMap((m) => m.rec.unreachable)).toEqual([]);
  });

  it('batches the messages of one send into one frame, and splits batches at the frame limit', async () => {
    const peer = await RawServer.listen();
    try {
      const a = await member(1n, { maxFrameBytes: 2000 });
      a.transport.addPeer(2n, peer.url);
      const conn = await peer.accepted();
      await conn.until((f) => f.some((x) => x.type === 'hello'), 'hello');
      const active = nextEvent(a.transport.events, 'peerActive');
      conn.writeFrame(encodeAccept());
      await active;
      a.transport.send(Array.from({ length: 20 }, (_, n) => heartbeat(1n, 2n, n)));
      await conn.until((f) => f.filter((x) => x.type === 'messages').length === 1, 'one messages frame');
      const big = Array.from({ length: 200 }, (_, n) => heartbeat(1n, 2n, 1000 + n));
      a.transport.send(big);
      const delivered = () => conn.frames.flatMap((f) => (f.type === 'messages' ? f.messages : []));
      await conn.until(() => delivered().length === 220, 'all 220 messages');
      expect(commits(delivered())).toEqual([...Array(20).keys(), ...big.map((_, n) => 1000 + n)]);
      const batches = conn.frames.filter((f) => f.type === 'messages').length;
      expect(batches).toBeGreaterThan(2); // 200 heartbeats of ~50 bytes do not fit one 2000-byte frame
      expect(batches).toBeLessThan(12);
    } finally {
      await peer.close();
    }
  });

  it('writes 32 MiB of appends through socket backpressure, in order and complete', async () => {
    const [a, b] = await Promise.all([member(1n), member(2n)]);
    await connectAll([a, b]);
    const app = (n: number): Message => ({
      type: 'MsgApp',
      from: 1n,
      to: 2n,
      term: 1 as Term,
      index: n as Index,
      logTerm: 1 as Term,
      commit: 0 as Index,
      entries: [
        { type: 'EntryNormal', term: 1 as Term, index: (n + 1) as Index, data: pattern(16 * 1024, n) },
      ],
    });
    a.transport.send(Array.from({ length: 2048 }, (_, n) => app(n)));
    await b.rec.until(() => b.rec.messages.length === 2048, 'all 2048 appends');
    expect(b.rec.messages.map((m) => (m.type === 'MsgApp' ? m.index : -1))).toEqual([...Array(2048).keys()]);
    const last = b.rec.messages[2047];
    const entry = last?.type === 'MsgApp' ? last.entries[0] : undefined;
    expect(entry?.type === 'EntryNormal' && Buffer.compare(entry.data, pattern(16 * 1024, 2047))).toBe(0);
    expect(a.rec.unreachable).toEqual([]);
  });

  it('bounds the send queue: sends beyond it are dropped and reported unreachable at once', async () => {
    const peer = await RawServer.listen();
    try {
      const a = await member(1n, { sendQueueSize: 10, dialTimeoutMs: 60_000 });
      a.transport.addPeer(2n, peer.url);
      await peer.accepted(); // connected but never accepted: everything waits in the queue
      a.transport.send(Array.from({ length: 15 }, (_, n) => heartbeat(1n, 2n, n)));
      expect(a.rec.unreachable).toEqual([2n, 2n, 2n, 2n, 2n]);
      expect(a.rec.logs.some((l) => l.includes('send queue full'))).toBe(true);
    } finally {
      await peer.close();
    }
  });

  it('streams a large snapshot in chunks and reports SnapshotFinish once the receiver acknowledged it', async () => {
    const [a, b] = await Promise.all([
      member(1n, { maxFrameBytes: 64 * 1024 }),
      member(2n, { maxFrameBytes: 64 * 1024 }),
    ]);
    await connectAll([a, b]);
    const data = pattern(3 * 1024 * 1024 + 17);
    a.transport.send([heartbeat(1n, 2n, 1), snapMessage(1n, 2n, data), heartbeat(1n, 2n, 2)]);
    await a.rec.until(() => a.rec.snapshotStatus.length === 1, 'a snapshot status');
    expect(a.rec.snapshotStatus).toEqual([[2n, 'SnapshotFinish']]);
    await b.rec.until(() => b.rec.messages.length === 3, 'three messages');
    expect(b.rec.messages.map((m) => m.type)).toEqual(['MsgHeartbeat', 'MsgSnap', 'MsgHeartbeat']);
    const got = b.rec.messages[1];
    expect(got?.type === 'MsgSnap' && Buffer.compare(got.snapshot.data, data)).toBe(0);
    expect(got).toMatchObject({ snapshot: { metadata: snapMessage(1n, 2n, data).snapshot.metadata } });
  });

  it('sends a snapshot as snapStart, chunks and snapEnd, and waits for the snapAck', async () => {
    const peer = await RawServer.listen();
    try {
      const a = await member(1n, { snapshotChunkBytes: 1000 });
      a.transport.addPeer(2n, peer.url);
      const conn = await peer.accepted();
      const active = nextEvent(a.transport.events, 'peerActive');
      conn.writeFrame(encodeAccept());
      await active;
      a.transport.send([snapMessage(1n, 2n, pattern(4500))]);
      await conn.until((f) => f.some((x) => x.type === 'snapEnd'), 'snapEnd');
      const types = conn.frames.map((f) => f.type);
      expect(types).toEqual([
        'hello',
        'snapStart',
        'snapChunk',
        'snapChunk',
        'snapChunk',
        'snapChunk',
        'snapChunk',
        'snapEnd',
      ]);
      expect(conn.frames[1]).toMatchObject({ type: 'snapStart', totalBytes: 4500 });
      expect(a.rec.snapshotStatus).toEqual([]);
      conn.writeFrame(encodeSnapAck());
      await a.rec.until(() => a.rec.snapshotStatus.length === 1, 'a snapshot status');
      expect(a.rec.snapshotStatus).toEqual([[2n, 'SnapshotFinish']]);
      // A second snapshot whose connection dies before the ack fails, exactly once.
      a.transport.send([snapMessage(1n, 2n, pattern(10))]);
      await conn.until((f) => f.filter((x) => x.type === 'snapEnd').length === 2, 'the second snapEnd');
      conn.socket.destroy();
      await a.rec.until(() => a.rec.snapshotStatus.length === 2, 'a second snapshot status');
      expect(a.rec.snapshotStatus).toEqual([
        [2n, 'SnapshotFinish'],
        [2n, 'SnapshotFailure'],
      ]);
    } finally {
      await peer.close();
    }
  });

  it('reports SnapshotFailure when the receiver refuses the snapshot, then recovers', async () => {
    const [a, b] = await Promise.all([member(1n), member(2n, { maxSnapshotBytes: 1000 })]);
    await connectAll([a, b]);
    a.transport.send([snapMessage(1n, 2n, pattern(5000))]);
    await a.rec.until(() => a.rec.snapshotStatus.length === 1, 'a snapshot status');
    expect(a.rec.snapshotStatus).toEqual([[2n, 'SnapshotFailure']]);
    await b.rec.untilLogged('snapshot of 5000 bytes exceeds the limit of 1000');
    await nextEvent(a.transport.events, 'peerActive');
    a.transport.send([heartbeat(1n, 2n, 7)]);
    await b.rec.until(() => b.rec.messages.length === 1, 'the heartbeat after reconnecting');
    expect(a.rec.snapshotStatus).toHaveLength(1);
  });

  it('reports unknown peers unreachable, and a MsgSnap to one failed', async () => {
    const a = await member(1n);
    a.transport.send([heartbeat(1n, 9n), snapMessage(1n, 9n, pattern(10))]);
    expect(a.rec.unreachable).toEqual([9n, 9n]);
    expect(a.rec.snapshotStatus).toEqual([[9n, 'SnapshotFailure']]);
  });

  it('reconnects to a restarted peer on the same port, dropping sends while it is away', async () => {
    const a = await member(1n);
    let b = await member(2n);
    const port = b.transport.address.port;
    await connectAll([a, b]);
    const inactive = nextEvent(a.transport.events, 'peerInactive', (p) => p === 2n);
    await b.transport.close();
    await inactive;
    a.transport.send([heartbeat(1n, 2n, 1), snapMessage(1n, 2n, pattern(10))]);
    expect(a.rec.unreachable).toEqual([2n, 2n]);
    expect(a.rec.snapshotStatus).toEqual([[2n, 'SnapshotFailure']]);
    const active = nextEvent(a.transport.events, 'peerActive', (p) => p === 2n);
    b = await member(2n, { listen: { host: '127.0.0.1', port } });
    b.transport.addPeer(1n, a.transport.url);
    await active;
    a.transport.send([heartbeat(1n, 2n, 2)]);
    await b.rec.until(() => b.rec.messages.length === 1, 'delivery after the restart');
    expect(commits(b.rec.messages)).toEqual([2]);
  });

  it('removePeer drops the peer both ways: sends are unreachable and its connection is refused', async () => {
    const [a, b] = await Promise.all([member(1n), member(2n)]);
    await connectAll([a, b]);
    const closed = nextEvent(b.transport.events, 'inboundClosed', (p) => p === 1n);
    b.transport.removePeer(1n);
    await closed; // b closed the connection a dialled
    expect(b.transport.peerState(1n)).toBeUndefined();
    b.transport.send([heartbeat(2n, 1n)]);
    expect(b.rec.unreachable).toEqual([1n]);
    await b.rec.untilLogged('unknown member 1'); // a redials and is refused
    await a.rec.untilLogged('rejected by peer: unknown member 1');
    expect(a.rec.messages).toEqual([]);
  });

  it('offers a stranger that announces its URL to onUnknownPeer: added, it is accepted and answered', async () => {
    const probe = await member(1n);
    const port = probe.transport.address.port;
    await probe.transport.close();
    const url = `tcp://127.0.0.1:${port}`;
    const a = await member(1n, { listen: { host: '127.0.0.1', port }, advertiseUrl: url });
    const b = await member(2n);
    const offered: [bigint, string][] = [];
    Object.assign(b.rec, {
      onUnknownPeer: (peer: bigint, at: string) => {
        offered.push([peer, at]);
        b.transport.addPeer(peer, at);
      },
    });
    a.transport.addPeer(2n, b.transport.url); // b does not know a
    a.transport.send([heartbeat(1n, 2n, 3)]);
    await b.rec.until(() => b.rec.messages.length === 1, 'delivery from the stranger');
    expect(offered).toEqual([[1n, url]]);
    b.transport.send([heartbeat(2n, 1n, 4)]);
    await a.rec.until(() => a.rec.messages.length === 1, 'the answer');
    expect(commits(a.rec.messages)).toEqual([4]);
  });

  it('moves a peer to a new URL', async () => {
    const [a, b] = await Promise.all([member(1n), member(2n)]);
    await connectAll([a, b]);
    const b2 = await member(2n);
    b2.transport.addPeer(1n, a.transport.url);
    const active = nextEvent(a.transport.events, 'peerActive', (p) => p === 2n);
    a.transport.addPeer(2n, b2.transport.url);
    await active;
    a.transport.send([heartbeat(1n, 2n, 5)]);
    await b2.rec.until(() => b2.rec.messages.length === 1, 'delivery at the new URL');
    expect(b.rec.messages).toEqual([]);
  });

  it('keeps delivering when the handler throws, logging the exception', async () => {
    const [a, b] = await Promise.all([member(1n), member(2n)]);
    let calls = 0;
    const original = b.rec.onMessage.bind(b.rec);
    b.rec.onMessage = (m) => {
      calls += 1;
      original(m);
      if (calls === 1) throw new Error('member bug');
    };
    await connectAll([a, b]);
    a.transport.send([heartbeat(1n, 2n, 1), heartbeat(1n, 2n, 2)]);
    a.transport.send([heartbeat(1n, 2n, 3)]);
    await b.rec.until(() => b.rec.messages.length === 3, 'all three messages');
    expect(b.rec.logs.some((l) => l.startsWith('error: handler.onMessage threw: Error: member bug'))).toBe(
      true,
    );
  });

  it('refuses peer URLs of the wrong scheme and malformed ones', async () => {
    const a = await member(1n);
    expect(() => a.transport.addPeer(2n, 'tls://127.0.0.1:1')).toThrow(InvalidPeerUrlError);
    expect(() => a.transport.addPeer(2n, 'http://127.0.0.1:1')).toThrow(InvalidPeerUrlError);
    await expect(member(3n, { listen: 'tls://127.0.0.1:0' })).rejects.toThrow(InvalidPeerUrlError);
  });

  it('close releases the port, is idempotent, and silences the handler', async () => {
    const [a, b] = await Promise.all([member(1n), member(2n)]);
    await connectAll([a, b]);
    const port = a.transport.address.port;
    await Promise.all([a.transport.close(), a.transport.close()]);
    a.transport.send([heartbeat(1n, 2n), snapMessage(1n, 2n, pattern(10))]);
    expect(a.rec.unreachable).toEqual([]);
    expect(a.rec.snapshotStatus).toEqual([]);
    const rec = new Recorder();
    await using again = await TcpTransport.listen({
      id: 1n,
      listen: { host: '127.0.0.1', port },
      clusterToken: 'test-cluster',
      handler: rec,
    });
    expect(again.address.port).toBe(port);
    expect(again.url).toBe(`tcp://127.0.0.1:${port}`);
    const taken = TcpTransport.listen({
      id: 3n,
      listen: again.url,
      clusterToken: 'test-cluster',
      handler: rec,
    });
    await expect(taken).rejects.toThrow(/EADDRINUSE/);
    expect(DEFAULT_MAX_FRAME_BYTES).toBe(16 * 1024 * 1024);
  });
});
