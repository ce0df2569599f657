/**
 * GrpcServer: the gRPC server side of a member's client port, for the handful of things its
 * services need — unary, server-streaming and bidirectional calls, identity encoding, metadata,
 * deadlines, statuses — on our own HTTP/2 (h2/h2-connection.ts). It replaces grpc-js's server,
 * whose per-call machinery (interceptor chains, metadata objects, channelz, a timer per
 * deadline) cost more CPU than the member's own work on a put, and Node's HTTP/2, whose per-call
 * Duplex streams and header objects cost about as much again.
 *
 * Connections come from ClientListener (`injectConnection`), already sorted from HTTP/1.1 and,
 * with TLS, already negotiated ('h2' by ALPN). Each HTTP/2 stream is one call:
 *
 *   1. `:path` names the method (`/etcdserverpb.KV/Put`); an unknown one is UNIMPLEMENTED, a
 *      non-gRPC content type HTTP 415, a compressed request UNIMPLEMENTED (identity only);
 *   2. a unary or server-streaming handler starts once its one request message is complete and
 *      the client has half-closed; a bidirectional one starts at once and gets 'data' events;
 *   3. the handler answers through its ServerCall (see server-call.ts).
 */

import type { Duplex } from 'node:stream';
import type { ServiceDefinition } from '@grpc/proto-loader';
import { H2Connection } from '../h2/h2-connection.js';
import type { H2Stream } from '../h2/h2-stream.js';
import { encodeHeaderBlock } from '../h2/hpack.js';
import { type AnyMethod, ServerCall, type ServiceCall } from './server-call.js';
import { type CallStatus, encodeGrpcMessage, Status } from './status.js';

/** A unary handler: reply through `callback` once. */
export type UnaryHandler = (
  call: ServiceCall,
  callback: (err: CallStatus | null, value?: unknown) => void,
) => void;
/** A streaming handler: it writes to and ends `call` itself. */
export type StreamHandler = (call: ServiceCall) => void;
/** A service's handlers by method name (as in the .proto: `Put`, `Watch`, …). */
export type ServiceImplementation = Readonly<Record<string, UnaryHandler | StreamHandler>>;

interface Registered {
  readonly method: AnyMethod;
  readonly handler: UnaryHandler | StreamHandler;
}

/** How long a closing server waits for calls in flight before dropping their connections. */
const CLOSE_GRACE_MS = 1000;

/** The reply to a request that is not gRPC at all. */
const UNSUPPORTED_MEDIA_TYPE = encodeHeaderBlock([[':status', '415']]);

/** See the file comment. */
export class GrpcServer {
  private readonly methods = new Map<string, Registered>();
  private readonly connections = new Set<H2Connection>();

  constructor(
    /** Largest request message accepted (etcd's --max-request-bytes plus gRPC's overhead). */
    private readonly maxReceiveBytes: number,
  ) {}

  /** Serves every method of `definition` with the handler of the same name in `implementation`. */
  addService(definition: ServiceDefinition, implementation: ServiceImplementation): void {
    for (const [name, method] of Object.entries(definition)) {
      const handler = implementation[name] ?? implementation[method.originalName ?? ''];
      if (handler === undefined) throw new Error(`grpc: no handler for ${method.path}`);
      if (method.requestStream && !method.responseStream) {
        throw new Error(`grpc: client-streaming methods are not supported (${method.path})`);
      }
      this.methods.set(method.path, { method: method as AnyMethod, handler });
    }
  }

  /**
   * Takes a connection speaking HTTP/2 (ClientListener's ConnectionSink); `head` is what was
   * already read from it (at least the start of the preface), if anything.
   */
  injectConnection(connection: Duplex, head: Buffer = Buffer.alloc(0)): void {
    const c: H2Connection = new H2Connection(connection, head, {
      onStream: (stream) => this.onStream(stream),
      onClose: () => this.connections.delete(c),
    });
    this.connections.add(c);
  }

  /** Sends GOAWAY on every connection and waits (up to a grace period) for calls in flight. */
  async close(): Promise<void> {
    await Promise.all(
      [...this.connections].map((c) => {
        const timer = setTimeout(() => c.destroy(), CLOSE_GRACE_MS);
        return c.close().finally(() => clearTimeout(timer));
      }),
    );
  }

  private onStream(stream: H2Stream): void {
    const headers = stream.headers;
    const contentType = headers['content-type'];
    if (
      headers[':method'] !== 'POST' ||
      typeof contentType !== 'string' ||
      !contentType.startsWith('application/grpc')
    ) {
      stream.respond(UNSUPPORTED_MEDIA_TYPE, true);
      return;
    }
    const path = headers[':path'] ?? '';
    const found = this.methods.get(path);
    const encoding = headers['grpc-encoding'];
    const refusal: CallStatus | undefined =
      found === undefined
        ? { code: Status.UNIMPLEMENTED, details: `unknown method ${path}` }
        : encoding !== undefined && encoding !== 'identity'
          ? {
              code: Status.UNIMPLEMENTED,
              details: `grpc: Decompressor is not installed for grpc-encoding "${encoding}"`,
            }
          : undefined;
    if (refusal !== undefined || found === undefined) {
      stream.respond(
        encodeHeaderBlock([
          [':status', '200'],
          ['content-type', 'application/grpc'],
          ['grpc-status', String(refusal!.code)],
          ['grpc-message', encodeGrpcMessage(refusal!.details)],
        ]),
        true,
      );
      return; // whatever the client still sends is dropped with the stream
    }
    const { method, handler } = found;
    const call = new ServerCall(stream, method, this.maxReceiveBytes);
    const run = (fn: () => void) => {
      try {
        fn();
      } catch (err) {
        call.sendStatus({ code: Status.UNKNOWN, details: (err as Error)?.message ?? String(err) });
      }
    };
    if (method.requestStream) {
      call.readRequests(
        (msg) => call.emit('data', msg),
        () => call.emit('end'),
      );
      run(() => (handler as StreamHandler)(call));
      return;
    }
    let received = 0;
    call.readRequests(
      (msg) => {
        received++;
        call.request = msg;
      },
      () => {
        if (received !== 1) {
          call.sendStatus({
            code: received === 0 ? Status.INTERNAL : Status.UNIMPLEMENTED,
            details:
              received === 0
                ? 'grpc: the request stream ended without a message'
                : 'grpc: too many request messages for a unary call',
          });
          return;
        }
        if (method.responseStream) run(() => (handler as StreamHandler)(call));
        else run(() => (handler as UnaryHandler)(call, (err, value) => call.reply(err, value)));
      },
    );
  }
}
