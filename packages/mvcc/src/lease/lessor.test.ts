import { describe, expect, it } from 'vitest';
import { utf8 } from '../bytes.js';
import { LeaseExistsError, LeaseNotFoundError, NoSpaceError } from '../errors.js';
import { KVStore } from '../kvstore.js';
import { MemoryBackend } from '../memory-backend.js';
import type { Event, LeaseId, Revision } from '../types.js';
import { decodeLeaseEntry, encodeLeaseValue, leaseBucketKey } from './lease-codec.js';
import { LeaseTtlTooLargeError, NotPrimaryError } from './lease-errors.js';
import {
  DEFAULT_MIN_LEASE_TTL,
  Lessor,
  type LessorOptions,
  MAX_LEASE_ID,
  MAX_LEASE_TTL,
  MIN_LEASE_ID,
} from './lessor.js';

const T0 = 1_000_000;

/** A store with a lessor on an injected clock; `primary` promotes it (no extension) at T0. */
async function setup(opts: LessorOptions & { primary?: boolean } = {}) {
  const backend = new MemoryBackend();
  const store = await KVStore.open(backend);
  let now = T0;
  const { primary = true, ...lessorOpts } = opts;
  const lessor = await Lessor.open(store, { clock: () => now, ...lessorOpts });
  if (primary) lessor.promote(0);
  return {
    backend,
    store,
    lessor,
    advance: (ms: number) => {
      now += ms;
    },
    put: (key: string, lease?: LeaseId) =>
      store.put({ key: utf8(key), value: utf8('v'), ...(lease ? { lease } : {}) }),
    get: (key: string) => store.range({ key: utf8(key) }).kvs[0],
    keysOf: (id: LeaseId) =>
      lessor.timeToLive(id, { keys: true }).keys.map((k) => new TextDecoder().decode(k)),
  };
}

/** A rand source that hands out the given values in turn. */
function values(...vs: bigint[]): () => bigint {
  let i = 0;
  return () => vs[i++ % vs.length]!;
}

