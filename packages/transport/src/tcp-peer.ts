/**
 * The sending side towards one peer (etcd's `peer` + `streamWriter`): one outbound connection,
 * a bounded send queue, batching, snapshot streaming, and reconnecting with backoff.
 *
 * Life of a connection:
 * 1. connecting: dial (TCP, or TLS verifying the peer's certificate); sends are queued.
 * 2. handshaking: our hello is written; sends are still queued until the peer's accept.
 * 3. connected: each flush drains the queue into as few frames as the frame limit allows, stopping
 *    while the socket asks us to wait ('drain'); a MsgSnap goes out as snapStart, snapChunk…,
 *    snapEnd and is reported finished when the peer's snapAck comes back.
 *    While the connection holds unwritten data (bytes buffered behind backpressure, or a snapshot
 *    not yet acknowledged), a write-stall watchdog runs: no write progress (a write reaching the
 *    kernel, or a snapAck) for writeTimeoutMs fails the connection (etcd's ConnWriteTimeout).
 * 4. on any failure (dial timeout, write stall, reject, error, close, bad frame from the peer): queued and
 *    in-flight messages are dropped and reported (onUnreachable; SnapshotFailure per MsgSnap),
 *    and the peer waits in backoff, where sends are dropped at once, before dialling again.
 *
 * Does not: listen, or deliver anything to the member except the two reports above.
 */

import net from 'node:net';
import tls from 'node:tls';
import type { Message, MsgSnap, NodeId } from '@tsetcd/raft';
import { encodeMessage, MESSAGE_LIST_HEADER_BYTES } from './codec.js';
import { FRAME_HEADER_BYTES, FrameDecoder, frameHeader } from './framing.js';
import { reasonOf } from './tcp-errors.js';
import {
  backoffDelay,
  formatId,
  formatTcpUrl,
  KEEPALIVE_INITIAL_DELAY_MS,
  type ResolvedTcpOptions,
  type TcpAddress,
} from './tcp-options.js';
import {
  decodeFrame,
  encodeHello,
  encodeMessagesFrame,
  encodeSnapEnd,
  encodeSnapStart,
  FRAME_TYPE_BYTES,
  FrameType,
  MAX_CONTROL_FRAME_BYTES,
  PROTOCOL_VERSION,
} from './tcp-protocol.js';
import { SendQueue } from './tcp-send-queue.js';

/** Where a peer's connection is in its life (see the numbered list above). */
export type PeerState = 'connecting' | 'handshaking' | 'connected' | 'backoff' | 'closed';

/** What a peer tells its transport besides the handler's reports. */
export interface PeerListener {
  active(peer: NodeId): void;
  inactive(peer: NodeId, reason: string): void;
}

interface SnapshotInProgress {
  readonly message: MsgSnap;
  offset: number;
}

/** One peer's outbound connection and send queue. */
export class TcpPeer {
  private stateValue: PeerState = 'backoff';
  private socket: net.Socket | null = null;
  private decoder = new FrameDecoder();
  private readonly queue = new SendQueue();
  /** The queue head, already encoded, when it did not fit the previous batch. */
  private headEncoded: Uint8Array | null = null;
  private snapshot: SnapshotInProgress | null = null;
  /** Snapshots fully written and awaiting their snapAck, oldest first. */
  private unacked = 0;
  private attempt = 0;
  private timer: NodeJS.Timeout | null = null;
  /** The write-stall watchdog; set exactly while the connection holds unwritten data. */
  private stallTimer: NodeJS.Timeout | null = null;
  /** When the connection last made write progress (Date.now()), while the watchdog runs. */
  private lastProgress = 0;
  private flushScheduled = false;
  private lastLogged = '';
  private socketClosed: Promise<void> = Promise.resolve();

  constructor(
    readonly id: NodeId,
    private addressValue: TcpAddress,
    private readonly o: ResolvedTcpOptions,
    private readonly listener: PeerListener,
  ) {}

  /** Where the connection stands (for tests and status). */
  get state(): PeerState {
    return this.stateValue;
  }

  /** The peer's address. */
  get address(): TcpAddress {
    return this.addressValue;
  }

  /** Messages waiting to be written. */
  get queued(): number {
    return this.queue.length;
  }

  /** Starts dialling. */
  start(): void {
    this.connect();
  }

