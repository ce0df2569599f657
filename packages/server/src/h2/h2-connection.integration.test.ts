/**
 * H2Connection against a real HTTP/2 client — Node's own (nghttp2), which Huffman-codes and
 * indexes its headers and enforces flow control strictly — and against raw bytes a broken or
 * hostile client might send. The gRPC layer on top has its own tests (grpc-server, and every
 * integration test that talks to a member).
 */

import { type ClientHttp2Session, connect } from 'node:http2';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { mulberry32 } from '@tsetcd/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { frame, type RawFrame, requestFrame, splitFrames } from '../test/h2-frames.js';
import { Flag, FRAME_HEADER_BYTES, FrameType } from './frames.js';
import { H2_PREFACE, H2Connection } from './h2-connection.js';
import type { H2Stream } from './h2-stream.js';
import { encodeHeaderBlock } from './hpack.js';

interface Harness {
  readonly port: number;
  readonly connections: H2Connection[];
  close(): Promise<void>;
}

let harness: Harness | undefined;
const sessions: ClientHttp2Session[] = [];
afterEach(async () => {
  for (const s of sessions.splice(0)) s.destroy();
  await harness?.close();
  harness = undefined;
});

async function serve(onStream: (stream: H2Stream) => void): Promise<Harness> {
  const connections: H2Connection[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    connections.push(new H2Connection(socket, Buffer.alloc(0), { onStream }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const h: Harness = {
    port: (server.address() as { port: number }).port,
    connections,
    close: async () => {
      for (const c of connections) c.destroy();
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
  harness = h;
  return h;
}

function client(port: number, settings = {}): ClientHttp2Session {
  const s = connect(`http://127.0.0.1:${port}`, { settings });
  s.on('error', () => undefined);
  sessions.push(s);
  return s;
}

/** What the client saw of one request: status, body, trailers. */
async function exchange(session: ClientHttp2Session, body: Buffer, headers: Record<string, string> = {}) {
  const req = session.request({ ':method': 'POST', ':path': '/echo', ...headers });
  req.end(body);
  const chunks: Buffer[] = [];
  let status = 0;
  let trailers: Record<string, unknown> = {};
  req.on('response', (h) => {
    status = Number(h[':status']);
  });
  req.on('trailers', (t) => {
    trailers = t;
  });
  req.on('data', (c: Buffer) => chunks.push(c));
  await new Promise<void>((resolve, reject) => {
    req.on('end', resolve);
    req.on('error', reject);
  });
  return { status, body: Buffer.concat(chunks), trailers };
}

const OK_HEADERS = encodeHeaderBlock([[':status', '200']]);
const TRAILERS = encodeHeaderBlock([['x-done', 'yes']]);

/** A server that answers each request with its body, transformed. */
function echo(transform: (body: Buffer, stream: H2Stream) => Buffer = (b) => b) {
  return (stream: H2Stream) => {
    const parts: Buffer[] = [];
    stream.onData = (c) => parts.push(Buffer.from(c));
    stream.onEnd = () => {
      stream.respond(OK_HEADERS, false);
      stream.end(transform(Buffer.concat(parts), stream), TRAILERS);
    };
  };
}

describe('H2Connection with a real HTTP/2 client', () => {
  it('answers requests with headers, data and trailers, many on one connection', async () => {
    const h = await serve(echo((b, s) => Buffer.concat([Buffer.from(`${s.headers[':path']} `), b])));
    const session = client(h.port);
    const replies = await Promise.all(
      Array.from({ length: 50 }, (_, i) => exchange(session, Buffer.from(`request ${i}`))),
    );
    replies.forEach((r, i) => {
      expect(r.status).toBe(200);
      expect(r.body.toString()).toBe(`/echo request ${i}`);
      expect(r.trailers['x-done']).toBe('yes');
    });
  });

  it('hands the request headers over as sent (Huffman-coded and indexed by the client)', async () => {
    const seen: string[] = [];
    const h = await serve((stream) => {
      seen.push(String(stream.headers['x-token']));
      echo()(stream);
    });
    const session = client(h.port);
    for (let i = 0; i < 20; i++)
      await exchange(session, Buffer.alloc(0), { 'x-token': `token-${i % 3}-${'ab'.repeat(i)}` });
    expect(seen).toEqual(Array.from({ length: 20 }, (_, i) => `token-${i % 3}-${'ab'.repeat(i)}`));
  });

  it('sends a response larger than every window the client gives, as the client grants more', async () => {
    const big = Buffer.alloc(3 * 1024 * 1024 + 7);
    for (let i = 0; i < big.length; i++) big[i] = (i * 31) & 0xff;
    const h = await serve(echo(() => big));
    // The client's stream and connection windows stay at 64 KiB until it reads.
    const r = await exchange(client(h.port, { initialWindowSize: 65_535 }), Buffer.alloc(0));
    expect(r.body.equals(big)).toBe(true);
    expect(r.trailers['x-done']).toBe('yes');
  });

  it('takes a request larger than its receive windows (granting them back as it reads)', async () => {
    const big = Buffer.alloc(5 * 1024 * 1024 + 3, 7);
    const h = await serve(echo((b) => Buffer.from(String(b.length))));
    const r = await exchange(client(h.port), big);
    expect(r.body.toString()).toBe(String(big.length));
  });

  it('tells the stream when the client resets it', async () => {
    let closed!: () => void;
    const wasClosed = new Promise<void>((r) => {
      closed = r;
    });
    const h = await serve((stream) => {
      stream.onClose = closed;
    });
    const session = client(h.port);
    const req = session.request({ ':method': 'POST', ':path': '/hang' });
    req.on('error', () => undefined);
    req.write('partial');
    await new Promise((r) => setImmediate(r));
    req.close();
    await wasClosed;
  });

  it('acknowledges PING', async () => {
    const h = await serve(echo());
    const session = client(h.port);
    await new Promise<void>((r) => session.once('connect', () => r()));
    const payload = Buffer.from('12345678');
    const echoed = await new Promise<Buffer>((resolve, reject) =>
      session.ping(payload, (err, _ms, p) => (err ? reject(err) : resolve(p))),
    );
    expect(echoed.equals(payload)).toBe(true);
  });

  it('on close, finishes the calls in flight, refuses new ones, then ends', async () => {
    let pending: H2Stream | undefined;
    const h = await serve((stream) => {
      pending = stream;
    });
    const session = client(h.port);
    const inFlight = exchange(session, Buffer.from('x'));
    while (pending === undefined) await new Promise((r) => setImmediate(r));
    const closing = h.connections[0]!.close();
    pending.respond(OK_HEADERS, false);
    pending.end(Buffer.from('late'), TRAILERS);
    expect((await inFlight).body.toString()).toBe('late');
    await closing;
  });
});

/**
 * Connects a raw socket, sends the preface and `bytes` (then ends its side, if `thenEnd`), and
 * resolves with what the server sent once the connection is closed.
 */
function rawExchange(port: number, bytes: Buffer, thenEnd = false): Promise<Buffer> {
  return new Promise((resolve) => {
    const s = createConnection(port, '127.0.0.1', () => {
      s.write(Buffer.concat([H2_PREFACE, bytes]));
      if (thenEnd) s.end();
    });
    const got: Buffer[] = [];
    s.on('data', (c) => got.push(c));
    s.on('error', () => undefined);
    s.on('close', () => resolve(Buffer.concat(got)));
  });
}

/** The GOAWAY error codes in what the server sent. */
function goawayCodes(bytes: Buffer): number[] {
  const codes: number[] = [];
  for (let at = 0; at + FRAME_HEADER_BYTES <= bytes.length; ) {
    const length = bytes.readUIntBE(at, 3);
    if (bytes[at + 3] === FrameType.GOAWAY) codes.push(bytes.readUInt32BE(at + FRAME_HEADER_BYTES + 4));
    at += FRAME_HEADER_BYTES + length;
  }
  return codes;
}

/** A raw client: writes frames, and reads the server's frames as they come. */
class RawClient {
  private readonly socket: Socket;
  private buf: Buffer = Buffer.alloc(0);
  readonly frames: RawFrame[] = [];
  private waiters: (() => void)[] = [];

  constructor(port: number) {
    this.socket = createConnection(port, '127.0.0.1');
    this.socket.on('error', () => undefined);
    this.socket.write(H2_PREFACE);
    this.socket.on('data', (c: Buffer) => {
      const { frames, rest } = splitFrames(Buffer.concat([this.buf, c]));
      this.frames.push(...frames);
      this.buf = rest;
      for (const w of this.waiters.splice(0)) w();
    });
    this.socket.on('close', () => {
      this.closed = true;
      for (const w of this.waiters.splice(0)) w();
    });
  }

  private closed = false;

  send(...frames: Buffer[]): void {
    this.socket.write(Buffer.concat(frames));
  }

  /** Sends a PING and waits for its ACK: the server has answered everything sent before it. */
  async sync(): Promise<void> {
    const token = Buffer.from(String(Math.random()).slice(2, 10).padEnd(8, '0'));
    this.send(frame(FrameType.PING, 0, 0, token));
    const acked = () => this.frames.some((f) => f.type === FrameType.PING && f.payload.equals(token));
    while (!acked()) {
      if (this.closed) throw new Error('the server closed the connection');
      await new Promise<void>((r) => this.waiters.push(r));
    }
  }

  dataBytes(streamId: number): number {
    return this.frames
      .filter((f) => f.type === FrameType.DATA && f.streamId === streamId)
      .reduce((n, f) => n + f.payload.length, 0);
  }

  close(): void {
    this.socket.destroy();
  }
}

function settings(id: number, value: number): Buffer {
  const p = Buffer.alloc(6);
  p.writeUInt16BE(id, 0);
  p.writeUInt32BE(value, 2);
  return frame(FrameType.SETTINGS, 0, 0, p);
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

describe('H2Connection flow control', () => {
  it('sends no more DATA than the stream window the client granted, the rest as it grants more', async () => {
    const h = await serve(echo(() => Buffer.alloc(1000, 1)));
    const c = new RawClient(h.port);
    const request = encodeHeaderBlock([
      [':method', 'POST'],
      [':path', '/x'],
      [':scheme', 'http'],
    ]);
    c.send(
      settings(0x4, 100), // INITIAL_WINDOW_SIZE
      frame(FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, 1, request),
    );
    await c.sync();
    expect(c.dataBytes(1)).toBe(100);
    const trailers = () => c.frames.filter((f) => f.type === FrameType.HEADERS && f.streamId === 1).length;
    expect(trailers()).toBe(1); // the response headers only
    c.send(frame(FrameType.WINDOW_UPDATE, 0, 1, u32(500)));
    await c.sync();
    expect(c.dataBytes(1)).toBe(600);
    c.send(frame(FrameType.WINDOW_UPDATE, 0, 1, u32(400)));
    await c.sync();
    expect(c.dataBytes(1)).toBe(1000);
    expect(trailers()).toBe(2); // and then the trailers, ending the stream
    c.close();
  });

  it('holds DATA while the connection window is spent, then resumes every stream', async () => {
    const h = await serve(echo(() => Buffer.alloc(40_000, 2)));
    const c = new RawClient(h.port);
    c.send(settings(0x4, 1_000_000));
    const request = (id: number) => requestFrame(id, '/y');
    c.send(request(1), request(3));
    await c.sync();
    // 80,000 bytes asked for; the connection window is 65,535 until the client grants more.
    expect(c.dataBytes(1) + c.dataBytes(3)).toBe(65_535);
    c.send(frame(FrameType.WINDOW_UPDATE, 0, 0, u32(14_465)));
    await c.sync();
    expect([c.dataBytes(1), c.dataBytes(3)]).toEqual([40_000, 40_000]);
    c.close();
  });
});

describe('H2Connection on closed streams', () => {
  it('ignores frames the client sends on a stream after the server closed it', async () => {
    const h = await serve(echo(() => Buffer.from('ok')));
    const c = new RawClient(h.port);
    const request = encodeHeaderBlock([
      [':method', 'POST'],
      [':path', '/z'],
    ]);
    // A whole exchange on stream 1: both sides end it, and the server forgets it.
    c.send(frame(FrameType.HEADERS, Flag.END_HEADERS, 1, request));
    c.send(frame(FrameType.DATA, Flag.END_STREAM, 1, Buffer.from('body')));
    await c.sync();
    expect(c.dataBytes(1)).toBe(2);
    // Late frames on stream 1: DATA, trailers (a header block, still decoded), WINDOW_UPDATE.
    c.send(
      frame(FrameType.DATA, 0, 1, Buffer.from('late')),
      frame(FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, 1, encodeHeaderBlock([['x-late', '1']])),
      frame(FrameType.WINDOW_UPDATE, 0, 1, u32(10)),
      frame(FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, 3, request),
    );
    await c.sync();
    expect(c.dataBytes(3)).toBe(2);
    expect(c.frames.filter((f) => f.type === FrameType.GOAWAY)).toEqual([]);
    c.close();
  });
});

describe('H2Connection against malformed input', () => {
  it('ends the connection with the right GOAWAY code and goes on serving others', async () => {
    const h = await serve(echo());
    const cases: [string, Buffer, number][] = [
      ['an oversized frame', frame(FrameType.DATA, 0, 1, Buffer.alloc(20_000)), 0x6],
      ['HEADERS on stream 0', frame(FrameType.HEADERS, Flag.END_HEADERS, 0, Buffer.from([0x82])), 0x1],
      ['an even stream ID', frame(FrameType.HEADERS, Flag.END_HEADERS, 2, Buffer.from([0x82])), 0x1],
      ['a broken header block', frame(FrameType.HEADERS, Flag.END_HEADERS, 1, Buffer.from([0x80])), 0x9],
      ['DATA on an idle stream', frame(FrameType.DATA, 0, 9, Buffer.from('x')), 0x1],
      ['a short PING', frame(FrameType.PING, 0, 0, Buffer.alloc(3)), 0x1],
      [
        'CONTINUATION out of the blue',
        frame(FrameType.CONTINUATION, Flag.END_HEADERS, 1, Buffer.alloc(1)),
        0x1,
      ],
      ['a bad WINDOW_UPDATE', frame(FrameType.WINDOW_UPDATE, 0, 0, Buffer.alloc(4)), 0x1],
    ];
    for (const [what, bytes, code] of cases) {
      expect(goawayCodes(await rawExchange(h.port, bytes)), what).toEqual([code]);
    }
    expect((await exchange(client(h.port), Buffer.from('still here'))).body.toString()).toBe('still here');
  });

  it('survives random frames (seeded) without throwing', async () => {
    const h = await serve(echo());
    const rand = mulberry32(12345);
    for (let round = 0; round < 40; round++) {
      const frames: Buffer[] = [];
      for (let i = 0; i < 5; i++) {
        const payload = Buffer.alloc(Math.floor(rand() * 40));
        for (let j = 0; j < payload.length; j++) payload[j] = Math.floor(rand() * 256);
        frames.push(
          frame(Math.floor(rand() * 11), Math.floor(rand() * 256), Math.floor(rand() * 6), payload),
        );
      }
      await rawExchange(h.port, Buffer.concat(frames), true);
    }
    expect((await exchange(client(h.port), Buffer.from('alive'))).body.toString()).toBe('alive');
  });
});
