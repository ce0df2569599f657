/**
 * Simple tokens (etcd's `simple_token.go`): opaque strings `<16 random letters>.<n>` mapped to a
 * user, valid for a TTL that every use renews.
 *
 * How a token comes to be, as in etcd:
 * 1. The member serving Authenticate checks the password, draws a random prefix
 *    (`newSimpleTokenPrefix`) and proposes Authenticate{user, prefix}.
 * 2. Every replica applies it: `simpleToken(prefix, raftIndex)` is the token, identical everywhere,
 *    and `SimpleTokens.assign` registers it. Only the member that answers the client returns it.
 *
 * Tokens are member-local state, not replicated state: they are not persisted (a restarted member
 * forgets them; clients re-authenticate) and expiry follows each member's own clock.
 * Time is an injected `clock` (ms), so tests drive expiry without sleeping.
 */

import { randomBytes } from 'node:crypto';
import { InvalidAuthTokenError } from './errors.js';

/** etcd's simpleTokenTTL: a token unused for five minutes expires. */
export const DEFAULT_SIMPLE_TOKEN_TTL_MS = 5 * 60 * 1000;

/** Length of the random part of a simple token (etcd's defaultSimpleTokenLength). */
export const SIMPLE_TOKEN_PREFIX_LENGTH = 16;

const LETTERS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';

/** The random part of a token, drawn by the proposer (crypto-strong, unbiased letters). */
export function newSimpleTokenPrefix(): string {
  let out = '';
  // Rejection sampling: bytes >= 208 (= 4 * 52) would bias the first letters.
  while (out.length < SIMPLE_TOKEN_PREFIX_LENGTH) {
    for (const b of randomBytes(SIMPLE_TOKEN_PREFIX_LENGTH * 2)) {
      if (b < 4 * LETTERS.length && out.length < SIMPLE_TOKEN_PREFIX_LENGTH)
        out += LETTERS[b % LETTERS.length];
    }
  }
  return out;
}

/** The token an applied Authenticate creates: prefix and raft index, as etcd formats it. */
export function simpleToken(prefix: string, index: number): string {
  return `${prefix}.${index}`;
}

let tokenCounter = 0;

/**
 * A fresh token `<16 letters>.<counter>` for callers that have no raft index (tests, a single-node
 * mode). Replicated code must use `simpleToken(prefix, index)` so every replica agrees.
 */
export function newSimpleToken(): string {
  tokenCounter += 1;
  return simpleToken(newSimpleTokenPrefix(), tokenCounter);
}

/** What a token stands for. */
export interface SimpleTokenInfo {
  readonly username: string;
  /** The auth revision when the token was issued. */
  readonly revision: number;
}

/** Options of SimpleTokens. */
export interface SimpleTokensOptions {
  /** Milliseconds a token stays valid after its last use. */
  readonly ttlMs?: number;
  /** Current time in ms; injected so expiry is testable. */
  readonly clock?: () => number;
}

interface Entry extends SimpleTokenInfo {
  expiresAt: number;
}

/** The member's live simple tokens, with TTL renewed on every use (etcd's simpleTokenTTLKeeper). */
export class SimpleTokens {
  private readonly ttlMs: number;
  private readonly clock: () => number;
  // Invariant: insertion order is expiry order (every entry gets now + ttl when (re)inserted and
  // the clock does not run backwards), so expire() stops at the first live entry.
  private readonly tokens = new Map<string, Entry>();

  constructor(options: SimpleTokensOptions = {}) {
    this.ttlMs = options.ttlMs ?? DEFAULT_SIMPLE_TOKEN_TTL_MS;
    this.clock = options.clock ?? Date.now;
    if (!(this.ttlMs > 0)) throw new RangeError(`token ttl must be positive, got ${this.ttlMs}`);
  }

  /** Registers a token for `username`, issued at auth `revision`. Re-assigning replaces it. */
  assign(token: string, username: string, revision: number): void {
    this.tokens.delete(token);
    this.tokens.set(token, { username, revision, expiresAt: this.clock() + this.ttlMs });
  }

  /** Who the token belongs to; renews its TTL. Throws InvalidAuthTokenError if unknown or expired. */
  info(token: string): SimpleTokenInfo {
    const now = this.clock();
    const e = this.tokens.get(token);
    if (e === undefined || now >= e.expiresAt) {
      this.tokens.delete(token);
      throw new InvalidAuthTokenError();
    }
    this.tokens.delete(token);
    e.expiresAt = now + this.ttlMs;
    this.tokens.set(token, e);
    return { username: e.username, revision: e.revision };
  }

  /** Drops every token of `username` (its password changed or it was deleted). */
  invalidateUser(username: string): void {
    for (const [t, e] of this.tokens) if (e.username === username) this.tokens.delete(t);
  }

  /** Drops every token (auth was disabled). */
  clear(): void {
    this.tokens.clear();
  }

  /** Frees expired tokens; returns how many. info() already refuses them: this only reclaims memory. */
  expire(): number {
    const now = this.clock();
    let n = 0;
    for (const [t, e] of this.tokens) {
      if (now < e.expiresAt) break;
      this.tokens.delete(t);
      n++;
    }
    return n;
  }

  /** Number of tokens held (live or not yet reclaimed). */
  get size(): number {
    return this.tokens.size;
  }
}
