/**
 * The Auth service of a served member, through a grpc-js client (the token in `token` metadata)
 * and through the real etcdctl 3.4 (`--user`): users, roles, permissions, enabling and disabling
 * auth, and etcd's errors with their gRPC codes and texts.
 */

import { Metadata, status } from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { type Decoded, hasEtcdctl, type Served, serve } from './test/harness.js';

let s: Served | undefined;
afterEach(async () => {
  await s?.close();
  s = undefined;
});

const b = (x: string) => Buffer.from(x);

/** Calls a unary method with the token in the metadata, as etcd's clients send it. */
function callAs(client: object, method: string, req: object, token: string): Promise<Decoded> {
  const md = new Metadata();
  md.set('token', token);
  const fn = (
    client as Record<string, (r: object, m: Metadata, cb: (e: Error | null, r: Decoded) => void) => void>
  )[method]!;
  return new Promise((resolve, reject) => fn.call(client, req, md, (e, r) => (e ? reject(e) : resolve(r))));
}

describe('Auth over gRPC', () => {
  it('manages users and roles, enables auth, authenticates and enforces permissions', {
    timeout: 20_000,
  }, async () => {
    s = await serve();
    const a = s.client('Auth');
    const kv = s.client('KV');
    await expect(s.call(a, 'UserAdd', { name: '', password: 'x' })).rejects.toMatchObject({
      code: status.INVALID_ARGUMENT,
      details: 'etcdserver: user name is empty',
    });
    await expect(s.call(a, 'AuthEnable', {})).rejects.toMatchObject({
      code: status.FAILED_PRECONDITION,
      details: 'etcdserver: root user does not exist',
    });
    await s.call(a, 'UserAdd', { name: 'root', password: 'rootpw' });
    await s.call(a, 'UserGrantRole', { user: 'root', role: 'root' });
    await s.call(a, 'UserAdd', { name: 'bob', password: 'bobpw' });
    await s.call(a, 'RoleAdd', { name: 'r1' });
    await expect(s.call(a, 'RoleAdd', { name: 'r1' })).rejects.toMatchObject({
      code: status.FAILED_PRECONDITION,
      details: 'etcdserver: role name already exists',
    });
    // No perm at all: etcd 3.5's refusal (3.4 crashes on it).
    await expect(s.call(a, 'RoleGrantPermission', { name: 'r1' })).rejects.toMatchObject({
      code: status.INVALID_ARGUMENT,
      details: 'etcdserver: permission not given',
    });
    await s.call(a, 'RoleGrantPermission', { name: 'r1', perm: { permType: 'READ', key: b('foo') } });
    await s.call(a, 'RoleGrantPermission', {
      name: 'r1',
      perm: { permType: 'READWRITE', key: b('p/'), rangeEnd: b('p0') },
    });
    await s.call(a, 'UserGrantRole', { user: 'bob', role: 'r1' });
    const role = await s.call(a, 'RoleGet', { role: 'r1' });
    expect(role.perm).toEqual([
      { permType: 'READ', key: b('foo'), rangeEnd: b('') },
      { permType: 'READWRITE', key: b('p/'), rangeEnd: b('p0') },
    ]);
    expect((await s.call(a, 'UserGet', { name: 'bob' })).roles).toEqual(['r1']);
    expect((await s.call(a, 'UserList', {})).users).toEqual(['bob', 'root']);
    expect((await s.call(a, 'RoleList', {})).roles).toEqual(['r1']); // root is implicit, as in etcd
    await expect(s.call(a, 'UserGet', { name: 'nobody' })).rejects.toMatchObject({
      code: status.FAILED_PRECONDITION,
      details: 'etcdserver: user name not found',
    });
    await expect(s.call(a, 'Authenticate', { name: 'bob', password: 'bobpw' })).rejects.toMatchObject({
      code: status.FAILED_PRECONDITION,
      details: 'etcdserver: authentication is not enabled',
    });

    await s.call(a, 'AuthEnable', {});
    await expect(s.call(kv, 'Range', { key: b('foo') })).rejects.toMatchObject({
      code: status.INVALID_ARGUMENT,
      details: 'etcdserver: user name is empty',
    });
    await expect(s.call(a, 'Authenticate', { name: 'bob', password: 'nope' })).rejects.toMatchObject({
      code: status.INVALID_ARGUMENT,
      details: 'etcdserver: authentication failed, invalid user ID or password',
    });
    const root = (await s.call(a, 'Authenticate', { name: 'root', password: 'rootpw' })).token as string;
    const bob = (await s.call(a, 'Authenticate', { name: 'bob', password: 'bobpw' })).token as string;
    expect(root).toMatch(/^\S+\.\d+$/);
    await callAs(kv, 'Put', { key: b('foo'), value: b('bar') }, root);
    expect((await callAs(kv, 'Range', { key: b('foo') }, bob)).kvs[0].value).toEqual(b('bar'));
    await callAs(kv, 'Put', { key: b('p/x'), value: b('y') }, bob);
    await expect(callAs(kv, 'Put', { key: b('foo'), value: b('x') }, bob)).rejects.toMatchObject({
      code: status.PERMISSION_DENIED,
      details: 'etcdserver: permission denied',
    });
    await expect(callAs(a, 'UserList', {}, bob)).rejects.toMatchObject({
      code: status.PERMISSION_DENIED,
      details: 'etcdserver: permission denied',
    });
    // A user may read itself.
    expect((await callAs(a, 'UserGet', { name: 'bob' }, bob)).roles).toEqual(['r1']);
    await expect(callAs(kv, 'Range', { key: b('foo') }, 'bogus.1')).rejects.toMatchObject({
      code: status.UNAUTHENTICATED,
      details: 'etcdserver: invalid auth token',
    });

    await callAs(a, 'RoleRevokePermission', { role: 'r1', key: b('foo') }, root);
    await expect(
      callAs(a, 'RoleRevokePermission', { role: 'r1', key: b('zzz') }, root),
    ).rejects.toMatchObject({
      code: status.FAILED_PRECONDITION,
      details: 'etcdserver: permission is not granted to the role',
    });
    await callAs(a, 'UserRevokeRole', { name: 'bob', role: 'r1' }, root);
    await callAs(a, 'UserChangePassword', { name: 'bob', password: 'new' }, root);
    await s.call(a, 'Authenticate', { name: 'bob', password: 'new' });
    await callAs(a, 'UserDelete', { name: 'bob' }, root);
    await callAs(a, 'RoleDelete', { role: 'r1' }, root);
    await callAs(a, 'AuthDisable', {}, root);
    expect((await s.call(kv, 'Range', { key: b('foo') })).kvs).toHaveLength(1);
  });
});

