import { describe, expect, it } from 'vitest';
import { prefixEnd, utf8 } from './bytes.js';
import { KVStore } from './kvstore.js';
import { MemoryBackend } from './memory-backend.js';
import type { Event } from './types.js';
import { ManualWatchScheduler } from './watch-scheduler.js';
import { WatchableStore, type WatchableStoreOptions } from './watchable-store.js';
import { EmptyWatcherRangeError, type Watcher, type WatchResponse } from './watcher.js';

const text = (b: Uint8Array) => new TextDecoder().decode(b);

async function setup(opts: WatchableStoreOptions = {}) {
  const store = await KVStore.open(new MemoryBackend());
  const scheduler = new ManualWatchScheduler();
  const ws = new WatchableStore(store, { scheduler, ...opts });
  const put = (k: string, v: string) => store.put({ key: utf8(k), value: utf8(v) }).header.revision;
  const del = (k: string, end?: string) =>
    store.deleteRange({ key: utf8(k), ...(end === undefined ? {} : { rangeEnd: utf8(end) }) });
  return { store, ws, scheduler, put, del };
}

/** Reads a watcher's responses through its async iterator, never waiting for more than is buffered. */
function reader(w: Watcher) {
  const it = w[Symbol.asyncIterator]();
  return {
    /** Every buffered response (including those that making room lets in). */
    async take(max = Number.POSITIVE_INFINITY): Promise<WatchResponse[]> {
      const out: WatchResponse[] = [];
      while (w.buffered > 0 && out.length < max) {
        const r = await it.next();
        if (r.done) break;
        out.push(r.value);
      }
      return out;
    },
    next: () => it.next(),
  };
}

/** An event as text: `PUT a=1@2`, `DELETE a@5`, with `(prev=…)` when prev_kv is attached. */
function show(ev: Event): string {
  const base =
    ev.type === 'PUT'
      ? `PUT ${text(ev.kv.key)}=${text(ev.kv.value)}@${ev.kv.modRevision}`
      : `DELETE ${text(ev.kv.key)}@${ev.kv.modRevision}`;
  return ev.prevKv === undefined ? base : `${base}(prev=${text(ev.prevKv.value)}@${ev.prevKv.modRevision})`;
}

/** The events of some responses, flattened. */
const events = (rs: WatchResponse[]) => rs.flatMap((r) => r.events.map(show));
/** Responses, one array of events each (drops created and progress responses). */
const batches = (rs: WatchResponse[]) => rs.filter((r) => r.events.length > 0).map((r) => r.events.map(show));

