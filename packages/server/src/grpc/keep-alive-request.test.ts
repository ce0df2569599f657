import { describe, expect, it } from 'vitest';
import { loadEtcdProtos } from '../proto.js';
import { decodeKeepAliveRequest } from './keep-alive-request.js';
import { MalformedMessageError } from './wire-reader.js';

const method = loadEtcdProtos().Lease.LeaseKeepAlive!;
const encode = (id: string) => method.requestSerialize({ ID: id });

describe('decodeKeepAliveRequest', () => {
  it('reads the ID as protobufjs does, across the int64 range', () => {
    const ids = [
      '0',
      '1',
      '127',
      '128',
      '300',
      '2147483647',
      '2147483648',
      '4294967295',
      '4294967296',
      '9007199254740993',
      '9223372036854775807',
      '-1',
      '-9223372036854775808',
      '7587883958839384581',
    ];
    for (const id of ids) {
      const bytes = encode(id);
      expect(decodeKeepAliveRequest(bytes).ID, id).toBe(BigInt(id));
      expect(String(method.requestDeserialize(bytes).ID)).toBe(id);
    }
  });

  it('skips unknown fields of every wire type', () => {
    const id = encode('42');
    const unknown = Buffer.from([
      0x10,
      0x96,
      0x01, // field 2 varint 150
      0x19,
      1,
      2,
      3,
      4,
      5,
      6,
      7,
      8, // field 3 fixed64
      0x22,
      0x02,
      0x61,
      0x62, // field 4 bytes "ab"
      0x2d,
      1,
      2,
      3,
      4, // field 5 fixed32
    ]);
    expect(decodeKeepAliveRequest(Buffer.concat([unknown, id])).ID).toBe(42n);
  });

  it('gives 0 for an empty message and throws on malformed bytes', () => {
    expect(decodeKeepAliveRequest(Buffer.alloc(0)).ID).toBe(0n);
    const bad = [
      [0x08], // truncated varint
      [0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01], // 11-byte varint
      [0x22, 0x05, 0x61], // bytes past the end
      [0x0b], // wire type 3 (groups)
      [0x00, 0x01], // field 0
    ];
    for (const b of bad) expect(() => decodeKeepAliveRequest(Buffer.from(b))).toThrow(MalformedMessageError);
  });
});
