import { type Backend, MemoryBackend, utf8 } from '@tsetcd/mvcc';
import { describe, expect, it } from 'vitest';
import { AuthStore } from './auth-store.js';
import * as errors from './errors.js';
import { hashPassword, type ScryptCost } from './password.js';
import type { AuthInfo, Permission, PermType } from './types.js';

const CHEAP: ScryptCost = { N: 16, r: 1, p: 1 };
const NONE = new Uint8Array(0);
const FROM = new Uint8Array([0]);
const HASH = 'scrypt$16$1$1$AAAA$AAAA'; // opaque to the store: any string

const perm = (permType: PermType, key: string, rangeEnd: string | Uint8Array = NONE): Permission => ({
  permType,
  key: utf8(key),
  rangeEnd: typeof rangeEnd === 'string' ? utf8(rangeEnd) : rangeEnd,
});

async function fresh(backend: Backend = new MemoryBackend()) {
  return AuthStore.load(backend);
}

/** A store with root (role root, auth on), alice (role r1) and bob (no roles). */
async function enabledStore(backend: Backend = new MemoryBackend()) {
  const s = await fresh(backend);
  s.userAdd('root', HASH);
  s.userGrantRole('root', 'root');
  s.roleAdd('r1');
  s.userAdd('alice', HASH);
  s.userGrantRole('alice', 'r1');
  s.userAdd('bob', HASH);
  s.authEnable();
  return s;
}

const as = (s: AuthStore, username: string): AuthInfo => ({ username, revision: s.revision });

describe('AuthStore: a new store', () => {
  it('is disabled, at auth revision 1, with no users or roles', async () => {
    const s = await fresh();
    expect(s.enabled).toBe(false);
    expect(s.revision).toBe(1);
    expect(s.userList()).toEqual([]);
    expect(s.roleList()).toEqual([]);
  });
});

describe('authEnable / authDisable', () => {
  it('enabling needs a user named root', async () => {
    const s = await fresh();
    expect(() => s.authEnable()).toThrow(errors.RootUserNotExistError);
  });

  it('enabling needs user root to hold role root', async () => {
    const s = await fresh();
    s.userAdd('root', HASH);
    expect(() => s.authEnable()).toThrow(errors.RootRoleNotExistError);
    expect(s.enabled).toBe(false);
  });

  it('role root can be granted without creating it, then auth enables', async () => {
    const s = await fresh();
    s.userAdd('root', HASH);
    s.userGrantRole('root', 'root');
    expect(s.roleList()).toEqual([]);
    s.authEnable();
    expect(s.enabled).toBe(true);
  });

  it('enabling leaves the revision as is (etcd 3.4); enabling again is a no-op', async () => {
    const s = await fresh();
    s.userAdd('root', HASH);
    s.userGrantRole('root', 'root');
    const rev = s.revision;
    s.authEnable();
    s.authEnable();
    expect(s.revision).toBe(rev);
  });

  it('disabling bumps the revision and drops every token; disabling again is a no-op', async () => {
    const s = await enabledStore();
    s.authenticate('alice', 'tok.1');
    const rev = s.revision;
    s.authDisable();
    expect(s.enabled).toBe(false);
    expect(s.revision).toBe(rev + 1);
    expect(() => s.authInfoFromToken('tok.1')).toThrow(errors.InvalidAuthTokenError);
    s.authDisable();
    expect(s.revision).toBe(rev + 1);
  });
});

