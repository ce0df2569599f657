import { describe, expect, it } from 'vitest';
import { decodeEntries, encodeEntries } from './entry-codec.js';
import type { Entry, Index, Term } from './types.js';
import { InvalidMessageError } from './validate.js';

const normal = (term: number, index: number, data: string): Entry => ({
  type: 'EntryNormal',
  term: term as Term,
  index: index as Index,
  data: new TextEncoder().encode(data),
});

describe('the binary entry codec', () => {
  it('round-trips normal and conf-change entries, large terms and indexes included', () => {
    const entries: Entry[] = [
      normal(1, 1, ''),
      normal(7, 2 ** 40, 'hello'),
      {
        type: 'EntryConfChange',
        term: 3 as Term,
        index: 3 as Index,
        change: {
          transition: 'explicit',
          changes: [
            { type: 'ConfChangeAddLearnerNode', nodeId: (1n << 64n) - 1n },
            { type: 'ConfChangeRemoveNode', nodeId: 2n },
          ],
          context: new Uint8Array([1, 2, 3]),
        },
      },
      normal(Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, 'x'.repeat(70_000)),
    ];
    expect(decodeEntries(encodeEntries(entries))).toEqual(entries);
    expect(decodeEntries(encodeEntries([]))).toEqual([]);
  });

  it('decodes data as views of the input, without copying', () => {
    const bytes = encodeEntries([normal(1, 1, 'abc')]);
    const [e] = decodeEntries(bytes);
    expect(e?.type === 'EntryNormal' && e.data.buffer).toBe(bytes.buffer);
  });

  it('refuses truncated input, trailing bytes, unknown kinds and non-integer terms', () => {
    const good = encodeEntries([normal(1, 1, 'abc')]);
    expect(() => decodeEntries(good.subarray(0, good.length - 1))).toThrow(InvalidMessageError);
    expect(() => decodeEntries(new Uint8Array([...good, 0]))).toThrow(/trailing/);
    const badKind = good.slice();
    badKind[4] = 9;
    expect(() => decodeEntries(badKind)).toThrow(/unknown kind/);
    const badTerm = good.slice();
    new DataView(badTerm.buffer).setFloat64(5, 1.5);
    expect(() => decodeEntries(badTerm)).toThrow(/term must be a non-negative safe integer/);
    expect(() => decodeEntries(new Uint8Array([0, 0, 0, 5]))).toThrow(/truncated/);
  });

  it('names the entry and the field that is wrong', () => {
    const two = encodeEntries([normal(1, 1, 'a'), normal(1, 2, 'b')]);
    const second = 4 + 17 + 4 + 1; // count, then the first entry (header, length, 1 byte of data)
    new DataView(two.buffer).setFloat64(second + 9, -2);
    expect(() => decodeEntries(two, 'm.entries')).toThrow(
      'm.entries[1].index must be a non-negative safe integer',
    );
    const cut = encodeEntries([normal(1, 1, 'a'), normal(1, 2, 'bcd')]);
    expect(() => decodeEntries(cut.subarray(0, cut.length - 1))).toThrow('entries[1].data: truncated');
  });
});
