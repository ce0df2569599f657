/**
 * H2Connection: the server side of one HTTP/2 connection (RFC 9113), as much of it as gRPC
 * needs — streams opened by the client's HEADERS, DATA both ways under flow control, SETTINGS,
 * PING, WINDOW_UPDATE, RST_STREAM and GOAWAY. It replaces Node's HTTP/2 for the member's gRPC
 * port: Node's makes each call a Duplex stream with its events and header objects, which cost a
 * small request more CPU than the member's own work on it.
 *
 *   - Input is parsed frame by frame as it arrives; header blocks are decoded with HPACK
 *     (hpack.ts) and a new stream is handed to `onStream` with its headers.
 *   - Output frames of one turn of the event loop are gathered and written together. PING acks
 *     wait for the next write (at most PING_ACK_HOLD_MS): see `ping`.
 *   - Received DATA is granted back (WINDOW_UPDATE) as soon as it is handed on: the handlers
 *     bound what they keep (the gRPC deframer's message limit), so the windows only pace.
 *   - Anything malformed ends the connection with GOAWAY and the error code, never the process.
 *
 * Not supported (a gRPC server needs none of it): server push, priorities (ignored), the
 * HTTP/1.1 Upgrade path (connections come from ClientListener, already known to speak HTTP/2).
 */

import type { IncomingHttpHeaders } from 'node:http2';
import type { Duplex } from 'node:stream';
import {
  DEFAULT_MAX_FRAME_SIZE,
  DEFAULT_WINDOW_SIZE,
  Flag,
  FRAME_HEADER_BYTES,
  FrameType,
  goawayFrame,
  H2Error,
  MAX_ALLOWED_FRAME_SIZE,
  MAX_WINDOW_SIZE,
  pingAckFrame,
  rstStreamFrame,
  SETTINGS_ACK,
  Setting,
  settingsFrame,
  windowUpdateFrame,
  writeFrameHeader,
} from './frames.js';
import { H2Stream, type StreamOutput } from './h2-stream.js';
import { HpackDecoder, HpackError } from './hpack.js';

/** The client connection preface (RFC 9113 §3.4). */
export const H2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');

/** Receive window we give each stream, and the connection's. */
const STREAM_RECEIVE_WINDOW = 1024 * 1024;
const CONNECTION_RECEIVE_WINDOW = 16 * 1024 * 1024;
/** Largest header list we accept (SETTINGS_MAX_HEADER_LIST_SIZE). */
const MAX_HEADER_LIST_BYTES = 64 * 1024;
/** Output the client has not read (buffered in the socket) beyond which the connection is dropped. */
const MAX_UNREAD_OUTPUT_BYTES = 64 * 1024 * 1024;
/** Output of one turn up to this size is joined into one buffer; bigger goes out piece by piece. */
const JOIN_BYTES = 256 * 1024;
/**
 * Longest a PING ack waits for other output to travel with (see `ping`): far below any client's
 * keepalive timeout (grpc-go's least is 1 s, etcdctl's 6 s), and above the time a busy member
 * takes to answer the request that usually follows the PING.
 */
export const PING_ACK_HOLD_MS = 100;
/** PING acks held at most: a client that sends more between two of our writes gets them at once. */
const MAX_HELD_ACKS = 8;

/** A connection-level protocol violation: GOAWAY with `code`. */
class ConnectionError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
    this.name = 'ConnectionError';
  }
}

/** What the connection calls back with. */
export interface H2ConnectionHandlers {
  /** A client opened a stream; its request headers are on `stream.headers`. */
  onStream(stream: H2Stream): void;
  /** The connection is gone (all its streams are closed). */
  onClose?(): void;
}

/** A header block being collected across HEADERS and CONTINUATION frames. */
interface PendingBlock {
  readonly streamId: number;
  readonly endStream: boolean;
  readonly parts: Buffer[];
}

