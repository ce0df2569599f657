/**
 * ClientListener: one port for gRPC and HTTP, as etcd serves its client URL (etcd uses cmux).
 * Each accepted connection is sorted by its first bytes — the HTTP/2 connection preface means a
 * gRPC client, and the connection is injected into the GrpcServer; anything else is HTTP/1.1
 * and goes to the JSON gateway and the /health, /version, /metrics handler. With TLS, the ALPN
 * protocol the client chose decides instead ('h2' → gRPC).
 */

import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createNetServer, type Server, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { H2_PREFACE } from './h2/h2-connection.js';

/** Where gRPC connections go: the GrpcServer. */
export interface ConnectionSink {
  injectConnection(connection: Duplex, head: Buffer): void;
}

/** TLS for the client port (etcd's --cert-file, --key-file, --trusted-ca-file, --client-cert-auth). */
export interface ClientTlsOptions {
  readonly cert: string | Buffer;
  readonly key: string | Buffer;
  readonly ca?: string | Buffer;
  /** Require and verify client certificates (etcd's --client-cert-auth). */
  readonly clientCertAuth?: boolean;
}

/** What ClientListener.listen needs. */
export interface ClientListenerOptions {
  readonly host: string;
  readonly port: number;
  readonly grpc: ConnectionSink;
  readonly http: (req: IncomingMessage, res: ServerResponse) => void;
  readonly tls?: ClientTlsOptions;
}

/** A listening client port; see the file comment. */
export class ClientListener {
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    /** The port actually bound (useful with port 0). */
    readonly port: number,
  ) {}

  /** Binds host:port and starts sorting connections. */
  static async listen(opts: ClientListenerOptions): Promise<ClientListener> {
    const http = createHttpServer(opts.http);
    http.keepAliveTimeout = 60_000;
    const toHttp = (s: Duplex) => http.emit('connection', s);
    let listener: ClientListener | undefined;
    const track = (s: Socket) => {
      // Replies are small and latency-bound: Nagle's algorithm would hold each back until the
      // client's delayed ACK (40 ms on Linux).
      s.setNoDelay(true);
      listener?.sockets.add(s);
      s.once('close', () => listener?.sockets.delete(s));
    };
    const server: Server =
      opts.tls === undefined
        ? createNetServer((socket) => {
            track(socket);
            sortConnection(socket, opts.grpc, toHttp);
          })
        : createTlsServer(
            {
              cert: opts.tls.cert,
              key: opts.tls.key,
              ...(opts.tls.ca !== undefined ? { ca: opts.tls.ca } : {}),
              requestCert: opts.tls.clientCertAuth ?? false,
              rejectUnauthorized: opts.tls.clientCertAuth ?? false,
              ALPNProtocols: ['h2', 'http/1.1'],
            },
            (socket: TLSSocket) => {
              track(socket);
              if (socket.alpnProtocol === 'h2') sortConnection(socket, opts.grpc, undefined);
              else toHttp(socket);
            },
          );
    server.on('error', () => undefined);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port, opts.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const addr = server.address();
    listener = new ClientListener(server, typeof addr === 'object' && addr !== null ? addr.port : opts.port);
    return listener;
  }

  /** Stops accepting, and ends open connections. */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    await closed;
  }
}

/**
 * Reads just enough of a connection to tell HTTP/2 (gRPC) from HTTP/1.1, then hands it on: HTTP/2
 * to gRPC with the bytes read so far, anything else to HTTP (or, for a TLS connection that
 * negotiated 'h2', nowhere: it is closed).
 */
function sortConnection(
  socket: Socket,
  grpc: ConnectionSink,
  toHttp: ((s: Duplex) => void) | undefined,
): void {
  let seen = Buffer.alloc(0);
  const onData = (chunk: Buffer) => {
    seen = Buffer.concat([seen, chunk]);
    const n = Math.min(seen.length, H2_PREFACE.length);
    const isH2 = seen.subarray(0, n).equals(H2_PREFACE.subarray(0, n));
    if (isH2 && seen.length < H2_PREFACE.length) return; // need more bytes to be sure
    socket.off('data', onData);
    socket.pause();
    if (isH2) {
      grpc.injectConnection(socket, seen);
      return;
    }
    if (toHttp === undefined) {
      socket.destroy();
      return;
    }
    socket.unshift(seen);
    toHttp(socket);
    socket.resume();
  };
  socket.on('data', onData);
  socket.on('error', () => socket.destroy());
}