  /** Points the peer at a new address: the current connection (if any) fails and it redials now. */
  setAddress(address: TcpAddress): void {
    if (address.host === this.addressValue.host && address.port === this.addressValue.port) return;
    this.addressValue = address;
    if (this.stateValue === 'closed') return;
    if (this.socket) this.disconnect(this.socket, 'peer URL changed', false);
    this.clearTimer();
    this.attempt = 0;
    this.connect();
  }

  /** Queues one message for this peer; drops and reports it when disconnected or the queue is full. */
  send(m: Message): void {
    if (this.stateValue === 'closed') return;
    if (this.stateValue === 'backoff') {
      this.drop([m], 'not connected');
      return;
    }
    if (this.queued >= this.o.sendQueueSize) {
      this.drop([m], 'send queue full');
      return;
    }
    this.queue.push(m);
    if (this.stateValue === 'connected' && !this.flushScheduled) {
      // Flush after the caller's synchronous sends, so they share frames.
      this.flushScheduled = true;
      queueMicrotask(() => {
        this.flushScheduled = false;
        this.flush();
      });
    }
  }

  /** Stops for good; with `report`, pending MsgSnaps are reported failed. Resolves once the socket closed. */
  close(report: boolean): Promise<void> {
    if (this.stateValue === 'closed') return this.socketClosed;
    const s = this.socket;
    this.socket = null;
    this.stateValue = 'closed';
    this.clearTimer();
    this.clearStallTimer();
    s?.destroy();
    const dropped = this.takePending();
    if (report) this.reportDropped(dropped);
    return this.socketClosed;
  }

  private connect(): void {
    this.stateValue = 'connecting';
    const { host, port, secure } = this.addressValue;
    const secureContext = this.o.clientContext;
    let s: net.Socket;
    try {
      s = secure && secureContext ? tls.connect({ host, port, secureContext }) : net.connect({ host, port });
    } catch (err) {
      this.o.logger(
        'error',
        `cannot dial peer ${formatId(this.id)} (${this.describeAddress()}): ${reasonOf(err)}`,
      );
      this.stateValue = 'backoff';
      this.scheduleRedial();
      return;
    }
    this.socket = s;
    this.socketClosed = new Promise((resolve) => s.once('close', () => resolve()));
    this.decoder = new FrameDecoder(MAX_CONTROL_FRAME_BYTES);
    s.setNoDelay(true);
    s.setKeepAlive(true, KEEPALIVE_INITIAL_DELAY_MS);
    this.timer = setTimeout(
      () => this.disconnect(s, `no accept within ${this.o.dialTimeoutMs} ms`),
      this.o.dialTimeoutMs,
    );
    s.once(secure ? 'secureConnect' : 'connect', () => {
      if (this.socket !== s) return;
      this.stateValue = 'handshaking';
      const hello = encodeHello({
        version: PROTOCOL_VERSION,
        clusterToken: this.o.clusterToken,
        from: this.o.id,
        to: this.id,
        ...(this.o.advertiseUrl !== undefined ? { url: this.o.advertiseUrl } : {}),
      });
      s.write(frameHeader(hello.length, this.o.maxFrameBytes));
      s.write(hello);
    });
    s.on('data', (chunk: Buffer) => this.onData(s, chunk));
    s.on('drain', () => {
      if (this.socket === s) this.flush();
    });
    s.on('error', (err) => this.disconnect(s, err.message));
    s.on('close', () => this.disconnect(s, 'connection closed by peer'));
  }

  private onData(s: net.Socket, chunk: Uint8Array): void {
    if (this.socket !== s) return;
    let payloads: Uint8Array[];
    try {
      payloads = this.decoder.push(chunk);
    } catch (err) {
      this.disconnect(s, reasonOf(err));
      return;
    }
    for (const p of payloads) {
      if (this.socket !== s) return;
      try {
        const f = decodeFrame(p);
        if (f.type === 'accept' && this.stateValue === 'handshaking') this.activate();
        else if (f.type === 'reject') this.disconnect(s, `rejected by peer: ${f.reason}`);
        else if (f.type === 'snapAck' && this.stateValue === 'connected' && this.unacked > 0) {
          this.unacked -= 1;
          this.lastProgress = Date.now();
          this.o.handler.onSnapshotStatus(this.id, 'SnapshotFinish');
        } else this.disconnect(s, `unexpected ${f.type} frame from the peer in state ${this.stateValue}`);
      } catch (err) {
        this.disconnect(s, reasonOf(err));
        return;
      }
    }
  }