describe('WatchableStore: what a watch selects', () => {
  it('a single key: created first, then only that key’s events', async () => {
    const { ws, put } = await setup();
    put('a', '0');
    const w = ws.watch({ key: utf8('a') });
    put('a', '1');
    put('b', '1');
    put('ab', '1');
    const rs = await reader(w).take();
    expect(rs[0]).toMatchObject({ created: true, canceled: false, watchId: w.id, header: { revision: 2 } });
    expect(rs[0]!.events).toEqual([]);
    expect(events(rs)).toEqual(['PUT a=1@3']);
  });

  it('a range [key, rangeEnd)', async () => {
    const { ws, put, del } = await setup();
    const w = ws.watch({ key: utf8('b'), rangeEnd: utf8('d') });
    for (const k of ['a', 'b', 'c', 'cz', 'd', 'e']) put(k, 'x');
    del('a', 'z');
    const got = events(await reader(w).take());
    expect(got).toEqual(['PUT b=x@3', 'PUT c=x@4', 'PUT cz=x@5', 'DELETE b@8', 'DELETE c@8', 'DELETE cz@8']);
  });

  it('a prefix (rangeEnd = prefixEnd(prefix))', async () => {
    const { ws, put } = await setup();
    const w = ws.watch({ key: utf8('dir/'), rangeEnd: prefixEnd(utf8('dir/')) });
    put('dir', '1');
    put('dir/a', '2');
    put('dir/b/c', '3');
    put('dir0', '4');
    expect(events(await reader(w).take())).toEqual(['PUT dir/a=2@3', 'PUT dir/b/c=3@4']);
  });

  it('every key from a key (rangeEnd = \\0), and every key (empty key)', async () => {
    const { ws, put } = await setup();
    const from = ws.watch({ key: utf8('m'), rangeEnd: new Uint8Array([0]) });
    const all = ws.watch({ key: new Uint8Array(0), rangeEnd: new Uint8Array([0]) });
    put('a', '1');
    put('m', '2');
    put('zz', '3');
    expect(events(await reader(from).take())).toEqual(['PUT m=2@3', 'PUT zz=3@4']);
    expect(events(await reader(all).take())).toEqual(['PUT a=1@2', 'PUT m=2@3', 'PUT zz=3@4']);
  });

  it('refuses a range whose end is not after its key (etcd’s ErrEmptyWatcherRange)', async () => {
    const { ws } = await setup();
    expect(() => ws.watch({ key: utf8('b'), rangeEnd: utf8('a') })).toThrow(EmptyWatcherRangeError);
    expect(() => ws.watch({ key: utf8('b'), rangeEnd: utf8('b') })).toThrow('mvcc: watcher range is empty');
  });

  it('NOPUT and NODELETE filters', async () => {
    const { ws, put, del } = await setup();
    const noPut = ws.watch({ key: utf8('k'), filters: ['NOPUT'] });
    const noDel = ws.watch({ key: utf8('k'), filters: ['NODELETE'] });
    const both = ws.watch({ key: utf8('k'), filters: ['NOPUT', 'NODELETE'] });
    put('k', '1');
    del('k');
    put('k', '2');
    expect(events(await reader(noPut).take())).toEqual(['DELETE k@3']);
    expect(events(await reader(noDel).take())).toEqual(['PUT k=1@2', 'PUT k=2@4']);
    // A fully filtered revision sends nothing at all, not an empty response.
    expect(await reader(both).take()).toHaveLength(1); // just `created`
  });
});

describe('WatchableStore: start revision', () => {
  it('0 sees only writes after the watch', async () => {
    const { ws, put } = await setup();
    put('a', '1');
    const w = ws.watch({ key: utf8('a'), startRevision: 0 });
    await ws.syncWatchers();
    put('a', '2');
    expect(events(await reader(w).take())).toEqual(['PUT a=2@3']);
  });

  it('a past revision replays history exactly, then continues live', async () => {
    const { ws, store, put, del } = await setup();
    put('a', '1'); // 2
    put('b', '1'); // 3
    del('a'); // 4
    store.txn({
      compare: [],
      success: [
        { type: 'put', request: { key: utf8('a'), value: utf8('2') } },
        { type: 'put', request: { key: utf8('c'), value: utf8('2') } },
      ],
      failure: [],
    }); // 5
    const w = ws.watch({ key: utf8('a'), rangeEnd: utf8('c'), startRevision: 3 });
    expect(ws.stats()).toEqual({ synced: 0, unsynced: 1, victims: 0 });
    await ws.syncWatchers();
    expect(ws.stats()).toEqual({ synced: 1, unsynced: 0, victims: 0 });
    put('b', '2'); // 6
    const rs = await reader(w).take();
    expect(batches(rs)).toEqual([['PUT b=1@3', 'DELETE a@4', 'PUT a=2@5'], ['PUT b=2@6']]);
    // Catch-up responses say how far the watcher has got.
    expect(rs.map((r) => r.header.revision)).toEqual([5, 5, 6]);
  });

  it('a future revision delivers nothing before it', async () => {
    const { ws, put } = await setup();
    const w = ws.watch({ key: utf8('a'), startRevision: 4 });
    put('a', '1'); // 2
    put('a', '2'); // 3
    put('a', '3'); // 4
    put('a', '4'); // 5
    expect(events(await reader(w).take())).toEqual(['PUT a=3@4', 'PUT a=4@5']);
  });

  it('a sync pass reads at most syncBatchRevisions revisions', async () => {
    const { ws, put } = await setup({ syncBatchRevisions: 3 });
    for (let i = 0; i < 8; i++) put('k', `${i}`); // revisions 2..9
    const w = ws.watch({ key: utf8('k'), startRevision: 2 });
    const r = reader(w);
    const headers: number[] = [];
    for (let pass = 0; pass < 3; pass++) {
      await ws.syncWatchers();
      for (const resp of await r.take()) if (resp.events.length > 0) headers.push(resp.header.revision);
    }
    expect(headers).toEqual([4, 7, 9]);
    expect(ws.stats().synced).toBe(1);
  });
});

