/**
 * startServer: serves a member's client URLs as etcd does — etcd's v3 gRPC services and, on the
 * same port, HTTP: `/health`, `/version`, `/metrics` (and the JSON gateway at `/v3/...`).
 * Each URL is `http://host:port` or `https://host:port` (TLS needs `tls`).
 */

import type { IncomingMessage, ServerResponse } from 'node:http';
import { PROMETHEUS_CONTENT_TYPE, renderPrometheus, type TsetcdNode } from '@tsetcd/core';
import { ClientListener, type ClientTlsOptions } from './client-listener.js';
import { serviceTable } from './grpc/services.js';
import { GrpcServer } from './grpc-server/grpc-server.js';
import { jsonGateway } from './http/gateway.js';
import { goError, setCorsHeaders } from './http/go-http.js';
import { loadEtcdProtos } from './proto.js';

/** The etcd server version this server reports (etcdctl and clients read it). */
export const ETCD_SERVER_VERSION = '3.4.0';
/** etcd's default --max-recv-bytes for gRPC: the request limit plus gRPC overhead. */
const GRPC_OVERHEAD_BYTES = 512 * 1024;

/** What startServer needs. */
export interface ServerOptions {
  /** Client URLs to listen on (etcd's --listen-client-urls). */
  readonly listenClientUrls: readonly string[];
  /** TLS for https:// URLs. */
  readonly tls?: ClientTlsOptions;
  /** Largest request accepted (etcd's --max-request-bytes); default the node's. */
  readonly maxRequestBytes?: number;
  /** Extra HTTP routes (the JSON gateway); return false to fall through to 404. */
  readonly http?: (req: IncomingMessage, res: ServerResponse) => boolean | Promise<boolean>;
}

/** A running client-facing server. */
export interface RunningServer {
  /** The bound URLs (port 0 replaced by the port bound). */
  readonly urls: readonly string[];
  close(): Promise<void>;
}

/** Starts serving `node`'s client URLs; see the file comment. */
export async function startServer(node: TsetcdNode, opts: ServerOptions): Promise<RunningServer> {
  const protos = loadEtcdProtos();
  const http = opts.http ?? jsonGateway(node);
  const maxBytes = (opts.maxRequestBytes ?? node.parts.config.maxRequestBytes) + GRPC_OVERHEAD_BYTES;
  const grpc = new GrpcServer(maxBytes);
  for (const { definition, implementation } of serviceTable(node, protos))
    grpc.addService(definition, implementation);
  const listeners: ClientListener[] = [];
  const urls: string[] = [];
  try {
    for (const url of opts.listenClientUrls) {
      const u = new URL(url);
      const secure = u.protocol === 'https:';
      if (secure && opts.tls === undefined)
        throw new TypeError(`listen-client-urls: ${url} needs a certificate`);
      const l = await ClientListener.listen({
        host: u.hostname,
        port: Number(u.port || 2379),
        grpc,
        http: (req, res) => void handleHttp(node, req, res, http),
        ...(secure && opts.tls !== undefined ? { tls: opts.tls } : {}),
      });
      listeners.push(l);
      urls.push(`${u.protocol}//${u.hostname}:${l.port}`);
    }
  } catch (err) {
    for (const l of listeners) await l.close();
    throw err;
  }
  return {
    urls,
    close: async () => {
      for (const l of listeners) await l.close();
      await grpc.close();
    },
  };
}

async function handleHttp(
  node: TsetcdNode,
  req: IncomingMessage,
  res: ServerResponse,
  extra: ServerOptions['http'],
): Promise<void> {
  try {
    const path = (req.url ?? '/').split('?')[0];
    // etcd serves /health and /version to GET alone (405 otherwise), behind its CORS handler,
    // which answers OPTIONS itself.
    if ((path === '/health' || path === '/version') && req.method !== 'GET') {
      setCorsHeaders(res);
      if (req.method === 'OPTIONS') {
        res.writeHead(200);
        res.end();
      } else {
        res.setHeader('allow', 'GET');
        goError(res, 405, 'Method Not Allowed\n');
      }
      return;
    }
    if (path === '/health') {
      const ok = node.leaderId !== 0n && !node.isClosed && node.parts.store.alarms.list().length === 0;
      const body = JSON.stringify({ health: String(ok) });
      setCorsHeaders(res);
      // As Go writes it: its sniffed content type when healthy, http.Error's text when not.
      if (ok) {
        res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
        res.end(body);
      } else goError(res, 503, `${body}\n`);
      return;
    }
    if (path === '/version') {
      json(res, 200, { etcdserver: ETCD_SERVER_VERSION, etcdcluster: '3.4.0' });
      return;
    }
    if (path === '/metrics') {
      res.writeHead(200, { 'content-type': PROMETHEUS_CONTENT_TYPE });
      res.end(renderPrometheus(node.metrics));
      return;
    }
    if (extra !== undefined && (await extra(req, res))) return;
    goError(res, 404, '404 page not found\n');
  } catch (err) {
    if (!res.headersSent)
      json(res, 500, { error: (err as Error).message, code: 2, message: (err as Error).message });
    else res.destroy();
  }
}

function json(res: ServerResponse, code: number, body: unknown): void {
  res.writeHead(code, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}
