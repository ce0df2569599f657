/**
 * When H2Connection answers a PING: with its next write, so that the ack Go's gRPC clients ask
 * for after every response costs no system call of its own, and never later than
 * PING_ACK_HOLD_MS. The socket is a fake that records each write() (one write = one system
 * call), and the clock is vitest's, so every case is exact.
 */

import { Duplex } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { frame, type RawFrame, requestFrame, splitFrames } from '../test/h2-frames.js';
import { Flag, FrameType } from './frames.js';
import { H2_PREFACE, H2Connection, PING_ACK_HOLD_MS } from './h2-connection.js';
import type { H2Stream } from './h2-stream.js';
import { encodeHeaderBlock } from './hpack.js';

/** A socket whose writes are kept, one entry per write() call. */
class RecordingSocket extends Duplex {
  readonly writes: Buffer[] = [];
  override _read(): void {}
  override _write(chunk: Buffer, _enc: BufferEncoding, done: (e?: Error | null) => void): void {
    this.writes.push(chunk);
    done();
  }
}

const ping = (token: string) => frame(FrameType.PING, 0, 0, Buffer.from(token));
const isAckOf = (token: string) => (f: RawFrame) =>
  f.type === FrameType.PING && (f.flags & Flag.ACK) !== 0 && f.payload.toString() === token;
const request = (id: number) => requestFrame(id, '/p');

/** A connection past its preface whose first write (our SETTINGS) is done; answers per `respond`. */
function open(respond: (stream: H2Stream) => void = () => undefined) {
  const socket = new RecordingSocket();
  const streams: H2Stream[] = [];
  const conn = new H2Connection(socket, Buffer.alloc(0), {
    onStream: (s) => {
      streams.push(s);
      respond(s);
    },
  });
  /** Feeds bytes from the client and runs what they queue for this turn (not the hold timer). */
  const receive = (...frames: Buffer[]) => {
    socket.emit('data', Buffer.concat(frames));
    vi.advanceTimersByTime(0);
  };
  receive(H2_PREFACE); // our SETTINGS go out
  socket.writes.length = 0;
  const written = () => socket.writes.map((w) => splitFrames(w).frames);
  return { conn, socket, streams, receive, written };
}

const answer = (s: H2Stream) => s.end(Buffer.from('body'), encodeHeaderBlock([['grpc-status', '0']]));

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('H2Connection PING acks', () => {
  it('sends the ack in the write of the response that follows the PING, ahead of it', () => {
    const c = open();
    c.receive(ping('aaaaaaaa'));
    expect(c.written()).toEqual([]);
    c.receive(request(1));
    c.streams[0]!.respond(encodeHeaderBlock([[':status', '200']]), false);
    answer(c.streams[0]!);
    vi.advanceTimersByTime(0);
    const writes = c.written();
    expect(writes).toHaveLength(1);
    expect(isAckOf('aaaaaaaa')(writes[0]![0]!)).toBe(true);
    expect(writes[0]!.slice(1).map((f) => f.type)).toContain(FrameType.DATA);
  });

  it('acks a PING on a connection with nothing else to send after PING_ACK_HOLD_MS, not before', () => {
    const c = open();
    c.receive(ping('bbbbbbbb'));
    vi.advanceTimersByTime(PING_ACK_HOLD_MS - 1);
    expect(c.written()).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(c.written()).toHaveLength(1);
    expect(c.written()[0]!.every(isAckOf('bbbbbbbb'))).toBe(true);
    // The timer is re-armed for the next PING, which again waits no longer.
    c.receive(ping('cccccccc'));
    vi.advanceTimersByTime(PING_ACK_HOLD_MS);
    expect(c.written()).toHaveLength(2);
    expect(c.written()[1]!.every(isAckOf('cccccccc'))).toBe(true);
  });

  it('acks a PING that comes while a write is due after the frames queued before it', () => {
    // The request is answered as it arrives: its response is queued when the PING is read.
    const c = open((s) => {
      s.respond(encodeHeaderBlock([[':status', '200']]), false);
      answer(s);
    });
    c.receive(request(1), ping('dddddddd'));
    const writes = c.written();
    expect(writes).toHaveLength(1);
    const frames = writes[0]!;
    expect(frames.findIndex(isAckOf('dddddddd'))).toBe(frames.length - 1);
  });

  it('answers a burst of PINGs without waiting for the hold', () => {
    const c = open();
    const tokens = Array.from({ length: 8 }, (_, i) => `pingpng${i}`);
    c.receive(...tokens.map(ping));
    const acks = c.written().flat();
    expect(tokens.map((t) => acks.findIndex(isAckOf(t)))).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('drops held acks with the connection', () => {
    const c = open();
    c.receive(ping('eeeeeeee'));
    c.conn.destroy();
    vi.advanceTimersByTime(PING_ACK_HOLD_MS);
    expect(c.written()).toEqual([]);
  });
});
