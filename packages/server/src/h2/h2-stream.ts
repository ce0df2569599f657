/**
 * H2Stream: one HTTP/2 stream of a server connection (see h2-connection.ts), as a gRPC call sees
 * it — the request's headers, its DATA as it arrives, and a response: a header block, DATA, and
 * a trailing header block that ends the stream. Its outgoing DATA waits here while the peer's
 * flow-control windows are closed; the connection frames and writes it.
 *
 * Callbacks, not events: a stream is made per call, and an EventEmitter with its listeners cost
 * more per call than the rest of this object.
 */

import type { IncomingHttpHeaders } from 'node:http2';

/** What a stream needs from its connection to send. */
export interface StreamOutput {
  /** Queues a header block (HEADERS, CONTINUATION if needed) on the stream. */
  sendHeaders(stream: H2Stream, block: Uint8Array, endStream: boolean): void;
  /** Sends what of the stream's queued DATA (and then trailers) the windows allow. */
  pump(stream: H2Stream): void;
  /** Resets the stream with an error code and forgets it. */
  reset(stream: H2Stream, code: number): void;
}

/** Bytes of queued outgoing DATA above which `write` asks the caller to wait for onDrain. */
const HIGH_WATER_BYTES = 256 * 1024;

/** See the file comment. */
export class H2Stream {
  /** DATA from the client, in order. */
  onData: ((chunk: Buffer) => void) | undefined;
  /** The client ended its side (END_STREAM). */
  onEnd: (() => void) | undefined;
  /** The stream is over: both sides ended, or it was reset (by either side) or its connection closed. */
  onClose: (() => void) | undefined;
  /** Queued outgoing DATA fell below the high-water mark after `write` returned false. */
  onDrain: (() => void) | undefined;

  /** Bytes the peer lets us send on this stream (its window; may go negative on a SETTINGS change). */
  sendWindow: number;
  /** Outgoing DATA not yet framed, oldest first; `sentOfFirst` bytes of the first already went. */
  readonly queue: Buffer[] = [];
  sentOfFirst = 0;
  queuedBytes = 0;
  /** The trailing header block to send once the queue is empty (then the stream ends). */
  trailers: Uint8Array | undefined;
  /** Whether the client has ended its side. */
  remoteEnded = false;
  /** Whether we have ended ours (sent END_STREAM, or queued the trailers that will). */
  localEnded = false;
  closed = false;
  /** Bytes of DATA received and not yet granted back through WINDOW_UPDATE. */
  unacknowledged = 0;
  private wantsDrain = false;

  constructor(
    readonly id: number,
    readonly headers: IncomingHttpHeaders,
    private readonly out: StreamOutput,
    initialSendWindow: number,
  ) {
    this.sendWindow = initialSendWindow;
  }

  /** Sends the response's header block; `endStream` for a reply without a body ("trailers-only"). */
  respond(block: Uint8Array, endStream: boolean): void {
    if (this.closed || this.localEnded) return;
    if (endStream) this.localEnded = true;
    this.out.sendHeaders(this, block, endStream);
  }

  /** Queues DATA; false means wait for onDrain before writing much more. */
  write(data: Buffer): boolean {
    if (this.closed || this.localEnded) return false;
    if (data.length > 0) {
      this.queue.push(data);
      this.queuedBytes += data.length;
      this.out.pump(this);
    }
    if (this.queuedBytes < HIGH_WATER_BYTES) return true;
    this.wantsDrain = true;
    return false;
  }

  /** Queues the last DATA (if any) and the trailing header block that ends the stream. */
  end(data: Buffer | undefined, trailers: Uint8Array): void {
    if (this.closed || this.localEnded) return;
    if (data !== undefined && data.length > 0) {
      this.queue.push(data);
      this.queuedBytes += data.length;
    }
    this.trailers = trailers;
    this.localEnded = true;
    this.out.pump(this);
  }

  /** Abandons the stream (RST_STREAM with `code`). */
  reset(code: number): void {
    if (!this.closed) this.out.reset(this, code);
  }

  /** @internal The connection sent `n` queued bytes. */
  sent(n: number): void {
    this.queuedBytes -= n;
    if (this.wantsDrain && this.queuedBytes < HIGH_WATER_BYTES) {
      this.wantsDrain = false;
      this.onDrain?.();
    }
  }

  /** @internal The connection is done with the stream. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.queue.length = 0;
    this.onClose?.();
  }
}
