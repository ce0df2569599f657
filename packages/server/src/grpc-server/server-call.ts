/**
 * ServerCall: one gRPC call on one HTTP/2 stream, as the service handlers see it — the request
 * (or a 'data' event per request message on a client stream), the caller's metadata and deadline,
 * `write` for response messages, and exactly one status at the end:
 *
 *   - the response headers go out with the first message; a call that fails before any message
 *     is answered "trailers-only" (one HEADERS frame carrying the status);
 *   - `end()` sends status OK, `sendStatus()` any other; both are no-ops once the call is over;
 *   - the client resetting the stream or the connection closing first is 'cancelled'.
 *
 * Events: 'data' (a request message of a client stream), 'end' (the client half-closed), 'drain'
 * (write() may be called again after it returned false), 'cancelled', 'close' (always last).
 */

import { EventEmitter } from 'node:events';
import type { IncomingHttpHeaders } from 'node:http2';
import type { MethodDefinition } from '@grpc/proto-loader';
import type { H2Stream } from '../h2/h2-stream.js';
import { encodeHeaderBlock } from '../h2/hpack.js';
import { Deframer, type FramingError, frameMessage } from './framing.js';
import { type CallStatus, encodeGrpcMessage, parseGrpcTimeout, Status } from './status.js';

/** A method as the server needs it (proto-loader's definition, types erased). */
export type AnyMethod = MethodDefinition<object, object>;

/** The caller's metadata (HTTP/2 headers), read the way grpc-js's Metadata is. */
export class CallMetadata {
  constructor(private readonly headers: IncomingHttpHeaders) {}

  /** Every value of `key` (lower-cased); `-bin` keys are base64-decoded. */
  get(key: string): (string | Buffer)[] {
    const k = key.toLowerCase();
    const v = this.headers[k];
    if (v === undefined) return [];
    const all = Array.isArray(v) ? v : [v];
    return k.endsWith('-bin') ? all.map((x) => Buffer.from(x, 'base64')) : all;
  }
}

/** A listener of a call's events (typed loosely, as Node's EventEmitter types them). */
// biome-ignore lint/suspicious/noExplicitAny: each event has its own arguments, as with EventEmitter.
type EventListener = (...args: any[]) => void;

/**
 * A call as the service handlers use it. ServerCall is the gRPC one; the JSON gateway serves the
 * same handlers through its own.
 */
export interface ServiceCall {
  /** The request message (unary and server-streaming calls). */
  readonly request: unknown;
  readonly metadata: { get(key: string): (string | Buffer)[] };
  /** The caller's deadline as an absolute `Date.now()` time in ms (Infinity for none). */
  getDeadline(): number;
  /** Sends a response message; false means wait for 'drain'. */
  write(msg: unknown): boolean;
  /**
   * Optional: sends a response message already encoded and framed (the 5-byte gRPC prefix, then
   * the message), for responses cheaper to encode by hand; false means wait for 'drain'.
   */
  writeFrame?(frame: Buffer): boolean;
  /** Ends the call with status OK. */
  end(): void;
  /** Ends the call with `status`. */
  sendStatus(status: CallStatus): void;
  on(event: 'data' | 'end' | 'drain' | 'cancelled' | 'close' | 'error', listener: EventListener): unknown;
  once(event: 'data' | 'end' | 'drain' | 'cancelled' | 'close' | 'error', listener: EventListener): unknown;
  removeListener(event: string, listener: EventListener): unknown;
}

/** The response headers of every call that sends a message, and the trailers of a call that succeeded. */
const RESPONSE_HEADERS: readonly (readonly [string, string])[] = [
  [':status', '200'],
  ['content-type', 'application/grpc'],
  ['grpc-accept-encoding', 'identity'],
];
const RESPONSE_HEADERS_BLOCK = encodeHeaderBlock(RESPONSE_HEADERS);
const OK_TRAILERS_BLOCK = encodeHeaderBlock([['grpc-status', '0']]);

/** The trailer fields of a status. */
function statusFields(status: CallStatus): [string, string][] {
  const fields: [string, string][] = [['grpc-status', String(status.code)]];
  if (status.details !== '') fields.push(['grpc-message', encodeGrpcMessage(status.details)]);
  return fields;
}

/** See the file comment. */
export class ServerCall extends EventEmitter implements ServiceCall {
  /** The request message of a call whose client sends exactly one (unary, server-streaming). */
  request: unknown;
  /** The caller's metadata. */
  readonly metadata: CallMetadata;
  private readonly deadlineMs: number;
  private headersSent = false;
  private over = false;
  private awaitingDrain = false;
  private readonly deframer: Deframer;

