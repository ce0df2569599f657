import { describe, expect, it } from 'vitest';
import { prefixEnd, utf8 } from './bytes.js';
import { ForeignDataDirError } from './errors.js';
import { MvccStore } from './store.js';
import { tempDirs } from './test/temp-dirs.js';
import type { WatchResponse } from './watcher.js';

const tempDir = tempDirs('tsetcd-store-');

const text = (b: Uint8Array) => new TextDecoder().decode(b);

describe('MvccStore', () => {
  it('wires leases into writes: a revoked lease deletes its keys, and a watcher sees it', async () => {
    await using store = await MvccStore.open({ lease: { clock: () => 0 } });
    store.lessor.promote(0);
    const { id } = store.lessor.grant(42n, 10);
    store.put({ key: utf8('svc/a'), value: utf8('1'), lease: id });
    store.put({ key: utf8('svc/b'), value: utf8('2'), lease: id });
    const watcher = store.watch({
      key: utf8('svc/'),
      rangeEnd: prefixEnd(utf8('svc/')),
      startRevision: store.revision + 1,
    });
    const rev = store.lessor.revoke(id);
    const seen: WatchResponse[] = [];
    for await (const resp of watcher) {
      seen.push(resp);
      if (resp.events.length > 0) break;
    }
    const events = seen.flatMap((r) => r.events);
    expect(events.map((e) => [e.type, text(e.kv.key), e.kv.modRevision])).toEqual([
      ['DELETE', 'svc/a', rev],
      ['DELETE', 'svc/b', rev],
    ]);
    expect(store.range({ key: utf8('svc/'), rangeEnd: prefixEnd(utf8('svc/')) }).count).toBe(0);
  });

  it('persists data, leases, alarms and the applied index across a reopen', async () => {
    const dir = await tempDir();
    {
      await using store = await MvccStore.open({ dir });
      const { id } = store.lessor.grant(7n, 60);
      store.put({ key: utf8('k'), value: utf8('v'), lease: id });
      store.alarms.activate(1n, 'NOSPACE');
      await store.commit(12);
    }
    await using store = await MvccStore.open({ dir });
    expect(store.kv.consistentIndex).toBe(12);
    expect(store.revision).toBe(2);
    const kv = store.range({ key: utf8('k') }).kvs[0]!;
    expect([text(kv.value), kv.lease]).toEqual(['v', 7n]);
    expect(store.lessor.leases()).toEqual([7n]);
    expect(store.alarms.list()).toEqual([{ memberId: 1n, alarm: 'NOSPACE' }]);
    expect(() => store.put({ key: utf8('x'), value: utf8('y') })).toThrow('database space exceeded');
  });

  it('compact with physical waits for old revisions to be removed', async () => {
    await using store = await MvccStore.open();
    for (let i = 0; i < 5; i++) store.put({ key: utf8('k'), value: utf8(String(i)) });
    const resp = await store.compact({ revision: 4, physical: true });
    expect(resp.header.revision).toBe(6);
    expect(() => store.range({ key: utf8('k'), revision: 3 })).toThrow('compacted');
    expect(text(store.range({ key: utf8('k'), revision: 4 }).kvs[0]!.value)).toBe('2');
  });

  it('refuses a foreign data dir and releases it', async () => {
    const dir = await tempDir();
    const { ClassicLevel } = await import('classic-level');
    const other = new ClassicLevel(dir);
    await other.put('hello', 'world');
    await other.close();
    await expect(MvccStore.open({ dir })).rejects.toBeInstanceOf(ForeignDataDirError);
    // The LevelDB lock was released: the dir can be opened again.
    const again = new ClassicLevel(dir);
    await again.open();
    await again.close();
  });
});
