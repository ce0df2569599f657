/**
 * AuthStore: etcd v3's auth state machine (etcd 3.4 `auth/store.go`) — users, roles, key
 * permissions, the enabled flag and the auth revision — and the permission checks every request
 * goes through.
 *
 * Apply methods (authEnable … roleRevokePermission, authenticate) are synchronous and
 * deterministic: every replica calls them while applying the raft log and reaches the same state.
 * Each validates first and throws the named AuthError exactly where etcd fails, changing nothing;
 * on success it writes through `backend.put/del` at once. The host flushes the backend atomically
 * with the rest of its applied state; this module never flushes.
 *
 * The auth revision starts at 1 and grows by one with every change that is persisted, except
 * authEnable (etcd 3.4 leaves it as is). A request carries the revision its AuthInfo was taken
 * at; a check against an older revision fails with ErrAuthOldRevision, so no request runs with
 * permissions that changed after it was authorized.
 *
 * Not here: password hashing (password.ts, at the proposer), token generation (token.ts), JWT.
 */

import type { Backend } from '@tsetcd/mvcc';
import { bytesEqual, compareBytes } from '@tsetcd/mvcc';
import {
  type AuthError,
  AuthFailedError,
  AuthNotEnabledError,
  AuthOldRevisionError,
  InvalidAuthMgmtError,
  NoPasswordUserError,
  PermissionDeniedError,
  PermissionNotGrantedError,
  RoleAlreadyExistError,
  RoleEmptyError,
  RoleNotFoundError,
  RoleNotGrantedError,
  RootRoleNotExistError,
  RootUserNotExistError,
  UserAlreadyExistError,
  UserEmptyError,
  UserNotFoundError,
} from './errors.js';
import { verifyPassword } from './password.js';
import { isCovered, type UnifiedRangePermissions, unifyPermissions } from './range-perm-cache.js';
import {
  AUTH_BOUNDS,
  authKey,
  decodeEnabled,
  decodeRevision,
  decodeRole,
  decodeUser,
  encodeMeta,
  encodeRole,
  encodeUser,
  parseAuthKey,
} from './schema.js';
import { SimpleTokens, type SimpleTokensOptions } from './token.js';
import {
  type AuthInfo,
  compareNames,
  hasRootRole,
  PERM_TYPES,
  type Permission,
  ROOT_ROLE,
  ROOT_USER,
  type Role,
  type User,
} from './types.js';

/** Options of AuthStore.load. */
export interface AuthStoreOptions {
  /** TTL and clock of the member's simple tokens. */
  readonly tokens?: SimpleTokensOptions;
}

/** Options of userAdd (etcd's UserAddOptions). */
export interface UserAddOptions {
  /** The user has no password and may only authenticate by TLS common name. */
  readonly noPassword?: boolean;
}

/** What userGet answers: the user without its password hash. */
export type UserView = Omit<User, 'passwordHash'>;

const EMPTY = new Uint8Array(0);

/** etcd's auth store: replicated auth state plus the member-local token table. */
export class AuthStore {
  /** The member's live simple tokens (not replicated, not persisted). */
  readonly tokens: SimpleTokens;
  private readonly backend: Backend;
  private readonly users = new Map<string, User>();
  private readonly roles = new Map<string, Role>();
  private enabledFlag = false;
  // Invariant: revision >= 1.
  private rev = 1;
  // username → merged intervals; dropped whenever the user or any role changes.
  private readonly permCache = new Map<string, UnifiedRangePermissions>();

  private constructor(backend: Backend, options: AuthStoreOptions) {
    this.backend = backend;
    this.tokens = new SimpleTokens(options.tokens);
  }

  /**
   * Restores the auth state from the backend (flushed entries only: flush before loading). Also
   * the way to recover after the backend is replaced by a snapshot.
   */
  static async load(backend: Backend, options: AuthStoreOptions = {}): Promise<AuthStore> {
    const s = new AuthStore(backend, options);
    for await (const [key, value] of backend.iterate(AUTH_BOUNDS.gte, AUTH_BOUNDS.lt)) {
      const { sub, name } = parseAuthKey(key);
      if (sub === 'users') s.users.set(name, decodeUser(name, value));
      else if (sub === 'roles') s.roles.set(name, decodeRole(name, value));
      else if (name === 'enabled') s.enabledFlag = decodeEnabled(value);
      else if (name === 'revision') s.rev = decodeRevision(value);
    }
    return s;
  }

