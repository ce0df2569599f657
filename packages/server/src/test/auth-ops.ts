/**
 * Seeded random requests for the Auth differential test against a real etcd
 * (auth-differential.integration.test.ts): users, roles, permissions, auth enable/disable and
 * Authenticate over a small universe (users root/u1/u2, roles root/r1/r2, plus empty and unknown
 * names), and — each sent as some identity (a user's token, no token, an invalid token) — KV,
 * Lease and Watch requests whose permission decisions are compared, and the unary Maintenance
 * (Status, Alarm, HashKV) and Cluster (MemberList) requests that are deterministic on one member.
 *
 * Requests are objects as grpc-js encodes them from our .proto files (camelCase, Buffers, enums by
 * name). The generator reads back etcd's answers (`observe`) only to aim at existing users and
 * roles, to know whether auth is on and whose token is fresh; the same seed gives the same
 * requests as long as etcd gives the same answers.
 *
 * Does not: talk to a server, hold tokens (each target keeps its own), or predict answers.
 */

/** Who sends a request: a user's token (as that server issued it), no token, or a made-up token. */
export type Identity =
  | { readonly kind: 'none' }
  | { readonly kind: 'invalid' }
  /** A token that is the empty string: not "no token" to etcd 3.4, which refuses it. */
  | { readonly kind: 'empty' }
  | { readonly kind: 'user'; readonly user: string };

/** The services a request goes to. */
export type Service = 'Auth' | 'KV' | 'Lease' | 'Watch' | 'Maintenance' | 'Cluster';

/** One request: a unary call, or (Watch) a stream opened with one create request. */
export interface AuthOp {
  readonly service: Service;
  readonly method: string;
  readonly req: Record<string, unknown>;
  readonly as: Identity;
}

/** Stands for the server's own member ID in a request (each server has its own). */
export const SELF_MEMBER = 'SELF';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');

const USERS = ['root', 'u1', 'u2'] as const;
const ROLES = ['root', 'r1', 'r2'] as const;
const PASSWORDS = ['pw', 'pw2'] as const;
/** Keys KV requests touch: inside and outside every permission range below. */
const KEYS = ['a', 'a/1', 'a/2', 'a0', 'b', 'bb', 'c', 'cc', 'z'].map(b);

/** Permission ranges: key, prefix, range, from-key, all keys, overlapping, empty key, reversed. */
const PERM_RANGES: readonly { key: Buffer; rangeEnd?: Buffer }[] = [
  { key: b('a') },
  { key: b('a/'), rangeEnd: b('a0') },
  { key: b('b'), rangeEnd: b('c') },
  { key: b('c'), rangeEnd: b('\0') },
  { key: b('\0'), rangeEnd: b('\0') },
  { key: b('a'), rangeEnd: b('b') },
  { key: b('') },
  { key: b('c'), rangeEnd: b('b') },
];

/** Request ranges: a key, a prefix, a range, from a key, all keys. */
const REQ_RANGES: readonly { key: Buffer; rangeEnd?: Buffer }[] = [
  { key: b('a') },
  { key: b('a/1') },
  { key: b('b') },
  { key: b('a/'), rangeEnd: b('a0') },
  { key: b('a'), rangeEnd: b('b') },
  { key: b('b'), rangeEnd: b('c') },
  { key: b('b'), rangeEnd: b('\0') },
  { key: b('\0'), rangeEnd: b('\0') },
  { key: b('c'), rangeEnd: b('\0') },
];

/** Lease IDs granted explicitly so that both servers name a lease alike. */
const LEASE_IDS = ['100', '101'] as const;

/** What the generator knows of etcd's state, from its answers. */
interface State {
  authEnabled: boolean;
  users: Map<string, { password: string | undefined; roles: Set<string> }>;
  roles: Set<string>;
  /** Users whose token (on etcd) is still valid. */
  fresh: Set<string>;
  /** Users that ever got a token (a stale one may still be sent). */
  everAuthenticated: Set<string>;
  leases: Set<string>;
  revision: number;
  /** Members with a NOSPACE alarm raised. */
  alarms: Set<string>;
}

