import { describe, expect, it } from 'vitest';
import { utf8 } from './bytes.js';
import type { Revision } from './types.js';
import { controlResponse, Watcher, type WatcherHost } from './watcher.js';

function make(bufferSize: number) {
  const calls: string[] = [];
  const host: WatcherHost = {
    consumed: () => calls.push('consumed'),
    detach: () => calls.push('detach'),
    requestProgress: () => calls.push('progress'),
    revision: () => 7 as Revision,
  };
  const w = new Watcher(
    {
      id: 3,
      key: utf8('k'),
      rangeEnd: undefined,
      startRevision: 0 as Revision,
      prevKv: false,
      filters: [],
      progressNotify: false,
      fragment: false,
      bufferSize,
    },
    host,
  );
  return { w, calls };
}

const resp = (rev: number) => controlResponse(3, rev as Revision);

describe('Watcher', () => {
  it('send refuses when the buffer is full; end goes past the bound', async () => {
    const { w, calls } = make(2);
    expect(w.send(resp(1))).toBe(true);
    expect(w.send(resp(2))).toBe(true);
    expect(w.send(resp(3))).toBe(false);
    w.end(controlResponse(3, 4 as Revision, { canceled: true }));
    expect(w.buffered).toBe(3);
    expect(w.canceled).toBe(true);
    expect(w.send(resp(5))).toBe(true); // accepted and dropped: the watch is over
    const revs: number[] = [];
    for await (const r of w) revs.push(r.header.revision);
    expect(revs).toEqual([1, 2, 4]);
    // Once ended, the store has forgotten the watcher: freed slots are not reported.
    expect(calls).toEqual([]);
  });

  it('reports each freed slot while open', async () => {
    const { w, calls } = make(2);
    w.send(resp(1));
    w.send(resp(2));
    const it = w[Symbol.asyncIterator]();
    await it.next();
    await it.next();
    expect(calls).toEqual(['consumed', 'consumed']);
  });

  it('hands a response straight to a waiting next(), without a buffer slot', async () => {
    const { w, calls } = make(1);
    const it = w[Symbol.asyncIterator]();
    const pending = it.next();
    expect(w.send(resp(1))).toBe(true);
    expect((await pending).value?.header.revision).toBe(1);
    expect(calls).toEqual([]);
    w.end(controlResponse(3, 2 as Revision, { canceled: true }));
    expect((await it.next()).value?.canceled).toBe(true);
    expect((await it.next()).done).toBe(true);
  });

  it('can be iterated once', () => {
    const { w } = make(1);
    w[Symbol.asyncIterator]();
    expect(() => w[Symbol.asyncIterator]()).toThrow(TypeError);
  });

  it('cancel detaches from the store once and reports the store revision', () => {
    const { w, calls } = make(1);
    let final: number | undefined;
    w.on('canceled', (r) => {
      final = r.header.revision;
    });
    w.cancel();
    w.cancel();
    expect(calls).toEqual(['detach']);
    expect(final).toBe(7);
    w.requestProgress();
    expect(calls).toEqual(['detach']);
  });

  it('`using` cancels at the end of the scope', () => {
    const { w } = make(1);
    {
      using _w = w;
    }
    expect(w.canceled).toBe(true);
  });
});
