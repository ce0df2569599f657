import { describe, expect, it } from 'vitest';
import { loadEtcdProtos } from '../proto.js';
import { type Pb, rangeIn } from './convert.js';

const range = loadEtcdProtos().KV.Range!;
/** A RangeRequest as the member receives it: encoded, then decoded by protobufjs. */
const received = (req: Pb): Pb => range.requestDeserialize(range.requestSerialize(req)) as Pb;

describe('rangeIn', () => {
  it('takes the sort order and target by name, leaving the defaults out', () => {
    const k = Buffer.from('k');
    expect(rangeIn(received({ key: k, sortOrder: 2, sortTarget: 3 }))).toMatchObject({
      sortOrder: 'DESCEND',
      sortTarget: 'MOD',
    });
    expect(rangeIn(received({ key: k, sortOrder: 'NONE', sortTarget: 'KEY' }))).not.toHaveProperty(
      'sortOrder',
    );
  });

  it("refuses an unknown sort order or target as etcd 3.5 does ('invalid sort option')", () => {
    const k = Buffer.from('k');
    expect(() => rangeIn(received({ key: k, sortOrder: 7 }))).toThrow(new TypeError('invalid sort option'));
    expect(() => rangeIn(received({ key: k, sortTarget: 9 }))).toThrow(new TypeError('invalid sort option'));
  });
});
