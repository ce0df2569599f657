/**
 * mux.ts against where etcd 3.4.23 sent the same requests (recorded with curl and fetch against
 * a real etcd; gateway-differential.integration.test.ts holds the gateway to most of them).
 */

import { describe, expect, it } from 'vitest';
import { cleanPath, escapePath, type MuxRequest, percentDecode, route } from './mux.js';

const post = (url: string, extra: Partial<MuxRequest> = {}): MuxRequest => ({
  method: 'POST',
  url,
  ...extra,
});
const type = (req: MuxRequest): string => route(req).type;
const RANGE = { type: 'call', route: { service: 'etcdserverpb.KV', method: 'Range' }, bodyIgnored: false };

describe('routes', () => {
  it('serves /v3 and /v3beta alike, and `route:` as the route', () => {
    expect(route(post('/v3/kv/range'))).toEqual(RANGE);
    expect(route(post('/v3beta/kv/range?x=1'))).toEqual(RANGE);
    expect(route(post('/v3/kv/range:'))).toEqual(RANGE);
    expect(route(post('/v3/kv/%72ange'))).toEqual(RANGE);
    expect(route(post('/v3/kv/lease/leases'))).toMatchObject({ route: { method: 'LeaseLeases' } });
  });

  it("answers Go's 404 outside /v3/ and /v3beta/, the gateway's inside", () => {
    for (const url of ['/', '/v4/kv/range', '/v3alpha/kv/range', '/v3beta', '/health/', '/v2/keys'])
      expect(type(post(url)), url).toBe('goNotFound');
    for (const url of [
      '/v3/',
      '/v3/nope',
      '/v3/KV/range',
      '/v3/kv/range/',
      '/v3/kv/range:x',
      '/v3/kv/range%2F',
    ])
      expect(type(post(url)), url).toBe('gatewayNotFound');
    // etcd 3.4 has no grant (nor keepalive) under /v3/kv/lease.
    expect(type(post('/v3/kv/lease/grant'))).toBe('gatewayNotFound');
    expect(type(post('/v3/kv/lease/keepalive'))).toBe('gatewayNotFound');
  });

  it('redirects unclean paths and /v3', () => {
    expect(route(post('/v3'))).toEqual({ type: 'redirect', location: '/v3/' });
    expect(route(post('/v3?x=1'))).toEqual({ type: 'redirect', location: '/v3/?x=1' });
    expect(route(post('/v3//kv/range'))).toEqual({ type: 'redirect', location: '/v3/kv/range' });
    expect(route(post('/v3//kv/range?'))).toEqual({ type: 'redirect', location: '/v3/kv/range?' });
    expect(route(post('/v3/kv/../kv/range'))).toEqual({ type: 'redirect', location: '/v3/kv/range' });
    expect(route(post('/v3/../v3'))).toEqual({ type: 'redirect', location: '/v3/' });
  });

  it('answers OPTIONS with 200 anywhere, other methods on a route with 405', () => {
    expect(type({ method: 'OPTIONS', url: '/v4/anything' })).toBe('options');
    for (const method of ['GET', 'PUT', 'DELETE', 'PATCH', 'HEAD'])
      expect(type({ method, url: '/v3/kv/range' }), method).toBe('methodNotAllowed');
    expect(type({ method: 'GET', url: '/v3/nope' })).toBe('gatewayNotFound');
  });

  it('takes X-HTTP-Method-Override on a POST form only, whose body is then consumed', () => {
    const form = { contentType: 'application/x-www-form-urlencoded' };
    expect(type(post('/v3/kv/range', { ...form, methodOverride: 'GET' }))).toBe('methodNotAllowed');
    expect(route(post('/v3/kv/range', { ...form, methodOverride: 'post' }))).toEqual({
      ...RANGE,
      bodyIgnored: true,
    });
    expect(route(post('/v3/kv/range', { methodOverride: 'GET' }))).toEqual(RANGE);
  });

  it('refuses a malformed escape as Go’s server does', () => {
    expect(type(post('/v3/kv/range%zz'))).toBe('badRequest');
  });
});

describe('path helpers', () => {
  it('cleans as Go does, keeping a trailing slash', () => {
    expect(cleanPath('/a//b/./c/../d/')).toBe('/a/b/d/');
    expect(cleanPath('/..')).toBe('/');
    expect(cleanPath('/../')).toBe('/');
    expect(cleanPath('')).toBe('/');
  });

  it('decodes and escapes paths', () => {
    expect(percentDecode('/a%2Fb%C3%A9')).toBe('/a/bé');
    expect(percentDecode('/a%2')).toBeUndefined();
    expect(escapePath('/a b/é?:@')).toBe('/a%20b/%C3%A9%3F:@');
  });
});