describe('WatchableStore: events', () => {
  it('prev_kv, live and replayed; absent for a key’s first put', async () => {
    const { ws, put, del } = await setup();
    put('a', '1'); // 2
    const past = ws.watch({ key: utf8('a'), prevKv: true, startRevision: 2 });
    const live = ws.watch({ key: utf8('a'), prevKv: true });
    put('a', '2'); // 3
    del('a'); // 4
    put('a', '3'); // 5
    await ws.syncWatchers();
    expect(events(await reader(live).take())).toEqual([
      'PUT a=2@3(prev=1@2)',
      'DELETE a@4(prev=2@3)',
      'PUT a=3@5',
    ]);
    expect(events(await reader(past).take())).toEqual([
      'PUT a=1@2',
      'PUT a=2@3(prev=1@2)',
      'DELETE a@4(prev=2@3)',
      'PUT a=3@5',
    ]);
  });

  it('a txn’s events arrive together in one response, live and replayed', async () => {
    const { ws, store } = await setup();
    const past = ws.watch({ key: utf8('a'), rangeEnd: utf8('z'), startRevision: 1 });
    const live = ws.watch({ key: utf8('a'), rangeEnd: utf8('z') });
    const txn = (v: string) =>
      store.txn({
        compare: [],
        success: ['a', 'b', 'c'].map((k) => ({
          type: 'put' as const,
          request: { key: utf8(k), value: utf8(v) },
        })),
        failure: [],
      });
    txn('1');
    txn('2');
    const expected = [
      ['PUT a=1@2', 'PUT b=1@2', 'PUT c=1@2'],
      ['PUT a=2@3', 'PUT b=2@3', 'PUT c=2@3'],
    ];
    expect(batches(await reader(live).take())).toEqual(expected);
    await ws.syncWatchers();
    expect(events(await reader(past).take())).toEqual(expected.flat());
  });

  it('writes made while a catch-up read is in flight are neither lost nor repeated', async () => {
    let store!: KVStore;
    let rounds = 2;
    let n = 0;
    const s = await setup({
      hooks: {
        afterHistoryRead: () => {
          if (rounds-- <= 0) return;
          for (let i = 0; i < 2; i++) store.put({ key: utf8('k'), value: utf8(`${++n}`) });
        },
      },
    });
    store = s.store;
    s.put('k', 'a'); // 2
    s.put('k', 'b'); // 3
    const w = s.ws.watch({ key: utf8('k'), startRevision: 2 });
    await s.ws.syncWatchers(); // reads 2..3 while 4 and 5 are written
    expect(s.ws.stats().unsynced).toBe(1);
    await s.ws.syncWatchers(); // reads 4..5 while 6 and 7 are written
    expect(s.ws.stats().unsynced).toBe(1);
    await s.ws.syncWatchers(); // reads 6..7: caught up
    expect(s.ws.stats().synced).toBe(1);
    s.put('k', 'c'); // 8, live
    const rs = await reader(w).take();
    expect(batches(rs)).toEqual([
      ['PUT k=a@2', 'PUT k=b@3'],
      ['PUT k=1@4', 'PUT k=2@5'],
      ['PUT k=3@6', 'PUT k=4@7'],
      ['PUT k=c@8'],
    ]);
  });
});

