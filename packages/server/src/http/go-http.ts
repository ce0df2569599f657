/**
 * Answers written the way Go's net/http writes them, for the client port's paths that etcd
 * answers from Go's own handlers: http.Error's plain-text errors (`404 page not found\n`,
 * `Not Found\n`, `Method Not Allowed\n`), http.Redirect's 301, the server's `400 Bad Request`
 * for a request target it cannot parse, and etcd's CORS headers (its default, `--cors=*`).
 *
 * I/O: writes to the response given. Does not: decide which answer (mux.ts does).
 */

import type { ServerResponse } from 'node:http';

/** The headers etcd's CORS handler adds to every answer with its default origin list, `*`. */
export function setCorsHeaders(res: ServerResponse): void {
  res.setHeader('access-control-allow-origin', '*');
  res.setHeader('access-control-allow-methods', 'POST, GET, OPTIONS, PUT, DELETE');
  res.setHeader('access-control-allow-headers', 'accept, content-type, authorization');
}

/** http.Error: a plain-text answer. */
export function goError(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'x-content-type-options': 'nosniff' });
  res.end(text);
}

/** What Go's server answers a request target it cannot parse with; it closes the connection. */
export function goBadRequest(res: ServerResponse): void {
  res.writeHead(400, { 'content-type': 'text/plain; charset=utf-8', connection: 'close' });
  res.end('400 Bad Request');
}

const HTML_ESCAPES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&#34;',
  "'": '&#39;',
};

/** http.Redirect with 301: a body (and content type) only for GET and HEAD. */
export function goRedirect(res: ServerResponse, method: string, location: string): void {
  res.setHeader('location', location);
  if (method !== 'GET' && method !== 'HEAD') {
    res.writeHead(301);
    res.end();
    return;
  }
  res.writeHead(301, { 'content-type': 'text/html; charset=utf-8' });
  const href = location.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!);
  res.end(method === 'GET' ? `<a href="${href}">Moved Permanently</a>.\n\n` : undefined);
}
