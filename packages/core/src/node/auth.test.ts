/**
 * Auth on a node, as etcd 3.4 behaves: enabling needs user 'root' with role 'root'; once on, a
 * request without a token fails with ErrUserEmpty, a token acts as its user, and every read,
 * write, txn and watch is checked against the user's key permissions. Auth state is replicated
 * (granted on the leader, enforced on a follower) and durable (it survives a restart).
 *
 * A lone member runs as in single-node.test.ts (it campaigns at once; nothing here waits on
 * time). The 3-member cluster runs under the test cluster's virtual time, which runs free while
 * the process waits on scrypt: passwords are hashed at a test cost (CHEAP) — at the default cost
 * one hash lets more virtual time pass than a token's 5-minute TTL, and tokens expire mid-test.
 */

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TxnRequest } from '@tsetcd/mvcc';
import { afterEach, describe, expect, it } from 'vitest';
import {
  AuthFailedError,
  AuthOldRevisionError,
  InvalidAuthTokenError,
  PermissionDeniedError,
  RootRoleNotExistError,
  RootUserNotExistError,
  UserEmptyError,
} from '../auth/errors.js';
import type { ScryptCost } from '../auth/password.js';
import { createTestCluster, type TestCluster } from '../testing/test-cluster.js';
import { Auth } from './auth-client.js';
import type { Client } from './client.js';
import { createNode } from './create-node.js';
import type { TsetcdNode } from './node.js';

const utf8 = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array | undefined) => (b === undefined ? undefined : new TextDecoder().decode(b));
const keys = (r: { readonly kvs: readonly { readonly key: Uint8Array }[] }) =>
  r.kvs.map((kv) => text(kv.key));

/** etcd's wire text of the errors the tests expect. */
const DENIED = { code: 'ErrPermissionDenied', message: 'etcdserver: permission denied' };
const USER_EMPTY = { code: 'ErrUserEmpty', message: 'etcdserver: user name is empty' };

let cluster: TestCluster | undefined;
let solo: TsetcdNode | undefined;
let dataDir: string | undefined;

afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
  await solo?.close();
  solo = undefined;
  if (dataDir !== undefined) await rm(dataDir, { recursive: true, force: true });
  dataDir = undefined;
});

/** A scrypt cost that hashes in about a millisecond. */
const CHEAP: ScryptCost = { N: 1024, r: 8, p: 1 };

/** The client services acting as `token`'s user (none if undefined), hashing at CHEAP cost. */
type TestClient = Pick<Client, 'kv' | 'lease' | 'maintenance' | 'watch'> & { readonly auth: Auth };

function clientOf(n: TsetcdNode, token?: string): TestClient {
  const c = token === undefined ? n.client : n.withToken(token);
  const authInfo = () => (token === undefined ? undefined : n.parts.auth.store.authInfoFromToken(token));
  return {
    kv: c.kv,
    lease: c.lease,
    maintenance: c.maintenance,
    watch: c.watch.bind(c),
    auth: new Auth({ node: n, authInfo }, CHEAP),
  };
}

/** A lone member on the system clock; `dir` = its data dir. */
async function soloNode(dir?: string): Promise<TsetcdNode> {
  solo = await createNode(
    { name: 'solo', ...(dir !== undefined ? { dataDir: dir } : {}) },
    { logger: () => undefined },
  );
  expect(solo.isLeader).toBe(true);
  return solo;
}

/** etcdctl user add root; user grant-role root root; auth enable; then a client logged in as root. */
async function enableAuth(n: TsetcdNode): Promise<TestClient> {
  const own = clientOf(n);
  await own.auth.userAdd('root', 'rootpw');
  await own.auth.userGrantRole('root', 'root');
  await own.auth.enable();
  return clientOf(n, (await n.auth.authenticate('root', 'rootpw')).token);
}

