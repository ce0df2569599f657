import { describe, expect, it } from 'vitest';
import { keyRange, prefixEnd, utf8 } from './bytes.js';
import type { Event, Revision } from './types.js';
import { WatcherGroup } from './watcher-group.js';

const member = (name: string, key: string, end?: Uint8Array | string) => ({
  name,
  range: keyRange(utf8(key), typeof end === 'string' ? utf8(end) : end),
});

const put = (key: string): Event => ({
  type: 'PUT',
  kv: {
    key: utf8(key),
    value: utf8('v'),
    createRevision: 2 as Revision,
    modRevision: 2 as Revision,
    version: 1,
    lease: 0n,
  },
});

describe('WatcherGroup', () => {
  it('matches single keys, ranges, prefixes and from-key ranges, keeping event order per member', () => {
    const g = new WatcherGroup<ReturnType<typeof member>>();
    const single = member('single', 'b');
    const range = member('range', 'b', 'd');
    const prefix = member('prefix', 'a/', prefixEnd(utf8('a/')));
    const fromKey = member('fromKey', 'c', new Uint8Array([0]));
    for (const m of [single, range, prefix, fromKey]) g.add(m);
    const got = g.match(['a/1', 'b', 'c', 'bz', 'a', 'z'].map(put));
    const names = new Map(
      [...got].map(([m, evs]) => [m.name, evs.map((e) => new TextDecoder().decode(e.kv.key))]),
    );
    expect(Object.fromEntries(names)).toEqual({
      prefix: ['a/1'],
      single: ['b'],
      range: ['b', 'c', 'bz'],
      fromKey: ['c', 'z'],
    });
  });

  it('add is idempotent, delete reports membership, iteration is in insertion order', () => {
    const g = new WatcherGroup<ReturnType<typeof member>>();
    const a = member('a', 'k');
    const b = member('b', 'k');
    const c = member('c', 'k', 'l');
    g.add(a);
    g.add(b);
    g.add(a);
    g.add(c);
    expect(g.size).toBe(3);
    expect([...g].map((m) => m.name)).toEqual(['a', 'b', 'c']);
    expect(g.delete(a)).toBe(true);
    expect(g.delete(a)).toBe(false);
    expect(g.has(a)).toBe(false);
    expect([...g.match([put('k')]).keys()].map((m) => m.name)).toEqual(['b', 'c']);
    g.delete(b);
    g.delete(c);
    expect(g.size).toBe(0);
    expect(g.match([put('k')]).size).toBe(0);
  });
});
