/**
 * The data model of etcd v3 auth (etcd's `authpb`): users, roles and key permissions, and the
 * AuthInfo a request carries. Pure types, constants and orderings.
 */

/** The permission kinds of etcd's authpb.Permission.Type. */
export const PERM_TYPES = ['READ', 'WRITE', 'READWRITE'] as const;

/** What a key permission allows: reads, writes (put and delete) or both. */
export type PermType = (typeof PERM_TYPES)[number];

/**
 * A key permission, in etcd's range encoding: `rangeEnd` empty = the single key `key`;
 * `rangeEnd` = `\0` = every key >= `key`; otherwise the keys in [key, rangeEnd).
 */
export interface Permission {
  readonly permType: PermType;
  readonly key: Uint8Array;
  readonly rangeEnd: Uint8Array;
}

/** A role: a named set of key permissions, kept sorted by (key, rangeEnd). */
export interface Role {
  readonly name: string;
  readonly keyPermission: readonly Permission[];
}

/** A user: its password hash (absent for NoPassword users) and its role names, sorted. */
export interface User {
  readonly name: string;
  /** A hash made by `hashPassword` at the proposer; undefined when `noPassword`. */
  readonly passwordHash: string | undefined;
  /** etcd's UserAddOptions.NoPassword: the user may only authenticate by TLS common name. */
  readonly noPassword: boolean;
  /** Invariant: sorted bytewise, no duplicates. */
  readonly roles: readonly string[];
}

/**
 * Who sent a request and the auth revision its token was issued at (etcd's AuthInfo). Replicated
 * with every request so each replica checks permissions identically at apply time.
 */
export interface AuthInfo {
  readonly username: string;
  readonly revision: number;
}

/** The user etcd requires before auth can be enabled; it can never be deleted while auth is on. */
export const ROOT_USER = 'root';
/** The role that grants everything, including auth management; it exists implicitly for grants. */
export const ROOT_ROLE = 'root';

/** Bytewise (UTF-8) order of names: etcd's order (bbolt keys, Go string comparison). */
export function compareNames(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** Whether the user holds role 'root', which permits everything. */
export function hasRootRole(u: User): boolean {
  return u.roles.includes(ROOT_ROLE);
}