describe.skipIf(!hasEtcdctl)('Auth through the real etcdctl', () => {
  it('user/role/grant, auth enable, --user, permission denied, auth disable, as etcd prints them', {
    timeout: 20_000,
  }, async () => {
    s = await serve();
    const out = async (...args: string[]) => {
      const r = await s!.etcdctl(...args);
      return r.status === 0
        ? r.stdout
        : r.stderr
            .split('\n')
            .filter((l) => l.startsWith('Error:'))
            .join('\n');
    };
    expect(await out('user', 'add', 'root', '--new-user-password=rootpw')).toBe('User root created\n');
    expect(await out('role', 'add', 'r1')).toBe('Role r1 created\n');
    expect(await out('user', 'grant-role', 'root', 'root')).toBe('Role root is granted to user root\n');
    expect(await out('user', 'add', 'bob', '--new-user-password=bobpw')).toBe('User bob created\n');
    expect(await out('role', 'grant-permission', 'r1', 'read', 'foo')).toBe('Role r1 updated\n');
    expect(await out('user', 'grant-role', 'bob', 'r1')).toBe('Role r1 is granted to user bob\n');
    expect(await out('role', 'get', 'r1')).toBe('Role r1\nKV Read:\n\tfoo\nKV Write:\n');
    expect(await out('user', 'get', 'bob')).toBe('User: bob\nRoles: r1\n');
    expect(await out('user', 'list')).toBe('bob\nroot\n');
    expect(await out('user', 'get', 'nobody')).toBe('Error: etcdserver: user name not found');
    expect(await out('user', 'add', 'bob', '--new-user-password=x')).toBe(
      'Error: etcdserver: user name already exists',
    );
    expect(await out('auth', 'enable')).toBe('Authentication Enabled\n');
    expect(await out('--user', 'root:rootpw', 'put', 'foo', 'bar')).toBe('OK\n');
    expect(await out('--user', 'root:rootpw', 'get', 'foo')).toBe('foo\nbar\n');
    expect(await out('--user', 'bob:bobpw', 'get', 'foo')).toBe('foo\nbar\n');
    expect(await out('--user', 'bob:bobpw', 'put', 'foo', 'x')).toBe('Error: etcdserver: permission denied');
    const wrong = await s.etcdctl('--user', 'bob:wrong', 'get', 'foo');
    expect(wrong.status).toBe(2);
    expect(wrong.stderr).toContain('Error: etcdserver: authentication failed, invalid user ID or password');
    expect(await out('get', 'foo')).toBe('Error: etcdserver: user name is empty');
    expect(await out('--user', 'root:rootpw', 'auth', 'disable')).toBe('Authentication Disabled\n');
    expect(await out('get', 'foo')).toBe('foo\nbar\n');
  });
});