  /** Whether auth is on: when off, every request is permitted and Authenticate fails. */
  get enabled(): boolean {
    return this.enabledFlag;
  }

  /** The auth revision: a counter of persisted auth changes, starting at 1. */
  get revision(): number {
    return this.rev;
  }

  // ---- apply: enable / disable / authenticate ----

  /** Turns auth on; needs user 'root' holding role 'root'. A no-op when already on. */
  authEnable(): void {
    if (this.enabledFlag) return;
    const root = this.users.get(ROOT_USER);
    if (root === undefined) throw new RootUserNotExistError();
    if (!hasRootRole(root)) throw new RootRoleNotExistError();
    this.backend.put(authKey('meta', 'enabled'), encodeMeta(true));
    this.enabledFlag = true;
    this.permCache.clear();
    // etcd 3.4 does not commit a revision here.
  }

  /** Turns auth off and drops every token. A no-op when already off. */
  authDisable(): void {
    if (!this.enabledFlag) return;
    this.backend.put(authKey('meta', 'enabled'), encodeMeta(false));
    this.commitRevision();
    this.enabledFlag = false;
    this.tokens.clear();
  }

  /**
   * Applies Authenticate: the proposer already checked the password (checkPassword); every replica
   * registers `token` (made by `simpleToken(prefix, raftIndex)`) for the user. Returns the token.
   */
  authenticate(username: string, token: string): string {
    if (!this.enabledFlag) throw new AuthNotEnabledError();
    const u = this.users.get(username);
    if (u === undefined) throw new AuthFailedError();
    if (u.noPassword) throw new NoPasswordUserError();
    this.tokens.assign(token, username, this.rev);
    return token;
  }

  // ---- apply: users ----

  /** Creates a user. `passwordHash` comes from hashPassword at the proposer; ignored for noPassword. */
  userAdd(name: string, passwordHash: string | undefined, options: UserAddOptions = {}): void {
    if (name.length === 0) throw new UserEmptyError();
    if (this.users.has(name)) throw new UserAlreadyExistError();
    const noPassword = options.noPassword ?? false;
    if (!noPassword && passwordHash === undefined)
      throw new TypeError('userAdd: a password hash is required');
    this.putUser({ name, passwordHash: noPassword ? undefined : passwordHash, noPassword, roles: [] });
    this.commitRevision();
  }

  /** Deletes a user and its tokens. User 'root' cannot be deleted while auth is on. */
  userDelete(name: string): void {
    if (this.enabledFlag && name === ROOT_USER) throw new InvalidAuthMgmtError();
    if (!this.users.has(name)) throw new UserNotFoundError();
    this.users.delete(name);
    this.backend.del(authKey('users', name));
    this.commitRevision();
    this.permCache.delete(name);
    this.tokens.invalidateUser(name);
  }

  /** Replaces a user's password hash and drops its tokens. A NoPassword user stays without one. */
  userChangePassword(name: string, passwordHash: string): void {
    const u = this.users.get(name);
    if (u === undefined) throw new UserNotFoundError();
    this.putUser({ ...u, passwordHash: u.noPassword ? undefined : passwordHash });
    this.commitRevision();
    this.permCache.delete(name);
    this.tokens.invalidateUser(name);
  }

  /**
   * Grants a role to a user. The role must exist, except 'root', which can be granted before it
   * is created (etcd 3.4). Granting a role the user has is a no-op (no revision change).
   */
  userGrantRole(username: string, role: string): void {
    const u = this.users.get(username);
    if (u === undefined) throw new UserNotFoundError();
    if (role !== ROOT_ROLE && !this.roles.has(role)) throw new RoleNotFoundError();
    if (u.roles.includes(role)) return;
    this.putUser({ ...u, roles: [...u.roles, role].sort(compareNames) });
    this.permCache.delete(username);
    this.commitRevision();
  }

  /** Revokes a role from a user. Role 'root' cannot be revoked from user 'root' while auth is on. */
  userRevokeRole(username: string, role: string): void {
    if (this.enabledFlag && username === ROOT_USER && role === ROOT_ROLE) throw new InvalidAuthMgmtError();
    const u = this.users.get(username);
    if (u === undefined) throw new UserNotFoundError();
    if (!u.roles.includes(role)) throw new RoleNotGrantedError();
    this.putUser({ ...u, roles: u.roles.filter((r) => r !== role) });
    this.permCache.delete(username);
    this.commitRevision();
  }

