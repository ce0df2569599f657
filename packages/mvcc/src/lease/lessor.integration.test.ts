import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { utf8 } from '../bytes.js';
import { LeaseNotFoundError } from '../errors.js';
import { KVStore } from '../kvstore.js';
import { LevelBackend } from '../level-backend.js';
import { NotPrimaryError } from './lease-errors.js';
import { Lessor } from './lessor.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function openAt(dir: string, now: () => number) {
  const store = await KVStore.open(await LevelBackend.open(dir, { sync: false }));
  const lessor = await Lessor.open(store, { clock: now });
  return { store, lessor };
}

const text = (b: Uint8Array) => new TextDecoder().decode(b);

describe('Lessor on LevelDB', () => {
  it('restores leases and attachments after a restart; revoke then works and is durable', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tsetcd-lease-'));
    dirs.push(dir);
    let now = 0;
    const clock = () => now;

    const a = await openAt(dir, clock);
    a.lessor.promote(0);
    a.lessor.grant(1n, 30);
    a.lessor.grant(2n, 60);
    for (const k of ['x', 'y']) a.store.put({ key: utf8(k), value: utf8('1'), lease: 1n });
    a.store.put({ key: utf8('z'), value: utf8('2'), lease: 2n });
    a.store.put({ key: utf8('plain'), value: utf8('3') });
    await a.store.commit();
    await a.store.close();

    now = 1_000_000; // a restarted node: no lease expires until promoted
    const b = await openAt(dir, clock);
    expect(b.lessor.isPrimary).toBe(false);
    expect(b.lessor.leases()).toEqual([1n, 2n]);
    expect(b.lessor.timeToLive(1n, { keys: true }).keys.map(text)).toEqual(['x', 'y']);
    expect(b.lessor.timeToLive(2n, { keys: true })).toMatchObject({ ttl: 60, grantedTtl: 60 });
    expect(b.lessor.expired()).toEqual([]);
    expect(() => b.lessor.renew(1n)).toThrow(NotPrimaryError);

    b.lessor.promote(1_000);
    expect(b.lessor.timeToLive(1n).ttl).toBe(31);
    const before = b.store.revision;
    expect(b.lessor.revoke(1n)).toBe(before + 1);
    expect(b.store.range({ key: utf8('x'), rangeEnd: utf8('z') }).count).toBe(0);
    await b.store.commit();
    await b.store.close();

    const c = await openAt(dir, clock);
    expect(c.lessor.leases()).toEqual([2n]);
    expect(() => c.lessor.timeToLive(1n)).toThrow(LeaseNotFoundError);
    expect(c.store.revision).toBe(before + 1);
    expect(c.store.range({ key: utf8('x'), rangeEnd: utf8('z') }).count).toBe(0);
    expect(c.lessor.timeToLive(2n, { keys: true }).keys.map(text)).toEqual(['z']);
    expect(c.store.range({ key: utf8('plain') }).count).toBe(1);
    await c.store.close();
  });
});