  constructor(
    private readonly stream: H2Stream,
    private readonly method: AnyMethod,
    maxReceiveBytes: number,
  ) {
    super();
    const headers = stream.headers;
    this.metadata = new CallMetadata(headers);
    const timeout = parseGrpcTimeout(headers['grpc-timeout'] as string | undefined);
    this.deadlineMs = timeout === undefined ? Number.POSITIVE_INFINITY : Date.now() + timeout;
    this.deframer = new Deframer(maxReceiveBytes);
    // A reset by the client or a dropped connection, or the end of a call that finished.
    stream.onClose = () => {
      if (!this.over) {
        this.over = true;
        this.emit('cancelled');
      }
      this.emit('close');
    };
    stream.onDrain = () => {
      if (!this.awaitingDrain) return;
      this.awaitingDrain = false;
      this.emit('drain');
    };
  }

  /** The caller's deadline as an absolute `Date.now()` time in ms (Infinity for none). */
  getDeadline(): number {
    return this.deadlineMs;
  }

  /** Whether a status was sent or the call was cancelled. */
  get finished(): boolean {
    return this.over;
  }

  /**
   * Reads the request stream: each complete message goes to `onMessage`, then `onEnd` when the
   * client half-closes. A malformed or oversized message ends the call with a status instead.
   */
  readRequests(onMessage: (msg: unknown) => void, onEnd: () => void): void {
    this.stream.onData = (chunk: Buffer) => {
      if (this.over) return;
      let msgs: Buffer[];
      try {
        msgs = this.deframer.push(chunk);
      } catch (err) {
        const e = err as FramingError;
        this.sendStatus({
          code: e.tooLarge ? Status.RESOURCE_EXHAUSTED : Status.INTERNAL,
          details: e.message,
        });
        return;
      }
      for (const m of msgs) {
        let decoded: unknown;
        try {
          decoded = this.method.requestDeserialize(m);
        } catch (err) {
          this.sendStatus({
            code: Status.INTERNAL,
            details: `grpc: error unmarshalling request: ${(err as Error).message}`,
          });
          return;
        }
        onMessage(decoded);
        if (this.over) return;
      }
    };
    this.stream.onEnd = () => {
      if (this.over) return;
      if (this.deframer.partial) {
        this.sendStatus({
          code: Status.INTERNAL,
          details: 'grpc: the request stream ended inside a message',
        });
        return;
      }
      onEnd();
    };
  }

  /** Sends one response message; false means wait for 'drain' before writing much more. */
  write(msg: unknown): boolean {
    if (this.over || this.stream.closed) return false;
    return this.writeFrame(frameMessage(this.method.responseSerialize(msg as object)));
  }

  /** Sends one response message already framed; false means wait for 'drain'. */
  writeFrame(frame: Buffer): boolean {
    if (this.over || this.stream.closed) return false;
    this.sendHeaders();
    if (this.stream.write(frame)) return true;
    this.awaitingDrain = true;
    return false;
  }

  /** Ends the call with status OK. */
  end(): void {
    this.sendStatus({ code: Status.OK, details: '' });
  }

  /** The unary reply: the response, or the status to fail with. */
  reply(err: CallStatus | null, value?: unknown): void {
    if (err !== null) {
      this.sendStatus(err);
      return;
    }
    if (this.over || this.stream.closed) return;
    let bytes: Buffer;
    try {
      bytes = this.method.responseSerialize(value as object);
    } catch (e) {
      this.sendStatus({
        code: Status.INTERNAL,
        details: `grpc: error while marshaling: ${(e as Error).message}`,
      });
      return;
    }
    this.over = true;
    this.sendHeaders();
    this.stream.end(frameMessage(bytes), OK_TRAILERS_BLOCK);
  }

  /** Ends the call with `status` (trailers, or trailers-only before any message). */
  sendStatus(status: CallStatus): void {
    if (this.over) return;
    this.over = true;
    if (this.stream.closed) return;
    if (!this.headersSent) {
      this.headersSent = true;
      this.stream.respond(encodeHeaderBlock([...RESPONSE_HEADERS, ...statusFields(status)]), true);
      return;
    }
    const ok = status.code === Status.OK && status.details === '';
    this.stream.end(undefined, ok ? OK_TRAILERS_BLOCK : encodeHeaderBlock(statusFields(status)));
  }

  private sendHeaders(): void {
    if (this.headersSent) return;
    this.headersSent = true;
    this.stream.respond(RESPONSE_HEADERS_BLOCK, false);
  }
}