/** Draws requests from a seeded `rand` (a float in [0, 1), as `@tsetcd/testing`'s mulberry32). */
export class AuthOpGenerator {
  private readonly s: State = {
    authEnabled: false,
    users: new Map(),
    roles: new Set(),
    fresh: new Set(),
    everAuthenticated: new Set(),
    leases: new Set(),
    revision: 1,
    alarms: new Set(),
  };
  /** Authenticate calls so far: etcd's bcrypt makes each one cost ~50 ms. */
  authenticates = 0;

  constructor(private readonly rand: () => number) {}

  private int(n: number): number {
    return Math.floor(this.rand() * n);
  }
  private pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
  private chance(p: number): boolean {
    return this.rand() < p;
  }

  /** Mostly a known name, sometimes an unknown or empty one. */
  private user(): string {
    const r = this.rand();
    if (r < 0.04) return '';
    if (r < 0.08) return 'u3';
    return this.pick(USERS);
  }
  private role(): string {
    const r = this.rand();
    if (r < 0.04) return '';
    if (r < 0.08) return 'r3';
    return this.pick(ROLES);
  }

  /** Before auth: no token (sometimes a token, ignored). After: mostly root, else others. */
  private identity(admin: boolean): Identity {
    const s = this.s;
    if (!s.authEnabled) {
      if (this.chance(0.05) && s.everAuthenticated.size > 0)
        return { kind: 'user', user: this.pick([...s.everAuthenticated]) };
      return this.chance(0.02) ? { kind: 'empty' } : { kind: 'none' };
    }
    const r = this.rand();
    if (r < 0.06) return { kind: 'none' };
    if (r < 0.08) return { kind: 'empty' };
    if (r < 0.1) return { kind: 'invalid' };
    const fresh = [...s.fresh];
    if (admin && s.fresh.has('root') && r < 0.7) return { kind: 'user', user: 'root' };
    if (fresh.length > 0 && r < 0.95) return { kind: 'user', user: this.pick(fresh) };
    if (s.everAuthenticated.size > 0) return { kind: 'user', user: this.pick([...s.everAuthenticated]) };
    return { kind: 'none' };
  }

  /** The next request. */
  next(): AuthOp {
    const s = this.s;
    // After auth is on, a user's token comes first: without it almost everything is denied.
    if (s.authEnabled && this.authenticates < 24) {
      const missing = [...s.users.keys()].filter(
        (u) => !s.fresh.has(u) && s.users.get(u)!.password !== undefined,
      );
      if (missing.length > 0 && this.chance(missing.includes('root') ? 0.8 : 0.3)) {
        const name = this.pick(missing);
        this.authenticates++;
        return this.auth('Authenticate', { name, password: s.users.get(name)!.password }, { kind: 'none' });
      }
    }
    // Before auth is on, steer towards a root user with the root role, then enable it.
    if (!s.authEnabled && this.chance(0.25)) {
      const root = s.users.get('root');
      if (root === undefined || root.password === undefined)
        return this.auth('UserAdd', { name: 'root', password: this.pick(PASSWORDS) }, this.identity(true));
      if (!root.roles.has('root'))
        return this.auth('UserGrantRole', { user: 'root', role: 'root' }, this.identity(true));
      if (s.alarms.size === 0) return this.auth('AuthEnable', {}, this.identity(true));
    }
    const r = this.rand();
    if (r < 0.45) return this.authOp();
    if (r < 0.75) return this.kvOp();
    if (r < 0.85) return this.leaseOp();
    if (r < 0.91) return this.watchOp();
    return this.maintenanceOp();
  }

  private auth(method: string, req: Record<string, unknown>, as: Identity): AuthOp {
    return { service: 'Auth', method, req, as };
  }

