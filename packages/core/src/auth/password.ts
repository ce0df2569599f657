/**
 * Password hashing for auth users: scrypt (node:crypto) with a random 16-byte salt, encoded as a
 * self-describing string `scrypt$N$r$p$saltB64$hashB64` so the cost can change without breaking
 * stored hashes. etcd uses bcrypt; the role is the same: a slow salted hash.
 *
 * Hashing runs at the PROPOSER, before a UserAdd/UserChangePassword request is replicated (etcd
 * 3.5 does the same with `HashedPassword`), so the replicated state machine stores hashes only and
 * every replica applies identical bytes. Verification runs at the member that serves Authenticate.
 * Not deterministic (random salt) and async: never call it while applying the log.
 */

import { randomBytes, type ScryptOptions, scrypt, timingSafeEqual } from 'node:crypto';

/** scrypt CPU/memory cost (a power of two); 2^15 with r = 8 takes ~32 MiB and tens of ms. */
export const DEFAULT_SCRYPT_N = 1 << 15;
/** scrypt block size. */
export const DEFAULT_SCRYPT_R = 8;
/** scrypt parallelism. */
export const DEFAULT_SCRYPT_P = 1;
/** Bytes of random salt per hash. */
export const SALT_BYTES = 16;
/** Bytes of derived key stored. */
export const HASH_BYTES = 32;

/** The scrypt cost parameters; tests pass a cheap one, production keeps the defaults. */
export interface ScryptCost {
  readonly N: number;
  readonly r: number;
  readonly p: number;
}

/** The cost hashPassword uses unless told otherwise. */
export const DEFAULT_SCRYPT_COST: ScryptCost = {
  N: DEFAULT_SCRYPT_N,
  r: DEFAULT_SCRYPT_R,
  p: DEFAULT_SCRYPT_P,
};

// Bounds on costs read back from a stored hash, so a corrupt or hostile value cannot make
// verification allocate gigabytes or spin for minutes.
const MAX_N = 1 << 20;
const MAX_R = 32;
const MAX_P = 16;

function validCost(c: ScryptCost): boolean {
  return (
    Number.isSafeInteger(c.N) &&
    c.N >= 2 &&
    c.N <= MAX_N &&
    (c.N & (c.N - 1)) === 0 &&
    Number.isSafeInteger(c.r) &&
    c.r >= 1 &&
    c.r <= MAX_R &&
    Number.isSafeInteger(c.p) &&
    c.p >= 1 &&
    c.p <= MAX_P
  );
}

function derive(password: string, salt: Uint8Array, cost: ScryptCost, length: number): Promise<Buffer> {
  const options: ScryptOptions = {
    N: cost.N,
    r: cost.r,
    p: cost.p,
    // scrypt needs 128 * N * r bytes; node's default cap (32 MiB) is exactly the default cost's need.
    maxmem: 256 * cost.N * cost.r + 1024 * 1024,
  };
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFC'), salt, length, options, (err, key) =>
      err ? reject(err) : resolve(key),
    );
  });
}

/** Hashes a password for storage: `scrypt$N$r$p$saltB64$hashB64`. */
export async function hashPassword(
  password: string,
  cost: ScryptCost = DEFAULT_SCRYPT_COST,
): Promise<string> {
  if (!validCost(cost)) throw new RangeError(`invalid scrypt cost ${JSON.stringify(cost)}`);
  const salt = randomBytes(SALT_BYTES);
  const hash = await derive(password, salt, cost, HASH_BYTES);
  return ['scrypt', cost.N, cost.r, cost.p, salt.toString('base64'), hash.toString('base64')].join('$');
}

/**
 * Whether `password` matches a hash made by hashPassword. A malformed hash matches nothing
 * (false, not an exception): a stored value is data, never a programming mistake here.
 */
export async function verifyPassword(password: string, encoded: string): Promise<boolean> {
  const parts = encoded.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const cost: ScryptCost = { N: Number(parts[1]), r: Number(parts[2]), p: Number(parts[3]) };
  if (!validCost(cost)) return false;
  const salt = Buffer.from(parts[4]!, 'base64');
  const expected = Buffer.from(parts[5]!, 'base64');
  if (salt.length === 0 || expected.length === 0 || expected.length > 1024) return false;
  const actual = await derive(password, salt, cost, expected.length);
  return timingSafeEqual(actual, expected);
}
