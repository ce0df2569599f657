import type { ClusterId, MemberId, NodeResponseHeader } from '@tsetcd/core';
import type { Event, KeyValue, Revision } from '@tsetcd/mvcc';
import { describe, expect, it } from 'vitest';
import { loadEtcdProtos } from '../proto.js';
import { eventOut, headerOut } from './convert.js';
import { WatchEventEncoder } from './watch-response.js';

const method = loadEtcdProtos().Watch.Watch!;
const utf8 = (s: string) => new TextEncoder().encode(s);

/** What the service sends through protobufjs for the same response. */
function viaProtobufjs(h: NodeResponseHeader, watchId: number, events: readonly Event[]): Buffer {
  return method.responseSerialize({
    header: headerOut(h),
    watchId: String(watchId),
    events: events.map(eventOut),
  });
}

function kv(over: Partial<KeyValue> = {}): KeyValue {
  return {
    key: utf8('foo'),
    value: utf8('bar'),
    createRevision: 2 as Revision,
    modRevision: 5 as Revision,
    version: 3,
    lease: 0n,
    ...over,
  };
}

const header = (revision: number, raftTerm = 7): NodeResponseHeader => ({
  clusterId: 0xcdef0123456789abn as ClusterId,
  memberId: 0x8e9e05c52164694dn as MemberId,
  revision,
  raftTerm,
});

describe('WatchEventEncoder', () => {
  const cases: [string, NodeResponseHeader, number, Event[]][] = [
    ['a put', header(5), 0, [{ type: 'PUT', kv: kv() }]],
    [
      'a delete with prev_kv',
      header(6),
      3,
      [
        {
          type: 'DELETE',
          kv: kv({
            value: new Uint8Array(0),
            version: 0,
            createRevision: 0 as Revision,
            modRevision: 6 as Revision,
          }),
          prevKv: kv(),
        },
      ],
    ],
    [
      'large numbers and a lease',
      header(2 ** 40, 2 ** 33),
      2 ** 31,
      [
        {
          type: 'PUT',
          kv: kv({ lease: 0x7fffffffffffffffn, modRevision: (2 ** 52) as Revision, version: 300 }),
        },
      ],
    ],
    [
      'an empty key and a 200 KiB value',
      header(9),
      127,
      [{ type: 'PUT', kv: kv({ key: new Uint8Array(0), value: new Uint8Array(200 * 1024).fill(7) }) }],
    ],
    [
      'several events of one revision',
      header(10),
      128,
      [
        { type: 'PUT', kv: kv({ key: utf8('a') }) },
        { type: 'DELETE', kv: kv({ key: utf8('b'), value: new Uint8Array(0) }) },
        { type: 'PUT', kv: kv({ key: utf8('c'), lease: 42n }) },
      ],
    ],
  ];

  for (const [name, h, id, events] of cases) {
    it(`frames ${name} byte for byte as protobufjs encodes it`, () => {
      const frame = new WatchEventEncoder().frame(h, id, events);
      const message = viaProtobufjs(h, id, events);
      expect(frame[0]).toBe(0);
      expect(frame.readUInt32BE(1)).toBe(message.length);
      expect(Buffer.compare(frame.subarray(5), message)).toBe(0);
    });
  }

  it('reuses a shared event and the header across watchers, with each its own watch ID', () => {
    const enc = new WatchEventEncoder();
    const ev: Event = { type: 'PUT', kv: kv() };
    for (const id of [0, 1, 5000]) {
      const frame = enc.frame(header(5), id, [ev]);
      const decoded = method.responseDeserialize(frame.subarray(5)) as {
        watchId: unknown;
        events: unknown[];
      };
      expect(String(decoded.watchId)).toBe(String(id));
      expect(decoded.events).toHaveLength(1);
    }
    // A new revision (or term) gets a new header.
    const later = enc.frame(header(6, 8), 1, [ev]);
    expect(Buffer.compare(later.subarray(5), viaProtobufjs(header(6, 8), 1, [ev]))).toBe(0);
  });
});