/** A user `name` holding a fresh role `name-role` with one permission, logged in on `n`. */
async function userWith(
  n: TsetcdNode,
  root: TestClient,
  name: string,
  perm: 'READ' | 'WRITE' | 'READWRITE',
  key: string,
  range: { prefix?: true; fromKey?: true } = {},
): Promise<TestClient> {
  await root.auth.roleAdd(`${name}-role`);
  await root.auth.roleGrantPermission(`${name}-role`, perm, key, range);
  await root.auth.userAdd(name, `${name}pw`);
  await root.auth.userGrantRole(name, `${name}-role`);
  return clientOf(n, (await n.auth.authenticate(name, `${name}pw`)).token);
}

function txnPut(compareKey: string, putKey: string): TxnRequest {
  return {
    compare: [{ target: 'VERSION', key: utf8(compareKey), result: 'EQUAL', version: 0 }],
    success: [{ type: 'put', request: { key: utf8(putKey), value: utf8('v') } }],
    failure: [],
  };
}

describe('enabling auth', () => {
  it("needs user 'root' (ErrRootUserNotExist), holding role 'root' (ErrRootRoleNotExist)", async () => {
    const n = await soloNode();
    await expect(n.auth.enable()).rejects.toThrow(RootUserNotExistError);
    await expect(n.auth.enable()).rejects.toThrow('etcdserver: root user does not exist');
    await n.auth.userAdd('root', 'rootpw');
    await expect(n.auth.enable()).rejects.toThrow(RootRoleNotExistError);
    await expect(n.auth.enable()).rejects.toThrow('etcdserver: root user does not have root role');
    expect(n.auth.status().enabled).toBe(false);
    await n.auth.userGrantRole('root', 'root');
    await n.auth.enable();
    expect(n.auth.status().enabled).toBe(true);
  });

  it("makes the node's own client (no token) fail with ErrUserEmpty for puts, gets, watches and admin calls", async () => {
    const n = await soloNode();
    await n.kv.put('/app/x', 'before');
    await enableAuth(n);
    await expect(n.kv.put('/app/x', 'v')).rejects.toMatchObject(USER_EMPTY);
    await expect(n.kv.get('/app/x')).rejects.toMatchObject(USER_EMPTY);
    await expect(n.kv.get('/app/x', { serializable: true })).rejects.toThrow(UserEmptyError);
    await expect(n.kv.delete('/app/x')).rejects.toThrow(UserEmptyError);
    await expect(n.kv.txn(txnPut('/app/x', '/app/x'))).rejects.toThrow(UserEmptyError);
    expect(() => n.watch('/app/x')).toThrow(UserEmptyError);
    await expect(n.auth.userAdd('eve', 'pw')).rejects.toThrow(UserEmptyError);
    await expect(n.auth.disable()).rejects.toThrow(UserEmptyError);
    await expect(n.maintenance.hashKV()).rejects.toThrow(UserEmptyError);
  });

  it('gives root a token with which it can do everything', async () => {
    const n = await soloNode();
    const root = await enableAuth(n);
    const put = await root.kv.put('/any/key', 'v1');
    expect(put.header.revision).toBeGreaterThan(1);
    expect(text((await root.kv.get('/any/key')).kvs[0]?.value)).toBe('v1');
    expect(keys(await root.kv.get('\0', { fromKey: true }))).toEqual(['/any/key']);
    expect((await root.kv.txn(txnPut('/other', '/other'))).succeeded).toBe(true);
    root.watch('/', { prefix: true }).cancel();
    expect((await root.kv.delete('/other')).deleted).toBe(1);
    await root.kv.compact(put.header.revision);
    expect((await root.maintenance.hashKV()).hash).toEqual(expect.any(Number));
    await root.auth.roleAdd('r');
    expect((await root.auth.roleList()).roles).toEqual(['r']);
    expect((await root.auth.userList()).users).toEqual(['root']);
  });

  it('refuses a wrong password or an unknown user with ErrAuthFailed', async () => {
    const n = await soloNode();
    await enableAuth(n);
    const failed = {
      code: 'ErrAuthFailed',
      message: 'etcdserver: authentication failed, invalid user ID or password',
    };
    await expect(n.auth.authenticate('root', 'wrong')).rejects.toMatchObject(failed);
    await expect(n.auth.authenticate('nobody', 'rootpw')).rejects.toThrow(AuthFailedError);
    expect(() => n.withToken('not-a-token').kv).not.toThrow();
    await expect(n.withToken('not-a-token').kv.get('k')).rejects.toThrow(InvalidAuthTokenError);
  });
});

