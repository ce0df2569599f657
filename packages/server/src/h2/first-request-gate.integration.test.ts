/**
 * The first-request gate in front of Node's HTTP/2 server, with Node's HTTP/2 client: a request
 * whose :authority carries a URL scheme (as grpc-go sends for etcdctl --cluster) is served instead
 * of reset, and the connection goes on to serve later requests normally.
 */

import { type ClientHttp2Session, connect, createServer as createH2Server } from 'node:http2';
import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { gateFirstRequest, H2_PREFACE } from './first-request-gate.js';

let closers: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of closers.reverse()) await c();
  closers = [];
});

/** An HTTP/2 server answering 200 with the path, behind the gate (or not). */
async function serve(gated: boolean): Promise<number> {
  const h2 = createH2Server();
  h2.on('stream', (stream, headers) => {
    stream.respond({ ':status': 200 });
    stream.end(String(headers[':path']));
  });
  const net: Server = createServer((socket: Socket) => {
    if (!gated) {
      h2.emit('connection', socket);
      return;
    }
    let seen = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      seen = Buffer.concat([seen, chunk]);
      if (seen.length < H2_PREFACE.length) return;
      socket.off('data', onData);
      socket.pause();
      gateFirstRequest(socket, seen, (s) => h2.emit('connection', s));
    };
    socket.on('data', onData);
  });
  await new Promise<void>((r) => net.listen(0, '127.0.0.1', r));
  closers.push(() => new Promise<void>((r) => net.close(() => r())));
  return (net.address() as { port: number }).port;
}

function get(
  session: ClientHttp2Session,
  path: string,
  authority: string,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = session.request({ ':path': path, ':authority': authority });
    let status = 0;
    let body = '';
    req.on('response', (h) => {
      status = Number(h[':status']);
    });
    req.setEncoding('utf8');
    req.on('data', (d: string) => {
      body += d;
    });
    req.on('end', () => resolve({ status, body }));
    req.on('error', reject);
  });
}

async function client(port: number): Promise<ClientHttp2Session> {
  const session = connect(`http://127.0.0.1:${port}`);
  session.on('error', () => undefined);
  closers.push(() => {
    session.destroy();
  });
  return session;
}

describe('the first-request gate', () => {
  it('without it, Node resets a request whose :authority has a scheme (the reason it exists)', async () => {
    const port = await serve(false);
    const s = await client(port);
    await expect(get(s, '/a', `http://127.0.0.1:${port}`)).rejects.toThrow(
      /PROTOCOL_ERROR|RST_STREAM|protocol/i,
    );
  });

  it('with it, serves that request and later ones on the same connection', async () => {
    const port = await serve(true);
    const s = await client(port);
    expect(await get(s, '/a', `http://127.0.0.1:${port}`)).toEqual({ status: 200, body: '/a' });
    expect(await get(s, '/b', `http://127.0.0.1:${port}`)).toEqual({ status: 200, body: '/b' });
    expect(await get(s, '/c', `127.0.0.1:${port}`)).toEqual({ status: 200, body: '/c' });
  });

  it('passes an ordinary connection through unchanged', async () => {
    const port = await serve(true);
    const s = await client(port);
    const all = await Promise.all(['/1', '/2', '/3'].map((p) => get(s, p, `127.0.0.1:${port}`)));
    expect(all.map((r) => r.body)).toEqual(['/1', '/2', '/3']);
  });
});