  private authOp(): AuthOp {
    const s = this.s;
    const as = this.identity(true);
    // Early on, build the universe; enable auth once root exists now and then.
    const r = this.int(100);
    if (r < 10) {
      const options = this.chance(0.15) ? { options: { noPassword: true } } : {};
      const password = this.chance(0.1) ? '' : this.pick(PASSWORDS);
      return this.auth('UserAdd', { name: this.user(), password, ...options }, as);
    }
    if (r < 14) return this.auth('UserDelete', { name: this.user() }, as);
    if (r < 19) return this.auth('UserGet', { name: this.user() }, as);
    if (r < 22) return this.auth('UserList', {}, as);
    if (r < 25)
      return this.auth('UserChangePassword', { name: this.user(), password: this.pick(PASSWORDS) }, as);
    if (r < 36) return this.auth('UserGrantRole', { user: this.user(), role: this.role() }, as);
    if (r < 41) return this.auth('UserRevokeRole', { name: this.user(), role: this.role() }, as);
    if (r < 48) return this.auth('RoleAdd', { name: this.role() }, as);
    if (r < 51) return this.auth('RoleDelete', { role: this.role() }, as);
    if (r < 55) return this.auth('RoleGet', { role: this.role() }, as);
    if (r < 57) return this.auth('RoleList', {}, as);
    if (r < 72) {
      const range = this.pick(PERM_RANGES);
      // (Never without a perm: etcd 3.4.23 dies of it — see the report.)
      const perm = { permType: this.pick(['READ', 'WRITE', 'READWRITE']), ...range };
      return this.auth('RoleGrantPermission', { name: this.role(), perm }, as);
    }
    if (r < 78)
      return this.auth('RoleRevokePermission', { role: this.role(), ...this.pick(PERM_RANGES) }, as);
    // etcd 3.4 applies without any auth check while a NOSPACE alarm is raised (its capped applier
    // wraps the backend, not the auth applier): auth goes on only with no alarm (see the report).
    if (r < 87 && s.alarms.size === 0) return this.auth('AuthEnable', {}, as);
    if (r < 87) return this.auth('AuthDisable', {}, as);
    if (r < 90) return this.auth('AuthDisable', {}, as);
    // Authenticate with a bad password or an unknown user, or a good one while auth is off.
    this.authenticates++;
    const name = this.user();
    const known = s.users.get(name)?.password;
    const password = known !== undefined && this.chance(0.5) ? known : 'wrong';
    return this.auth('Authenticate', { name, password }, { kind: 'none' });
  }

  private range(): { key: Buffer; rangeEnd?: Buffer } {
    return this.pick(REQ_RANGES);
  }

  private put(): Record<string, unknown> {
    const req: Record<string, unknown> = { key: this.pick(KEYS), value: b(this.pick(['x', 'y'])) };
    if (this.chance(0.2)) req.prevKv = true;
    if (this.chance(0.15)) req.lease = this.pick(LEASE_IDS);
    return req;
  }

  private kvOp(): AuthOp {
    const as = this.identity(false);
    const r = this.int(100);
    const kv = (method: string, req: Record<string, unknown>): AuthOp => ({ service: 'KV', method, req, as });
    if (r < 35) return kv('Put', this.put());
    if (r < 60) {
      const req: Record<string, unknown> = { ...this.range() };
      if (this.chance(0.2)) req.countOnly = true;
      if (this.chance(0.1)) req.serializable = true;
      return kv('Range', req);
    }
    if (r < 72) return kv('DeleteRange', { ...this.range(), ...(this.chance(0.3) ? { prevKv: true } : {}) });
    if (r < 95) {
      const requestOp = (): Record<string, unknown> => {
        const k = this.int(3);
        if (k === 0) return { requestPut: this.put() };
        if (k === 1) return { requestRange: this.range() };
        return { requestDeleteRange: this.range() };
      };
      const compare = this.chance(0.7)
        ? [{ ...this.range(), target: 'VERSION', result: 'GREATER', version: '0' }]
        : [];
      return kv('Txn', {
        compare,
        success: Array.from({ length: this.int(3) }, requestOp),
        failure: Array.from({ length: this.int(2) }, requestOp),
      });
    }
    const rev = Math.max(1, this.s.revision - this.int(3));
    return kv('Compact', { revision: String(rev) });
  }

  private leaseOp(): AuthOp {
    const as = this.identity(false);
    const lease = (method: string, req: Record<string, unknown>): AuthOp => ({
      service: 'Lease',
      method,
      req,
      as,
    });
    const r = this.int(100);
    if (r < 40) return lease('LeaseGrant', { TTL: '600', ID: this.pick(LEASE_IDS) });
    if (r < 70) return lease('LeaseRevoke', { ID: this.pick(LEASE_IDS) });
    if (r < 85) return lease('LeaseTimeToLive', { ID: this.pick(LEASE_IDS), keys: true });
    return lease('LeaseLeases', {});
  }

  private watchOp(): AuthOp {
    const req: Record<string, unknown> = { ...this.range() };
    if (this.chance(0.2)) req.prevKv = true;
    return { service: 'Watch', method: 'Watch', req, as: this.identity(false) };
  }

