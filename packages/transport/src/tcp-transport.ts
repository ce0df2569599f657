/**
 * TcpTransport: the Transport over TCP (optionally TLS with mutual authentication), with
 * length-prefixed msgpack frames (framing.ts, codec.ts, tcp-protocol.ts).
 *
 * Each member listens once and dials each peer once: the connection it dials carries its messages
 * to that peer, and the connection the peer dials carries the peer's messages back (etcd keeps a
 * stream per direction too). The sending side lives in tcp-peer.ts, the receiving side in
 * tcp-server.ts / tcp-inbound.ts; this file wires them to the member's handler and keeps the
 * promises of transport.ts: `send` never throws or blocks, every MsgSnap gets exactly one status,
 * the handler only ever sees validated messages addressed to this member, and an exception thrown
 * by the handler is logged, never allowed to break a connection or escape into a socket callback.
 *
 * Peer URLs are `tcp://host:port`, or `tls://host:port` when the transport has `tls` options; the
 * scheme must match (tcp-options.ts). After close() the handler hears nothing more.
 */

import type { Message, NodeId } from '@tsetcd/raft';
import { EventEmitter } from 'eventemitter3';
import { InvalidPeerUrlError } from './tcp-errors.js';
import {
  formatTcpUrl,
  parseTcpUrl,
  type ResolvedTcpOptions,
  resolveOptions,
  type TcpAddress,
  type TcpTransportOptions,
} from './tcp-options.js';
import { type PeerState, TcpPeer } from './tcp-peer.js';
import { TcpServer } from './tcp-server.js';
import type { Transport, TransportHandler } from './transport.js';

/** Connection events, for status pages and for tests that must wait for a socket to be ready. */
export interface TcpTransportEvents {
  /** Our connection to `peer` was accepted: sends to it now travel. */
  peerActive: (peer: NodeId) => void;
  /** Our accepted connection to `peer` failed; sends to it are dropped until it is back. */
  peerInactive: (peer: NodeId, reason: string) => void;
  /** `peer` dialled us and its hello was accepted. */
  inboundOpened: (peer: NodeId) => void;
  /** An accepted connection from `peer` closed. */
  inboundClosed: (peer: NodeId, reason: string) => void;
}

/** A member's TCP endpoint. Create with `TcpTransport.listen`. */
export class TcpTransport implements Transport {
  /** Connection events (see TcpTransportEvents). */
  readonly events = new EventEmitter<TcpTransportEvents>();
  private readonly peers = new Map<NodeId, TcpPeer>();
  private server: TcpServer | null = null;
  private closing: Promise<void> | null = null;
  private readonly o: ResolvedTcpOptions;

  private constructor(options: TcpTransportOptions) {
    const given = resolveOptions(options);
    this.o = { ...given, handler: this.guard(given.handler) };
  }

  /** Listens at `options.listen` and resolves once bound (the port is then in `address`). */
  static async listen(options: TcpTransportOptions): Promise<TcpTransport> {
    const secure = options.tls !== undefined;
    const l = options.listen;
    const at: TcpAddress =
      typeof l === 'string' ? parseTcpUrl(l, true) : { secure, host: l.host, port: l.port };
    if (typeof l === 'string' && at.secure !== secure) {
      throw new InvalidPeerUrlError(
        l,
        secure ? 'a TLS transport listens on tls://' : 'without tls options, listen on tcp://',
      );
    }
    const t = new TcpTransport(options);
    t.server = await TcpServer.listen(at, t.o, {
      isKnownPeer: (peer, url) => {
        if (!t.peers.has(peer) && url !== undefined) t.o.handler.onUnknownPeer?.(peer, url);
        return t.peers.has(peer);
      },
      inboundOpened: (peer) => t.emit('inboundOpened', peer),
      inboundClosed: (peer, reason) => t.emit('inboundClosed', peer, reason),
    });
    return t;
  }

