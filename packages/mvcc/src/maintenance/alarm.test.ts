import { describe, expect, it } from 'vitest';
import { utf8 } from '../bytes.js';
import { Bucket, bucketKey } from '../codec.js';
import { CorruptDataDirError, NoSpaceError } from '../errors.js';
import { KVStore } from '../kvstore.js';
import { MemoryBackend } from '../memory-backend.js';
import type { TxnRequest } from '../types.js';
import { Alarms } from './alarm.js';

const k = utf8('k');
const writingTxn: TxnRequest = {
  compare: [],
  success: [{ type: 'put', request: { key: k, value: k } }],
  failure: [],
};
const readingTxn: TxnRequest = {
  compare: [],
  success: [{ type: 'range', request: { key: k } }],
  failure: [],
};

async function open(backend = new MemoryBackend()) {
  const store = await KVStore.open(backend);
  return { backend, store, alarms: await Alarms.open(store) };
}

describe('Alarms', () => {
  it('activates idempotently, lists in member order and deactivates', async () => {
    const { alarms } = await open();
    expect(alarms.activate(7n, 'NOSPACE')).toEqual({ memberId: 7n, alarm: 'NOSPACE' });
    alarms.activate(7n, 'NOSPACE');
    alarms.activate(2n, 'CORRUPT');
    alarms.activate(2n, 'NOSPACE');
    expect(alarms.list()).toEqual([
      { memberId: 2n, alarm: 'NOSPACE' },
      { memberId: 2n, alarm: 'CORRUPT' },
      { memberId: 7n, alarm: 'NOSPACE' },
    ]);
    expect(alarms.list('CORRUPT')).toEqual([{ memberId: 2n, alarm: 'CORRUPT' }]);
    expect(alarms.has('CORRUPT')).toBe(true);
    expect(alarms.deactivate(2n, 'CORRUPT')).toEqual({ memberId: 2n, alarm: 'CORRUPT' });
    expect(alarms.deactivate(2n, 'CORRUPT')).toBeUndefined();
    expect(alarms.has('CORRUPT')).toBe(false);
  });

  it('is restored on open, capping the store again', async () => {
    const { backend, store, alarms } = await open();
    alarms.activate(0xffff_ffff_ffff_ffffn, 'NOSPACE');
    alarms.activate(1n, 'CORRUPT');
    await store.commit();
    const again = await open(backend);
    expect(again.alarms.list()).toEqual(alarms.list());
    expect(again.store.spaceExhausted).toBe(true);
  });

  it('under NOSPACE refuses puts and writing txns; allows reads, deletes and compaction', async () => {
    const { store, alarms } = await open();
    store.put({ key: k, value: utf8('1') });
    store.put({ key: utf8('other'), value: utf8('2') });
    alarms.activate(1n, 'NOSPACE');
    expect(store.spaceExhausted).toBe(true);
    expect(() => store.put({ key: k, value: utf8('2') })).toThrow(NoSpaceError);
    expect(() => store.put({ key: k, value: utf8('2') })).toThrow(
      'etcdserver: mvcc: database space exceeded',
    );
    expect(() => store.txn(writingTxn)).toThrow(NoSpaceError);
    expect(store.txn(readingTxn).succeeded).toBe(true);
    expect(store.range({ key: k }).kvs).toHaveLength(1);
    expect(store.deleteRange({ key: utf8('other') }).deleted).toBe(1);
    await store.compact(store.revision);
    expect(store.range({ key: k }).kvs[0]!.value).toEqual(utf8('1'));
  });

  it('keeps the cap until the last NOSPACE alarm is disarmed', async () => {
    const { store, alarms } = await open();
    alarms.activate(1n, 'NOSPACE');
    alarms.activate(2n, 'NOSPACE');
    alarms.activate(3n, 'CORRUPT');
    alarms.deactivate(1n, 'NOSPACE');
    expect(() => store.put({ key: k })).toThrow(NoSpaceError);
    alarms.deactivate(2n, 'NOSPACE');
    expect(store.spaceExhausted).toBe(false); // CORRUPT does not cap the store
    expect(store.put({ key: k }).header.revision).toBe(2);
  });

  it('keeps an alarm of type NONE as etcd 3.4 does: stored, listed, restored, capping nothing', async () => {
    const { backend, store, alarms } = await open();
    expect(alarms.activate(3n, 'NONE')).toEqual({ memberId: 3n, alarm: 'NONE' });
    alarms.activate(3n, 'NOSPACE');
    expect(alarms.list()).toEqual([
      { memberId: 3n, alarm: 'NONE' },
      { memberId: 3n, alarm: 'NOSPACE' },
    ]);
    expect(alarms.list('NONE')).toEqual([{ memberId: 3n, alarm: 'NONE' }]);
    alarms.deactivate(3n, 'NOSPACE');
    expect(store.spaceExhausted).toBe(false);
    await store.commit();
    expect((await open(backend)).alarms.list()).toEqual([{ memberId: 3n, alarm: 'NONE' }]);
  });

  it('rejects bad member IDs and alarm types as programming mistakes', async () => {
    const { alarms } = await open();
    expect(() => alarms.activate(-1n, 'NOSPACE')).toThrow(RangeError);
    expect(() => alarms.activate(1n << 64n, 'NOSPACE')).toThrow(RangeError);
    expect(() => alarms.activate(1n, 'toString' as 'NOSPACE')).toThrow(RangeError);
  });

  it('reports a malformed stored alarm as corruption', async () => {
    const { backend, store } = await open();
    backend.put(bucketKey(Bucket.alarm, new Uint8Array([1, 2, 3])), new Uint8Array(0));
    await store.commit();
    await expect(Alarms.open(store)).rejects.toBeInstanceOf(CorruptDataDirError);
  });
});
