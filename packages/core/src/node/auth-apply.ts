/**
 * Auth on a node: the replicated AuthStore applied from the log, and the permission checks every
 * request passes — on the member that takes the request (fail fast, and the only check reads
 * get) and again when it is applied (authoritative: the check runs at the auth revision the
 * request was admitted at, so a permission revoked in between fails it with ErrAuthOldRevision,
 * as etcd's authApplierV3 does).
 *
 * A request carries the user it runs as; internal requests (a lease expiring on the leader, an
 * alarm, a member publishing its URLs) carry none and are not checked. When auth is enabled, a
 * client request without a user fails with ErrUserEmpty, as a token-less etcd request does.
 */

import type { MvccStore, RequestOp, TxnRequest } from '@tsetcd/mvcc';
import { AuthStore } from '../auth/auth-store.js';
import type { AuthError } from '../auth/errors.js';
import { simpleToken } from '../auth/token.js';
import type { AuthInfo, Permission } from '../auth/types.js';
import type { Clock } from '../clock.js';
import type { AuthApply } from './applier.js';
import type { ReplicatedRequest, RequestEnvelope } from './request.js';

/** An auth request as it travels in the log. */
export type AuthRequest =
  | { readonly kind: 'authEnable' }
  | { readonly kind: 'authDisable' }
  | { readonly kind: 'authenticate'; readonly name: string; readonly prefix: string }
  | { readonly kind: 'userAdd'; readonly name: string; readonly hash?: string; readonly noPassword?: boolean }
  | { readonly kind: 'userDelete'; readonly name: string }
  | { readonly kind: 'userChangePassword'; readonly name: string; readonly hash: string }
  | { readonly kind: 'userGrantRole'; readonly user: string; readonly role: string }
  | { readonly kind: 'userRevokeRole'; readonly user: string; readonly role: string }
  | { readonly kind: 'roleAdd'; readonly name: string }
  | { readonly kind: 'roleDelete'; readonly name: string }
  | { readonly kind: 'roleGrantPermission'; readonly name: string; readonly perm: Permission }
  | {
      readonly kind: 'roleRevokePermission';
      readonly name: string;
      readonly key: Uint8Array;
      readonly rangeEnd: Uint8Array;
    };

const EMPTY = new Uint8Array(0);

/** The auth store of a node and its checks; see the file comment. */
export class NodeAuth implements AuthApply {
  private current: AuthStore;

  private constructor(
    store: AuthStore,
    private readonly mvcc: MvccStore,
    private readonly clock: Clock,
  ) {
    this.current = store;
  }

  /** Loads the auth state from the store's backend. */
  static async open(mvcc: MvccStore, clock: Clock): Promise<NodeAuth> {
    const store = await AuthStore.load(mvcc.kv.backend, { tokens: { clock: () => clock.now() } });
    return new NodeAuth(store, mvcc, clock);
  }

  /** The current AuthStore (replaced when a snapshot is installed). */
  get store(): AuthStore {
    return this.current;
  }

  /** Re-reads the auth state after the mvcc store was replaced by a snapshot; tokens are dropped. */
  async reload(): Promise<void> {
    this.current = await AuthStore.load(this.mvcc.kv.backend, { tokens: { clock: () => this.clock.now() } });
  }

  /** AuthApply: applies an auth management request. */
  apply(env: RequestEnvelope & { readonly req: { readonly op: 'auth' } }, index: number): unknown {
    const a = env.req.auth as unknown as AuthRequest;
    const s = this.current;
    const header = { revision: this.mvcc.revision };
    switch (a.kind) {
      case 'authEnable':
        s.authEnable();
        break;
      case 'authDisable':
        s.authDisable();
        break;
      case 'authenticate':
        return { header, token: s.authenticate(a.name, simpleToken(a.prefix, index)) };
      case 'userAdd':
        s.userAdd(a.name, a.hash, a.noPassword ? { noPassword: true } : {});
        break;
      case 'userDelete':
        s.userDelete(a.name);
        break;
      case 'userChangePassword':
        s.userChangePassword(a.name, a.hash);
        break;
      case 'userGrantRole':
        s.userGrantRole(a.user, a.role);
        break;
      case 'userRevokeRole':
        s.userRevokeRole(a.user, a.role);
        break;
      case 'roleAdd':
        s.roleAdd(a.name);
        break;
      case 'roleDelete':
        s.roleDelete(a.name);
        break;
      case 'roleGrantPermission':
        s.roleGrantPermission(a.name, a.perm);
        break;
      case 'roleRevokePermission':
        s.roleRevokePermission(a.name, a.key, a.rangeEnd);
        break;
    }
    return { header };
  }

