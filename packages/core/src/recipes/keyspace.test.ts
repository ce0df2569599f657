/**
 * Typed keyspaces on an in-memory cluster: values round-trip through JSON and msgpack; a bad
 * value is refused on write with its key and zod issues; a bad stored value (a raw put) is
 * reported on read — by get, list and watch — never returned as the wrong type; putIfUnchanged
 * writes only over the mod revision it was given.
 */

import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createTestCluster, type TestCluster } from '../testing/test-cluster.js';
import { KeyspaceValidationError, type KeyspaceWatchItem, keyspace } from './keyspace.js';

let cluster: TestCluster | undefined;

afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
});

const User = z.object({
  name: z.string().min(1),
  age: z.number().int().nonnegative(),
  tags: z.array(z.string()),
});

async function setup(seed: number) {
  cluster = await createTestCluster({ nodes: 3, seed });
  const leader = await cluster.waitForLeader();
  const follower = cluster.running().find((m) => m !== leader)!;
  return { leader, follower };
}

describe('keyspace', () => {
  for (const codec of ['json', 'msgpack'] as const) {
    it(`round-trips typed values (${codec}) and lists them in name order`, async () => {
      const { leader, follower } = await setup(51);
      const users = keyspace(follower.client, 'users', User, { codec });
      await users.put('bob', { name: 'Bob', age: 41, tags: ['admin'] });
      await users.put('alice', { name: 'Alice', age: 30, tags: [] });
      const bob = await keyspace(leader.client, 'users/', User, { codec }).get('bob');
      expect(bob).toMatchObject({
        name: 'bob',
        key: 'users/bob',
        value: { name: 'Bob', age: 41, tags: ['admin'] },
      });
      expect(bob!.version).toBe(1);
      expect(await users.get('carol')).toBeUndefined();
      const listed = [];
      for await (const u of users.list({ pageSize: 1 })) listed.push([u.name, u.value.age]);
      expect(listed).toEqual([
        ['alice', 30],
        ['bob', 41],
      ]);
      expect(await users.delete('bob')).toBe(true);
      expect(await users.get('bob')).toBeUndefined();
    });
  }

  it('refuses to write a value that fails the schema, naming the key and the zod issues', async () => {
    const { leader } = await setup(52);
    const users = keyspace(leader.client, 'users', User);
    const bad = { name: '', age: -1, tags: [] } as unknown as z.input<typeof User>;
    const err = await users.put('eve', bad).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KeyspaceValidationError);
    const v = err as KeyspaceValidationError;
    expect(v.code).toBe('ErrKeyspaceValidation');
    expect(v.key).toBe('users/eve');
    expect(v.direction).toBe('write');
    expect(v.issues.map((i) => i.path.join('.')).sort()).toEqual(['age', 'name']);
    expect((await leader.kv.get('users/eve')).kvs).toEqual([]); // nothing was written
    expect(() => users.txn().put('eve', bad)).toThrow(KeyspaceValidationError);
  });

  it('reports a stored value that fails the schema on get, list and watch — never as the wrong type', async () => {
    const { leader, follower } = await setup(53);
    const users = keyspace(follower.client, 'users', User);
    await users.put('ann', { name: 'Ann', age: 5, tags: [] });
    await leader.kv.put('users/raw', JSON.stringify({ name: 'Raw', age: 'old' })); // a raw put
    await leader.kv.put('users/junk', 'not json {');

    const err = (await users.get('raw').catch((e: unknown) => e)) as KeyspaceValidationError;
    expect(err).toBeInstanceOf(KeyspaceValidationError);
    expect(err).toMatchObject({ key: 'users/raw', direction: 'read' });
    expect(err.issues.map((i) => i.path.join('.')).sort()).toEqual(['age', 'tags']);
    await expect(users.get('junk')).rejects.toMatchObject({ key: 'users/junk', direction: 'read' });

    // list throws at the bad value unless told where to report it.
    const collect = async (onInvalid?: (e: KeyspaceValidationError) => void) => {
      const names: string[] = [];
      for await (const u of users.list(onInvalid ? { onInvalid } : {})) names.push(u.name);
      return names;
    };
    await expect(collect()).rejects.toBeInstanceOf(KeyspaceValidationError);
    const invalid: string[] = [];
    expect(await collect((e) => invalid.push(e.key))).toEqual(['ann']);
    expect(invalid).toEqual(['users/junk', 'users/raw']);

    // watch yields typed puts and deletes, and bad values as `invalid` items.
    const items: KeyspaceWatchItem<z.output<typeof User>>[] = [];
    const w = users.watch({ initial: true, clock: cluster!.clock });
    const first = await w.next();
    expect(first.value).toMatchObject({ type: 'resync', entries: [{ name: 'ann' }] });
    if (first.value?.type === 'resync')
      expect(first.value.invalid.map((e) => e.key)).toEqual(['users/junk', 'users/raw']);
    await leader.kv.put('users/raw', '{"name":"Raw"}');
    await users.put('bo', { name: 'Bo', age: 1, tags: ['x'] });
    await users.delete('ann');
    while (items.length < 3) items.push((await w.next()).value!);
    await w.return();
    expect(items.map((i) => i.type)).toEqual(['invalid', 'put', 'delete']);
    expect(items[1]).toMatchObject({ type: 'put', entry: { name: 'bo', value: { tags: ['x'] } } });
    expect(items[2]).toMatchObject({ type: 'delete', name: 'ann' });
  });

  it('putIfUnchanged writes only over the mod revision it read (0 = only if absent)', async () => {
    const { follower } = await setup(54);
    const counters = keyspace(follower.client, 'counters', z.object({ n: z.number() }), { codec: 'msgpack' });
    expect((await counters.putIfUnchanged('c', { n: 0 }, 0)).succeeded).toBe(true);
    expect((await counters.putIfUnchanged('c', { n: 100 }, 0)).succeeded).toBe(false);
    const read = (await counters.get('c'))!;
    const concurrent = await counters.put('c', { n: 5 });
    const stale = await counters.putIfUnchanged('c', { n: read.value.n + 1 }, read.modRevision);
    expect(stale.succeeded).toBe(false);
    const fresh = (await counters.get('c'))!;
    expect(fresh.modRevision).toBe(concurrent.revision);
    const ok = await counters.putIfUnchanged('c', { n: fresh.value.n + 1 }, fresh.modRevision);
    expect(ok.succeeded).toBe(true);
    expect((await counters.get('c'))!.value).toEqual({ n: 6 });
    // A multi-key txn: move a value only if neither key changed.
    const a = await counters.put('a', { n: 1 });
    const moved = await counters
      .txn()
      .ifUnchanged('a', a.revision)
      .ifUnchanged('b', 0)
      .delete('a')
      .put('b', { n: 1 })
      .commit();
    expect(moved.succeeded).toBe(true);
    expect(await counters.get('a')).toBeUndefined();
    expect((await counters.deleteIfUnchanged('b', 1)).succeeded).toBe(false);
  });
});
