import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { prefixEnd, utf8 } from './bytes.js';
import { KVStore } from './kvstore.js';
import { LevelBackend } from './level-backend.js';
import { ManualWatchScheduler } from './watch-scheduler.js';
import { WatchableStore } from './watchable-store.js';
import type { WatchResponse } from './watcher.js';

const text = (b: Uint8Array) => new TextDecoder().decode(b);
const events = (rs: WatchResponse[]) =>
  rs.flatMap((r) => r.events.map((e) => `${e.type} ${text(e.kv.key)}@${e.kv.modRevision}`));

describe('WatchableStore on LevelDB', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tsetcd-watch-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('replays history after a reopen, catches up through victims, and goes live', async () => {
    const first = await KVStore.open(await LevelBackend.open(dir, { sync: false }));
    for (let i = 0; i < 20; i++) first.put({ key: utf8(`p/${i % 4}`), value: utf8(`${i}`) });
    first.deleteRange({ key: utf8('p/'), rangeEnd: prefixEnd(utf8('p/')) });
    await first.commit();
    await first.close();

    const store = await KVStore.open(await LevelBackend.open(dir, { sync: false }));
    const ws = new WatchableStore(store, {
      bufferSize: 2,
      syncBatchRevisions: 5,
      scheduler: new ManualWatchScheduler(),
    });
    const w = ws.watch({ key: utf8('p/'), rangeEnd: prefixEnd(utf8('p/')), startRevision: 1, prevKv: true });
    const it = w[Symbol.asyncIterator]();
    const got: WatchResponse[] = [];
    let writes = 0;
    while (ws.stats().synced === 0 || w.buffered > 0) {
      await ws.syncWatchers(); // the read is a real LevelDB iteration; write meanwhile
      if (writes < 5) store.put({ key: utf8('p/new'), value: utf8(`${writes++}`) });
      while (w.buffered > 0) {
        const next = await it.next();
        if (!next.done) got.push(next.value);
      }
    }
    store.put({ key: utf8('p/live'), value: utf8('x') });
    while (w.buffered > 0) {
      const next = await it.next();
      if (!next.done) got.push(next.value);
    }

    const want = [
      ...Array.from({ length: 20 }, (_, i) => `PUT p/${i % 4}@${i + 2}`),
      ...['p/0', 'p/1', 'p/2', 'p/3'].map((k) => `DELETE ${k}@22`),
      ...Array.from({ length: 5 }, (_, i) => `PUT p/new@${23 + i}`),
      'PUT p/live@28',
    ];
    expect(events(got)).toEqual(want);
    // prev_kv was read back from LevelDB for replayed events too.
    const del = got.flatMap((r) => r.events).find((e) => e.type === 'DELETE');
    expect(del?.prevKv && text(del.prevKv.value)).toBe('16');
    await ws.close();
    await store.close();
  });
});