  /** AuthApply: the apply-time check (throws the request's auth error). */
  check(env: RequestEnvelope): void {
    if (env.user === undefined || !this.current.enabled) return;
    const err = this.requestError({ username: env.user, revision: env.authRevision ?? 0 }, env.req);
    if (err !== undefined) throw err;
  }

  /** The error `ai` gets for `req`, if any (used before proposing and at apply). */
  requestError(ai: AuthInfo | undefined, req: ReplicatedRequest): AuthError | undefined {
    const s = this.current;
    if (!s.enabled) return undefined;
    switch (req.op) {
      case 'put':
        return (
          s.isPutPermitted(ai, req.put.key) ??
          (req.put.prevKv ? s.isRangePermitted(ai, req.put.key, EMPTY) : undefined)
        );
      case 'deleteRange': {
        const end = req.deleteRange.rangeEnd ?? EMPTY;
        return (
          s.isDeleteRangePermitted(ai, req.deleteRange.key, end) ??
          (req.deleteRange.prevKv ? s.isRangePermitted(ai, req.deleteRange.key, end) : undefined)
        );
      }
      case 'txn':
        return this.txnError(ai, req.txn);
      case 'leaseRevoke':
        return this.leaseKeysError(ai, req.id);
      case 'auth':
        return (req.auth as unknown as AuthRequest).kind === 'authenticate'
          ? undefined
          : s.isAdminPermitted(ai);
      default: // as etcd: compaction, alarms and leases need no permission beyond a valid token
        return undefined;
    }
  }

  /** The error `ai` gets reading [key, rangeEnd), if any. */
  rangeError(
    ai: AuthInfo | undefined,
    key: Uint8Array,
    rangeEnd: Uint8Array | undefined,
  ): AuthError | undefined {
    return this.current.isRangePermitted(ai, key, rangeEnd ?? EMPTY);
  }

  /** The error `ai` gets for an admin-only call (members, maintenance), if any. */
  adminError(ai: AuthInfo | undefined): AuthError | undefined {
    return this.current.isAdminPermitted(ai);
  }

  private txnError(ai: AuthInfo | undefined, txn: TxnRequest): AuthError | undefined {
    const s = this.current;
    for (const c of txn.compare) {
      const e = s.isRangePermitted(ai, c.key, c.rangeEnd ?? EMPTY);
      if (e !== undefined) return e;
    }
    const ops: readonly RequestOp[] = [...txn.success, ...txn.failure];
    for (const op of ops) {
      let e: AuthError | undefined;
      if (op.type === 'range') e = s.isRangePermitted(ai, op.request.key, op.request.rangeEnd ?? EMPTY);
      else if (op.type === 'put') e = this.requestError(ai, { op: 'put', put: op.request });
      else if (op.type === 'deleteRange')
        e = this.requestError(ai, { op: 'deleteRange', deleteRange: op.request });
      else e = this.txnError(ai, op.request);
      if (e !== undefined) return e;
    }
    return undefined;
  }

  /** etcd's checkLeasePuts: revoking a lease deletes its keys, so it needs write access to each. */
  private leaseKeysError(ai: AuthInfo | undefined, id: bigint): AuthError | undefined {
    let keys: readonly Uint8Array[];
    try {
      keys = this.mvcc.lessor.timeToLive(id, { keys: true }).keys;
    } catch {
      return undefined; // unknown lease: the revoke itself fails with LeaseNotFound
    }
    for (const k of keys) {
      const e = this.current.isPutPermitted(ai, k);
      if (e !== undefined) return e;
    }
    return undefined;
  }
}