  private maintenanceOp(): AuthOp {
    const anyone = this.identity(false);
    const m = (service: Service, method: string, req: Record<string, unknown>): AuthOp => ({
      service,
      method,
      req,
      as: anyone,
    });
    const r = this.int(100);
    // Alarm and HashKV, which need an admin, go as root once auth is on. etcd 3.4 refuses
    // anyone else with the auth package's bare error under code Unknown ("auth: user name is
    // empty", "auth: invalid auth token", "auth: permission denied"), where tsetcd gives the
    // etcdserver error and its gRPC code, as for every other service: a difference kept on
    // purpose (etcdctl and clients branch on the codes).
    if (this.s.authEnabled && r >= 15 && r < 85) {
      if (!this.s.fresh.has('root')) return m('Maintenance', 'Status', {});
      const op = this.adminMaintenanceOp(r);
      return { ...op, as: { kind: 'user', user: 'root' } };
    }
    if (r < 15) return m('Maintenance', 'Status', {});
    if (r < 85) return { ...this.adminMaintenanceOp(r), as: anyone };
    return m('Cluster', 'MemberList', {});
  }

  /** An Alarm or HashKV request (`r` in 15..84 picks which). */
  private adminMaintenanceOp(r: number): Omit<AuthOp, 'as'> {
    const m = (service: Service, method: string, req: Record<string, unknown>) => ({ service, method, req });
    if (r < 35) return m('Maintenance', 'Alarm', { action: 'GET' });
    if (r < 60) {
      const action = this.s.authEnabled ? 'DEACTIVATE' : this.pick(['ACTIVATE', 'DEACTIVATE', 'DEACTIVATE']);
      // CORRUPT and NONE are left to fixed cases (the Alarm test): tsetcd differs on both, and a
      // CORRUPT alarm would make every later write differ.
      const alarm = 'NOSPACE';
      const memberID = this.chance(0.7) ? SELF_MEMBER : this.pick(['12345', '0']);
      return m('Maintenance', 'Alarm', { action, memberID, alarm });
    }
    if (r < 85) {
      const revision = this.pick([0, this.s.revision, this.s.revision + 5, 1]);
      return m('Maintenance', 'HashKV', { revision: String(revision) });
    }
    return m('Maintenance', 'Alarm', { action: 'GET' });
  }

  /** Reads back etcd's answer to `op`: `res` on success, undefined on an error. */
  observe(op: AuthOp, res: Record<string, unknown> | undefined): void {
    const s = this.s;
    const rev = Number((res?.header as { revision?: string } | undefined)?.revision ?? 0);
    if (rev > s.revision) s.revision = rev;
    if (res === undefined) {
      // An invalidated token: etcd says so, the generator stops sending it as fresh.
      return;
    }
    const req = op.req as Record<string, string & { noPassword?: boolean }>;
    switch (op.method) {
      case 'UserAdd':
        s.users.set(req.name!, {
          password: (req.options as { noPassword?: boolean } | undefined)?.noPassword
            ? undefined
            : req.password,
          roles: new Set(),
        });
        return;
      case 'UserDelete':
        s.users.delete(req.name!);
        s.fresh.delete(req.name!);
        return;
      case 'UserChangePassword': {
        const u = s.users.get(req.name!);
        if (u !== undefined) u.password = req.password;
        s.fresh.delete(req.name!);
        return;
      }
      case 'UserGrantRole':
        s.users.get(req.user!)?.roles.add(req.role!);
        return;
      case 'UserRevokeRole':
        s.users.get(req.name!)?.roles.delete(req.role!);
        return;
      case 'RoleAdd':
        s.roles.add(req.name!);
        return;
      case 'RoleDelete':
        s.roles.delete(req.role!);
        return;
      case 'Alarm':
        if (req.action === 'ACTIVATE') s.alarms.add(req.memberID!);
        if (req.action === 'DEACTIVATE') s.alarms.delete(req.memberID!);
        return;
      case 'AuthEnable':
        s.authEnabled = true;
        return;
      case 'AuthDisable':
        s.authEnabled = false;
        s.fresh.clear();
        return;
      case 'Authenticate':
        s.fresh.add(req.name!);
        s.everAuthenticated.add(req.name!);
        return;
      default:
        return;
    }
  }

  /** etcd said the token of `user` is invalid: authenticate again before using it as fresh. */
  stale(user: string): void {
    this.s.fresh.delete(user);
  }
}