describe('WatchableStore: slow consumers', () => {
  it('a full buffer makes a victim; writes go on; nothing is lost, duplicated or reordered', async () => {
    const { ws, put } = await setup({ bufferSize: 2 });
    const w = ws.watch({ key: utf8('k') });
    const other = ws.watch({ key: utf8('k') }, { bufferSize: 1000 });
    for (let i = 0; i < 50; i++) put('k', `${i}`); // revisions 2..51
    expect(ws.stats()).toEqual({ synced: 1, unsynced: 0, victims: 1 });
    expect(w.buffered).toBe(2); // created + one event: bounded
    const r = reader(w);
    const got: WatchResponse[] = [];
    while (ws.stats().synced < 2 || w.buffered > 0) {
      got.push(...(await r.take(1)));
      await ws.syncWatchers();
    }
    const want = Array.from({ length: 50 }, (_, i) => `PUT k=${i}@${i + 2}`);
    expect(events(got)).toEqual(want);
    expect(events(await reader(other).take())).toEqual(want);
  });

  it('a victim that becomes unsynced while writes continue catches up from history', async () => {
    const { ws, put } = await setup({ bufferSize: 1 });
    const w = ws.watch({ key: utf8('k') }); // the buffer holds `created`
    put('k', '1'); // 2: victim, holding it
    put('k', '2'); // 3: not delivered: a victim is in no group
    expect(ws.stats().victims).toBe(1);
    const r = reader(w);
    const got = await r.take(1); // created out → rev 2 in → unsynced (rev 3 exists)
    expect(ws.stats()).toEqual({ synced: 0, unsynced: 1, victims: 0 });
    put('k', '3'); // 4: not delivered either
    got.push(...(await r.take(1)));
    await ws.syncWatchers(); // reads 3..4
    expect(ws.stats().synced).toBe(1);
    put('k', '4'); // 5: live — but the buffer is full again, so a victim
    got.push(...(await r.take()));
    expect(events(got)).toEqual(['PUT k=1@2', 'PUT k=2@3', 'PUT k=3@4', 'PUT k=4@5']);
    expect(ws.stats().synced).toBe(1);
  });
});

describe('WatchableStore: compaction', () => {
  it('a start revision below the compaction revision is canceled with compactRevision', async () => {
    const { ws, store, put } = await setup();
    for (let i = 0; i < 5; i++) put('k', `${i}`);
    await store.compact(4);
    const w = ws.watch({ key: utf8('k'), startRevision: 2 });
    const rs: WatchResponse[] = [];
    for await (const resp of w) rs.push(resp);
    expect(rs).toHaveLength(2);
    expect(rs[0]!.created).toBe(true);
    expect(rs[1]).toMatchObject({
      canceled: true,
      compactRevision: 4,
      cancelReason: 'mvcc: required revision has been compacted',
    });
    expect(w.canceled).toBe(true);
    expect(ws.stats()).toEqual({ synced: 0, unsynced: 0, victims: 0 });
  });

  it('a start revision equal to the compaction revision is allowed', async () => {
    const { ws, store, put } = await setup();
    for (let i = 0; i < 5; i++) put('k', `${i}`);
    await store.compact(4);
    const w = ws.watch({ key: utf8('k'), startRevision: 4 });
    await ws.syncWatchers();
    expect(events(await reader(w).take())).toEqual(['PUT k=2@4', 'PUT k=3@5', 'PUT k=4@6']);
  });

  // Known gap, as etcd before etcd-io/etcd#18274: compaction drops a tombstone at exactly the
  // compaction revision (key-index.ts), so a watch from that revision misses the DELETE. Marked
  // `fails`: it will start to fail — flip it to `it` — once the key index keeps that tombstone.
  it('a DELETE at exactly the compaction revision reaches a watch from that revision', async () => {
    const { ws, store, put, del } = await setup();
    put('k', '1'); // 2
    del('k'); // 3
    put('j', '1'); // 4
    await store.compact(3);
    const w = ws.watch({ key: utf8('j'), rangeEnd: utf8('l'), startRevision: 3 });
    await ws.syncWatchers();
    expect(events(await reader(w).take())).toEqual(['DELETE k@3', 'PUT j=1@4']);
  });

  it('an unsynced watcher overtaken by compaction is canceled at its next pass', async () => {
    const { ws, store, put } = await setup();
    for (let i = 0; i < 5; i++) put('k', `${i}`);
    const w = ws.watch({ key: utf8('k'), startRevision: 2 });
    await store.compact(5);
    await ws.syncWatchers();
    const rs = await reader(w).take();
    expect(rs.at(-1)).toMatchObject({ canceled: true, compactRevision: 5 });
    expect(events(rs)).toEqual([]);
  });

  it('a compaction that runs during the catch-up read cancels the watcher instead of delivering a partial read', async () => {
    let store!: KVStore;
    const s = await setup({ hooks: { afterHistoryRead: () => store.compact(4) } });
    store = s.store;
    for (let i = 0; i < 5; i++) s.put('k', `${i}`);
    const behind = s.ws.watch({ key: utf8('k'), startRevision: 2 });
    await s.ws.syncWatchers();
    expect((await reader(behind).take()).at(-1)).toMatchObject({ canceled: true, compactRevision: 4 });
  });

  it('a victim whose position falls below compaction is canceled once its held response is out', async () => {
    const { ws, store, put } = await setup({ bufferSize: 1 });
    const w = ws.watch({ key: utf8('k') });
    put('k', '1'); // 2: held
    put('k', '2'); // 3
    put('k', '3'); // 4
    await store.compact(4);
    const r = reader(w);
    await r.take(1);
    await ws.syncWatchers();
    const rs = await r.take();
    expect(events(rs)).toEqual(['PUT k=1@2']);
    expect(rs.at(-1)).toMatchObject({ canceled: true, compactRevision: 4 });
  });
});

