/**
 * Auth: etcd's Auth service on a node — enable/disable, authenticate, users, roles and key-range
 * permissions. Every change is a proposal (replicated to every member) that needs the root role
 * once auth is on; passwords are hashed here, before proposing, so the log never holds one.
 */

import type { UserView } from '../auth/auth-store.js';
import { hashPassword, type ScryptCost } from '../auth/password.js';
import { newSimpleTokenPrefix } from '../auth/token.js';
import type { Permission, PermType } from '../auth/types.js';
import type { AuthRequest } from './auth-apply.js';
import { type ClientContext, proposeAs } from './client-context.js';
import type { CallOptions } from './deadline.js';
import { type Bytes, type KeyRangeOptions, rangeEndFor, toBytes } from './kv-client.js';
import type { NodeResponseHeader, TsetcdNode } from './node.js';
import type { AuthOp } from './request.js';

/** A response that carries only a header. */
export interface HeaderOnly {
  readonly header: NodeResponseHeader;
}

/** etcd's Auth service on one node; see the file comment. */
export class Auth {
  constructor(
    private readonly ctx: ClientContext,
    /** scrypt cost for new passwords (tests lower it). */
    private readonly passwordCost?: ScryptCost,
  ) {}

  private get node(): TsetcdNode {
    return this.ctx.node;
  }

  private async change(a: AuthRequest, opts: CallOptions): Promise<HeaderOnly> {
    const req = { op: 'auth', auth: a as unknown as AuthOp } as const;
    const r = (await proposeAs(this.ctx, req, opts)) as { header: { revision: number } };
    return { header: this.node.header(r.header.revision) };
  }

  /** Turns auth on; needs user 'root' with role 'root'. */
  enable(opts: CallOptions = {}): Promise<HeaderOnly> {
    return this.change({ kind: 'authEnable' }, opts);
  }

  /** Turns auth off (root only). */
  disable(opts: CallOptions = {}): Promise<HeaderOnly> {
    return this.change({ kind: 'authDisable' }, opts);
  }

  /** Whether auth is on, and the auth revision. */
  status(): { readonly enabled: boolean; readonly authRevision: number } {
    const s = this.node.parts.auth.store;
    return { enabled: s.enabled, authRevision: s.revision };
  }

  /** Checks a password and returns a simple token for `name` (valid on this member). */
  async authenticate(
    name: string,
    password: string,
    opts: CallOptions = {},
  ): Promise<HeaderOnly & { token: string }> {
    await this.node.parts.auth.store.checkPassword(name, password);
    const req = { op: 'auth', auth: { kind: 'authenticate', name, prefix: newSimpleTokenPrefix() } } as const;
    const r = (await this.node.propose(req, opts)) as { header: { revision: number }; token: string };
    return { header: this.node.header(r.header.revision), token: r.token };
  }

  /** Adds a user; `noPassword` users can only log in by TLS common name. */
  async userAdd(
    name: string,
    password: string,
    opts: CallOptions & { readonly noPassword?: boolean } = {},
  ): Promise<HeaderOnly> {
    const hash = opts.noPassword ? undefined : await hashPassword(password, this.passwordCost);
    return this.change(
      {
        kind: 'userAdd',
        name,
        ...(hash !== undefined ? { hash } : {}),
        ...(opts.noPassword ? { noPassword: true } : {}),
      },
      opts,
    );
  }

  /** Deletes a user. */
  userDelete(name: string, opts: CallOptions = {}): Promise<HeaderOnly> {
    return this.change({ kind: 'userDelete', name }, opts);
  }

  /** Changes a user's password. */
  async userChangePassword(name: string, password: string, opts: CallOptions = {}): Promise<HeaderOnly> {
    return this.change(
      { kind: 'userChangePassword', name, hash: await hashPassword(password, this.passwordCost) },
      opts,
    );
  }