  // ---- apply: roles ----

  /** Creates a role with no permissions. */
  roleAdd(name: string): void {
    if (name.length === 0) throw new RoleEmptyError();
    if (this.roles.has(name)) throw new RoleAlreadyExistError();
    this.putRole({ name, keyPermission: [] });
    this.commitRevision();
  }

  /**
   * Deletes a role and revokes it from every user holding it (etcd 3.4), so a role re-created
   * under the same name grants nothing to old holders. Role 'root' cannot go while auth is on.
   */
  roleDelete(name: string): void {
    if (this.enabledFlag && name === ROOT_ROLE) throw new InvalidAuthMgmtError();
    if (!this.roles.has(name)) throw new RoleNotFoundError();
    this.roles.delete(name);
    this.backend.del(authKey('roles', name));
    for (const u of this.users.values()) {
      if (u.roles.includes(name)) this.putUser({ ...u, roles: u.roles.filter((r) => r !== name) });
    }
    this.permCache.clear();
    this.commitRevision();
  }

  /**
   * Grants a key permission to a role, exactly as etcd 3.4 keeps them: permissions stay sorted by
   * key alone, those with equal keys in the order they were granted. The first permission whose
   * key is not below the new one's is updated if it has the same key and range end; otherwise the
   * new one is added — so, as in etcd, a grant can add a second permission on a (key, range end)
   * already held further along. Permission checks and revocation (which removes every copy) are
   * unaffected; RoleGet and `etcdctl role get` list what etcd lists.
   */
  roleGrantPermission(roleName: string, perm: Permission): void {
    const role = this.roles.get(roleName);
    if (role === undefined) throw new RoleNotFoundError();
    if (!PERM_TYPES.includes(perm.permType)) throw new TypeError(`unknown permission type ${perm.permType}`);
    const p: Permission = { permType: perm.permType, key: perm.key.slice(), rangeEnd: perm.rangeEnd.slice() };
    const perms = role.keyPermission;
    const i = perms.findIndex((q) => compareBytes(q.key, p.key) >= 0);
    const same = i >= 0 && bytesEqual(perms[i]!.key, p.key) && bytesEqual(perms[i]!.rangeEnd, p.rangeEnd);
    const keyPermission = same
      ? perms.map((q, j) => (j === i ? p : q))
      : // Array.prototype.sort is stable: equal keys keep their order.
        [...perms, p].sort((a, b) => compareBytes(a.key, b.key));
    this.putRole({ name: roleName, keyPermission });
    this.permCache.clear();
    this.commitRevision();
  }

  /** Revokes the permission on exactly (key, rangeEnd) from a role. */
  roleRevokePermission(roleName: string, key: Uint8Array, rangeEnd: Uint8Array = EMPTY): void {
    const role = this.roles.get(roleName);
    if (role === undefined) throw new RoleNotFoundError();
    const keyPermission = role.keyPermission.filter(
      (q) => !bytesEqual(q.key, key) || !bytesEqual(q.rangeEnd, rangeEnd),
    );
    if (keyPermission.length === role.keyPermission.length) throw new PermissionNotGrantedError();
    this.putRole({ name: roleName, keyPermission });
    this.permCache.clear();
    this.commitRevision();
  }

  // ---- reads ----

  /** A user's roles and options (never its hash). */
  userGet(name: string): UserView {
    const u = this.users.get(name);
    if (u === undefined) throw new UserNotFoundError();
    return { name: u.name, noPassword: u.noPassword, roles: [...u.roles] };
  }

  /** All user names, sorted bytewise. */
  userList(): string[] {
    return [...this.users.keys()].sort(compareNames);
  }

  /** A role's permissions, sorted by key. */
  roleGet(name: string): readonly Permission[] {
    const r = this.roles.get(name);
    if (r === undefined) throw new RoleNotFoundError();
    return r.keyPermission;
  }

  /** All role names, sorted bytewise. */
  roleList(): string[] {
    return [...this.roles.keys()].sort(compareNames);
  }

  // ---- proposer side ----