describe('users', () => {
  it('userAdd: empty name, duplicate name; each success bumps the revision', async () => {
    const s = await fresh();
    expect(() => s.userAdd('', HASH)).toThrow(errors.UserEmptyError);
    s.userAdd('alice', HASH);
    expect(s.revision).toBe(2);
    expect(() => s.userAdd('alice', HASH)).toThrow(errors.UserAlreadyExistError);
    expect(s.revision).toBe(2);
  });

  it('userAdd without a hash is a programming mistake unless noPassword', async () => {
    const s = await fresh();
    expect(() => s.userAdd('alice', undefined)).toThrow(TypeError);
    s.userAdd('svc', HASH, { noPassword: true });
    expect(s.userGet('svc')).toEqual({ name: 'svc', noPassword: true, roles: [] });
  });

  it('userGet / userList: not found, sorted bytewise, never the hash', async () => {
    const s = await fresh();
    for (const n of ['b', 'B', 'a', 'ä']) s.userAdd(n, HASH);
    expect(s.userList()).toEqual(['B', 'a', 'b', 'ä']);
    expect(() => s.userGet('zed')).toThrow(errors.UserNotFoundError);
    expect(s.userGet('a')).not.toHaveProperty('passwordHash');
  });

  it('userDelete: not found; root only while auth is off; drops the user’s tokens', async () => {
    const s = await enabledStore();
    expect(() => s.userDelete('zed')).toThrow(errors.UserNotFoundError);
    expect(() => s.userDelete('root')).toThrow(errors.InvalidAuthMgmtError);
    s.authenticate('alice', 'tok.1');
    const rev = s.revision;
    s.userDelete('alice');
    expect(s.revision).toBe(rev + 1);
    expect(s.userList()).toEqual(['bob', 'root']);
    expect(() => s.authInfoFromToken('tok.1')).toThrow(errors.InvalidAuthTokenError);
    s.authDisable();
    s.userDelete('root');
    expect(s.userList()).toEqual(['bob']);
  });

  it('userChangePassword: not found; drops tokens; a NoPassword user stays without password', async () => {
    const s = await enabledStore();
    expect(() => s.userChangePassword('zed', HASH)).toThrow(errors.UserNotFoundError);
    s.authenticate('alice', 'tok.1');
    const rev = s.revision;
    s.userChangePassword('alice', 'scrypt$new');
    expect(s.revision).toBe(rev + 1);
    expect(() => s.authInfoFromToken('tok.1')).toThrow(errors.InvalidAuthTokenError);
    expect(s.userGet('alice').roles).toEqual(['r1']);
    s.userAdd('svc', undefined, { noPassword: true });
    s.userChangePassword('svc', HASH);
    expect(() => s.authenticate('svc', 'tok.2')).toThrow(errors.NoPasswordUserError);
  });

  it('userGrantRole: user checked first, then role; roles kept sorted; regrant is a no-op', async () => {
    const s = await fresh();
    expect(() => s.userGrantRole('zed', 'nope')).toThrow(errors.UserNotFoundError);
    s.userAdd('alice', HASH);
    expect(() => s.userGrantRole('alice', 'nope')).toThrow(errors.RoleNotFoundError);
    s.roleAdd('writer');
    s.roleAdd('reader');
    s.userGrantRole('alice', 'writer');
    s.userGrantRole('alice', 'reader');
    expect(s.userGet('alice').roles).toEqual(['reader', 'writer']);
    const rev = s.revision;
    s.userGrantRole('alice', 'reader');
    expect(s.revision).toBe(rev);
  });

  it('userRevokeRole: not found, not granted; root from root only while auth is off', async () => {
    const s = await enabledStore();
    expect(() => s.userRevokeRole('zed', 'r1')).toThrow(errors.UserNotFoundError);
    expect(() => s.userRevokeRole('bob', 'r1')).toThrow(errors.RoleNotGrantedError);
    expect(() => s.userRevokeRole('root', 'root')).toThrow(errors.InvalidAuthMgmtError);
    const rev = s.revision;
    s.userRevokeRole('alice', 'r1');
    expect(s.revision).toBe(rev + 1);
    expect(s.userGet('alice').roles).toEqual([]);
    s.authDisable();
    s.userRevokeRole('root', 'root');
    expect(s.userGet('root').roles).toEqual([]);
  });
});

