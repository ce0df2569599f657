/**
 * etcd's JSON gateway (grpc-gateway in etcd 3.4) on the client port: `POST /v3/<service>/<method>`
 * with a protobuf-JSON body (json-codec.ts) calls the same handlers as gRPC — the service table's
 * implementations, through the small call adapters below — and answers in the same JSON.
 * Streams as grpc-gateway streams them: the request body is a sequence of JSON objects (one per
 * request message), the response one `{"result": ...}` object per line; the response ends when
 * the handler ends the stream or the HTTP client goes away.
 * The `Authorization` header carries the auth token, as the gateway forwards it to etcd.
 * Errors: `{"error", "message", "code"}` with grpc-gateway's HTTP status for the gRPC code.
 *
 * Does not: serve the gateway's GET forms or CORS preflight; routes whose service is not in the
 * table answer 404 as unknown paths do.
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
import { jsonToWire, wireToJson } from './json-codec.js';
import { GATEWAY_ROUTES } from './routes.js';

/** grpc-gateway v1's HTTP status for each gRPC status code (runtime.HTTPStatusFromCode). */
const HTTP_STATUS: Readonly<Record<number, number>> = {
  [Status.OK]: 200,
  [Status.CANCELLED]: 408,
  [Status.UNKNOWN]: 500,
  [Status.INVALID_ARGUMENT]: 400,
  [Status.DEADLINE_EXCEEDED]: 504,
  [Status.NOT_FOUND]: 404,
  [Status.ALREADY_EXISTS]: 409,
  [Status.PERMISSION_DENIED]: 403,
  [Status.UNAUTHENTICATED]: 401,
  [Status.RESOURCE_EXHAUSTED]: 429,
  [Status.FAILED_PRECONDITION]: 412,
  [Status.ABORTED]: 409,
  [Status.OUT_OF_RANGE]: 400,
  [Status.UNIMPLEMENTED]: 501,
  [Status.INTERNAL]: 500,
  [Status.UNAVAILABLE]: 503,
  [Status.DATA_LOSS]: 500,
};

/** Largest JSON request body read (etcd's default request limit plus room for base64). */
export const DEFAULT_GATEWAY_MAX_BODY_BYTES = 4 * 1024 * 1024;

type Handler = (...args: unknown[]) => void;

interface Route {
  readonly handler: Handler;
  readonly method: MethodDefinition<object, object>;
  readonly requestType: string;
  readonly responseType: string;
}

