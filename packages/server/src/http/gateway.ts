/**
 * etcd's JSON gateway (grpc-gateway v1 in etcd 3.4) on the client port, and the rest of what etcd
 * answers there from Go's HTTP stack (mux.ts decides which answer, go-http.ts writes Go's own).
 * `POST /v3/<service>/<method>` (or `/v3beta/…`) with a jsonpb body calls the same handlers as
 * gRPC — the service table's implementations, through the small call adapter below — and
 * answers in the same JSON (json-codec.ts):
 *
 * - unary calls: the first JSON value of the body is the request (jsonpb-decode.ts, which reads
 *   it as Go does and refuses what Go refuses, 400 code 3); what follows it is never read;
 * - server streams: the same request; one `{"result": …}` line per message (stream-response.ts);
 * - bidirectional streams (/v3/watch, /v3/lease/keepalive): each JSON value of the body is one
 *   request message. A first message that does not decode is a 500 with code 2 and no stream;
 *   a later one half-closes the stream, as the body's end does. No response head is written
 *   until the first response message.
 *
 * A request larger than the gRPC receive limit (the request limit plus 512 KiB) is refused with
 * grpc-go's error, as etcd's own gRPC server refuses what its gateway forwards. The
 * `Authorization` header carries the auth token, as the gateway forwards it to etcd.
 *
 * Does not: serve websockets (etcd's wsproxy), or /debug/vars and /config/local/log.
 */

import { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { MethodDefinition } from '@grpc/proto-loader';
import type { TsetcdNode } from '@tsetcd/core';
import { toWireError, type WireError } from '../grpc/errors.js';
import { serviceTable } from '../grpc/services.js';
import { CallMetadata } from '../grpc-server/server-call.js';
import { Status } from '../grpc-server/status.js';
import { loadEtcdProtos } from '../proto.js';
import { errorBody, httpStatusOf } from './gateway-errors.js';
import { goBadRequest, goError, goRedirect, setCorsHeaders } from './go-http.js';
import { type Span, scanNext } from './go-json.js';
import { wireToJson } from './json-codec.js';
import { JsonMessageStream } from './json-message-stream.js';
import { decodeRequest, isJsonpbError } from './jsonpb-decode.js';
import { route as muxRoute } from './mux.js';
import { StreamResponse } from './stream-response.js';

/** What etcd's gRPC server accepts beyond --max-request-bytes (grpc-go's receive limit). */
export const GRPC_OVERHEAD_BYTES = 512 * 1024;

/**
 * The most body bytes the gateway buffers for one request (a unary body, or one message of a
 * stream), 64 MiB with the default limits: far above anything the request limit lets through (a JSON body may carry whitespace
 * and unknown fields that decode to nothing), but bounded, so a client cannot make a member hold
 * an endless body in memory. etcd's gateway sets no such bound; past it we answer 429, code 8.
 */
function bodyLimit(maxRecv: number): number {
  return 32 * maxRecv;
}

/** The refusal of a body over bodyLimit. */
function bodyTooLarge(limit: number): WireError {
  return { code: Status.RESOURCE_EXHAUSTED, details: `gateway: request body larger than ${limit} bytes` };
}

type Handler = (...args: unknown[]) => void;

/** A gRPC method as the gateway calls it. */
interface Method {
  readonly handler: Handler;
  readonly def: MethodDefinition<object, object>;
  readonly requestType: string;
  readonly responseType: string;
}

/** The gateway as startServer's `http` option: it answers every request it is given. */
export function jsonGateway(
  node: TsetcdNode,
): (req: IncomingMessage, res: ServerResponse) => Promise<boolean> {
  let methods: Map<string, Method> | undefined;
  const maxRecv = (): number => node.parts.config.maxRequestBytes + GRPC_OVERHEAD_BYTES;
  return async (req, res) => {
    const method = req.method ?? 'GET';
    const m = muxRoute({
      method,
      url: req.url ?? '/',
      contentType: req.headers['content-type'],
      methodOverride: header(req, 'x-http-method-override'),
    });
    if (m.type === 'badRequest') {
      goBadRequest(res);
      return true;
    }
    setCorsHeaders(res);
    switch (m.type) {
      case 'options':
        res.writeHead(200);
        res.end();
        return true;
      case 'redirect':
        goRedirect(res, method, m.location);
        return true;
      case 'goNotFound':
        goError(res, 404, '404 page not found\n');
        return true;
      case 'gatewayNotFound':
        goError(res, 404, 'Not Found\n');
        return true;
      case 'methodNotAllowed':
        goError(res, 405, 'Method Not Allowed\n');
        return true;
    }
    methods ??= buildMethods(node);
    const target = methods.get(`/${m.route.service}/${m.route.method}`);
    if (target === undefined) {
      sendError(res, { code: Status.UNIMPLEMENTED, details: `unknown service ${m.route.service}` });
      return true;
    }
    // Forwarded as it is: an empty header is an empty token, which the handlers refuse as etcd does.
    const auth = req.headers.authorization;
    const metadata = new CallMetadata(auth === undefined ? {} : { authorization: auth });
    const call: Call = { method: target, metadata, req, res, maxRecv: maxRecv(), bodyIgnored: m.bodyIgnored };
    if (target.def.requestStream) serveBidi(call);
    else await serveUnaryOrServerStream(call);
    return true;
  };
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function buildMethods(node: TsetcdNode): Map<string, Method> {
  const out = new Map<string, Method>();
  for (const { definition, implementation } of serviceTable(node, loadEtcdProtos())) {
    for (const [name, method] of Object.entries(definition)) {
      const handler = implementation[name];
      if (handler === undefined) continue;
      const def = method as MethodDefinition<object, object>;
      const types = method as unknown as {
        requestType: { type: { name: string } };
        responseType: { type: { name: string } };
      };
      const pkg = def.path.slice(1, def.path.indexOf('.'));
      out.set(def.path, {
        handler: handler as Handler,
        def,
        requestType: `${pkg}.${types.requestType.type.name}`,
        responseType: `${pkg}.${types.responseType.type.name}`,
      });
    }
  }
  return out;
}

/** One gateway call in the making. */
interface Call {
  readonly method: Method;
  readonly metadata: CallMetadata;
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly maxRecv: number;
  /** The body was consumed before the gateway saw it (a method-override form): the request is empty. */
  readonly bodyIgnored: boolean;
}

/** A gRPC call as the handlers see it (what grpc-js's server calls have that they use). */
class GatewayCall extends EventEmitter {
  cancelled = false;
  constructor(
    readonly metadata: CallMetadata,
    readonly request: unknown,
    private readonly onWrite: (msg: object) => void,
    private readonly onEnd: (err?: WireError) => void,
  ) {
    super();
    // A handler's 'error' is the stream's status; never let it throw as an unhandled event.
    this.on('error', (err: unknown) => this.onEnd(wireOf(err)));
  }
  getDeadline(): number {
    return Number.POSITIVE_INFINITY;
  }
  getPeer(): string {
    return 'gateway';
  }
  getPath(): string {
    return '';
  }
  sendMetadata(): void {}
  write(msg: object): boolean {
    this.onWrite(msg);
    return true;
  }
  end(): void {
    this.onEnd();
  }
  sendStatus(s: WireError): void {
    this.onEnd(s);
  }
  destroy(err?: unknown): void {
    this.onEnd(err === undefined ? undefined : wireOf(err));
  }
  /** The HTTP client went away. */
  cancel(): void {
    if (this.cancelled) return;
    this.cancelled = true;
    this.emit('cancelled');
  }
}

function wireOf(err: unknown): WireError {
  const e = err as { code?: unknown; details?: unknown } | null;
  if (typeof e?.code === 'number' && typeof e.details === 'string')
    return { code: e.code as WireError['code'], details: e.details };
  return toWireError(err);
}

/**
 * The request in `buf[span]` as wire bytes, or the error grpc-gateway's decoding gives. (A null
 * item in a list of messages crashes etcd's gateway, which drops the connection; it is refused
 * here as any other bad body is.)
 */
function decode(call: Call, buf: Uint8Array, span: Span): { wire: Buffer } | { err: Error } {
  try {
    return { wire: decodeRequest(buf, span, call.method.requestType) };
  } catch (err) {
    if (!isJsonpbError(err)) throw err;
    return { err: err as Error };
  }
}

/** grpc-go's refusal of a request larger than the receive limit, or undefined. */
function tooLarge(call: Call, wire: Buffer): WireError | undefined {
  if (wire.length <= call.maxRecv) return undefined;
  return {
    code: Status.RESOURCE_EXHAUSTED,
    details: `grpc: received message larger than max (${wire.length} vs. ${call.maxRecv})`,
  };
}

function toJsonOf(call: Call): (msg: object) => unknown {
  const { def, responseType } = call.method;
  return (msg) => wireToJson(def.responseSerialize(msg), responseType);
}

async function serveUnaryOrServerStream(call: Call): Promise<void> {
  const { method, res } = call;
  const body = call.bodyIgnored ? Buffer.alloc(0) : await readBody(call.req, bodyLimit(call.maxRecv));
  if (body === undefined) {
    refuseBody(call);
    return;
  }
  let wire: Buffer = Buffer.alloc(0);
  try {
    const first = scanNext(body, 0, true);
    if (first.type === 'value') {
      const d = decode(call, body, first.span);
      if ('err' in d) throw d.err;
      wire = d.wire;
    }
  } catch (err) {
    if (!isJsonpbError(err)) throw err;
    if (!res.destroyed) sendError(res, { code: Status.INVALID_ARGUMENT, details: err.message });
    return;
  }
  const refused = tooLarge(call, wire);
  if (!method.def.responseStream) {
    if (refused !== undefined) {
      sendError(res, refused);
      return;
    }
    const request = method.def.requestDeserialize(wire);
    const toJson = toJsonOf(call);
    await new Promise<void>((resolve) => {
      const c = new GatewayCall(
        call.metadata,
        request,
        () => undefined,
        () => undefined,
      );
      res.once('close', () => c.cancel());
      method.handler(c, (err: unknown, msg?: object) => {
        if (err !== null && err !== undefined) sendError(res, wireOf(err));
        else sendJson(res, 200, toJson(msg ?? {}));
        resolve();
      });
    });
    return;
  }
  const stream = new StreamResponse(res, toJsonOf(call));
  if (refused !== undefined) {
    stream.end(refused);
    return;
  }
  const c = new GatewayCall(call.metadata, method.def.requestDeserialize(wire), stream.write, stream.end);
  res.once('close', () => c.cancel());
  method.handler(c);
}

/**
 * A bidirectional stream. Steps:
 * 1. Read the body until its first JSON value (or its end) is whole.
 * 2. A value that does not decode: 500, code 2, and no call. The end of the body: the call,
 *    half-closed at once.
 * 3. Otherwise start the handler with that message; send each later value as it comes. A later
 *    value that does not decode, or the body's end, half-closes the call ('end').
 */
function serveBidi(call: Call): void {
  const { method, req, res } = call;
  const messages = new JsonMessageStream();
  const stream = new StreamResponse(res, toJsonOf(call));
  let c: GatewayCall | undefined;
  let done = false;

  const start = (): GatewayCall => {
    const started = new GatewayCall(call.metadata, undefined, stream.write, stream.end);
    res.once('close', () => started.cancel());
    method.handler(started);
    return started;
  };
  const halfClose = (): void => {
    done = true;
    c ??= start();
    c.emit('end');
  };
  const pump = (): void => {
    while (!done) {
      let next: ReturnType<JsonMessageStream['next']>;
      let wire: Buffer;
      try {
        next = messages.next();
        if (next.type === 'more') return;
        if (next.type === 'eof') {
          halfClose();
          return;
        }
        const d = decode(call, next.buf, next.span);
        if ('err' in d) throw d.err;
        wire = d.wire;
      } catch (err) {
        if (!isJsonpbError(err)) {
          // Not the body's fault: fail the stream rather than the member (this runs in an event).
          done = true;
          stream.end(toWireError(err));
          c?.cancel();
          return;
        }
        if (c !== undefined) halfClose();
        else {
          done = true;
          if (!res.destroyed) sendError(res, { code: Status.UNKNOWN, details: err.message });
        }
        return;
      }
      const refused = tooLarge(call, wire);
      if (refused !== undefined) {
        done = true;
        stream.end(refused);
        c?.cancel();
        return;
      }
      c ??= start();
      c.emit('data', method.def.requestDeserialize(wire));
    }
  };

  if (call.bodyIgnored) {
    messages.end();
    pump();
    return;
  }
  req.on('data', (chunk: Buffer) => {
    if (done) return;
    messages.push(chunk);
    if (messages.buffered > bodyLimit(call.maxRecv)) {
      done = true;
      if (c === undefined) refuseBody(call);
      else {
        stream.end(bodyTooLarge(bodyLimit(call.maxRecv)));
        c.cancel();
        req.destroy();
      }
      return;
    }
    pump();
  });
  req.on('end', () => {
    messages.end();
    pump();
  });
  // A client that goes away mid-body: 'close' on the response cancels the call.
  req.on('error', () => undefined);
}

/** The whole request body, or undefined once it grows past `limit` (the rest is not read). */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let bytes = 0;
    const onData = (c: Buffer): void => {
      bytes += c.length;
      if (bytes > limit) {
        req.off('data', onData);
        resolve(undefined);
        return;
      }
      chunks.push(c);
    };
    req.on('data', onData);
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** Answers a body over the limit and closes the connection, reading no more of it. */
function refuseBody(call: Call): void {
  const err = bodyTooLarge(bodyLimit(call.maxRecv));
  if (!call.res.headersSent && !call.res.destroyed) {
    call.res.writeHead(httpStatusOf(err.code), { 'content-type': 'application/json', connection: 'close' });
    call.res.end(JSON.stringify(errorBody(err)), () => call.req.destroy());
  } else call.req.destroy();
}

function sendError(res: ServerResponse, err: WireError): void {
  sendJson(res, httpStatusOf(err.code), errorBody(err));
}

function sendJson(res: ServerResponse, code: number, body: unknown): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(code, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}