describe('roles', () => {
  it('roleAdd: empty name, duplicate name; roleGet/roleList', async () => {
    const s = await fresh();
    expect(() => s.roleAdd('')).toThrow(errors.RoleEmptyError);
    s.roleAdd('r2');
    s.roleAdd('r1');
    expect(() => s.roleAdd('r1')).toThrow(errors.RoleAlreadyExistError);
    expect(s.roleList()).toEqual(['r1', 'r2']);
    expect(s.roleGet('r1')).toEqual([]);
    expect(() => s.roleGet('zed')).toThrow(errors.RoleNotFoundError);
    expect(s.revision).toBe(3);
  });

  it('roleDelete: not found; root only while auth is off; revoked from every holder', async () => {
    const s = await enabledStore();
    expect(() => s.roleDelete('zed')).toThrow(errors.RoleNotFoundError);
    s.roleAdd('root');
    expect(() => s.roleDelete('root')).toThrow(errors.InvalidAuthMgmtError);
    s.userGrantRole('bob', 'r1');
    s.roleDelete('r1');
    expect(s.userGet('alice').roles).toEqual([]);
    expect(s.userGet('bob').roles).toEqual([]);
    s.roleAdd('r1'); // re-created: old holders do not get it back
    expect(s.userGet('alice').roles).toEqual([]);
  });

  it("roleGrantPermission: role not found; kept as etcd keeps them (by key, ties in grant order, etcd's update rule)", async () => {
    const s = await fresh();
    expect(() => s.roleGrantPermission('zed', perm('READ', 'a'))).toThrow(errors.RoleNotFoundError);
    s.roleAdd('r1');
    s.roleGrantPermission('r1', perm('READ', 'a', 'c'));
    s.roleGrantPermission('r1', perm('WRITE', 'a', 'd'));
    s.roleGrantPermission('r1', perm('READ', '0', FROM));
    s.roleGrantPermission('r1', perm('READ', 'a'));
    const rev = s.revision;
    s.roleGrantPermission('r1', perm('READWRITE', 'a'));
    expect(s.revision).toBe(rev + 1);
    const show = s
      .roleGet('r1')
      .map((p) => [p.permType, Buffer.from(p.key).toString(), Buffer.from(p.rangeEnd).toString()]);
    // etcd updates a permission only if the first one with that key has the same range end:
    // here the first 'a' is ('a', 'c'), so ('a', '') is added twice, as etcd 3.4 lists it.
    expect(show).toEqual([
      ['READ', '0', '\0'],
      ['READ', 'a', 'c'],
      ['WRITE', 'a', 'd'],
      ['READ', 'a', ''],
      ['READWRITE', 'a', ''],
    ]);
    s.roleGrantPermission('r1', perm('WRITE', 'a', 'c'));
    expect(s.roleGet('r1')[1]!.permType).toBe('WRITE');
    s.roleRevokePermission('r1', new TextEncoder().encode('a'));
    expect(s.roleGet('r1')).toHaveLength(3);
  });

  it('roleGrantPermission copies the caller’s bytes', async () => {
    const s = await fresh();
    s.roleAdd('r1');
    const p = perm('READ', 'a');
    s.roleGrantPermission('r1', p);
    (p.key as Uint8Array)[0] = 0x7a;
    expect(Buffer.from(s.roleGet('r1')[0]!.key).toString()).toBe('a');
  });

  it('roleRevokePermission: role not found; needs the exact (key, rangeEnd)', async () => {
    const s = await fresh();
    expect(() => s.roleRevokePermission('zed', utf8('a'), NONE)).toThrow(errors.RoleNotFoundError);
    s.roleAdd('r1');
    s.roleGrantPermission('r1', perm('READ', 'a', 'c'));
    expect(() => s.roleRevokePermission('r1', utf8('a'), NONE)).toThrow(errors.PermissionNotGrantedError);
    expect(() => s.roleRevokePermission('r1', utf8('a'), utf8('b'))).toThrow(
      errors.PermissionNotGrantedError,
    );
    s.roleRevokePermission('r1', utf8('a'), utf8('c'));
    expect(s.roleGet('r1')).toEqual([]);
    expect(() => s.roleRevokePermission('r1', utf8('a'), utf8('c'))).toThrow(
      errors.PermissionNotGrantedError,
    );
  });
});