/** The gateway as startServer's `http` option: true when it answered the request. */
export function jsonGateway(
  node: TsetcdNode,
): (req: IncomingMessage, res: ServerResponse) => Promise<boolean> {
  let routes: Map<string, Route> | undefined;
  return async (req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (!path.startsWith('/v3/')) return false;
    routes ??= buildRoutes(node);
    const route = routes.get(path);
    if (route === undefined) return false;
    if (req.method !== 'POST') {
      res.writeHead(405, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('Method Not Allowed\n');
      return true;
    }
    const auth = req.headers.authorization;
    const metadata = new CallMetadata(auth !== undefined && auth !== '' ? { authorization: auth } : {});
    if (route.method.requestStream) serveBidi(route, metadata, req, res);
    else await serveUnaryOrServerStream(route, metadata, req, res);
    return true;
  };
}

function buildRoutes(node: TsetcdNode): Map<string, Route> {
  const byPath = new Map<string, Omit<Route, 'requestType' | 'responseType'>>();
  for (const { definition, implementation } of serviceTable(node, loadEtcdProtos())) {
    for (const [name, method] of Object.entries(definition)) {
      const handler = implementation[name];
      if (handler !== undefined)
        byPath.set(method.path, {
          handler: handler as Handler,
          method: method as MethodDefinition<object, object>,
        });
    }
  }
  const routes = new Map<string, Route>();
  for (const [path, { service, method }] of Object.entries(GATEWAY_ROUTES)) {
    const found = byPath.get(`/${service}/${method}`);
    if (found === undefined) continue;
    const pkg = service.slice(0, service.indexOf('.'));
    const m = found.method as unknown as {
      requestType: { type: { name: string } };
      responseType: { type: { name: string } };
    };
    routes.set(path, {
      ...found,
      requestType: `${pkg}.${m.requestType.type.name}`,
      responseType: `${pkg}.${m.responseType.type.name}`,
    });
  }
  return routes;
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

async function serveUnaryOrServerStream(
  route: Route,
  metadata: CallMetadata,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  let request: unknown;
  try {
    const body = await readBody(req);
    const parsed: unknown = body.trim() === '' ? {} : JSON.parse(body);
    request = route.method.requestDeserialize(jsonToWire(parsed, route.requestType));
  } catch (err) {
    sendError(res, { code: Status.INVALID_ARGUMENT, details: (err as Error).message });
    return;
  }
  const toJson = (msg: object) => wireToJson(route.method.responseSerialize(msg), route.responseType);
  if (!route.method.responseStream) {
    await new Promise<void>((resolve) => {
      const call = new GatewayCall(
        metadata,
        request,
        () => undefined,
        () => undefined,
      );
      res.once('close', () => call.cancel());
      route.handler(call, (err: unknown, msg?: object) => {
        if (err !== null && err !== undefined) sendError(res, wireOf(err));
        else sendJson(res, 200, toJson(msg ?? {}));
        resolve();
      });
    });
    return;
  }
  const stream = openStream(res, toJson);
  const call = new GatewayCall(metadata, request, stream.write, stream.end);
  res.once('close', () => call.cancel());
  route.handler(call);
}

function serveBidi(route: Route, metadata: CallMetadata, req: IncomingMessage, res: ServerResponse): void {
  const toJson = (msg: object) => wireToJson(route.method.responseSerialize(msg), route.responseType);
  const stream = openStream(res, toJson);
  const call = new GatewayCall(metadata, undefined, stream.write, stream.end);
  res.once('close', () => call.cancel());
  route.handler(call);
  const splitter = new JsonSplitter();
  req.setEncoding('utf8');
  req.on('data', (chunk: string) => {
    try {
      for (const text of splitter.push(chunk)) {
        const msg = route.method.requestDeserialize(jsonToWire(JSON.parse(text), route.requestType));
        call.emit('data', msg);
      }
    } catch (err) {
      stream.end({ code: Status.INVALID_ARGUMENT, details: (err as Error).message });
    }
  });
  // As grpc-gateway: the end of the request body half-closes the stream; responses go on until
  // the handler ends it or the HTTP client goes away.
}

/** A streamed response: one `{"result": msg}` per line, an error as `{"error": {...}}`. */
function openStream(
  res: ServerResponse,
  toJson: (msg: object) => unknown,
): { write: (msg: object) => void; end: (err?: WireError) => void } {
  let ended = false;
  res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
  res.flushHeaders();
  return {
    write: (msg) => {
      if (!ended) res.write(`${JSON.stringify({ result: toJson(msg) })}\n`);
    },
    end: (err) => {
      if (ended) return;
      ended = true;
      if (err !== undefined) res.write(`${JSON.stringify({ error: errorBody(err) })}\n`);
      res.end();
    },
  };
}

/** Splits concatenated JSON objects (grpc-gateway decodes the body with json.Decoder). */
class JsonSplitter {
  private buf = '';
  push(chunk: string): string[] {
    this.buf += chunk;
    const out: string[] = [];
    let depth = 0;
    let inString = false;
    let start = -1;
    let consumed = 0;
    for (let i = 0; i < this.buf.length; i++) {
      const c = this.buf[i];
      if (inString) {
        if (c === '\\') i++;
        else if (c === '"') inString = false;
        continue;
      }
      if (c === '"') inString = true;
      else if (c === '{') {
        if (depth++ === 0) start = i;
      } else if (c === '}' && --depth === 0) {
        out.push(this.buf.slice(start, i + 1));
        consumed = i + 1;
      } else if (depth === 0 && c !== undefined && !/\s/.test(c))
        throw new SyntaxError(`invalid character '${c}'`);
    }
    this.buf = this.buf.slice(consumed);
    return out;
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > DEFAULT_GATEWAY_MAX_BODY_BYTES) {
        reject(new Error('etcdserver: request is too large'));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function errorBody(err: WireError): { error: string; message: string; code: number } {
  return { error: err.details, message: err.details, code: err.code };
}

function sendError(res: ServerResponse, err: WireError): void {
  sendJson(res, HTTP_STATUS[err.code] ?? 500, errorBody(err));
}

function sendJson(res: ServerResponse, code: number, body: unknown): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(code, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}
