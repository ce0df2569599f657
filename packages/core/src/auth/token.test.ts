import { describe, expect, it } from 'vitest';
import { InvalidAuthTokenError } from './errors.js';
import {
  DEFAULT_SIMPLE_TOKEN_TTL_MS,
  newSimpleToken,
  newSimpleTokenPrefix,
  SimpleTokens,
  simpleToken,
} from './token.js';

function fakeClock(start = 1_000) {
  let now = start;
  return { clock: () => now, advance: (ms: number) => (now += ms) };
}

describe('token format', () => {
  it('a prefix is 16 random letters', () => {
    const a = newSimpleTokenPrefix();
    expect(a).toMatch(/^[a-zA-Z]{16}$/);
    expect(newSimpleTokenPrefix()).not.toBe(a);
  });

  it('a token is <prefix>.<raft index>, the same on every replica', () => {
    expect(simpleToken('abcdefghijklmnop', 42)).toBe('abcdefghijklmnop.42');
  });

  it('newSimpleToken is <16 letters>.<counter>, never repeating', () => {
    const a = newSimpleToken();
    const b = newSimpleToken();
    expect(a).toMatch(/^[a-zA-Z]{16}\.\d+$/);
    expect(Number(b.split('.')[1])).toBe(Number(a.split('.')[1]) + 1);
  });
});

describe('SimpleTokens', () => {
  it('the TTL default is etcd’s five minutes', () => {
    expect(DEFAULT_SIMPLE_TOKEN_TTL_MS).toBe(300_000);
  });

  it('info returns the user and the revision the token was issued at', () => {
    const tokens = new SimpleTokens({ clock: fakeClock().clock });
    tokens.assign('t.1', 'alice', 7);
    expect(tokens.info('t.1')).toEqual({ username: 'alice', revision: 7 });
  });

  it('an unknown token is InvalidAuthTokenError', () => {
    const tokens = new SimpleTokens({ clock: fakeClock().clock });
    expect(() => tokens.info('nope.1')).toThrow(InvalidAuthTokenError);
    expect(() => tokens.info('nope.1')).toThrow('etcdserver: invalid auth token');
  });

  it('a token expires ttl after its last use, not before', () => {
    const c = fakeClock();
    const tokens = new SimpleTokens({ ttlMs: 1000, clock: c.clock });
    tokens.assign('t.1', 'alice', 1);
    c.advance(999);
    expect(tokens.info('t.1').username).toBe('alice');
    c.advance(999); // 1998 ms after assign, 999 after the last use
    expect(tokens.info('t.1').username).toBe('alice');
    c.advance(1000);
    expect(() => tokens.info('t.1')).toThrow(InvalidAuthTokenError);
  });

  it('an expired token stays dead even if time is queried again', () => {
    const c = fakeClock();
    const tokens = new SimpleTokens({ ttlMs: 10, clock: c.clock });
    tokens.assign('t.1', 'alice', 1);
    c.advance(10);
    expect(() => tokens.info('t.1')).toThrow(InvalidAuthTokenError);
    expect(tokens.size).toBe(0);
  });

  it('invalidateUser drops that user’s tokens only', () => {
    const tokens = new SimpleTokens({ clock: fakeClock().clock });
    tokens.assign('a.1', 'alice', 1);
    tokens.assign('a.2', 'alice', 1);
    tokens.assign('b.3', 'bob', 1);
    tokens.invalidateUser('alice');
    expect(() => tokens.info('a.1')).toThrow(InvalidAuthTokenError);
    expect(() => tokens.info('a.2')).toThrow(InvalidAuthTokenError);
    expect(tokens.info('b.3').username).toBe('bob');
  });

  it('clear drops everything', () => {
    const tokens = new SimpleTokens({ clock: fakeClock().clock });
    tokens.assign('a.1', 'alice', 1);
    tokens.clear();
    expect(tokens.size).toBe(0);
  });

  it('expire reclaims expired tokens and keeps used ones', () => {
    const c = fakeClock();
    const tokens = new SimpleTokens({ ttlMs: 100, clock: c.clock });
    tokens.assign('a.1', 'alice', 1);
    tokens.assign('b.2', 'bob', 1);
    tokens.assign('c.3', 'carol', 1);
    c.advance(60);
    tokens.info('a.1'); // renewed: now expires last
    c.advance(50);
    expect(tokens.expire()).toBe(2);
    expect(tokens.size).toBe(1);
    expect(tokens.info('a.1').username).toBe('alice');
  });

  it('rejects a non-positive ttl', () => {
    expect(() => new SimpleTokens({ ttlMs: 0 })).toThrow(RangeError);
  });
});