describe('permission checks', () => {
  it('when auth is disabled everything is permitted, even with no user', async () => {
    const s = await fresh();
    expect(s.isRangePermitted(undefined, utf8('a'), FROM)).toBeUndefined();
    expect(s.isPutPermitted(undefined, utf8('a'))).toBeUndefined();
    expect(s.isDeleteRangePermitted(undefined, utf8('a'), NONE)).toBeUndefined();
    expect(s.isAdminPermitted(undefined)).toBeUndefined();
  });

  it('no AuthInfo (or revision 0) is ErrUserEmpty; an old revision is ErrAuthOldRevision', async () => {
    const s = await enabledStore();
    expect(s.isPutPermitted(undefined, utf8('a'))).toBeInstanceOf(errors.UserEmptyError);
    expect(s.isPutPermitted({ username: 'root', revision: 0 }, utf8('a'))).toBeInstanceOf(
      errors.UserEmptyError,
    );
    const info = as(s, 'root');
    s.userAdd('carol', HASH);
    expect(s.isPutPermitted(info, utf8('a'))).toBeInstanceOf(errors.AuthOldRevisionError);
    expect(s.isPutPermitted(as(s, 'root'), utf8('a'))).toBeUndefined();
  });

  it('an unknown user is denied; the root role may do anything', async () => {
    const s = await enabledStore();
    expect(s.isRangePermitted(as(s, 'ghost'), utf8('a'), NONE)).toBeInstanceOf(errors.PermissionDeniedError);
    expect(s.isRangePermitted(as(s, 'root'), NONE, FROM)).toBeUndefined();
    expect(s.isDeleteRangePermitted(as(s, 'root'), NONE, FROM)).toBeUndefined();
  });

  it('READ grants reads only, WRITE grants puts and deletes only', async () => {
    const s = await enabledStore();
    s.roleGrantPermission('r1', perm('READ', 'r'));
    s.roleGrantPermission('r1', perm('WRITE', 'w'));
    const alice = as(s, 'alice');
    expect(s.isRangePermitted(alice, utf8('r'), NONE)).toBeUndefined();
    expect(s.isPutPermitted(alice, utf8('r'))).toBeInstanceOf(errors.PermissionDeniedError);
    expect(s.isPutPermitted(alice, utf8('w'))).toBeUndefined();
    expect(s.isDeleteRangePermitted(alice, utf8('w'), NONE)).toBeUndefined();
    expect(s.isRangePermitted(alice, utf8('w'), NONE)).toBeInstanceOf(errors.PermissionDeniedError);
  });

  it('prefix and from-key grants; the request must be entirely covered', async () => {
    const s = await enabledStore();
    s.roleGrantPermission('r1', perm('READWRITE', 'foo/', 'foo0'));
    s.roleGrantPermission('r1', perm('READ', 'x', FROM));
    const alice = as(s, 'alice');
    expect(s.isRangePermitted(alice, utf8('foo/a'), utf8('foo/b'))).toBeUndefined();
    expect(s.isRangePermitted(alice, utf8('foo/'), utf8('foo0'))).toBeUndefined();
    expect(s.isRangePermitted(alice, utf8('fo'), utf8('foo0'))).toBeInstanceOf(errors.PermissionDeniedError);
    expect(s.isRangePermitted(alice, utf8('foo/'), utf8('fooz'))).toBeInstanceOf(
      errors.PermissionDeniedError,
    );
    expect(s.isRangePermitted(alice, utf8('xa'), FROM)).toBeUndefined();
    expect(s.isRangePermitted(alice, utf8('foo/'), FROM)).toBeInstanceOf(errors.PermissionDeniedError);
    expect(s.isDeleteRangePermitted(alice, utf8('x'), FROM)).toBeInstanceOf(errors.PermissionDeniedError);
  });

  it('intervals from different roles unite; a gap between them is denied', async () => {
    const s = await enabledStore();
    s.roleAdd('r2');
    s.userGrantRole('alice', 'r2');
    s.roleGrantPermission('r1', perm('READ', 'a', 'm'));
    s.roleGrantPermission('r2', perm('READ', 'm', 'z'));
    s.roleGrantPermission('r2', perm('READ', 'zz'));
    const alice = as(s, 'alice');
    expect(s.isRangePermitted(alice, utf8('c'), utf8('q'))).toBeUndefined(); // across the seam at 'm'
    expect(s.isRangePermitted(alice, utf8('a'), utf8('z'))).toBeUndefined();
    expect(s.isRangePermitted(alice, utf8('a'), utf8('zz'))).toBeInstanceOf(errors.PermissionDeniedError);
    expect(s.isRangePermitted(alice, utf8('zz'), NONE)).toBeUndefined();
  });

  it('the cached intervals follow every change of roles and permissions', async () => {
    const s = await enabledStore();
    const can = () => s.isRangePermitted(as(s, 'alice'), utf8('k'), NONE) === undefined;
    expect(can()).toBe(false);
    s.roleGrantPermission('r1', perm('READ', 'k'));
    expect(can()).toBe(true);
    s.roleRevokePermission('r1', utf8('k'), NONE);
    expect(can()).toBe(false);
    s.roleGrantPermission('r1', perm('READ', 'k'));
    s.userRevokeRole('alice', 'r1');
    expect(can()).toBe(false);
    s.userGrantRole('alice', 'r1');
    expect(can()).toBe(true);
    s.roleDelete('r1');
    expect(can()).toBe(false);
    s.userGrantRole('alice', 'root');
    expect(can()).toBe(true);
  });

  it('isAdminPermitted: no user, unknown user, non-root user, root', async () => {
    const s = await enabledStore();
    expect(s.isAdminPermitted(undefined)).toBeInstanceOf(errors.UserEmptyError);
    expect(s.isAdminPermitted(as(s, 'ghost'))).toBeInstanceOf(errors.UserNotFoundError);
    expect(s.isAdminPermitted(as(s, 'alice'))).toBeInstanceOf(errors.PermissionDeniedError);
    expect(s.isAdminPermitted(as(s, 'root'))).toBeUndefined();
    expect(s.isAdmin('root')).toBe(true);
    expect(s.isAdmin('alice')).toBe(false);
    expect(s.isAdmin('ghost')).toBe(false);
  });
});

