/**
 * The receiving side of one accepted connection (etcd's `streamReader`, seen from the acceptor).
 *
 * 1. Wait for a hello (bounded by the hello timeout and, until accepted, by the small control
 *    frame limit); refuse it, with a reject frame naming the
 *    reason, if the version, cluster token, addressee (`to` must be this member) or sender (`from`
 *    must be a known peer) is wrong; otherwise answer accept.
 * 2. Then read frames: a messages frame is validated whole (every message well-formed, from the
 *    hello's sender, to this member) before any of it is delivered; a snapshot is reassembled from
 *    snapStart / snapChunk… / snapEnd within the snapshot size limit, validated, delivered, then
 *    acknowledged with a snapAck.
 * 3. Anything malformed, oversized, foreign or out of order closes this connection with a logged
 *    reason (and a best-effort reject frame); nothing is thrown, and nothing already delivered is
 *    affected. The member and its other connections carry on.
 */

import type { Socket } from 'node:net';
import { type Message, type MsgSnap, type NodeId, validateMessage } from '@tsetcd/raft';
import { FrameDecoder, frameHeader } from './framing.js';
import { ProtocolError, reasonOf } from './tcp-errors.js';
import { formatId, KEEPALIVE_INITIAL_DELAY_MS, type ResolvedTcpOptions } from './tcp-options.js';
import {
  decodeFrame,
  encodeAccept,
  encodeReject,
  encodeSnapAck,
  type Frame,
  type Hello,
  MAX_CONTROL_FRAME_BYTES,
  PROTOCOL_VERSION,
} from './tcp-protocol.js';

/** How long a refused connection may take to flush its reject frame before it is destroyed. */
export const REJECT_LINGER_MS = 1000;

/** What an inbound connection asks of, and tells, the server that owns it. */
export interface InboundHost {
  /** Whether `peer` may connect; one not known yet that announced `url` is offered to the handler first. */
  isKnownPeer(peer: NodeId, url: string | undefined): boolean;
  /** The hello from `peer` was accepted (a previous connection from it should go). */
  opened(conn: InboundConnection, peer: NodeId): void;
  closed(conn: InboundConnection, reason: string): void;
}

interface SnapshotAssembly {
  readonly message: MsgSnap;
  readonly totalBytes: number;
  readonly parts: Uint8Array[];
  received: number;
}

/** One accepted connection, from its hello to its close. */
export class InboundConnection {
  private peerId: NodeId | null = null;
  private readonly decoder: FrameDecoder;
  private snapshot: SnapshotAssembly | null = null;
  private helloTimer: NodeJS.Timeout | null;
  private closedFlag = false;
  private readonly remote: string;