  private activate(): void {
    this.clearTimer();
    this.stateValue = 'connected';
    this.attempt = 0;
    this.lastLogged = '';
    this.o.logger('info', `peer ${formatId(this.id)} became active (${this.describeAddress()})`);
    this.listener.active(this.id);
    this.flush();
  }

  /** Fails the connection `s` (if still current), reports what it carried, and schedules a redial. */
  private disconnect(s: net.Socket, reason: string, redial = true): void {
    if (this.socket !== s) return;
    this.socket = null;
    // Messages still in the socket's buffer are lost with it.
    const lostBuffered = this.stateValue === 'connected' && s.writableLength > 0 ? 1 : 0;
    s.destroy();
    this.clearTimer();
    this.clearStallTimer();
    const wasActive = this.stateValue === 'connected';
    this.stateValue = 'backoff';
    const pending = this.takePending();
    const dropped = { messages: pending.messages + lostBuffered, snapshots: pending.snapshots };
    if (wasActive || reason !== this.lastLogged) {
      this.o.logger(
        'warn',
        `connection to peer ${formatId(this.id)} (${this.describeAddress()}) failed: ${reason}`,
      );
      this.lastLogged = reason;
    }
    this.reportDropped(dropped);
    if (wasActive) this.listener.inactive(this.id, reason);
    if (redial && this.stateValue === 'backoff') this.scheduleRedial();
  }