describe('Lessor.grant', () => {
  it('grants a given ID with its TTL and persists it in the lease bucket', async () => {
    const { lessor, backend } = await setup();
    expect(lessor.grant(42n, 60)).toEqual({ id: 42n, ttl: 60 });
    expect(lessor.exists(42n)).toBe(true);
    expect(backend.get(leaseBucketKey(42n))).toBeDefined();
    expect(lessor.timeToLive(42n)).toEqual({ id: 42n, ttl: 60, grantedTtl: 60, keys: [] });
  });

  it('generates a positive int64 ID for ID 0, skipping 0 and IDs in use', async () => {
    const { lessor } = await setup({ rand: values(0n, 7n, 7n, (1n << 64n) - 1n) });
    expect(lessor.grant(0n, 10).id).toBe(7n); // 0 is skipped
    expect(lessor.grant(0n, 10).id).toBe(MAX_LEASE_ID); // 7 is taken; the sign bit is masked off
  });

  it('draws random IDs by default', async () => {
    const { lessor } = await setup();
    const a = lessor.grant(0n, 10).id;
    const b = lessor.grant(0n, 10).id;
    for (const id of [a, b]) expect(id >= 1n && id <= MAX_LEASE_ID).toBe(true);
    expect(a).not.toBe(b);
  });

  it('gives up on a random source that only repeats used IDs', async () => {
    const { lessor } = await setup({ rand: values(5n) });
    lessor.grant(0n, 10);
    expect(() => lessor.grant(0n, 10)).toThrow(/random source/);
  });

  it("raises a TTL below the minimum to etcd's minimum (2 s by default)", async () => {
    const { lessor } = await setup();
    expect(DEFAULT_MIN_LEASE_TTL).toBe(2);
    expect(lessor.grant(1n, 1).ttl).toBe(2);
    expect(lessor.grant(2n, 0).ttl).toBe(2);
    expect(lessor.grant(3n, -5).ttl).toBe(2);
    expect(lessor.grant(4n, 3).ttl).toBe(3);
  });

  it('honours a configured minimum TTL', async () => {
    const { lessor } = await setup({ minTtl: 5 });
    expect(lessor.grant(1n, 3).ttl).toBe(5);
    expect(lessor.timeToLive(1n).grantedTtl).toBe(5);
  });

  it('refuses an ID in use', async () => {
    const { lessor } = await setup();
    lessor.grant(1n, 10);
    const err = (() => {
      try {
        lessor.grant(1n, 20);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(LeaseExistsError);
    expect(err).toMatchObject({ code: 'ErrLeaseExists', message: 'lease already exists' });
    expect(lessor.timeToLive(1n).grantedTtl).toBe(10);
  });

  it("refuses a TTL above etcd's maximum with etcd's message", async () => {
    const { lessor } = await setup();
    expect(() => lessor.grant(1n, MAX_LEASE_TTL + 1)).toThrow(LeaseTtlTooLargeError);
    expect(() => lessor.grant(1n, MAX_LEASE_TTL + 1)).toThrow('etcdserver: too large lease TTL');
    expect(lessor.grant(1n, MAX_LEASE_TTL).ttl).toBe(MAX_LEASE_TTL);
  });

  it('refuses to grant while the NOSPACE alarm is raised, but still revokes', async () => {
    const { lessor, store, put, get } = await setup();
    lessor.grant(1n, 10);
    put('k', 1n);
    store.spaceExhausted = true;
    expect(() => lessor.grant(2n, 10)).toThrow(NoSpaceError);
    expect(lessor.exists(2n)).toBe(false);
    lessor.revoke(1n);
    expect(get('k')).toBeUndefined();
  });

  it('takes a negative ID as etcd does (an int64), and stores and reloads it', async () => {
    const { lessor, backend, put, keysOf } = await setup();
    lessor.grant(-5n, 10);
    lessor.grant(MIN_LEASE_ID, 10);
    put('a', -5n);
    expect(keysOf(-5n)).toEqual(['a']);
    expect(decodeLeaseEntry(leaseBucketKey(-5n), encodeLeaseValue({ id: -5n, ttl: 10 })).id).toBe(-5n);
    const lessor2 = await Lessor.open(await KVStore.open(backend));
    expect(lessor2.leases()).toEqual([MIN_LEASE_ID, -5n]);
    expect(lessor2.timeToLive(-5n, { keys: true }).keys.map((k) => new TextDecoder().decode(k))).toEqual([
      'a',
    ]);
  });

  it('rejects IDs outside int64 and non-integer TTLs as programming mistakes', async () => {
    const { lessor } = await setup();
    expect(() => lessor.grant(MIN_LEASE_ID - 1n, 10)).toThrow(RangeError);
    expect(() => lessor.grant(MAX_LEASE_ID + 1n, 10)).toThrow(RangeError);
    expect(() => lessor.grant(1n, 1.5)).toThrow(RangeError);
    expect(() => lessor.grant(1n, Number.NaN)).toThrow(RangeError);
  });
});

describe('attaching keys (LeaseHooks)', () => {
  it("a put with a lease sets the key's lease field and attaches it", async () => {
    const { lessor, put, get, keysOf } = await setup();
    lessor.grant(1n, 10);
    put('b', 1n);
    put('a', 1n);
    expect(get('a')?.lease).toBe(1n);
    expect(keysOf(1n)).toEqual(['a', 'b']);
    expect(lessor.timeToLive(1n).keys).toEqual([]); // only when asked
  });

  it('a put naming an unknown lease fails and writes nothing', async () => {
    const { store, put } = await setup();
    expect(() => put('a', 9n)).toThrow(LeaseNotFoundError);
    expect(store.revision).toBe(1);
  });

  it('detaches a key when it is deleted, by key or by range', async () => {
    const { lessor, store, put, keysOf } = await setup();
    lessor.grant(1n, 10);
    put('a', 1n);
    put('b', 1n);
    put('c', 1n);
    store.deleteRange({ key: utf8('a') });
    expect(keysOf(1n)).toEqual(['b', 'c']);
    store.deleteRange({ key: utf8('b'), rangeEnd: utf8('d') });
    expect(keysOf(1n)).toEqual([]);
  });

  it('moves a key re-put with another lease, and detaches one re-put with none', async () => {
    const { lessor, put, get, keysOf } = await setup();
    lessor.grant(1n, 10);
    lessor.grant(2n, 10);
    put('a', 1n);
    put('a', 2n);
    expect(keysOf(1n)).toEqual([]);
    expect(keysOf(2n)).toEqual(['a']);
    put('a');
    expect(keysOf(2n)).toEqual([]);
    expect(get('a')?.lease).toBe(0n);
  });

  it('ignore_lease keeps the key attached to its lease', async () => {
    const { lessor, store, put, get, keysOf } = await setup();
    lessor.grant(1n, 10);
    put('a', 1n);
    store.put({ key: utf8('a'), value: utf8('w'), ignoreLease: true });
    expect(get('a')?.lease).toBe(1n);
    expect(keysOf(1n)).toEqual(['a']);
  });

  it('attaches the puts of a txn', async () => {
    const { lessor, store, keysOf } = await setup();
    lessor.grant(1n, 10);
    store.txn({
      compare: [],
      success: [
        { type: 'put', request: { key: utf8('x'), value: utf8('1'), lease: 1n } },
        { type: 'put', request: { key: utf8('y'), value: utf8('2'), lease: 1n } },
      ],
      failure: [],
    });
    expect(keysOf(1n)).toEqual(['x', 'y']);
  });
});

describe('Lessor.revoke', () => {
  it('deletes every attached key in exactly one revision and forgets the lease', async () => {
    const { lessor, store, backend, put, get } = await setup();
    lessor.grant(1n, 10);
    put('c', 1n);
    put('a', 1n);
    put('b', 1n);
    put('other');
    const before = store.revision;
    const seen: { events: readonly Event[]; revision: Revision }[] = [];
    store.subscribe((events, revision) => seen.push({ events, revision }));

    const rev = lessor.revoke(1n);

    expect(rev).toBe(before + 1);
    expect(store.revision).toBe(before + 1);
    expect(seen).toHaveLength(1);
    // In byte order, so every replica writes the same sub-revisions.
    expect(seen[0]!.events.map((e) => [e.type, new TextDecoder().decode(e.kv.key)])).toEqual([
      ['DELETE', 'a'],
      ['DELETE', 'b'],
      ['DELETE', 'c'],
    ]);
    const history: { revision: Revision; n: number }[] = [];
    for await (const h of store.history(before + 1, store.revision))
      history.push({ revision: h.revision, n: h.events.length });
    expect(history).toEqual([{ revision: before + 1, n: 3 }]);
    for (const k of ['a', 'b', 'c']) expect(get(k)).toBeUndefined();
    expect(get('other')).toBeDefined();
    expect(lessor.exists(1n)).toBe(false);
    expect(lessor.leases()).toEqual([]);
    expect(backend.get(leaseBucketKey(1n))).toBeUndefined();
    expect(() => lessor.timeToLive(1n)).toThrow(LeaseNotFoundError);
    expect(() => put('a', 1n)).toThrow(LeaseNotFoundError);
    expect(lessor.expired()).toEqual([]);
  });

  it('makes no revision when no key is attached', async () => {
    const { lessor, store } = await setup();
    lessor.grant(1n, 10);
    expect(lessor.revoke(1n)).toBe(1);
    expect(store.revision).toBe(1);
  });

  it('refuses an unknown lease', async () => {
    const { lessor } = await setup();
    expect(() => lessor.revoke(5n)).toThrow(LeaseNotFoundError);
    expect(() => lessor.revoke(5n)).toThrow('lease not found');
  });

  it('the ID can be granted again once revoked', async () => {
    const { lessor } = await setup();
    lessor.grant(1n, 10);
    lessor.revoke(1n);
    expect(lessor.grant(1n, 20).ttl).toBe(20);
  });
});

describe('Lessor.renew (keep-alive)', () => {
  it('restarts the TTL', async () => {
    const { lessor, advance } = await setup();
    lessor.grant(1n, 10);
    advance(7_000);
    expect(lessor.timeToLive(1n).ttl).toBe(3);
    expect(lessor.renew(1n)).toBe(10);
    expect(lessor.timeToLive(1n).ttl).toBe(10);
    advance(9_999);
    expect(lessor.expired()).toEqual([]);
    advance(1);
    expect(lessor.expired()).toEqual([1n]);
  });

  it('refuses an unknown lease, and one already expired (its revocation is due)', async () => {
    const { lessor, advance } = await setup();
    expect(() => lessor.renew(1n)).toThrow(LeaseNotFoundError);
    lessor.grant(1n, 10);
    advance(10_000);
    expect(() => lessor.renew(1n)).toThrow(LeaseNotFoundError);
  });

  it('is refused by a non-primary lessor', async () => {
    const { lessor } = await setup({ primary: false });
    lessor.grant(1n, 10);
    const err = (() => {
      try {
        lessor.renew(1n);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(NotPrimaryError);
    expect(err).toMatchObject({ code: 'ErrNotPrimary', message: 'not a primary lessor', retryable: true });
  });
});

describe('Lessor.timeToLive', () => {
  it('counts whole seconds down to -1 once expired', async () => {
    const { lessor, advance } = await setup();
    lessor.grant(1n, 10);
    advance(2_500);
    expect(lessor.timeToLive(1n)).toMatchObject({ ttl: 7, grantedTtl: 10 });
    advance(7_499);
    expect(lessor.timeToLive(1n).ttl).toBe(0);
    advance(1);
    expect(lessor.timeToLive(1n).ttl).toBe(-1);
  });

  it('answers the granted TTL on a non-primary lessor, which does not track expiry', async () => {
    const { lessor, advance } = await setup({ primary: false });
    lessor.grant(1n, 10);
    advance(60_000);
    expect(lessor.timeToLive(1n)).toMatchObject({ ttl: 10, grantedTtl: 10 });
  });

  it('lists keys in byte order', async () => {
    const { lessor, store } = await setup();
    lessor.grant(1n, 10);
    for (const k of [[0xff], [0x01, 0x02], [0x01], [0x80]]) {
      store.put({ key: new Uint8Array(k), value: utf8('v'), lease: 1n });
    }
    expect(lessor.timeToLive(1n, { keys: true }).keys.map((k) => [...k])).toEqual([
      [0x01],
      [0x01, 0x02],
      [0x80],
      [0xff],
    ]);
  });
});

describe('Lessor.expired', () => {
  it('reports only leases past their expiry, earliest first, and revokes nothing', async () => {
    const { lessor, advance } = await setup();
    lessor.grant(1n, 30);
    lessor.grant(2n, 10);
    lessor.grant(3n, 20);
    lessor.grant(4n, 20);
    advance(9_999);
    expect(lessor.expired()).toEqual([]);
    advance(10_001);
    expect(lessor.expired()).toEqual([2n, 3n, 4n]); // 3 and 4 tie: by ID
    expect(lessor.leases()).toEqual([2n, 3n, 4n, 1n]); // soonest expiry first
  });

  it('reports at most `limit` per call, the rest on the next call', async () => {
    const { lessor, advance } = await setup();
    for (let id = 1n; id <= 5n; id++) lessor.grant(id, Number(id) + 10);
    advance(60_000);
    expect(lessor.expired(2)).toEqual([1n, 2n]);
    expect(lessor.expired(2)).toEqual([3n, 4n]);
    expect(lessor.expired(2)).toEqual([5n]);
    expect(() => lessor.expired(0)).toThrow(RangeError);
  });

  it('reports an unrevoked lease again after the retry interval', async () => {
    const { lessor, advance } = await setup({ expiredLeasesRetryMs: 3_000 });
    lessor.grant(1n, 10);
    advance(10_000);
    expect(lessor.expired()).toEqual([1n]);
    advance(2_999);
    expect(lessor.expired()).toEqual([]);
    advance(1);
    expect(lessor.expired()).toEqual([1n]);
    lessor.revoke(1n);
    advance(3_000);
    expect(lessor.expired()).toEqual([]);
  });

  it('reports nothing on a non-primary lessor', async () => {
    const { lessor, advance } = await setup({ primary: false });
    lessor.grant(1n, 10);
    advance(1_000_000);
    expect(lessor.expired()).toEqual([]);
  });

  it('defaults to half the revoke rate per call', async () => {
    const { lessor, advance } = await setup({ revokeRate: 6 });
    for (let id = 1n; id <= 5n; id++) lessor.grant(id, 10);
    advance(10_000);
    expect(lessor.expired()).toEqual([1n, 2n, 3n]);
  });
});

describe('Lessor.promote / demote', () => {
  it('a new primary restarts every lease from its full TTL plus the extension', async () => {
    const { lessor, advance } = await setup({ primary: false });
    lessor.grant(1n, 10);
    lessor.grant(2n, 20);
    advance(50_000);
    expect(lessor.isPrimary).toBe(false);
    lessor.promote(1_000);
    expect(lessor.isPrimary).toBe(true);
    expect(lessor.timeToLive(1n).ttl).toBe(11);
    advance(10_999);
    expect(lessor.expired()).toEqual([]);
    advance(1);
    expect(lessor.expired()).toEqual([1n]);
    advance(10_000);
    expect(lessor.expired()).toEqual([1n, 2n]); // 1 again: its revocation never came
  });

  it('promotion resets a lease that was counting down', async () => {
    const { lessor, advance } = await setup();
    lessor.grant(1n, 10);
    advance(8_000);
    lessor.demote();
    lessor.promote(2_000);
    expect(lessor.timeToLive(1n).ttl).toBe(12);
  });

  it('spreads expiries that would all fall in the same second', async () => {
    // revokeRate 4 → at most 3 expiries per second after a promotion.
    const { lessor, advance } = await setup({ primary: false, revokeRate: 4 });
    for (let id = 1n; id <= 7n; id++) lessor.grant(id, 10);
    lessor.promote(0);
    advance(10_000);
    expect(lessor.expired(100)).toEqual([1n, 2n, 3n]);
    advance(999);
    expect(lessor.expired(100)).toEqual([]);
    advance(1);
    expect(lessor.expired(100)).toEqual([4n, 5n, 6n]);
    advance(1_000);
    expect(lessor.expired(100)).toEqual([7n]);
  });

  it('a demoted lessor expires nothing; leases granted meanwhile never expire', async () => {
    const { lessor, advance } = await setup();
    lessor.grant(1n, 10);
    lessor.demote();
    lessor.grant(2n, 10);
    advance(1_000_000);
    expect(lessor.isPrimary).toBe(false);
    expect(lessor.expired()).toEqual([]);
    expect(lessor.timeToLive(1n).ttl).toBe(10);
    expect(() => lessor.renew(1n)).toThrow(NotPrimaryError);
  });

  it('leases granted while primary count from the grant', async () => {
    const { lessor, advance } = await setup();
    advance(5_000);
    lessor.grant(1n, 10);
    advance(9_999);
    expect(lessor.expired()).toEqual([]);
    advance(1);
    expect(lessor.expired()).toEqual([1n]);
  });

  it('rejects a negative extension', async () => {
    const { lessor } = await setup();
    expect(() => lessor.promote(-1)).toThrow(RangeError);
  });
});

describe('Lessor.leases', () => {
  it('lists every lease ID, the soonest to expire first, as etcd does; ties in grant order', async () => {
    const { lessor, advance } = await setup();
    for (const id of [MAX_LEASE_ID, 3n, 1n << 40n, 1n]) lessor.grant(id, 10);
    expect(lessor.leases()).toEqual([MAX_LEASE_ID, 3n, 1n << 40n, 1n]);
    lessor.grant(7n, 5);
    advance(1);
    lessor.renew(3n);
    expect(lessor.leases()).toEqual([7n, MAX_LEASE_ID, 1n << 40n, 1n, 3n]);
    lessor.demote();
    // Not primary: nothing expires, so every lease ties.
    expect(lessor.leases()).toEqual([MAX_LEASE_ID, 3n, 1n << 40n, 1n, 7n]);
  });
});

describe('Lessor.open (restore)', () => {
  it('restores leases and attachments from the same backend, demoted', async () => {
    const { lessor, backend, put } = await setup();
    lessor.grant(1n, 1); // raised to 2 when granted
    lessor.grant(2n, 30);
    put('a', 1n);
    put('b', 2n);
    put('c', 2n);
    put('d');

    let now = 0;
    const store2 = await KVStore.open(backend);
    const lessor2 = await Lessor.open(store2, { clock: () => now });
    expect(lessor2.isPrimary).toBe(false);
    expect(lessor2.leases()).toEqual([1n, 2n]);
    expect(lessor2.timeToLive(1n, { keys: true })).toEqual({
      id: 1n,
      ttl: 2,
      grantedTtl: 2,
      keys: [utf8('a')],
    });
    expect(lessor2.timeToLive(2n, { keys: true }).keys).toEqual([utf8('b'), utf8('c')]);
    now = 1e9;
    expect(lessor2.expired()).toEqual([]);

    // The restored lessor is plugged into the store: attachments keep being tracked.
    store2.deleteRange({ key: utf8('b') });
    expect(lessor2.timeToLive(2n, { keys: true }).keys).toEqual([utf8('c')]);
    expect(lessor2.revoke(2n)).toBe(store2.revision);
    expect(store2.range({ key: utf8('c') }).count).toBe(0);
  });

  it('raises restored TTLs to a larger configured minimum', async () => {
    const { lessor, store } = await setup();
    lessor.grant(1n, 3);
    const lessor2 = await Lessor.open(store, { minTtl: 10 });
    expect(lessor2.timeToLive(1n).grantedTtl).toBe(10);
  });

  it('ignores a key whose lease is missing, and tolerates deleting it', async () => {
    const { lessor, store, backend, put } = await setup();
    lessor.grant(1n, 10);
    put('a', 1n);
    backend.del(leaseBucketKey(1n)); // as if the lease record were lost
    const lessor2 = await Lessor.open(store);
    expect(lessor2.leases()).toEqual([]);
    store.deleteRange({ key: utf8('a') });
    expect(store.range({ key: utf8('a') }).count).toBe(0);
  });
});

describe('Lessor.observeRenew (a keep-alive applied from the replicated log)', () => {
  it('renews on the primary, as renew() does', async () => {
    const s = await setup();
    s.lessor.grant(1n, 10);
    s.advance(6_000);
    expect(s.lessor.observeRenew(1n)).toBe(10);
    expect(s.lessor.timeToLive(1n).ttl).toBe(10);
  });

  it('on a non-primary replica only notes the renewal, so timeToLive counts down from it', async () => {
    const s = await setup({ primary: false });
    s.lessor.grant(1n, 10);
    expect(s.lessor.timeToLive(1n).ttl).toBe(10); // never renewed here: the granted TTL
    expect(s.lessor.observeRenew(1n)).toBe(10);
    s.advance(4_000);
    expect(s.lessor.timeToLive(1n).ttl).toBe(6);
    expect(s.lessor.expired()).toEqual([]); // a non-primary never expires anything
    s.advance(7_000);
    expect(s.lessor.timeToLive(1n).ttl).toBe(-1);
  });

  it('renews on the primary even past the expiry its clock sees, as every replica answers alike', async () => {
    // The proposer of the keep-alive answers from its own apply; the primary refusing here while
    // a follower acknowledged was a lease-safety bug (whole-node simulation, seed 5658).
    const s = await setup();
    s.lessor.grant(1n, 10);
    s.advance(12_000);
    expect(s.lessor.expired()).toEqual([1n]);
    expect(() => s.lessor.renew(1n)).toThrow(LeaseNotFoundError); // a direct renewal still refuses
    expect(s.lessor.observeRenew(1n)).toBe(10);
    expect(s.lessor.timeToLive(1n).ttl).toBe(10);
    expect(s.lessor.expired()).toEqual([]);
  });

  it('fails with LeaseNotFoundError for an unknown lease on every replica', async () => {
    const primary = await setup();
    const replica = await setup({ primary: false });
    expect(() => primary.lessor.observeRenew(9n)).toThrow(LeaseNotFoundError);
    expect(() => replica.lessor.observeRenew(9n)).toThrow(LeaseNotFoundError);
  });
});

describe('Lessor.observeCheckpoint (the leader names the leases it renewed locally)', () => {
  it('on a non-primary replica restarts the TTL it shows, never anything it would act on', async () => {
    const s = await setup({ primary: false });
    s.lessor.grant(1n, 10);
    s.lessor.grant(2n, 20);
    s.advance(3_000);
    s.lessor.observeCheckpoint([1n, 9n]); // 9: revoked since; skipped
    s.advance(4_000);
    expect(s.lessor.timeToLive(1n).ttl).toBe(6);
    expect(s.lessor.timeToLive(2n).ttl).toBe(20); // never renewed here: the granted TTL
    expect(s.lessor.expired()).toEqual([]);
  });

  it('changes nothing on the primary, even for a lease its clock counts expired', async () => {
    const s = await setup();
    s.lessor.grant(1n, 10);
    s.advance(12_000);
    s.lessor.observeCheckpoint([1n]);
    expect(s.lessor.timeToLive(1n).ttl).toBe(-1);
    expect(s.lessor.expired()).toEqual([1n]);
  });
});
