import type { NodeId } from '@tsetcd/raft';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_WRITE_TIMEOUT_MS } from './tcp-options.js';
import { encodeAccept } from './tcp-protocol.js';
import {
  closeAll,
  heartbeat,
  type Member,
  member,
  nextEvent,
  pattern,
  RawServer,
  type RawSocket,
  snapMessage,
} from './test/tcp-harness.js';

afterEach(closeAll);

const PEER: NodeId = 2n;

/** Member 1 dialling a raw server that accepts its hello; `stopReading` pauses the raw side first. */
async function acceptedBy(peer: RawServer, stopReading: boolean): Promise<{ a: Member; conn: RawSocket }> {
  const a = await member(1n, { writeTimeoutMs: 200, backoffInitialMs: 20, backoffMaxMs: 40 });
  a.transport.addPeer(PEER, peer.url);
  const conn = await peer.accepted();
  await conn.until((f) => f.some((x) => x.type === 'hello'), 'hello');
  if (stopReading) conn.socket.pause();
  const active = nextEvent(a.transport.events, 'peerActive');
  conn.writeFrame(encodeAccept());
  await active;
  return { a, conn };
}

describe('TcpTransport write-stall timeout', () => {
  it('recycles a connection whose peer stops reading, reports the loss and redials', async () => {
    const peer = await RawServer.listen();
    try {
      const { a } = await acceptedBy(peer, true);
      const inactive = nextEvent(a.transport.events, 'peerInactive', (_p, reason) =>
        reason.includes('write stalled'),
      );
      // Far more than loopback socket buffers hold: the writes back up and stop making progress.
      a.transport.send([snapMessage(1n, PEER, pattern(32 * 1024 * 1024))]);
      a.transport.send(Array.from({ length: 100 }, (_, n) => heartbeat(1n, PEER, n)));
      await inactive;
      await a.rec.untilLogged('write stalled: no progress for');
      expect(a.rec.logs.find((l) => l.includes('write stalled'))).toMatch(
        /^warn: connection to peer 2 \(tcp:\/\/127\.0\.0\.1:\d+\) failed: write stalled: no progress for \d+ ms \(\d+ bytes buffered/,
      );
      expect(a.rec.unreachable).toContain(PEER);
      expect(a.rec.snapshotStatus).toEqual([[PEER, 'SnapshotFailure']]);
      await peer.accepted(1); // redialled after the usual backoff
    } finally {
      await peer.close();
    }
  });

  it('fails a fully written snapshot that is never acknowledged', async () => {
    const peer = await RawServer.listen();
    try {
      const { a, conn } = await acceptedBy(peer, false);
      a.transport.send([snapMessage(1n, PEER, pattern(1000))]);
      await conn.until((f) => f.some((x) => x.type === 'snapEnd'), 'snapEnd');
      await a.rec.until(() => a.rec.snapshotStatus.length === 1, 'a snapshot status');
      expect(a.rec.snapshotStatus).toEqual([[PEER, 'SnapshotFailure']]);
      expect(a.rec.logs.some((l) => l.includes('1 snapshot(s) awaiting snapAck'))).toBe(true);
      await peer.accepted(1);
    } finally {
      await peer.close();
    }
  });

  it('leaves an idle connection and a reading peer alone', async () => {
    const peer = await RawServer.listen();
    try {
      const { a, conn } = await acceptedBy(peer, false);
      for (let round = 0; round < 3; round++) {
        a.transport.send(Array.from({ length: 50 }, (_, n) => heartbeat(1n, PEER, round * 50 + n)));
        await conn.until(
          (f) => f.flatMap((x) => (x.type === 'messages' ? x.messages : [])).length === (round + 1) * 50,
          `round ${round}`,
        );
        // An idle gap longer than the timeout must not count against the next write.
        await new Promise((resolve) => setTimeout(resolve, 300));
      }
      expect(a.rec.logs.some((l) => l.includes('write stalled'))).toBe(false);
      expect(peer.sockets).toHaveLength(1);
      expect(DEFAULT_WRITE_TIMEOUT_MS).toBe(5000);
    } finally {
      await peer.close();
    }
  });
});