  /** This member's ID. */
  get id(): NodeId {
    return this.o.id;
  }

  /** The bound address (with the real port when listening on port 0). */
  get address(): TcpAddress {
    return this.bound().address;
  }

  /** The URL peers should use for this member. */
  get url(): string {
    return formatTcpUrl(this.address);
  }

  /** Queues messages to their `to` peers; unknown peers are reported unreachable at once. */
  send(messages: readonly Message[]): void {
    if (this.closing) return;
    for (const m of messages) {
      const peer = this.peers.get(m.to);
      if (peer) {
        peer.send(m);
        continue;
      }
      this.o.handler.onUnreachable(m.to);
      if (m.type === 'MsgSnap') this.o.handler.onSnapshotStatus(m.to, 'SnapshotFailure');
    }
  }

  /** Adds `peer` at `url` (`tcp://` or `tls://` as this transport) and starts dialling it. Throws InvalidPeerUrlError. */
  addPeer(peer: NodeId, url: string): void {
    const address = parseTcpUrl(url);
    if (address.secure !== (this.o.tls !== undefined)) {
      throw new InvalidPeerUrlError(
        url,
        address.secure ? 'this transport has no tls options' : 'this transport uses TLS',
      );
    }
    if (this.closing) return;
    const existing = this.peers.get(peer);
    if (existing) {
      existing.setAddress(address);
      return;
    }
    const p = new TcpPeer(peer, address, this.o, {
      active: (id) => this.emit('peerActive', id),
      inactive: (id, reason) => this.emit('peerInactive', id, reason),
    });
    this.peers.set(peer, p);
    p.start();
  }

  /** Forgets `peer`: its queue is dropped (MsgSnaps reported failed), both connections closed. */
  removePeer(peer: NodeId): void {
    const p = this.peers.get(peer);
    if (!p) return;
    this.peers.delete(peer);
    void p.close(true);
    this.server?.closePeer(peer, 'member removed');
  }

  /** Where our connection to `peer` stands, or undefined for an unknown peer. */
  peerState(peer: NodeId): PeerState | undefined {
    return this.peers.get(peer)?.state;
  }

  /** Closes every connection and the listener; resolves once the port is released. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      const peers = [...this.peers.values()];
      this.peers.clear();
      await Promise.all([...peers.map((p) => p.close(false)), this.server?.close()]);
      this.events.removeAllListeners();
    })();
    return this.closing;
  }

  /** `await using transport = await TcpTransport.listen(…)` closes it on scope exit. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  private bound(): TcpServer {
    if (!this.server) throw new TypeError('TcpTransport used before listen() resolved');
    return this.server;
  }

  private emit<E extends keyof TcpTransportEvents>(
    event: E,
    ...args: Parameters<TcpTransportEvents[E]>
  ): void {
    if (this.closing) return;
    try {
      (this.events.emit as (e: E, ...a: Parameters<TcpTransportEvents[E]>) => boolean)(event, ...args);
    } catch (err) {
      this.o.logger('error', `a ${event} listener threw: ${String(err)}`);
    }
  }

  /** The member's handler, silenced after close and with its exceptions logged instead of thrown. */
  private guard(h: TransportHandler): TransportHandler {
    const call = (what: string, fn: () => void) => {
      if (this.closing) return;
      try {
        fn();
      } catch (err) {
        this.o.logger(
          'error',
          `handler.${what} threw: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`,
        );
      }
    };
    return {
      onMessage: (m) => call('onMessage', () => h.onMessage(m)),
      onUnreachable: (peer) => call('onUnreachable', () => h.onUnreachable(peer)),
      onSnapshotStatus: (peer, status) => call('onSnapshotStatus', () => h.onSnapshotStatus(peer, status)),
      onUnknownPeer: (peer, url) => call('onUnknownPeer', () => h.onUnknownPeer?.(peer, url)),
    };
  }
}