describe('authenticate and tokens', () => {
  it('fails while auth is off, for unknown users and for NoPassword users', async () => {
    const off = await fresh();
    off.userAdd('alice', HASH);
    expect(() => off.authenticate('alice', 't.1')).toThrow(errors.AuthNotEnabledError);
    const s = await enabledStore();
    s.userAdd('svc', undefined, { noPassword: true });
    expect(() => s.authenticate('ghost', 't.1')).toThrow(errors.AuthFailedError);
    expect(() => s.authenticate('svc', 't.1')).toThrow(errors.NoPasswordUserError);
  });

  it('registers the token; its AuthInfo carries the current auth revision (etcd simple tokens)', async () => {
    const s = await enabledStore();
    expect(s.authenticate('alice', 'abc.7')).toBe('abc.7');
    expect(s.authInfoFromToken('abc.7')).toEqual({ username: 'alice', revision: s.revision });
    s.roleAdd('other');
    expect(s.authInfoFromToken('abc.7')).toEqual({ username: 'alice', revision: s.revision });
    expect(() => s.authInfoFromToken('nope.1')).toThrow(errors.InvalidAuthTokenError);
  });

  it('tokens expire by the injected clock', async () => {
    let now = 0;
    const s = await AuthStore.load(new MemoryBackend(), { tokens: { ttlMs: 100, clock: () => now } });
    s.userAdd('root', HASH);
    s.userGrantRole('root', 'root');
    s.authEnable();
    s.authenticate('root', 't.1');
    now = 100;
    expect(() => s.authInfoFromToken('t.1')).toThrow(errors.InvalidAuthTokenError);
  });

  it('checkPassword: the right password gives the revision; anything else fails', async () => {
    const s = await fresh();
    s.userAdd('root', await hashPassword('pw', CHEAP));
    s.userGrantRole('root', 'root');
    s.userAdd('svc', undefined, { noPassword: true });
    await expect(s.checkPassword('root', 'pw')).rejects.toThrow(errors.AuthNotEnabledError);
    s.authEnable();
    expect(await s.checkPassword('root', 'pw')).toBe(s.revision);
    await expect(s.checkPassword('root', 'wrong')).rejects.toThrow(errors.AuthFailedError);
    await expect(s.checkPassword('ghost', 'pw')).rejects.toThrow(errors.AuthFailedError);
    await expect(s.checkPassword('svc', '')).rejects.toThrow(errors.NoPasswordUserError);
  });
});
