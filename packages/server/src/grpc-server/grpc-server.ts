/**
 * GrpcServer: the gRPC server side on Node's HTTP/2, for the handful of things a member's services
 * need — unary, server-streaming and bidirectional calls, identity encoding, metadata, deadlines,
 * statuses. It replaces grpc-js's server, whose per-call machinery (interceptor chains, metadata
 * objects, channelz, a timer per deadline) cost more CPU than the member's own work on a put.
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

import {
  createServer,
  type Http2Server,
  type IncomingHttpHeaders,
  type ServerHttp2Session,
  type ServerHttp2Stream,
} from 'node:http2';
import type { Duplex } from 'node:stream';
import type { ServiceDefinition } from '@grpc/proto-loader';
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

/** See the file comment. */
export class GrpcServer {
  private readonly methods = new Map<string, Registered>();
  private readonly http2: Http2Server;
  private readonly sessions = new Set<ServerHttp2Session>();

  constructor(
    /** Largest request message accepted (etcd's --max-request-bytes plus gRPC's overhead). */
    private readonly maxReceiveBytes: number,
  ) {
    // Node's default session memory cap (10 MB) would refuse streams under a burst of large
    // requests with ENHANCE_YOUR_CALM; gRPC servers do not cap it.
    this.http2 = createServer({ maxSessionMemory: Number.MAX_SAFE_INTEGER });
    this.http2.on('stream', (stream, headers) => this.onStream(stream, headers));
    this.http2.on('session', (session: ServerHttp2Session) => {
      this.sessions.add(session);
      session.on('close', () => this.sessions.delete(session));
      session.on('error', () => undefined); // the connection dropped; its calls see 'cancelled'
    });
    this.http2.on('sessionError', () => undefined);
  }

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

  /** Takes a connection whose first bytes are the HTTP/2 preface (ClientListener's ConnectionSink). */
  injectConnection(connection: Duplex): void {
    this.http2.emit('connection', connection);
  }

  /** Sends GOAWAY on every connection and waits (up to a grace period) for calls in flight. */
  async close(): Promise<void> {
    const open = [...this.sessions];
    await Promise.all(
      open.map(
        (s) =>
          new Promise<void>((resolve) => {
            if (s.closed || s.destroyed) return resolve();
            const timer = setTimeout(() => s.destroy(), CLOSE_GRACE_MS);
            s.close(() => {
              clearTimeout(timer);
              resolve();
            });
          }),
      ),
    );
  }

  private onStream(stream: ServerHttp2Stream, headers: IncomingHttpHeaders): void {
    stream.on('error', () => undefined);
    const contentType = headers['content-type'];
    if (
      headers[':method'] !== 'POST' ||
      typeof contentType !== 'string' ||
      !contentType.startsWith('application/grpc')
    ) {
      stream.respond({ ':status': 415 }, { endStream: true });
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
        {
          ':status': 200,
          'content-type': 'application/grpc',
          'grpc-status': String(refusal!.code),
          'grpc-message': encodeGrpcMessage(refusal!.details),
        },
        { endStream: true },
      );
      stream.resume(); // drop whatever the client sends
      return;
    }
    const { method, handler } = found;
    const call = new ServerCall(stream, headers, method, this.maxReceiveBytes);
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