describe('key permissions', () => {
  it('READ on prefix /app/: reads /app/x, not /other; cannot write /app/x', async () => {
    const n = await soloNode();
    const root = await enableAuth(n);
    await root.kv.put('/app/x', 'x');
    await root.kv.put('/other', 'o');
    const reader = await userWith(n, root, 'reader', 'READ', '/app/', { prefix: true });
    expect(text((await reader.kv.get('/app/x')).kvs[0]?.value)).toBe('x');
    expect(keys(await reader.kv.get('/app/', { prefix: true }))).toEqual(['/app/x']);
    await expect(reader.kv.get('/other')).rejects.toMatchObject(DENIED);
    await expect(reader.kv.put('/app/x', 'y')).rejects.toMatchObject(DENIED);
    await expect(reader.kv.delete('/app/x')).rejects.toThrow(PermissionDeniedError);
    await expect(reader.maintenance.hashKV()).rejects.toThrow(PermissionDeniedError);
    await expect(reader.auth.userAdd('eve', 'pw')).rejects.toThrow(PermissionDeniedError);
    expect(text((await root.kv.get('/app/x')).kvs[0]?.value)).toBe('x');
  });

  it('denies a range read that spans beyond the granted range', async () => {
    const n = await soloNode();
    const root = await enableAuth(n);
    const reader = await userWith(n, root, 'reader', 'READ', '/app/', { prefix: true });
    await expect(reader.kv.get('/app', { prefix: true })).rejects.toThrow(PermissionDeniedError);
    await expect(reader.kv.get('/app/', { fromKey: true })).rejects.toThrow(PermissionDeniedError);
    await expect(reader.kv.get('/a', { rangeEnd: '/app/z' })).rejects.toThrow(PermissionDeniedError);
    await expect(reader.kv.get('/app/a', { rangeEnd: '/app0' })).resolves.toBeDefined();
    await expect(reader.kv.get('/app/a', { rangeEnd: '/app1' })).rejects.toThrow(PermissionDeniedError);
  });

  it('READWRITE from-key /m: reads and writes every key >= /m, nothing below', async () => {
    const n = await soloNode();
    const root = await enableAuth(n);
    const rw = await userWith(n, root, 'rw', 'READWRITE', '/m', { fromKey: true });
    await rw.kv.put('/m', '1');
    await rw.kv.put('/m/deep', '2');
    await rw.kv.put('/zzz', '3');
    expect(keys(await rw.kv.get('/m', { fromKey: true }))).toEqual(['/m', '/m/deep', '/zzz']);
    expect((await rw.kv.delete('/n', { fromKey: true })).deleted).toBe(1);
    await expect(rw.kv.put('/a', 'x')).rejects.toMatchObject(DENIED);
    await expect(rw.kv.get('/l', { fromKey: true })).rejects.toThrow(PermissionDeniedError);
    await expect(rw.kv.delete('/a', { rangeEnd: '/n' })).rejects.toThrow(PermissionDeniedError);
  });

  it('denies a txn whose compare reads a key the user may not read', async () => {
    const n = await soloNode();
    const root = await enableAuth(n);
    await root.kv.put('/secret', 's');
    const writer = await userWith(n, root, 'writer', 'READWRITE', '/app/', { prefix: true });
    expect((await writer.kv.txn(txnPut('/app/x', '/app/x'))).succeeded).toBe(true);
    await expect(writer.kv.txn(txnPut('/secret', '/app/y'))).rejects.toMatchObject(DENIED);
    // Read-only txns are checked as well.
    const readOnly: TxnRequest = {
      compare: [{ target: 'VALUE', key: utf8('/secret'), result: 'EQUAL', value: utf8('s') }],
      success: [{ type: 'range', request: { key: utf8('/app/x') } }],
      failure: [],
    };
    await expect(writer.kv.txn(readOnly)).rejects.toThrow(PermissionDeniedError);
    // So are the ops of either branch.
    await expect(writer.kv.txn(txnPut('/app/x', '/secret'))).rejects.toThrow(PermissionDeniedError);
    expect(text((await root.kv.get('/app/y')).kvs[0]?.value)).toBeUndefined();
  });

  it('refuses a watch on a range the user may not read, and delivers one it may', async () => {
    const n = await soloNode();
    const root = await enableAuth(n);
    const reader = await userWith(n, root, 'reader', 'READ', '/app/', { prefix: true });
    expect(() => reader.watch('/other')).toThrow(PermissionDeniedError);
    expect(() => reader.watch('/', { prefix: true })).toThrow(PermissionDeniedError);
    const w = reader.watch('/app/', { prefix: true });
    await root.kv.put('/app/w', 'seen');
    const it = w[Symbol.asyncIterator]();
    let r = await it.next();
    while (!r.done && r.value.events.length === 0) r = await it.next();
    expect(r.done).toBe(false);
    expect(r.value?.events.map((e) => text(e.kv.key))).toEqual(['/app/w']);
    w.cancel();
  });

  it('makes the next request fail once the permission is revoked', async () => {
    const n = await soloNode();
    const root = await enableAuth(n);
    const rw = await userWith(n, root, 'rw', 'READWRITE', '/app/', { prefix: true });
    await rw.kv.put('/app/x', '1');
    await root.auth.roleRevokePermission('rw-role', '/app/', { prefix: true });
    await expect(rw.kv.put('/app/x', '2')).rejects.toThrow(PermissionDeniedError);
    await expect(rw.kv.get('/app/x')).rejects.toThrow(PermissionDeniedError);
    // Re-granted: allowed again with the same token (a simple token survives role changes).
    await root.auth.roleGrantPermission('rw-role', 'READ', '/app/', { prefix: true });
    expect(text((await rw.kv.get('/app/x')).kvs[0]?.value)).toBe('1');
    // Revoking the role from the user works too.
    await root.auth.userRevokeRole('rw', 'rw-role');
    await expect(rw.kv.get('/app/x')).rejects.toThrow(PermissionDeniedError);
  });

  it('re-checks at apply: a write admitted before a revoke that is applied first fails with ErrAuthOldRevision', async () => {
    const n = await soloNode();
    const root = await enableAuth(n);
    const rw = await userWith(n, root, 'rw', 'READWRITE', '/app/', { prefix: true });
    // Both are in the log before either is applied: the revoke first, then the put, which passed
    // the check where it was taken because the revoke was not applied yet.
    const revoke = root.auth.roleRevokePermission('rw-role', '/app/', { prefix: true });
    const put = rw.kv.put('/app/x', 'too late');
    await revoke;
    await expect(put).rejects.toThrow(AuthOldRevisionError);
    expect((await root.kv.get('/app/x')).kvs).toEqual([]);
  });
});

