import type { Entry, HardState, Index, Term } from '@tsetcd/raft';
import { describe, expect, it } from 'vitest';
import { encodeValue } from '../codec.js';
import { encodeRecord, frame, RECORD_HEADER_BYTES, scanRecords, type WalRecord } from './wal-record.js';

const MAX_U64 = (1n << 64n) - 1n;

function ent(index: number, term: number, data = `e${index}`): Entry {
  return {
    type: 'EntryNormal',
    index: index as Index,
    term: term as Term,
    data: new TextEncoder().encode(data),
  };
}

function concat(parts: Uint8Array[]): Uint8Array {
  return Uint8Array.from(parts.flatMap((p) => [...p]));
}

describe('wal-record', () => {
  it('round-trips every record type, node IDs exactly as bigints', () => {
    const hs: HardState = { term: 7 as Term, vote: MAX_U64, commit: 3 as Index };
    const conf: Entry = {
      type: 'EntryConfChange',
      index: 4 as Index,
      term: 7 as Term,
      change: {
        transition: 'auto',
        changes: [{ type: 'ConfChangeAddNode', nodeId: (1n << 63n) + 1n }],
        context: new Uint8Array([1, 2]),
      },
    };
    const records: WalRecord[] = [
      { type: 'metadata', data: new Uint8Array([9, 9]) },
      { type: 'state', entries: [ent(1, 1), ent(2, 1), conf], hardState: hs },
      { type: 'state', entries: [ent(3, 2)] },
      { type: 'snapshot', index: 2 as Index, term: 1 as Term },
    ];
    const scan = scanRecords(concat(records.map(encodeRecord)));
    expect(scan.stop).toEqual({ kind: 'end' });
    expect(scan.records).toEqual(records);
    const decoded = scan.records[1] as Extract<WalRecord, { type: 'state' }>;
    expect(decoded.hardState?.vote).toBe(MAX_U64);
    const change = decoded.entries[2] as Extract<Entry, { type: 'EntryConfChange' }>;
    expect(change.change.changes[0]?.nodeId).toBe((1n << 63n) + 1n);
  });

  it('reports a short header, a short body and a bad final CRC as a torn tail', () => {
    const a = encodeRecord({ type: 'state', entries: [ent(1, 1)] });
    const b = encodeRecord({ type: 'state', entries: [ent(2, 1)] });
    const whole = concat([a, b]);
    for (const cut of [a.length + 3, a.length + RECORD_HEADER_BYTES + 2, whole.length - 1]) {
      const scan = scanRecords(whole.subarray(0, cut));
      expect(scan.stop.kind).toBe('torn');
      expect(scan.validBytes).toBe(a.length);
      expect(scan.records).toHaveLength(1);
    }
    const flipped = whole.slice();
    flipped[whole.length - 1]! ^= 0x01;
    expect(scanRecords(flipped).stop).toMatchObject({ kind: 'torn', detail: 'CRC mismatch' });
  });

  it('reports a bad CRC before the final record as corruption at its offset', () => {
    const a = encodeRecord({ type: 'state', entries: [ent(1, 1)] });
    const b = encodeRecord({ type: 'state', entries: [ent(2, 1)] });
    const whole = concat([a, b]);
    whole[RECORD_HEADER_BYTES + 2]! ^= 0x10;
    expect(scanRecords(whole).stop).toEqual({ kind: 'corrupt', offset: 0, detail: 'CRC mismatch' });
  });

  it('reports a bad CRC on the last record before a zero-filled tail (a preallocated segment) as torn', () => {
    const a = encodeRecord({ type: 'state', entries: [ent(1, 1)] });
    const b = encodeRecord({ type: 'state', entries: [ent(2, 1)] });
    const whole = concat([a, b, new Uint8Array(100)]);
    whole[a.length + RECORD_HEADER_BYTES + 2]! ^= 0x10;
    expect(scanRecords(whole).stop).toEqual({ kind: 'torn', offset: a.length, detail: 'CRC mismatch' });
    whole[whole.length - 1] = 1; // not zeros after it: a damaged record with more after it
    expect(scanRecords(whole).stop).toEqual({ kind: 'corrupt', offset: a.length, detail: 'CRC mismatch' });
  });

  it('tolerates a zero-filled tail but not a zero length followed by data', () => {
    const a = encodeRecord({ type: 'state', entries: [ent(1, 1)] });
    expect(scanRecords(concat([a, new Uint8Array(64)])).stop.kind).toBe('torn');
    const junk = concat([a, new Uint8Array(RECORD_HEADER_BYTES), new Uint8Array([5])]);
    expect(scanRecords(junk).stop.kind).toBe('corrupt');
  });

  it('refuses a record whose CRC holds but whose body is not a valid record', () => {
    const bad = frame(encodeValue({ t: 'e', e: [{ type: 'EntryNormal', index: -1, term: 1, data: 'x' }] }));
    const scan = scanRecords(bad);
    expect(scan.stop.kind).toBe('corrupt');
    const vote = frame(encodeValue({ t: 'e', e: [], h: { term: 1, vote: 5, commit: 0 } }));
    expect(scanRecords(vote).stop).toMatchObject({
      kind: 'corrupt',
      detail: 'state.hardState.vote must be a uint64 bigint',
    });
  });
});