  /**
   * Checks a password before Authenticate is proposed; returns the auth revision it was checked
   * at. etcd retries the check when the revision moved before the proposal went out.
   */
  async checkPassword(username: string, password: string): Promise<number> {
    if (!this.enabledFlag) throw new AuthNotEnabledError();
    const u = this.users.get(username);
    if (u === undefined) throw new AuthFailedError();
    if (u.noPassword) throw new NoPasswordUserError();
    const revision = this.rev;
    if (u.passwordHash === undefined || !(await verifyPassword(password, u.passwordHash))) {
      throw new AuthFailedError();
    }
    return revision;
  }

  /**
   * The AuthInfo for a request carrying `token`; throws InvalidAuthTokenError when unknown or
   * expired. As etcd's simple tokens, the revision is the store's current one: a simple token
   * survives role changes, and only changes between proposal and apply fail the request.
   */
  authInfoFromToken(token: string): AuthInfo {
    return { username: this.tokens.info(token).username, revision: this.rev };
  }

  // ---- permission checks (apply time); undefined = permitted ----

  /** Whether `authInfo` may read [key, rangeEnd); the error to answer with, or undefined. */
  isRangePermitted(
    authInfo: AuthInfo | undefined,
    key: Uint8Array,
    rangeEnd: Uint8Array,
  ): AuthError | undefined {
    return this.isOpPermitted(authInfo, key, rangeEnd, 'read');
  }

  /** Whether `authInfo` may put `key`; the error to answer with, or undefined. */
  isPutPermitted(authInfo: AuthInfo | undefined, key: Uint8Array): AuthError | undefined {
    return this.isOpPermitted(authInfo, key, EMPTY, 'write');
  }

  /** Whether `authInfo` may delete [key, rangeEnd); the error to answer with, or undefined. */
  isDeleteRangePermitted(
    authInfo: AuthInfo | undefined,
    key: Uint8Array,
    rangeEnd: Uint8Array,
  ): AuthError | undefined {
    return this.isOpPermitted(authInfo, key, rangeEnd, 'write');
  }

  /** Whether `authInfo` may run admin requests (auth management, members, maintenance). */
  isAdminPermitted(authInfo: AuthInfo | undefined): AuthError | undefined {
    if (!this.enabledFlag) return undefined;
    if (authInfo === undefined || authInfo.username === '') return new UserEmptyError();
    const u = this.users.get(authInfo.username);
    if (u === undefined) return new UserNotFoundError();
    return hasRootRole(u) ? undefined : new PermissionDeniedError();
  }

  /** Whether the user exists and holds role 'root' (full access), regardless of the enabled flag. */
  isAdmin(username: string): boolean {
    const u = this.users.get(username);
    return u !== undefined && hasRootRole(u);
  }

  private isOpPermitted(
    authInfo: AuthInfo | undefined,
    key: Uint8Array,
    rangeEnd: Uint8Array,
    kind: 'read' | 'write',
  ): AuthError | undefined {
    if (!this.enabledFlag) return undefined;
    // etcd: revision 0 means no AuthInfo was attached (no token).
    if (authInfo === undefined || authInfo.revision === 0) return new UserEmptyError();
    if (authInfo.revision < this.rev) return new AuthOldRevisionError();
    const u = this.users.get(authInfo.username);
    if (u === undefined) return new PermissionDeniedError();
    if (hasRootRole(u)) return undefined;
    return isCovered(this.permissionsOf(u)[kind], key, rangeEnd) ? undefined : new PermissionDeniedError();
  }

  private permissionsOf(u: User): UnifiedRangePermissions {
    let perms = this.permCache.get(u.name);
    if (perms === undefined) {
      const all = u.roles.flatMap((r) => this.roles.get(r)?.keyPermission ?? []);
      perms = unifyPermissions(all);
      this.permCache.set(u.name, perms);
    }
    return perms;
  }

  // ---- persistence ----

  private putUser(u: User): void {
    this.users.set(u.name, u);
    this.backend.put(authKey('users', u.name), encodeUser(u));
  }

  private putRole(r: Role): void {
    this.roles.set(r.name, r);
    this.backend.put(authKey('roles', r.name), encodeRole(r));
  }

  private commitRevision(): void {
    this.rev += 1;
    this.backend.put(authKey('meta', 'revision'), encodeMeta(this.rev));
  }
}
