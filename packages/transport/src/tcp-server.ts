/**
 * The listening side of the TCP transport: a plain or TLS server that hands each accepted socket
 * to an InboundConnection and keeps at most one accepted connection per peer (a newer hello from
 * the same peer replaces the older connection: the dialer only redials once it gave the old one up).
 *
 * With TLS, the handshake happens before any byte reaches the protocol; a failed handshake is
 * logged and the socket dropped. With mutual TLS (the default), a client certificate the CA did
 * not sign is refused right after the handshake, before any frame is read, with a logged reason
 * and a reject frame.
 * Does not: dial, or know about send queues.
 */

import net from 'node:net';
import tls from 'node:tls';
import type { NodeId } from '@tsetcd/raft';
import { InboundConnection, type InboundHost } from './tcp-inbound.js';
import { type ResolvedTcpOptions, type TcpAddress, TLS_MIN_VERSION, tlsCa } from './tcp-options.js';

/** What the server tells its transport about accepted connections. */
export interface ServerListener {
  /** Whether `peer` may connect; one not known yet that announced `url` is offered to the handler first. */
  isKnownPeer(peer: NodeId, url: string | undefined): boolean;
  inboundOpened(peer: NodeId): void;
  inboundClosed(peer: NodeId, reason: string): void;
}

/** A listening socket and the connections it accepted. */
export class TcpServer {
  /** Every raw socket accepted, so close() can end connections still in their TLS handshake. */
  private readonly sockets = new Set<net.Socket>();
  private readonly connections = new Set<InboundConnection>();
  private readonly byPeer = new Map<NodeId, InboundConnection>();
  private closing: Promise<void> | null = null;

  private constructor(
    private readonly server: net.Server,
    /** The address actually bound (the real port when asked for port 0). */
    readonly address: TcpAddress,
  ) {}

  /** Starts listening on `at`; resolves once bound, rejects if binding fails. */
  static async listen(at: TcpAddress, o: ResolvedTcpOptions, listener: ServerListener): Promise<TcpServer> {
    const t = o.tls;
    const server = t
      ? tls.createServer({
          ca: tlsCa(t),
          cert: t.cert,
          key: t.key,
          requestCert: t.requestCert ?? true,
          // Checked in 'secureConnection' instead, where the refusal can be logged with the
          // peer's address and its reason sent in a reject frame (node would just hang up).
          rejectUnauthorized: false,
          minVersion: TLS_MIN_VERSION,
          handshakeTimeout: o.helloTimeoutMs,
        })
      : net.createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: at.host, port: at.port }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const bound = server.address() as net.AddressInfo;
    const self = new TcpServer(server, { secure: t !== undefined, host: at.host, port: bound.port });
    self.attach(o, listener);
    return self;
  }

  private attach(o: ResolvedTcpOptions, listener: ServerListener): void {
    const host: InboundHost = {
      isKnownPeer: (peer, url) => listener.isKnownPeer(peer, url),
      opened: (conn, peer) => {
        const old = this.byPeer.get(peer);
        this.byPeer.set(peer, conn);
        old?.close('replaced by a newer connection from the same member', 'info');
        listener.inboundOpened(peer);
      },
      closed: (conn, reason) => {
        this.connections.delete(conn);
        const peer = conn.peer;
        if (peer !== null && this.byPeer.get(peer) === conn) this.byPeer.delete(peer);
        if (peer !== null) listener.inboundClosed(peer, reason);
      },
    };
    // For a TLS server 'connection' sees the raw socket and 'secureConnection' the verified one.
    this.server.on('connection', (raw: net.Socket) => {
      if (this.closing) return void raw.destroy();
      this.sockets.add(raw);
      raw.once('close', () => this.sockets.delete(raw));
    });
    const mutual = o.tls !== undefined && (o.tls.requestCert ?? true);
    this.server.on(o.tls ? 'secureConnection' : 'connection', (socket: net.Socket) => {
      if (this.closing) return void socket.destroy();
      const conn = new InboundConnection(socket, o, host);
      this.connections.add(conn);
      const s = socket as tls.TLSSocket;
      if (mutual && !s.authorized) conn.close(`client certificate refused: ${String(s.authorizationError)}`);
    });
    this.server.on('tlsClientError', (err: Error, socket: tls.TLSSocket) => {
      const from = socket.remoteAddress ? `${socket.remoteAddress}:${socket.remotePort}` : 'a dialer';
      o.logger('warn', `TLS handshake from ${from} failed: ${err.message}`);
      socket.destroy();
    });
    this.server.on('error', (err) =>
      o.logger('error', `listener ${this.address.host}:${this.address.port}: ${err.message}`),
    );
  }

  /** Closes the accepted connection from `peer`, if any (the peer was removed). */
  closePeer(peer: NodeId, reason: string): void {
    this.byPeer.get(peer)?.close(reason, 'info');
  }

  /** Stops listening and closes every accepted connection; resolves once the port is released. */
  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      for (const c of [...this.connections]) c.close('transport closing', 'info');
      for (const s of this.sockets) s.destroy();
    });
    return this.closing;
  }

  /** Peers with an accepted connection (for tests and status). */
  get connectedPeers(): NodeId[] {
    return [...this.byPeer.keys()];
  }
}