  private scheduleRedial(): void {
    const delay = backoffDelay(this.attempt, this.o.rand, this.o.backoffInitialMs, this.o.backoffMaxMs);
    this.attempt += 1;
    this.timer = setTimeout(() => {
      this.timer = null;
      if (this.stateValue === 'backoff') this.connect();
    }, delay);
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private clearStallTimer(): void {
    if (this.stallTimer) clearTimeout(this.stallTimer);
    this.stallTimer = null;
  }

  /** Whether `s` holds data the peer has not yet taken: buffered bytes or an unacknowledged snapshot. */
  private hasUnwritten(s: net.Socket): boolean {
    return s.writableLength > 0 || this.snapshot !== null || this.unacked > 0;
  }

  /** Starts the write-stall watchdog if `s` holds unwritten data and it is not running already. */
  private watchWrites(s: net.Socket): void {
    if (this.stallTimer || this.socket !== s || !this.hasUnwritten(s)) return;
    this.lastProgress = Date.now();
    this.stallTimer = setTimeout(() => this.checkStall(s), this.o.writeTimeoutMs);
  }

  /** The watchdog's tick: fails `s` after writeTimeoutMs without progress, else waits out the rest. */
  private checkStall(s: net.Socket): void {
    this.stallTimer = null;
    if (this.socket !== s || !this.hasUnwritten(s)) return;
    const idle = Date.now() - this.lastProgress;
    if (idle < this.o.writeTimeoutMs) {
      this.stallTimer = setTimeout(() => this.checkStall(s), this.o.writeTimeoutMs - idle);
      return;
    }
    const what = [
      `${s.writableLength} bytes buffered`,
      ...(this.snapshot ? ['a snapshot being written'] : []),
      ...(this.unacked > 0 ? [`${this.unacked} snapshot(s) awaiting snapAck`] : []),
    ].join(', ');
    this.disconnect(s, `write stalled: no progress for ${idle} ms (${what})`);
  }

  /** Empties the queue and the in-flight snapshot state; returns what was lost, snapshots counted. */
  private takePending(): { messages: number; snapshots: number } {
    const inFlight = this.unacked + (this.snapshot ? 1 : 0);
    const queued = this.queue.clear();
    this.headEncoded = null;
    this.snapshot = null;
    this.unacked = 0;
    return { messages: queued.messages + inFlight, snapshots: queued.snapshots + inFlight };
  }

  private reportDropped(d: { messages: number; snapshots: number }): void {
    if (d.messages > 0) this.o.handler.onUnreachable(this.id);
    for (let i = 0; i < d.snapshots; i++) this.o.handler.onSnapshotStatus(this.id, 'SnapshotFailure');
  }

  private drop(messages: readonly Message[], reason: string): void {
    if (reason !== this.lastLogged) {
      this.o.logger('warn', `dropping messages to peer ${formatId(this.id)}: ${reason}`);
      this.lastLogged = reason;
    }
    this.o.handler.onUnreachable(this.id);
    for (const m of messages)
      if (m.type === 'MsgSnap') this.o.handler.onSnapshotStatus(this.id, 'SnapshotFailure');
  }

  /** Writes queued messages until the queue is empty or the socket asks us to wait for 'drain'. */
  private flush(): void {
    const s = this.socket;
    if (this.stateValue !== 'connected' || !s || s.writableNeedDrain) return;
    let ok = true;
    s.cork();
    try {
      while (ok && this.socket === s) {
        if (this.snapshot) {
          ok = this.writeSnapshot(s, this.snapshot);
          continue;
        }
        const m = this.queue.peek();
        if (!m) break;
        if (m.type === 'MsgSnap') {
          this.queue.shift();
          ok = this.startSnapshot(s, m);
        } else ok = this.writeBatch(s);
      }
    } catch (err) {
      // Only a bug gets here; it must cost this connection, not the member.
      this.o.logger('error', `writing to peer ${formatId(this.id)}: ${reasonOf(err)}`);
      this.disconnect(s, 'internal error while writing');
    } finally {
      s.uncork();
    }
    this.watchWrites(s);
  }

  /** Writes `data` to `s`, counting its arrival in the kernel as write progress. */
  private write(s: net.Socket, data: Uint8Array): boolean {
    return s.write(data, () => {
      if (this.socket === s) this.lastProgress = Date.now();
    });
  }

  private writeFrame(s: net.Socket, payload: Uint8Array): boolean {
    this.write(s, frameHeader(payload.length, this.o.maxFrameBytes));
    return this.write(s, payload);
  }

  /** Writes one messages frame holding as many queued messages as fit. */
  private writeBatch(s: net.Socket): boolean {
    const limit = this.o.maxFrameBytes;
    const encoded: Uint8Array[] = [];
    let size = FRAME_TYPE_BYTES + MESSAGE_LIST_HEADER_BYTES;
    for (let m = this.queue.peek(); m && m.type !== 'MsgSnap'; m = this.queue.peek()) {
      let e = this.headEncoded;
      this.headEncoded = null;
      if (!e) {
        try {
          e = encodeMessage(m);
        } catch (err) {
          this.queue.shift();
          this.drop([m], `cannot encode ${m.type}: ${reasonOf(err)}`);
          continue;
        }
      }
      if (FRAME_TYPE_BYTES + MESSAGE_LIST_HEADER_BYTES + e.length > limit) {
        this.queue.shift();
        this.drop([m], `${m.type} of ${e.length} bytes exceeds the frame limit of ${limit} bytes`);
        continue;
      }
      if (size + e.length > limit) {
        this.headEncoded = e;
        break;
      }
      this.queue.shift();
      encoded.push(e);
      size += e.length;
    }
    return encoded.length === 0 || this.writeFrame(s, encodeMessagesFrame(encoded));
  }

  private startSnapshot(s: net.Socket, m: MsgSnap): boolean {
    let start: Uint8Array;
    try {
      start = encodeSnapStart(m);
    } catch (err) {
      this.drop([m], `cannot encode MsgSnap: ${reasonOf(err)}`);
      return true;
    }
    if (start.length > this.o.maxFrameBytes) {
      this.drop([m], `snapshot header of ${start.length} bytes exceeds the frame limit`);
      return true;
    }
    this.snapshot = { message: m, offset: 0 };
    return this.writeFrame(s, start);
  }

  /** Writes chunks of the snapshot in progress until done or the socket is full; snapEnd when done. */
  private writeSnapshot(s: net.Socket, snap: SnapshotInProgress): boolean {
    const data = snap.message.snapshot.data;
    let ok = true;
    while (ok && snap.offset < data.length) {
      const chunk = data.subarray(snap.offset, snap.offset + this.o.snapshotChunkBytes);
      const prefix = new Uint8Array(FRAME_HEADER_BYTES + FRAME_TYPE_BYTES);
      new DataView(prefix.buffer).setUint32(0, FRAME_TYPE_BYTES + chunk.length);
      prefix[FRAME_HEADER_BYTES] = FrameType.snapChunk;
      this.write(s, prefix);
      ok = this.write(s, chunk);
      snap.offset += chunk.length;
    }
    if (snap.offset < data.length) return ok;
    this.snapshot = null;
    this.unacked += 1;
    return this.writeFrame(s, encodeSnapEnd()) && ok;
  }

  private describeAddress(): string {
    return formatTcpUrl(this.addressValue);
  }
}