  /** Grants a role to a user. */
  userGrantRole(user: string, role: string, opts: CallOptions = {}): Promise<HeaderOnly> {
    return this.change({ kind: 'userGrantRole', user, role }, opts);
  }

  /** Revokes a role from a user. */
  userRevokeRole(user: string, role: string, opts: CallOptions = {}): Promise<HeaderOnly> {
    return this.change({ kind: 'userRevokeRole', user, role }, opts);
  }

  /** A user and its roles (root, or the user itself). */
  async userGet(name: string, opts: CallOptions = {}): Promise<HeaderOnly & UserView> {
    await this.readAsAdmin(opts, (user) => user === name);
    return {
      header: this.node.header(this.node.parts.store.revision),
      ...this.node.parts.auth.store.userGet(name),
    };
  }

  /** Every user name (root only). */
  async userList(opts: CallOptions = {}): Promise<HeaderOnly & { users: string[] }> {
    await this.readAsAdmin(opts);
    return {
      header: this.node.header(this.node.parts.store.revision),
      users: this.node.parts.auth.store.userList(),
    };
  }

  /** Adds a role. */
  roleAdd(name: string, opts: CallOptions = {}): Promise<HeaderOnly> {
    return this.change({ kind: 'roleAdd', name }, opts);
  }

  /** Deletes a role (and revokes it from every user). */
  roleDelete(name: string, opts: CallOptions = {}): Promise<HeaderOnly> {
    return this.change({ kind: 'roleDelete', name }, opts);
  }

  /** A role's permissions (root, or a user who has the role, as etcd's authApplierV3.RoleGet). */
  async roleGet(name: string, opts: CallOptions = {}): Promise<HeaderOnly & { perm: readonly Permission[] }> {
    const { store } = this.node.parts.auth;
    await this.readAsAdmin(
      opts,
      (user) => store.userList().includes(user) && store.userGet(user).roles.includes(name),
    );
    return {
      header: this.node.header(this.node.parts.store.revision),
      perm: this.node.parts.auth.store.roleGet(name),
    };
  }

  /** Every role name (root only). */
  async roleList(opts: CallOptions = {}): Promise<HeaderOnly & { roles: string[] }> {
    await this.readAsAdmin(opts);
    return {
      header: this.node.header(this.node.parts.store.revision),
      roles: this.node.parts.auth.store.roleList(),
    };
  }

  /** Grants `role` READ, WRITE or READWRITE on a key, prefix, range or from-key. */
  roleGrantPermission(
    role: string,
    permType: PermType,
    key: Bytes,
    opts: CallOptions & KeyRangeOptions = {},
  ): Promise<HeaderOnly> {
    const k = toBytes(key);
    const rangeEnd = rangeEndFor(k, opts) ?? new Uint8Array(0);
    return this.change(
      { kind: 'roleGrantPermission', name: role, perm: { permType, key: k, rangeEnd } },
      opts,
    );
  }

  /** Revokes the permission on exactly that key or range from `role`. */
  roleRevokePermission(
    role: string,
    key: Bytes,
    opts: CallOptions & KeyRangeOptions = {},
  ): Promise<HeaderOnly> {
    const k = toBytes(key);
    const rangeEnd = rangeEndFor(k, opts) ?? new Uint8Array(0);
    return this.change({ kind: 'roleRevokePermission', name: role, key: k, rangeEnd }, opts);
  }

  /** Root only, unless `alsoAllowed` lets the caller (by user name) read it too. */
  private async readAsAdmin(opts: CallOptions, alsoAllowed?: (user: string) => boolean): Promise<void> {
    const ai = this.ctx.authInfo();
    // A request without a token is the user "" to etcd's check, so a UserGet of "" passes it (and
    // then finds no such user), as in etcd.
    if (alsoAllowed === undefined || !alsoAllowed(ai?.username ?? '')) this.node.authorizeAdmin(ai);
    await this.node.linearizableBarrier(opts);
  }
}