/** See the file comment. */
export class H2Connection implements StreamOutput {
  private input: Buffer = Buffer.alloc(0);
  private prefaceSeen = false;
  private readonly decoder = new HpackDecoder({ maxHeaderListBytes: MAX_HEADER_LIST_BYTES });
  private readonly streams = new Map<number, H2Stream>();
  /** The highest stream ID the client opened. */
  private lastStreamId = 0;
  private pendingBlock: PendingBlock | undefined;
  /** The peer's settings that shape what we send. */
  private peerInitialWindow = DEFAULT_WINDOW_SIZE;
  private peerMaxFrameSize = DEFAULT_MAX_FRAME_SIZE;
  /** Bytes of DATA the peer lets us send on the connection. */
  private sendWindow = DEFAULT_WINDOW_SIZE;
  /** Streams with DATA waiting for the connection's window. */
  private readonly blocked = new Set<H2Stream>();
  /** Received DATA bytes not yet granted back on the connection. */
  private unacknowledged = 0;
  private output: Buffer[] = [];
  private outputBytes = 0;
  private flushScheduled = false;
  /** PING acks waiting for the next write (see `ping`). */
  private heldAcks: Buffer[] = [];
  /** Writes the held acks if nothing else did within PING_ACK_HOLD_MS; made on the first PING. */
  private ackTimer: NodeJS.Timeout | undefined;
  private goingAway = false;
  private closed = false;
  private readonly closeWaiters: (() => void)[] = [];

  /**
   * Takes over `socket`, whose first bytes `head` (if any: what a caller read to tell HTTP/2 from
   * HTTP/1.1) were already read from it, and answers with our SETTINGS.
   */
  constructor(
    private readonly socket: Duplex,
    head: Buffer,
    private readonly handlers: H2ConnectionHandlers,
  ) {
    this.queue(
      settingsFrame([
        [Setting.INITIAL_WINDOW_SIZE, STREAM_RECEIVE_WINDOW],
        [Setting.MAX_HEADER_LIST_SIZE, MAX_HEADER_LIST_BYTES],
        [Setting.ENABLE_PUSH, 0],
      ]),
    );
    this.queue(windowUpdateFrame(0, CONNECTION_RECEIVE_WINDOW - DEFAULT_WINDOW_SIZE));
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('error', () => this.destroy());
    socket.on('close', () => this.destroy());
    socket.on('end', () => this.destroy());
    if (head.length > 0) this.receive(head);
    socket.resume();
  }