  constructor(
    private readonly socket: Socket,
    private readonly o: ResolvedTcpOptions,
    private readonly host: InboundHost,
  ) {
    this.remote = `${socket.remoteAddress}:${socket.remotePort}`;
    this.decoder = new FrameDecoder(Math.min(MAX_CONTROL_FRAME_BYTES, o.maxFrameBytes));
    socket.setNoDelay(true);
    socket.setKeepAlive(true, KEEPALIVE_INITIAL_DELAY_MS);
    this.helloTimer = setTimeout(
      () => this.close(`no hello within ${o.helloTimeoutMs} ms`),
      o.helloTimeoutMs,
    );
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => this.close(err.message, 'info'));
    socket.on('close', () => this.close('closed by the dialer', 'info'));
  }

  /** The sender, once its hello was accepted. */
  get peer(): NodeId | null {
    return this.peerId;
  }

  /** Closes this connection, logging `reason`. Idempotent. */
  close(reason: string, level: 'info' | 'warn' = 'warn'): void {
    if (this.closedFlag) return;
    this.closedFlag = true;
    if (this.helloTimer) clearTimeout(this.helloTimer);
    this.helloTimer = null;
    const who = this.peerId === null ? '' : ` (member ${formatId(this.peerId)})`;
    this.o.logger(level, `closing connection from ${this.remote}${who}: ${reason}`);
    if (level === 'warn' && !this.socket.destroyed) {
      // Best effort: tell the dialer why, then destroy once that is flushed (or after a linger).
      const reject = encodeReject(reason);
      const linger = setTimeout(() => this.socket.destroy(), REJECT_LINGER_MS);
      linger.unref();
      this.socket.pause();
      this.socket.write(frameHeader(reject.length));
      this.socket.end(reject, () => this.socket.destroy());
    } else {
      this.socket.destroy();
    }
    this.host.closed(this, reason);
  }

  private onData(chunk: Uint8Array): void {
    if (this.closedFlag) return;
    let payloads: Uint8Array[];
    try {
      payloads = this.decoder.push(chunk);
    } catch (err) {
      this.close(reasonOf(err));
      return;
    }
    for (const p of payloads) {
      if (this.closedFlag) return;
      try {
        this.onFrame(decodeFrame(p));
      } catch (err) {
        this.close(reasonOf(err));
        return;
      }
    }
  }

  private onFrame(f: Frame): void {
    if (this.peerId === null) {
      if (f.type !== 'hello') throw new ProtocolError(`expected hello, got ${f.type}`);
      this.onHello(f.hello);
      return;
    }
    switch (f.type) {
      case 'messages':
        for (const m of f.messages) this.checkAddressed(m);
        for (const m of f.messages) {
          if (this.closedFlag) return;
          this.o.handler.onMessage(m);
        }
        return;
      case 'snapStart':
        if (this.snapshot) throw new ProtocolError('snapStart while a snapshot is in progress');
        this.checkAddressed(f.message);
        if (f.totalBytes > this.o.maxSnapshotBytes) {
          throw new ProtocolError(
            `snapshot of ${f.totalBytes} bytes exceeds the limit of ${this.o.maxSnapshotBytes}`,
          );
        }
        this.snapshot = { message: f.message, totalBytes: f.totalBytes, parts: [], received: 0 };
        return;
      case 'snapChunk': {
        const snap = this.snapshot;
        if (!snap) throw new ProtocolError('snapChunk outside a snapshot');
        if (snap.received + f.data.length > snap.totalBytes) {
          throw new ProtocolError(`snapshot chunks exceed the announced ${snap.totalBytes} bytes`);
        }
        snap.parts.push(f.data);
        snap.received += f.data.length;
        return;
      }
      case 'snapEnd':
        this.onSnapEnd();
        return;
      default:
        throw new ProtocolError(`unexpected ${f.type} frame from a dialer`);
    }
  }

  private onHello(h: Hello): void {
    const self = this.o.id;
    if (h.version !== PROTOCOL_VERSION) {
      throw new ProtocolError(
        `unsupported protocol version ${h.version} (this member speaks ${PROTOCOL_VERSION})`,
      );
    }
    if (h.clusterToken !== this.o.clusterToken) throw new ProtocolError('cluster token mismatch');
    if (h.to !== self) {
      throw new ProtocolError(
        `hello addressed to member ${formatId(h.to)}, this is member ${formatId(self)}`,
      );
    }
    if (!this.host.isKnownPeer(h.from, h.url)) throw new ProtocolError(`unknown member ${formatId(h.from)}`);
    if (this.helloTimer) clearTimeout(this.helloTimer);
    this.helloTimer = null;
    this.peerId = h.from;
    // The dialer sends nothing else before our accept, so no larger frame is already buffered.
    this.decoder.maxFrameBytes = this.o.maxFrameBytes;
    this.host.opened(this, h.from);
    this.write(encodeAccept());
    this.o.logger('info', `accepted connection from ${this.remote} (member ${formatId(h.from)})`);
  }

  private onSnapEnd(): void {
    const snap = this.snapshot;
    if (!snap) throw new ProtocolError('snapEnd outside a snapshot');
    if (snap.received !== snap.totalBytes) {
      throw new ProtocolError(`snapshot ended after ${snap.received} of ${snap.totalBytes} bytes`);
    }
    this.snapshot = null;
    const data = snap.parts.length === 1 ? snap.parts[0]! : concat(snap.parts, snap.totalBytes);
    const m = validateMessage({ ...snap.message, snapshot: { ...snap.message.snapshot, data } });
    this.o.handler.onMessage(m);
    if (!this.closedFlag) this.write(encodeSnapAck());
  }

  /** Every delivered message must come from the hello's sender and be addressed to this member. */
  private checkAddressed(m: Message): void {
    if (m.from !== this.peerId) {
      throw new ProtocolError(
        `${m.type} from member ${formatId(m.from)} on a connection from another member`,
      );
    }
    if (m.to !== this.o.id) throw new ProtocolError(`${m.type} addressed to member ${formatId(m.to)}`);
  }

  private write(payload: Uint8Array): void {
    this.socket.write(frameHeader(payload.length, this.o.maxFrameBytes));
    this.socket.write(payload);
  }
}

function concat(parts: readonly Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