describe('WatchableStore: cancel and close', () => {
  it('cancel stops delivery, drops what is buffered, ends the iterator and leaves no trace', async () => {
    const { ws, put } = await setup({ bufferSize: 1 });
    const w = ws.watch({ key: utf8('k') });
    put('k', '1'); // a victim now
    expect(ws.stats().victims).toBe(1);
    const it = w[Symbol.asyncIterator]();
    w.cancel();
    expect(ws.stats()).toEqual({ synced: 0, unsynced: 0, victims: 0 });
    put('k', '2');
    expect(await it.next()).toEqual({ done: true, value: undefined });
    expect(w.buffered).toBe(0);
  });

  it('a pending next() resolves done on cancel; break in for-await cancels', async () => {
    const { ws, put } = await setup();
    const w = ws.watch({ key: utf8('k') });
    const it = w[Symbol.asyncIterator]();
    await it.next(); // created
    const pending = it.next();
    w.cancel();
    expect(await pending).toEqual({ done: true, value: undefined });

    const w2 = ws.watch({ key: utf8('k') });
    put('k', '1');
    for await (const resp of w2) if (resp.events.length > 0) break;
    expect(w2.canceled).toBe(true);
    expect(ws.stats().synced).toBe(0);
  });

  it('an aborted signal cancels the watch', async () => {
    const { ws } = await setup();
    const ac = new AbortController();
    const w = ws.watch({ key: utf8('k') }, { signal: ac.signal });
    ac.abort();
    expect(w.canceled).toBe(true);
    expect(() => ws.watch({ key: utf8('k') }, { signal: ac.signal })).toThrow();
  });

  it('close cancels every watcher with a reason and refuses new watches', async () => {
    const { ws, put } = await setup();
    const w = ws.watch({ key: utf8('k') });
    await ws.close();
    put('k', '1');
    const rs = await reader(w).take();
    expect(rs.at(-1)).toMatchObject({ canceled: true, cancelReason: 'mvcc: closed' });
    expect(events(rs)).toEqual([]);
    expect(() => ws.watch({ key: utf8('k') })).toThrow('mvcc: closed');
  });
});