  /** Stops taking streams (GOAWAY) and ends the connection once the open ones are done. */
  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    const done = new Promise<void>((resolve) => this.closeWaiters.push(resolve));
    if (!this.goingAway) {
      this.goingAway = true;
      this.queue(goawayFrame(this.lastStreamId, H2Error.NO_ERROR));
    }
    this.endIfIdle();
    return done;
  }

  /** Drops the connection and every stream on it at once. */
  destroy(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.ackTimer);
    this.heldAcks = [];
    this.socket.destroy();
    const open = [...this.streams.values()];
    this.streams.clear();
    this.blocked.clear();
    for (const s of open) s.close();
    for (const w of this.closeWaiters.splice(0)) w();
    this.handlers.onClose?.();
  }

  // --- input ---

  private receive(chunk: Buffer): void {
    if (this.closed) return;
    let buf = this.input.length === 0 ? chunk : Buffer.concat([this.input, chunk]);
    let at = 0;
    if (!this.prefaceSeen) {
      const n = Math.min(buf.length, H2_PREFACE.length);
      if (!buf.subarray(0, n).equals(H2_PREFACE.subarray(0, n))) {
        this.destroy();
        return;
      }
      if (n < H2_PREFACE.length) {
        this.input = buf;
        return;
      }
      this.prefaceSeen = true;
      at = H2_PREFACE.length;
    }
    try {
      while (buf.length - at >= FRAME_HEADER_BYTES && !this.closed) {
        const length = (buf[at]! << 16) | (buf[at + 1]! << 8) | buf[at + 2]!;
        if (length > DEFAULT_MAX_FRAME_SIZE) {
          throw new ConnectionError(H2Error.FRAME_SIZE_ERROR, `frame of ${length} bytes`);
        }
        if (buf.length - at < FRAME_HEADER_BYTES + length) break;
        const type = buf[at + 3]!;
        const flags = buf[at + 4]!;
        const streamId = buf.readUInt32BE(at + 5) & 0x7fffffff;
        const payload = buf.subarray(at + FRAME_HEADER_BYTES, at + FRAME_HEADER_BYTES + length);
        at += FRAME_HEADER_BYTES + length;
        this.frame(type, flags, streamId, payload);
      }
    } catch (e) {
      if (!(e instanceof ConnectionError || e instanceof HpackError)) throw e;
      this.fail(e instanceof ConnectionError ? e.code : H2Error.COMPRESSION_ERROR);
      return;
    }
    if (at < buf.length) buf = buf.subarray(at);
    else buf = Buffer.alloc(0);
    // Keep a copy of a partial frame only when it is a small part of a big chunk.
    this.input = buf.length > 0 && buf.buffer.byteLength > 4 * buf.length + 4096 ? Buffer.from(buf) : buf;
  }

  private frame(type: number, flags: number, streamId: number, payload: Buffer): void {
    if (this.pendingBlock !== undefined && type !== FrameType.CONTINUATION) {
      throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'a header block interrupted');
    }
    switch (type) {
      case FrameType.DATA:
        this.data(flags, streamId, payload);
        return;
      case FrameType.HEADERS:
        this.headers(flags, streamId, payload);
        return;
      case FrameType.CONTINUATION:
        this.continuation(flags, streamId, payload);
        return;
      case FrameType.RST_STREAM:
        this.rstStream(streamId, payload);
        return;
      case FrameType.SETTINGS:
        this.settings(flags, streamId, payload);
        return;
      case FrameType.PING:
        if (streamId !== 0 || payload.length !== 8)
          throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'bad PING');
        if ((flags & Flag.ACK) === 0) this.ping(payload);
        return;
      case FrameType.GOAWAY:
        this.goingAway = true;
        this.endIfIdle();
        return;
      case FrameType.WINDOW_UPDATE:
        this.windowUpdate(streamId, payload);
        return;
      case FrameType.PUSH_PROMISE:
        throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'PUSH_PROMISE from a client');
      default:
        return; // PRIORITY and unknown types are ignored (RFC 9113 §5.5)
    }
  }

  /**
   * Answers a PING with the next write instead of a write of its own. Go's gRPC clients send a
   * PING (bandwidth probing) after each response they receive, and then, usually, their next
   * request: acking at once cost one more system call per request, the response to that next
   * request carries the ack for free. The ack still goes first in that write (RFC 9113 §6.7 asks
   * PING acks to be sent ahead of other frames; what it skips ahead of was all queued after the
   * PING came), and within PING_ACK_HOLD_MS when the connection has nothing else to send.
   */
  private ping(payload: Buffer): void {
    if (this.closed) return;
    if (this.flushScheduled) {
      // A write is due this turn anyway: the ack goes with it, after what came before the PING.
      this.queue(pingAckFrame(payload));
      return;
    }
    this.heldAcks.push(pingAckFrame(payload));
    if (this.heldAcks.length >= MAX_HELD_ACKS) {
      // Any write takes the held acks along: schedule one now.
      this.queue(this.heldAcks.pop()!);
      return;
    }
    if (this.heldAcks.length > 1) return;
    if (this.ackTimer === undefined) {
      this.ackTimer = setTimeout(() => this.flush(), PING_ACK_HOLD_MS);
      this.ackTimer.unref();
    } else {
      this.ackTimer.refresh();
    }
  }

  /** The fragment of a HEADERS or DATA payload without its padding (and priority fields). */
  private static unpad(flags: number, payload: Buffer, priority: boolean): Buffer {
    let start = 0;
    let end = payload.length;
    if ((flags & Flag.PADDED) !== 0) {
      if (payload.length < 1) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'bad padding');
      end -= payload[0]!;
      start = 1;
    }
    if (priority && (flags & Flag.PRIORITY) !== 0) start += 5;
    if (end < start) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'bad padding');
    return payload.subarray(start, end);
  }

  private headers(flags: number, streamId: number, payload: Buffer): void {
    if (streamId === 0) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'HEADERS on stream 0');
    const fragment = H2Connection.unpad(flags, payload, true);
    const block = { streamId, endStream: (flags & Flag.END_STREAM) !== 0, parts: [fragment] };
    if ((flags & Flag.END_HEADERS) !== 0) this.headerBlock(block);
    else this.pendingBlock = block;
  }

  private continuation(flags: number, streamId: number, payload: Buffer): void {
    const block = this.pendingBlock;
    if (block === undefined || block.streamId !== streamId) {
      throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'unexpected CONTINUATION');
    }
    block.parts.push(payload);
    if (block.parts.reduce((n, p) => n + p.length, 0) > MAX_HEADER_LIST_BYTES) {
      throw new ConnectionError(H2Error.ENHANCE_YOUR_CALM, 'header block too large');
    }
    if ((flags & Flag.END_HEADERS) === 0) return;
    this.pendingBlock = undefined;
    this.headerBlock(block);
  }

  private headerBlock({ streamId, endStream, parts }: PendingBlock): void {
    // Every block is decoded, even one that is refused: HPACK's table must stay in step.
    const fields = this.decoder.decode(parts.length === 1 ? parts[0]! : Buffer.concat(parts));
    const existing = this.streams.get(streamId);
    if (existing !== undefined) {
      // Trailers from the client: they end its side.
      if (!endStream || existing.remoteEnded)
        throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'bad trailers');
      this.remoteEnd(existing);
      return;
    }
    if (streamId % 2 === 0)
      throw new ConnectionError(H2Error.PROTOCOL_ERROR, `HEADERS on stream ${streamId}`);
    if (streamId <= this.lastStreamId) return; // a stream we closed already: ignored (RFC 9113 §5.1)
    this.lastStreamId = streamId;
    if (this.goingAway) {
      this.queue(rstStreamFrame(streamId, H2Error.REFUSED_STREAM));
      return;
    }
    const headers: IncomingHttpHeaders = {};
    for (const [name, value] of fields) {
      const had = headers[name];
      if (had === undefined) headers[name] = value;
      else if (Array.isArray(had)) had.push(value);
      else (headers as Record<string, string | string[]>)[name] = [had, value];
    }
    const stream = new H2Stream(streamId, headers, this, this.peerInitialWindow);
    this.streams.set(streamId, stream);
    this.handlers.onStream(stream);
    if (endStream) this.remoteEnd(stream);
  }

  private data(flags: number, streamId: number, payload: Buffer): void {
    if (streamId === 0) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'DATA on stream 0');
    this.acknowledge(undefined, payload.length);
    const stream = this.streams.get(streamId);
    if (stream === undefined) {
      if (streamId > this.lastStreamId)
        throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'DATA on an idle stream');
      return; // a stream we already closed: its window is the connection's only
    }
    if (stream.remoteEnded) {
      this.reset(stream, H2Error.STREAM_CLOSED);
      return;
    }
    const fragment = H2Connection.unpad(flags, payload, false);
    if (!stream.remoteEnded && (flags & Flag.END_STREAM) === 0) this.acknowledge(stream, payload.length);
    if (fragment.length > 0) stream.onData?.(fragment);
    if ((flags & Flag.END_STREAM) !== 0 && !stream.closed) this.remoteEnd(stream);
  }

  /** Grants received bytes back once half a window's worth has come in. */
  private acknowledge(stream: H2Stream | undefined, n: number): void {
    if (stream === undefined) {
      this.unacknowledged += n;
      if (this.unacknowledged >= CONNECTION_RECEIVE_WINDOW / 2) {
        this.queue(windowUpdateFrame(0, this.unacknowledged));
        this.unacknowledged = 0;
      }
      return;
    }
    stream.unacknowledged += n;
    if (stream.unacknowledged >= STREAM_RECEIVE_WINDOW / 2) {
      this.queue(windowUpdateFrame(stream.id, stream.unacknowledged));
      stream.unacknowledged = 0;
    }
  }

  private remoteEnd(stream: H2Stream): void {
    stream.remoteEnded = true;
    stream.onEnd?.();
    this.closeIfDone(stream);
  }

  private rstStream(streamId: number, payload: Buffer): void {
    if (payload.length !== 4) throw new ConnectionError(H2Error.FRAME_SIZE_ERROR, 'bad RST_STREAM');
    const stream = this.streams.get(streamId);
    if (stream !== undefined) this.forget(stream);
  }

  private settings(flags: number, streamId: number, payload: Buffer): void {
    if (streamId !== 0) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'SETTINGS on a stream');
    if ((flags & Flag.ACK) !== 0) return;
    if (payload.length % 6 !== 0) throw new ConnectionError(H2Error.FRAME_SIZE_ERROR, 'bad SETTINGS');
    for (let at = 0; at < payload.length; at += 6) {
      const id = payload.readUInt16BE(at);
      const value = payload.readUInt32BE(at + 2);
      if (id === Setting.INITIAL_WINDOW_SIZE) {
        if (value > MAX_WINDOW_SIZE)
          throw new ConnectionError(H2Error.FLOW_CONTROL_ERROR, 'window too large');
        const delta = value - this.peerInitialWindow;
        this.peerInitialWindow = value;
        for (const s of this.streams.values()) s.sendWindow += delta;
      } else if (id === Setting.MAX_FRAME_SIZE) {
        if (value < DEFAULT_MAX_FRAME_SIZE || value > MAX_ALLOWED_FRAME_SIZE) {
          throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'bad MAX_FRAME_SIZE');
        }
        this.peerMaxFrameSize = value;
      }
    }
    this.queue(SETTINGS_ACK);
    for (const s of this.streams.values()) if (s.queuedBytes > 0 || s.trailers !== undefined) this.pump(s);
  }

  private windowUpdate(streamId: number, payload: Buffer): void {
    if (payload.length !== 4) throw new ConnectionError(H2Error.FRAME_SIZE_ERROR, 'bad WINDOW_UPDATE');
    const increment = payload.readUInt32BE(0) & 0x7fffffff;
    if (streamId === 0) {
      if (increment === 0) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'WINDOW_UPDATE of 0');
      this.sendWindow += increment;
      if (this.sendWindow > MAX_WINDOW_SIZE)
        throw new ConnectionError(H2Error.FLOW_CONTROL_ERROR, 'window overflow');
      const waiting = [...this.blocked];
      this.blocked.clear();
      for (const s of waiting) this.pump(s);
      return;
    }
    const stream = this.streams.get(streamId);
    if (stream === undefined) return;
    if (increment === 0 || stream.sendWindow + increment > MAX_WINDOW_SIZE) {
      this.reset(stream, increment === 0 ? H2Error.PROTOCOL_ERROR : H2Error.FLOW_CONTROL_ERROR);
      return;
    }
    stream.sendWindow += increment;
    this.pump(stream);
  }

  // --- output (StreamOutput) ---

  sendHeaders(stream: H2Stream, block: Uint8Array, endStream: boolean): void {
    const max = this.peerMaxFrameSize;
    let at = 0;
    let first = true;
    do {
      const n = Math.min(max, block.length - at);
      const last = at + n === block.length;
      const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + n);
      const type = first ? FrameType.HEADERS : FrameType.CONTINUATION;
      const flags = (last ? Flag.END_HEADERS : 0) | (first && endStream ? Flag.END_STREAM : 0);
      writeFrameHeader(frame, 0, n, type, flags, stream.id);
      frame.set(block.subarray(at, at + n), FRAME_HEADER_BYTES);
      this.queue(frame);
      at += n;
      first = false;
    } while (at < block.length);
    if (endStream) this.closeIfDone(stream);
  }

  pump(stream: H2Stream): void {
    if (stream.closed) return;
    const queue = stream.queue;
    while (queue.length > 0) {
      const window = Math.min(stream.sendWindow, this.sendWindow);
      if (window <= 0) {
        if (this.sendWindow <= 0) this.blocked.add(stream);
        return;
      }
      const head = queue[0]!;
      const n = Math.min(head.length - stream.sentOfFirst, window, this.peerMaxFrameSize);
      const frameHeader = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
      writeFrameHeader(frameHeader, 0, n, FrameType.DATA, 0, stream.id);
      this.queue(frameHeader);
      const whole = stream.sentOfFirst === 0 && n === head.length;
      this.queue(whole ? head : head.subarray(stream.sentOfFirst, stream.sentOfFirst + n));
      stream.sendWindow -= n;
      this.sendWindow -= n;
      stream.sentOfFirst += n;
      if (stream.sentOfFirst === head.length) {
        queue.shift();
        stream.sentOfFirst = 0;
      }
      stream.sent(n);
      if (stream.closed) return; // a drain handler may have reset it
    }
    const trailers = stream.trailers;
    if (trailers !== undefined) {
      stream.trailers = undefined;
      this.sendHeaders(stream, trailers, true);
    }
  }

  reset(stream: H2Stream, code: number): void {
    this.queue(rstStreamFrame(stream.id, code));
    this.forget(stream);
  }

  /** Closes a stream whose both sides are done; a response done before its request gets RST_STREAM(NO_ERROR). */
  private closeIfDone(stream: H2Stream): void {
    if (!stream.localEnded || stream.queuedBytes > 0 || stream.trailers !== undefined) return;
    if (!stream.remoteEnded) this.queue(rstStreamFrame(stream.id, H2Error.NO_ERROR));
    this.forget(stream);
  }

  private forget(stream: H2Stream): void {
    this.streams.delete(stream.id);
    this.blocked.delete(stream);
    stream.close();
    this.endIfIdle();
  }

  private endIfIdle(): void {
    if (!this.goingAway || this.streams.size > 0 || this.closed) return;
    this.flush();
    this.socket.end();
    this.destroySoon();
  }

  /** After ending our side, waits briefly for the peer to close before dropping the socket. */
  private destroySoon(): void {
    setTimeout(() => this.destroy(), 1000).unref();
  }

  /** Ends the connection over a protocol error: GOAWAY with `code`, then the socket goes. */
  private fail(code: number): void {
    if (this.closed) return;
    this.goingAway = true;
    this.queue(goawayFrame(this.lastStreamId, code));
    this.flush();
    this.socket.end();
    this.destroySoon();
    for (const s of [...this.streams.values()]) this.forget(s);
  }

  private queue(frame: Buffer): void {
    if (this.closed) return;
    this.output.push(frame);
    this.outputBytes += frame.length;
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.heldAcks.length > 0 && !this.closed) {
      this.output.unshift(...this.heldAcks);
      for (const a of this.heldAcks) this.outputBytes += a.length;
      this.heldAcks = [];
    }
    if (this.output.length === 0 || this.closed) return;
    // DATA is bounded by the client's windows; what else we owe it (PING and SETTINGS acks, resets)
    // is not, so a client that sends and never reads is dropped rather than buffered without end.
    if (this.socket.writableLength > MAX_UNREAD_OUTPUT_BYTES) {
      this.destroy();
      return;
    }
    const out = this.output;
    const bytes = this.outputBytes;
    this.output = [];
    this.outputBytes = 0;
    if (out.length === 1) this.socket.write(out[0]!);
    else if (bytes <= JOIN_BYTES) this.socket.write(Buffer.concat(out, bytes));
    else {
      this.socket.cork();
      for (const b of out) this.socket.write(b);
      this.socket.uncork();
    }
  }
}
