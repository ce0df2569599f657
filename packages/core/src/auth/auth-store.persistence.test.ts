import { type Backend, MemoryBackend, utf8 } from '@tsetcd/mvcc';
import { describe, expect, it } from 'vitest';
import { AuthStore } from './auth-store.js';
import * as errors from './errors.js';
import { AUTH_BUCKET } from './schema.js';
import type { AuthInfo, Permission, PermType } from './types.js';

const NONE = new Uint8Array(0);
const FROM = new Uint8Array([0]);
const HASH = 'scrypt$16$1$1$AAAA$AAAA'; // opaque to the store: any string

const perm = (permType: PermType, key: string, rangeEnd: string | Uint8Array = NONE): Permission => ({
  permType,
  key: utf8(key),
  rangeEnd: typeof rangeEnd === 'string' ? utf8(rangeEnd) : rangeEnd,
});

const fresh = (backend: Backend) => AuthStore.load(backend);
const as = (s: AuthStore, username: string): AuthInfo => ({ username, revision: s.revision });

/** A store with root (role root, auth on), alice (role r1) and bob (no roles). */
async function enabledStore(backend: Backend) {
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

/** Every backend entry as hex key=value, flushed first. */
async function dump(b: Backend): Promise<string[]> {
  await b.flush();
  const out: string[] = [];
  for await (const [k, v] of b.iterate(new Uint8Array([0]), new Uint8Array([0xff]))) {
    out.push(`${Buffer.from(k).toString('hex')}=${Buffer.from(v).toString('hex')}`);
  }
  return out;
}

describe('persistence', () => {
  it('round trip: load restores users, roles, permissions, the flag and the revision', async () => {
    const b = new MemoryBackend();
    const t = await enabledStore(b);
    t.roleGrantPermission('r1', perm('READ', 'a', 'c'));
    t.userAdd('svc', undefined, { noPassword: true });
    t.userAdd('gone', HASH);
    t.userDelete('gone');
    expect(t.revision).toBe(11); // 6 changes in enabledStore (enable does not count), 4 here, from 1
    await b.flush();
    const u = await AuthStore.load(b);
    expect(u.enabled).toBe(true);
    expect(u.revision).toBe(t.revision);
    expect(u.userList()).toEqual(['alice', 'bob', 'root', 'svc']);
    expect(u.roleList()).toEqual(['r1']);
    expect(u.userGet('alice')).toEqual(t.userGet('alice'));
    expect(u.userGet('svc').noPassword).toBe(true);
    expect(u.roleGet('r1')).toEqual(t.roleGet('r1'));
    expect(u.isRangePermitted(as(u, 'alice'), utf8('b'), NONE)).toBeUndefined();
    expect(u.isRangePermitted(as(u, 'alice'), utf8('c'), NONE)).toBeInstanceOf(errors.PermissionDeniedError);
  });

  it('writes only under AUTH_BUCKET (0x05)', async () => {
    const b = new MemoryBackend();
    const s = await fresh(b);
    s.userAdd('root', HASH);
    s.roleAdd('r');
    s.roleGrantPermission('r', perm('READ', 'k'));
    s.userGrantRole('root', 'root');
    s.authEnable();
    const keys = await dump(b);
    expect(keys.length).toBeGreaterThan(0);
    for (const k of keys) expect(k.startsWith(AUTH_BUCKET.toString(16).padStart(2, '0'))).toBe(true);
  });

  it('a failed apply writes nothing', async () => {
    const b = new MemoryBackend();
    const s = await fresh(b);
    s.userAdd('alice', HASH);
    const before = await dump(b);
    expect(() => s.userAdd('alice', HASH)).toThrow(errors.UserAlreadyExistError);
    expect(() => s.userGrantRole('alice', 'nope')).toThrow(errors.RoleNotFoundError);
    expect(() => s.authEnable()).toThrow(errors.RootUserNotExistError);
    expect(await dump(b)).toEqual(before);
  });

  it('deterministic: two replicas applying the same log hold identical bytes', async () => {
    const apply = async () => {
      const b = new MemoryBackend();
      const s = await fresh(b);
      s.userAdd('root', HASH);
      s.userGrantRole('root', 'root');
      s.roleAdd('r1');
      s.roleGrantPermission('r1', perm('READWRITE', 'x', FROM));
      s.userAdd('alice', HASH);
      s.userGrantRole('alice', 'r1');
      s.authEnable();
      s.roleDelete('r1');
      return dump(b);
    };
    expect(await apply()).toEqual(await apply());
  });
});