describe('WatchableStore: the emitter interface', () => {
  it('emits every response in order, then canceled; never inside the write', async () => {
    const { ws, store, put } = await setup();
    for (let i = 0; i < 3; i++) put('k', `${i}`);
    const w = ws.watch({ key: utf8('k'), startRevision: 2 });
    const seen: string[] = [];
    w.on('response', (r) => {
      seen.push(r.created ? 'created' : r.canceled ? 'canceled-response' : events([r]).join(','));
    });
    w.on('canceled', () => seen.push('canceled'));
    await ws.syncWatchers();
    put('k', 'x');
    expect(seen.at(-1)).not.toBe('PUT k=x@5'); // not yet: emitted from a microtask
    await Promise.resolve();
    await store.compact(5);
    ws.watch({ key: utf8('other') }).cancel();
    await ws.close();
    await Promise.resolve();
    expect(seen).toEqual([
      'created',
      'PUT k=0@2,PUT k=1@3,PUT k=2@4',
      'PUT k=x@5',
      'canceled-response',
      'canceled',
    ]);
  });

  it('a client cancel emits canceled once', async () => {
    const { ws } = await setup();
    const w = ws.watch({ key: utf8('k') });
    let n = 0;
    w.once('canceled', (r) => {
      n++;
      expect(r.canceled).toBe(true);
    });
    w.cancel();
    w.cancel();
    expect(n).toBe(1);
  });
});

describe('WatchableStore: progress', () => {
  it('requestProgress: synced watchers at once, unsynced ones once caught up', async () => {
    const { ws, put } = await setup();
    put('a', '1'); // 2
    const synced = ws.watch({ key: utf8('a') });
    const behind = ws.watch({ key: utf8('z'), startRevision: 1 });
    ws.requestProgress();
    const s = await reader(synced).take();
    expect(s[1]).toMatchObject({ created: false, canceled: false, events: [], header: { revision: 2 } });
    const rb = reader(behind);
    expect(await rb.take()).toHaveLength(1); // created only
    put('a', '2'); // 3
    await ws.syncWatchers();
    const b = await rb.take();
    expect(b).toHaveLength(1);
    expect(b[0]).toMatchObject({ events: [], header: { revision: 3 } });
  });

  it('progressNotify: an empty response each interval without events, at the current revision', async () => {
    const { ws, scheduler, put } = await setup({ progressNotifyIntervalMs: 1000 });
    const w = ws.watch({ key: utf8('k'), progressNotify: true });
    const quiet = ws.watch({ key: utf8('q') }); // no progressNotify: nothing
    const r = reader(w);
    await r.take();
    scheduler.advance(1000);
    expect(await r.take()).toMatchObject([{ events: [], header: { revision: 1 } }]);
    put('k', '1');
    scheduler.advance(1000); // events were sent in this interval: no notification
    expect(batches(await r.take())).toEqual([['PUT k=1@2']]);
    put('other', '1');
    scheduler.advance(1000);
    expect(await r.take()).toMatchObject([{ events: [], header: { revision: 3 } }]);
    expect(await reader(quiet).take()).toHaveLength(1);
    w.cancel();
    expect(scheduler.activeTimers).toBe(0);
  });
});

describe('WatchableStore: background passes', () => {
  it('the scheduler runs passes until nothing is unsynced, then stops', async () => {
    const { ws, scheduler, put } = await setup({ syncBatchRevisions: 2 });
    for (let i = 0; i < 6; i++) put('k', `${i}`);
    const w = ws.watch({ key: utf8('k'), startRevision: 2 });
    let passes = 0;
    while (scheduler.pending > 0) {
      passes += scheduler.runDeferred();
      for (let i = 0; i < 20; i++) await Promise.resolve();
    }
    expect(passes).toBe(3);
    expect(ws.stats().synced).toBe(1);
    expect(events(await reader(w).take())).toHaveLength(6);
  });

  it('the default scheduler catches a watcher up on its own', async () => {
    const store = await KVStore.open(new MemoryBackend());
    const ws = new WatchableStore(store, { syncBatchRevisions: 4 });
    for (let i = 0; i < 10; i++) store.put({ key: utf8('k'), value: utf8(`${i}`) });
    const w = ws.watch({ key: utf8('k'), startRevision: 1 });
    const got: string[] = [];
    for await (const r of w) {
      got.push(...events([r]));
      if (got.length === 10) break;
    }
    expect(got.at(-1)).toBe('PUT k=9@11');
    await ws.close();
  });
});

