/**
 * Which answer an HTTP request to the client port gets, before any body is read, as etcd 3.4's
 * stack of handlers decides it (the paths server.ts serves itself — /health, /version, /metrics —
 * never get here):
 *
 * 1. etcd's CORS handler: OPTIONS on any path is 200 with an empty body.
 * 2. Go's http.ServeMux: a path that is not clean (`//`, `.`, `..`) is redirected (301) to its
 *    clean form, `/v3` to `/v3/`; a path outside `/v3/` and `/v3beta/` is Go's 404.
 * 3. grpc-gateway's ServeMux, on the path (with `/v3beta/` read as `/v3/`): a route's method is
 *    POST, any other method on a route is 405, and a path that is no route is its 404. A last
 *    segment may carry a `:verb`, which no etcd route has; `route:` (empty verb) is `route`.
 *    Its X-HTTP-Method-Override (only on a POST form) replaces the method, and its form parsing
 *    has read the body by then, so the request is the empty one.
 *
 * Pure. Does not: write answers (gateway.ts does).
 */

import { GATEWAY_ROUTES, type GatewayRoute } from './routes.js';

/** What to answer; see the file comment. */
export type MuxResult =
  | { readonly type: 'options' }
  | { readonly type: 'badRequest' }
  | { readonly type: 'goNotFound' }
  | { readonly type: 'gatewayNotFound' }
  | { readonly type: 'methodNotAllowed' }
  | { readonly type: 'redirect'; readonly location: string }
  | { readonly type: 'call'; readonly route: GatewayRoute; readonly bodyIgnored: boolean };

/** The parts of a request the mux looks at. */
export interface MuxRequest {
  readonly method: string;
  /** The request target as sent (`/v3/kv/range?x=1`). */
  readonly url: string;
  readonly contentType?: string | undefined;
  readonly methodOverride?: string | undefined;
}

const FORM = 'application/x-www-form-urlencoded';

/** Where `req` goes. */
export function route(req: MuxRequest): MuxResult {
  if (req.method === 'OPTIONS') return { type: 'options' };
  const q = req.url.indexOf('?');
  const rawPath = q < 0 ? req.url : req.url.slice(0, q);
  const query = q < 0 ? '' : req.url.slice(q);
  const path = percentDecode(rawPath);
  if (path === undefined) return { type: 'badRequest' };
  if (!path.startsWith('/')) return { type: 'goNotFound' };
  const clean = cleanPath(path);
  // Go's mux: `/v3` goes to `/v3/` (a lone `?` dropped), anything else to its clean form.
  if (clean === '/v3') return { type: 'redirect', location: `/v3/${query === '?' ? '' : query}` };
  if (clean !== path) return { type: 'redirect', location: `${escapePath(clean)}${query}` };
  let gatewayPath: string;
  if (path.startsWith('/v3/')) gatewayPath = path;
  else if (path.startsWith('/v3beta/')) gatewayPath = `/v3/${path.slice('/v3beta/'.length)}`;
  else return { type: 'goNotFound' };
  return gatewayRoute(req, gatewayPath);
}

function gatewayRoute(req: MuxRequest, path: string): MuxResult {
  const segments = path.slice(1).split('/');
  const last = segments[segments.length - 1]!;
  const colon = last.lastIndexOf(':');
  if (colon === 0) return { type: 'gatewayNotFound' };
  if (colon > 0) {
    if (colon !== last.length - 1) return { type: 'gatewayNotFound' }; // a verb: no route has one
    segments[segments.length - 1] = last.slice(0, colon);
  }
  const route = GATEWAY_ROUTES[`/${segments.join('/')}`];
  let method = req.method;
  let bodyIgnored = false;
  if (
    req.methodOverride !== undefined &&
    req.methodOverride !== '' &&
    method === 'POST' &&
    req.contentType === FORM
  ) {
    method = req.methodOverride.toUpperCase();
    bodyIgnored = method === 'POST';
  }
  if (route === undefined) return { type: 'gatewayNotFound' };
  if (method !== 'POST') return { type: 'methodNotAllowed' };
  return { type: 'call', route, bodyIgnored };
}

/** A URL path with its %XX escapes decoded (as bytes, read as UTF-8); undefined when malformed. */
export function percentDecode(raw: string): string | undefined {
  if (!raw.includes('%')) return raw;
  const bytes: number[] = [];
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c !== 0x25) {
      bytes.push(...Buffer.from(raw[i]!, 'utf8'));
      continue;
    }
    const hex = raw.slice(i + 1, i + 3);
    if (!/^[0-9a-fA-F]{2}$/.test(hex)) return undefined;
    bytes.push(Number.parseInt(hex, 16));
    i += 2;
  }
  return Buffer.from(bytes).toString('utf8');
}

/** Go's cleanPath: path.Clean, keeping a trailing slash. */
export function cleanPath(p: string): string {
  if (p === '') return '/';
  if (!p.startsWith('/')) p = `/${p}`;
  const out: string[] = [];
  for (const seg of p.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') out.pop();
    else out.push(seg);
  }
  const clean = `/${out.join('/')}`;
  return p.endsWith('/') && clean !== '/' ? `${clean}/` : clean;
}

/** A path as Go's URL.EscapedPath writes it: all but letters, digits and -_.~$&+,/:;=@ escaped. */
export function escapePath(p: string): string {
  let out = '';
  for (const b of Buffer.from(p, 'utf8')) {
    const c = String.fromCharCode(b);
    out += /[A-Za-z0-9\-_.~$&+,/:;=@]/.test(c) ? c : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}
