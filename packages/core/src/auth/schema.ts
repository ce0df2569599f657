/**
 * How the auth store lays out its state in the Backend (etcd keeps it in the bbolt buckets `auth`,
 * `authUsers`, `authRoles`). Every key starts with AUTH_BUCKET, then a sub-bucket byte:
 *
 *     05 00 'enabled'    → msgpack boolean
 *     05 00 'revision'   → msgpack uint (the auth revision)
 *     05 01 <user name>  → msgpack { p: hash | null, n: noPassword, r: [role names] }
 *     05 02 <role name>  → msgpack { k: [[permType, key bin, rangeEnd bin], ...] }
 *
 * Names are UTF-8, so backend order is etcd's bytewise name order. Values are validated on decode.
 * Pure. No I/O.
 */

import { decode, encode } from '@msgpack/msgpack';
import { utf8 } from '@tsetcd/mvcc';
import { StoredValueError } from '../codec.js';
import { PERM_TYPES, type Permission, type PermType, type Role, type User } from './types.js';

/** The first byte of every key the auth store writes: its own slice of the shared backend. */
export const AUTH_BUCKET = 0x05;

/** Sub-bucket bytes, after AUTH_BUCKET. */
export const AUTH_SUB = { meta: 0x00, users: 0x01, roles: 0x02 } as const;

/** Which sub-bucket a key belongs to. */
export type AuthSub = keyof typeof AUTH_SUB;

const decoder = new TextDecoder('utf-8', { fatal: true });

/** The backend key of `name` in sub-bucket `sub`. */
export function authKey(sub: AuthSub, name: string): Uint8Array {
  const n = utf8(name);
  const k = new Uint8Array(n.length + 2);
  k[0] = AUTH_BUCKET;
  k[1] = AUTH_SUB[sub];
  k.set(n, 2);
  return k;
}

/** The [gte, lt) bounds that hold every auth key. */
export const AUTH_BOUNDS = {
  gte: new Uint8Array([AUTH_BUCKET]),
  lt: new Uint8Array([AUTH_BUCKET + 1]),
} as const;

/** Splits a stored key into its sub-bucket and name; throws StoredValueError if it is not one of ours. */
export function parseAuthKey(key: Uint8Array): { sub: AuthSub; name: string } {
  if (key.length < 2 || key[0] !== AUTH_BUCKET)
    throw new StoredValueError('auth: key outside the auth bucket');
  const sub = (Object.keys(AUTH_SUB) as AuthSub[]).find((s) => AUTH_SUB[s] === key[1]);
  if (sub === undefined) throw new StoredValueError(`auth: unknown sub-bucket ${key[1]}`);
  try {
    return { sub, name: decoder.decode(key.subarray(2)) };
  } catch {
    throw new StoredValueError('auth: key name is not UTF-8');
  }
}

function value(bytes: Uint8Array): unknown {
  try {
    return decode(bytes);
  } catch (err) {
    throw new StoredValueError(`auth: msgpack: ${(err as Error).message}`);
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

/** Encodes any plain value (booleans and revisions of the meta sub-bucket). */
export function encodeMeta(v: boolean | number): Uint8Array {
  return encode(v);
}

/** Decodes the enabled flag. */
export function decodeEnabled(bytes: Uint8Array): boolean {
  const v = value(bytes);
  if (typeof v !== 'boolean') throw new StoredValueError('auth: enabled flag is not a boolean');
  return v;
}

/** Decodes the auth revision. */
export function decodeRevision(bytes: Uint8Array): number {
  const v = value(bytes);
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) {
    throw new StoredValueError('auth: revision is not a positive safe integer');
  }
  return v;
}

/** Encodes a user (its name is in the key). */
export function encodeUser(u: User): Uint8Array {
  return encode({ p: u.passwordHash ?? null, n: u.noPassword, r: u.roles });
}

/** Decodes a user stored under `name`. */
export function decodeUser(name: string, bytes: Uint8Array): User {
  const v = value(bytes);
  if (!isRecord(v)) throw new StoredValueError(`auth: user ${name}: not a map`);
  const { p, n, r } = v;
  if (p !== null && typeof p !== 'string')
    throw new StoredValueError(`auth: user ${name}: bad password hash`);
  if (typeof n !== 'boolean') throw new StoredValueError(`auth: user ${name}: bad noPassword flag`);
  if (!Array.isArray(r) || !r.every((x): x is string => typeof x === 'string')) {
    throw new StoredValueError(`auth: user ${name}: bad roles`);
  }
  return { name, passwordHash: p ?? undefined, noPassword: n, roles: r };
}

/** Encodes a role (its name is in the key). */
export function encodeRole(r: Role): Uint8Array {
  return encode({ k: r.keyPermission.map((p) => [p.permType, p.key, p.rangeEnd]) });
}

function isPermType(v: unknown): v is PermType {
  return (PERM_TYPES as readonly unknown[]).includes(v);
}

/** Decodes a role stored under `name`. */
export function decodeRole(name: string, bytes: Uint8Array): Role {
  const v = value(bytes);
  if (!isRecord(v) || !Array.isArray(v.k)) throw new StoredValueError(`auth: role ${name}: not a role`);
  const keyPermission: Permission[] = v.k.map((e: unknown) => {
    if (!Array.isArray(e) || e.length !== 3) throw new StoredValueError(`auth: role ${name}: bad permission`);
    const [permType, key, rangeEnd] = e as unknown[];
    if (!isPermType(permType) || !(key instanceof Uint8Array) || !(rangeEnd instanceof Uint8Array)) {
      throw new StoredValueError(`auth: role ${name}: bad permission`);
    }
    return { permType, key: key.slice(), rangeEnd: rangeEnd.slice() };
  });
  return { name, keyPermission };
}