describe('WatchableStore: retarget (a snapshot restore replaces the store)', () => {
  /** A second store holding `base`'s history plus `extra` more writes: the snapshot's state. */
  async function ahead(writes: readonly [string, string][]) {
    const next = await KVStore.open(new MemoryBackend());
    for (const [k, v] of writes) next.put({ key: utf8(k), value: utf8(v) });
    return next;
  }

  it('synced watchers catch up from the new store from the revision after the old one', async () => {
    const { ws, put, scheduler } = await setup();
    put('a', '1');
    const w = ws.watch({ key: utf8('a'), rangeEnd: utf8('c') });
    put('b', '1'); // rev 3
    const r = reader(w);
    expect(events(await r.take())).toEqual(['PUT b=1@3']);
    const next = await ahead([
      ['a', '1'],
      ['b', '1'],
      ['a', '2'],
      ['c', '1'],
      ['b', '2'],
    ]);
    await ws.pause();
    ws.retarget(next);
    expect(ws.store).toBe(next);
    expect(ws.stats()).toEqual({ synced: 0, unsynced: 1, victims: 0 });
    expect(scheduler.pending).toBe(1);
    await ws.syncWatchers();
    expect(events(await r.take())).toEqual(['PUT a=2@4', 'PUT b=2@6']);
    expect(ws.stats()).toEqual({ synced: 1, unsynced: 0, victims: 0 });
    next.put({ key: utf8('a'), value: utf8('3') });
    expect(events(await r.take())).toEqual(['PUT a=3@7']);
  });

  it('a pass reading the old store when it is replaced delivers nothing of it', async () => {
    let swap: (() => void) | undefined;
    const { ws, put, store } = await setup({ hooks: { afterHistoryRead: () => swap?.() } });
    put('a', '1');
    put('a', '2');
    const w = ws.watch({ key: utf8('a'), startRevision: 2 });
    const next = await ahead([
      ['a', 'x'],
      ['a', 'y'],
      ['a', 'z'],
    ]);
    swap = () => {
      swap = undefined;
      ws.retarget(next);
    };
    await ws.syncWatchers(); // reads store's history, then finds the store replaced
    const r = reader(w);
    expect(events(await r.take())).toEqual([]);
    await ws.syncWatchers();
    // Unsynced with minRev 2 (exact): the new store's revisions from 2, none of the old store's.
    expect(events(await r.take())).toEqual(['PUT a=x@2', 'PUT a=y@3', 'PUT a=z@4']);
    expect(store).not.toBe(ws.store);
  });

  it('a watcher whose next revision the new store compacted is canceled with compactRevision', async () => {
    const { ws, put } = await setup();
    put('a', '1');
    const w = ws.watch({ key: utf8('a') });
    const next = await ahead([
      ['a', '1'],
      ['a', '2'],
      ['a', '3'],
    ]);
    await next.compact(4);
    await ws.pause();
    ws.retarget(next);
    await ws.syncWatchers();
    const rs = await reader(w).take();
    expect(rs.at(-1)).toMatchObject({ canceled: true, compactRevision: 4 });
    expect(events(rs)).toEqual([]);
  });

  it('pause waits for the running pass and runs none until retarget', async () => {
    const { ws, put, scheduler } = await setup();
    put('a', '1');
    ws.watch({ key: utf8('a'), startRevision: 1 });
    await ws.pause();
    await ws.syncWatchers();
    expect(ws.stats()).toEqual({ synced: 0, unsynced: 1, victims: 0 });
    expect(scheduler.pending).toBe(1); // queued by watch() before the pause
    scheduler.runDeferred();
    await ws.syncWatchers();
    expect(ws.stats().unsynced).toBe(1);
    expect(scheduler.pending).toBe(0); // the paused loop does not spin
  });
});