describe('auth across members and restarts', () => {
  it('replicates auth state: granted on the leader, enforced on a follower', async () => {
    cluster = await createTestCluster({ nodes: 3, seed: 4 });
    const leader = await cluster.waitForLeader();
    const follower = cluster.running().find((m) => m !== leader)!;
    const root = await enableAuth(leader);
    await root.kv.put('/app/x', 'x');
    await userWith(leader, root, 'reader', 'READ', '/app/', { prefix: true });
    while (follower.appliedIndex < leader.appliedIndex) await cluster.sleep(10);

    expect(follower.auth.status()).toEqual(leader.auth.status());
    await expect(follower.kv.get('/app/x')).rejects.toThrow(UserEmptyError);
    const onFollower = clientOf(follower, (await follower.auth.authenticate('reader', 'readerpw')).token);
    expect(text((await onFollower.kv.get('/app/x')).kvs[0]?.value)).toBe('x');
    await expect(onFollower.kv.get('/other')).rejects.toThrow(PermissionDeniedError);
    await expect(onFollower.kv.put('/app/x', 'y')).rejects.toThrow(PermissionDeniedError);

    // A token is registered by every replica when Authenticate is applied: root's works here too.
    while (follower.appliedIndex < leader.appliedIndex) await cluster.sleep(10);
    const rootToken = (await leader.auth.authenticate('root', 'rootpw')).token;
    while (follower.appliedIndex < leader.appliedIndex) await cluster.sleep(10);
    await follower.withToken(rootToken).kv.put('/other', 'o');

    // A revoke on the leader is enforced on the follower once applied there.
    await root.auth.roleRevokePermission('reader-role', '/app/', { prefix: true });
    while (follower.appliedIndex < leader.appliedIndex) await cluster.sleep(10);
    await expect(onFollower.kv.get('/app/x')).rejects.toThrow(PermissionDeniedError);
  });

  it('survives a restart: still enabled, users and permissions kept, tokens forgotten', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'tsetcd-auth-'));
    const n = await soloNode(dataDir);
    const root = await enableAuth(n);
    await root.kv.put('/app/x', 'x');
    const reader = await userWith(n, root, 'reader', 'READ', '/app/', { prefix: true });
    const readerToken = (await n.auth.authenticate('reader', 'readerpw')).token;
    expect(text((await reader.kv.get('/app/x')).kvs[0]?.value)).toBe('x');
    const status = n.auth.status();

    await n.close();
    solo = undefined;
    const again = await soloNode(dataDir);
    expect(again.auth.status()).toEqual(status);
    await expect(again.kv.put('/app/x', 'y')).rejects.toThrow(UserEmptyError);
    await expect(again.withToken(readerToken).kv.get('/app/x')).rejects.toThrow(InvalidAuthTokenError);
    await expect(again.auth.authenticate('reader', 'wrong')).rejects.toThrow(AuthFailedError);
    const reader2 = clientOf(again, (await again.auth.authenticate('reader', 'readerpw')).token);
    expect(text((await reader2.kv.get('/app/x')).kvs[0]?.value)).toBe('x');
    await expect(reader2.kv.get('/other')).rejects.toThrow(PermissionDeniedError);
    await expect(reader2.kv.put('/app/x', 'y')).rejects.toThrow(PermissionDeniedError);
  });
});

describe('disabling auth', () => {
  it('is for root only; afterwards the tokenless client works again', async () => {
    const n = await soloNode();
    const root = await enableAuth(n);
    const rw = await userWith(n, root, 'rw', 'READWRITE', '/app/', { prefix: true });
    await expect(rw.auth.disable()).rejects.toMatchObject(DENIED);
    await expect(n.auth.disable()).rejects.toThrow(UserEmptyError);
    expect(n.auth.status().enabled).toBe(true);
    const before = n.auth.status().authRevision;
    await root.auth.disable();
    expect(n.auth.status()).toEqual({ enabled: false, authRevision: before + 1 });
    await n.kv.put('/other', 'free');
    expect(text((await n.kv.get('/other')).kvs[0]?.value)).toBe('free');
    // Users and roles stay; enabling again needs no new root.
    expect((await n.auth.userList()).users).toEqual(['root', 'rw']);
    await n.auth.enable();
    await expect(n.kv.get('/other')).rejects.toThrow(UserEmptyError);
  });
});
