import { once } from 'node:events';
import http2 from 'node:http2';
import net from 'node:net';
import { mulberry32 } from '@tsetcd/testing';
import { describe, expect, it } from 'vitest';
import { encodeHeaderBlock, HpackDecoder, HpackError } from './hpack.js';
import { huffmanEncode } from './huffman.js';

type Field = [string, string];

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const latin1 = (s: string): number[] => [...Buffer.from(s, 'latin1')];

/** RFC 7541 §5.1: `value` with an N-bit prefix, the first byte's other bits `flags`. */
function int(flags: number, prefixBits: number, value: number): number[] {
  const max = (1 << prefixBits) - 1;
  if (value < max) return [flags | value];
  const out = [flags | max];
  let rest = value - max;
  while (rest >= 0x80) {
    out.push((rest % 0x80) | 0x80);
    rest = Math.floor(rest / 0x80);
  }
  out.push(rest);
  return out;
}

/** RFC 7541 §5.2: a string literal, raw or Huffman-coded. */
function str(s: string, huffman = false): number[] {
  const bytes = huffman ? [...huffmanEncode(s)] : latin1(s);
  return [...int(huffman ? 0x80 : 0, 7, bytes.length), ...bytes];
}

/** The decoder's dynamic table, newest first, read back through indexed fields 62, 63, ... */
function dynamicEntries(decoder: HpackDecoder): Field[] {
  const entries: Field[] = [];
  for (let index = 62; ; index++) {
    try {
      entries.push(...decoder.decode(Uint8Array.from(int(0x80, 7, index))));
    } catch (e) {
      if (e instanceof HpackError) return entries;
      throw e;
    }
  }
}

/** Runs `decode` and returns the HpackError it throws (failing the test if it throws none or another). */
function decodeError(decoder: HpackDecoder, block: Uint8Array | number[]): HpackError {
  try {
    decoder.decode(Uint8Array.from(block));
  } catch (e) {
    expect(e).toBeInstanceOf(HpackError);
    return e as HpackError;
  }
  throw new Error('decode did not throw');
}

describe('HpackDecoder: RFC 7541 Appendix C', () => {
  it.each([
    [
      'C.2.1',
      '400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572',
      ['custom-key', 'custom-header'],
      1,
    ],
    ['C.2.2', '040c 2f73 616d 706c 652f 7061 7468', [':path', '/sample/path'], 0],
    ['C.2.3', '1008 7061 7373 776f 7264 0673 6563 7265 74', ['password', 'secret'], 0],
    ['C.2.4', '82', [':method', 'GET'], 0],
  ] as const)('%s: one representation', (_label, block, field, tableEntries) => {
    const decoder = new HpackDecoder();
    expect(decoder.decode(hex(block))).toEqual([field]);
    expect(dynamicEntries(decoder)).toEqual(tableEntries === 1 ? [field] : []);
  });

  const request1: Field[] = [
    [':method', 'GET'],
    [':scheme', 'http'],
    [':path', '/'],
    [':authority', 'www.example.com'],
  ];
  const request2: Field[] = [...request1, ['cache-control', 'no-cache']];
  const request3: Field[] = [
    [':method', 'GET'],
    [':scheme', 'https'],
    [':path', '/index.html'],
    [':authority', 'www.example.com'],
    ['custom-key', 'custom-value'],
  ];
  const requestTables: Field[][] = [
    [[':authority', 'www.example.com']],
    [
      ['cache-control', 'no-cache'],
      [':authority', 'www.example.com'],
    ],
    [
      ['custom-key', 'custom-value'],
      ['cache-control', 'no-cache'],
      [':authority', 'www.example.com'],
    ],
  ];

  const date1 = 'Mon, 21 Oct 2013 20:13:21 GMT';
  const date2 = 'Mon, 21 Oct 2013 20:13:22 GMT';
  const cookie = 'foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1';
  const response1: Field[] = [
    [':status', '302'],
    ['cache-control', 'private'],
    ['date', date1],
    ['location', 'https://www.example.com'],
  ];
  const response2: Field[] = [[':status', '307'], ...response1.slice(1)];
  const response3: Field[] = [
    [':status', '200'],
    ['cache-control', 'private'],
    ['date', date2],
    ['location', 'https://www.example.com'],
    ['content-encoding', 'gzip'],
    ['set-cookie', cookie],
  ];
  // 256-byte tables: each response evicts
  const responseTables: Field[][] = [
    [
      ['location', 'https://www.example.com'],
      ['date', date1],
      ['cache-control', 'private'],
      [':status', '302'],
    ],
    [
      [':status', '307'],
      ['location', 'https://www.example.com'],
      ['date', date1],
      ['cache-control', 'private'],
    ],
    [
      ['set-cookie', cookie],
      ['content-encoding', 'gzip'],
      ['date', date2],
    ],
  ];

  const chains: [label: string, tableSize: number, blocks: string[], lists: Field[][], tables: Field[][]][] =
    [
      [
        'C.3 (requests, raw strings)',
        4096,
        [
          '8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d',
          '8286 84be 5808 6e6f 2d63 6163 6865',
          '8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65',
        ],
        [request1, request2, request3],
        requestTables,
      ],
      [
        'C.4 (requests, Huffman)',
        4096,
        [
          '8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff',
          '8286 84be 5886 a8eb 1064 9cbf',
          '8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf',
        ],
        [request1, request2, request3],
        requestTables,
      ],
      [
        'C.5 (responses, raw strings, eviction)',
        256,
        [
          '4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32' +
            '3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70 6c65 2e63 6f6d',
          '4803 3330 37c1 c0bf',
          '88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d 54c0 5a04 677a 6970' +
            '7738 666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049 5541 5851 5745 4f49 553b 206d 6178 2d61' +
            '6765 3d33 3630 303b 2076 6572 7369 6f6e 3d31',
        ],
        [response1, response2, response3],
        responseTables,
      ],
      [
        'C.6 (responses, Huffman, eviction)',
        256,
        [
          '4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6 2d1b ff6e 919d 29ad' +
            '1718 63c7 8f0b 97c8 e9ae 82ae 43d3',
          '4883 640e ffc1 c0bf',
          '88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab 77ad 94e7 821d d7f2' +
            'e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f 9587 3160 65c0 03ed 4ee5 b106 3d50 07',
        ],
        [response1, response2, response3],
        responseTables,
      ],
    ];

  it.each(chains)('%s: three blocks on one decoder', (_label, tableSize, blocks, lists, tables) => {
    const decoder = new HpackDecoder({ maxTableSize: tableSize });
    blocks.forEach((block, i) => {
      expect(decoder.decode(hex(block))).toEqual(lists[i]);
      expect(dynamicEntries(decoder)).toEqual(tables[i]);
    });
  });

  it('C.1.2: a 5-bit-prefix integer (1337) as a table size update, checked through what then fits', () => {
    const decoder = new HpackDecoder();
    const fits = 'x'.repeat(1337 - 32 - 1); // name 'a' + this value + 32 = 1337
    decoder.decode(Uint8Array.from([...hex('3f9a0a'), 0x40, ...str('a'), ...str(fits)]));
    expect(dynamicEntries(decoder)).toEqual([['a', fits]]);
    decoder.decode(Uint8Array.from([0x40, ...str('a'), ...str(`${fits}x`)])); // 1338: empties the table
    expect(dynamicEntries(decoder)).toEqual([]);
  });
});

describe('HpackDecoder: the representations and the dynamic table', () => {
  it('decodes literal names and values, raw and Huffman, latin1, in every representation', () => {
    const value = 'caf\u00e9 \u00ff\u0080~';
    const block = [
      ...[0x40, ...str('x-a', true), ...str(value, true)], // incremental, literal name
      ...[0x00, ...str('x-b'), ...str(value)], // without indexing, literal name
      ...[0x10, ...str('x-c', true), ...str('')], // never indexed, literal name
      ...int(0x40, 6, 58), // incremental, static name user-agent
      ...str('grpc-node', true),
      ...int(0x00, 4, 31), // without indexing, static name content-type
      ...str('application/grpc'),
      ...int(0x10, 4, 23), // never indexed, static name authorization
      ...str('Bearer x'),
      ...int(0x00, 4, 63), // without indexing, dynamic name x-a
      ...str('other'),
      0xbe, // indexed: dynamic 62, user-agent
    ];
    const decoder = new HpackDecoder();
    expect(decoder.decode(Uint8Array.from(block))).toEqual([
      ['x-a', value],
      ['x-b', value],
      ['x-c', ''],
      ['user-agent', 'grpc-node'],
      ['content-type', 'application/grpc'],
      ['authorization', 'Bearer x'],
      ['x-a', 'other'],
      ['user-agent', 'grpc-node'],
    ]);
    expect(dynamicEntries(decoder)).toEqual([
      ['user-agent', 'grpc-node'],
      ['x-a', value],
    ]);
  });

  it('evicts oldest first, exactly when the sizes (name + value + 32) pass the maximum', () => {
    const decoder = new HpackDecoder({ maxTableSize: 100 });
    const add = (name: string, value: string) =>
      decoder.decode(Uint8Array.from([0x40, ...str(name), ...str(value)]));
    add('a', 'x'.repeat(17)); // 50
    add('b', 'y'.repeat(17)); // 50: exactly 100
    expect(dynamicEntries(decoder).map(([name]) => name)).toEqual(['b', 'a']);
    add('c', ''); // 33: 'a' goes
    expect(dynamicEntries(decoder).map(([name]) => name)).toEqual(['c', 'b']);
    add('d', 'z'.repeat(34)); // 67: 'b' goes, 33 + 67 = 100 stays
    expect(dynamicEntries(decoder).map(([name]) => name)).toEqual(['d', 'c']);
    add('e', 'w'.repeat(68)); // 101: bigger than the table, empties it
    expect(dynamicEntries(decoder)).toEqual([]);
  });

  it('keeps a name taken from the entry that adding the field evicts (§4.4)', () => {
    const decoder = new HpackDecoder({ maxTableSize: 60 });
    decoder.decode(Uint8Array.from([0x40, ...str('x-long-name'), ...str('one')]));
    // incremental indexing, name = dynamic 62 (the entry about to be evicted)
    expect(decoder.decode(Uint8Array.from([...int(0x40, 6, 62), ...str('two')]))).toEqual([
      ['x-long-name', 'two'],
    ]);
    expect(dynamicEntries(decoder)).toEqual([['x-long-name', 'two']]);
  });

  it('grows past its initial ring capacity and keeps the order', () => {
    const decoder = new HpackDecoder({ maxTableSize: 65536 });
    const fields: Field[] = Array.from({ length: 300 }, (_, i) => [`n${i}`, `v${i}`]);
    for (const [name, value] of fields) decoder.decode(Uint8Array.from([0x40, ...str(name), ...str(value)]));
    expect(dynamicEntries(decoder)).toEqual([...fields].reverse());
  });

  it('applies dynamic table size updates at the start of a block, several in a row', () => {
    const decoder = new HpackDecoder();
    decoder.decode(Uint8Array.from([0x40, ...str('a'), ...str('b')]));
    // to 0 (evicts all), then back to 4096, then a field
    expect(decoder.decode(Uint8Array.from([0x20, ...int(0x20, 5, 4096), 0x82]))).toEqual([
      [':method', 'GET'],
    ]);
    expect(dynamicEntries(decoder)).toEqual([]);
    decoder.decode(Uint8Array.from([0x40, ...str('c'), ...str('d')]));
    expect(dynamicEntries(decoder)).toEqual([['c', 'd']]);
    decoder.decode(Uint8Array.from([0x20]));
    expect(dynamicEntries(decoder)).toEqual([]);
    decoder.decode(Uint8Array.from([0x40, ...str('e'), ...str('f')])); // table max is 0 now: not added
    expect(dynamicEntries(decoder)).toEqual([]);
  });

  it('accepts a header list of exactly maxHeaderListBytes, and not one byte more', () => {
    const block = Uint8Array.from([0x82, 0x82]); // ':method' 'GET' twice: 2 * (7 + 3 + 32) bytes
    expect(new HpackDecoder({ maxHeaderListBytes: 84 }).decode(block)).toHaveLength(2);
    expect(decodeError(new HpackDecoder({ maxHeaderListBytes: 83 }), block).message).toMatch(
      /header list larger/,
    );
  });
});

describe('HpackDecoder: malformed blocks throw HpackError', () => {
  const cases: [label: string, block: string, message: RegExp][] = [
    ['index 0', '80', /index 0/],
    ['an index past the static table', 'be', /past the end/],
    ['an index past the dynamic table', '4001 6101 62 bf', /past the end/],
    ['a huge index', 'ff80 8080 8007', /past the end/],
    ['a literal name index 0 of a size past the table', '7f00 0161', /past the end/],
    ['a truncated integer', 'ff', /truncated integer/],
    ['an integer whose continuation never ends', 'ff80', /truncated integer/],
    ['an integer with 6 continuation bytes', 'ff80 8080 8080 01', /too many continuation/],
    ['an integer above 2^31 - 1', 'ff80 8080 8008', /2\^31/],
    ['a truncated name-index integer', '7f', /truncated integer/],
    ['a missing value', '41', /string expected/],
    ['a missing literal name', '40', /string expected/],
    ['a missing value after a literal name', '4001 61', /string expected/],
    ['a truncated string', '400a 6375', /truncated string/],
    ['a truncated value', '0405 61', /truncated string/],
    ['a truncated string length', '047f', /truncated integer/],
    ['a string length past the block', '04ff ffff ff07 61', /truncated string/],
    ['Huffman padding not all ones', '0481 00', /not all ones/],
    ['Huffman padding longer than 7 bits', '0482 1fff', /more than 7 bits/],
    ['EOS in a Huffman string', '0484 ffff ffff', /EOS/],
    ['a size update above the maximum (4097)', '3fe2 1f', /size update/],
    ['a size update after a field', '8220', /after a header field/],
    ['a size update between fields', '2082 20', /after a header field/],
    ['a truncated size update', '3f', /truncated integer/],
  ];

  it.each(cases)('%s', (_label, block, message) => {
    expect(decodeError(new HpackDecoder(), hex(block)).message).toMatch(message);
  });

  it('a size update above a smaller advertised maximum', () => {
    expect(decodeError(new HpackDecoder({ maxTableSize: 256 }), int(0x20, 5, 257)).message).toMatch(/257/);
    expect(new HpackDecoder({ maxTableSize: 256 }).decode(Uint8Array.from(int(0x20, 5, 256)))).toEqual([]);
  });

  it('a header list too large, also when made of one small field indexed again and again', () => {
    const decoder = new HpackDecoder({ maxHeaderListBytes: 100 });
    expect(decodeError(decoder, [0x00, ...str('a'), ...str('x'.repeat(100))]).message).toMatch(/header list/);
    // 4000 bytes in the table, then 20 one-byte references to it: 80 kB from 4 kB of input
    const big = new HpackDecoder();
    const block = [0x40, ...str('big'), ...str('v'.repeat(4000)), ...new Array<number>(20).fill(0xbe)];
    expect(decodeError(big, block).message).toMatch(/header list larger than 65536/);
  });
});

describe('encodeHeaderBlock', () => {
  it('sends a field of the static table as its index', () => {
    expect([...encodeHeaderBlock([[':status', '200']])]).toEqual([0x88]);
    expect([...encodeHeaderBlock([[':status', '404']])]).toEqual([0x8d]);
    expect([...encodeHeaderBlock([['accept-encoding', 'gzip, deflate']])]).toEqual([0x90]);
  });

  it('sends other fields as literals without indexing, naming a static name by index', () => {
    expect([...encodeHeaderBlock([[':status', '418']])]).toEqual([0x08, ...str('418')]);
    expect([...encodeHeaderBlock([['content-type', 'application/grpc']])]).toEqual([
      0x0f,
      0x10,
      ...str('application/grpc'),
    ]);
    expect([
      ...encodeHeaderBlock([
        ['grpc-status', '0'],
        ['grpc-message', ''],
      ]),
    ]).toEqual([0x00, ...str('grpc-status'), ...str('0'), 0x00, ...str('grpc-message'), 0x00]);
  });

  it('writes multi-byte lengths (§5.1) and latin1 values', () => {
    const name = 'n'.repeat(1337);
    const block = encodeHeaderBlock([[name, '\u00e9']]);
    expect([...block.subarray(0, 4)]).toEqual([0x00, 0x7f, 0xba, 0x09]);
    expect([...block.subarray(4 + 1337)]).toEqual([0x01, 0xe9]);
  });

  it('round-trips through HpackDecoder and leaves its dynamic table empty', () => {
    const random = mulberry32(42);
    const staticNames = [':status', 'content-type', 'date', 'server', 'www-authenticate', 'age'];
    const staticFields: Field[] = [
      [':status', '200'],
      [':status', '500'],
      [':path', '/index.html'],
    ];
    const randomString = (max: number) =>
      String.fromCharCode(
        ...Array.from({ length: Math.floor(random() * max) }, () => Math.floor(random() * 256)),
      );
    const decoder = new HpackDecoder({ maxHeaderListBytes: 1 << 20 });
    for (let n = 0; n < 300; n++) {
      const fields: Field[] = Array.from({ length: Math.floor(random() * 8) }, (): Field => {
        const pick = random();
        if (pick < 0.2) return staticFields[Math.floor(random() * staticFields.length)]!;
        const name = pick < 0.6 ? staticNames[Math.floor(random() * staticNames.length)]! : randomString(200);
        return [name, randomString(random() < 0.05 ? 20000 : 300)];
      });
      expect(decoder.decode(encodeHeaderBlock(fields))).toEqual(fields);
    }
    expect(dynamicEntries(decoder)).toEqual([]);
  });
});

describe('HpackDecoder: fuzzing', () => {
  /** Valid blocks using every representation, to mutate: mutations of valid input reach deeper than noise. */
  function seedBlocks(): number[][] {
    return [
      [...hex('8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff')],
      [...hex('8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf')],
      [
        ...hex(
          '4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6 2d1b ff6e 919d 29ad',
        ),
      ],
      [...hex('3fe1 1f20 82')],
      [0x40, ...str('x-key', true), ...str('caf\u00e9\u0001', true), 0xbe, 0xbe],
      [0x10, ...str('secret'), ...str('v'.repeat(200), true), ...int(0x00, 4, 62), ...str('z')],
      [
        ...encodeHeaderBlock([
          [':status', '200'],
          ['grpc-status', '13'],
          ['content-type', 'application/grpc'],
        ]),
      ],
    ];
  }

  function mutate(block: number[], random: () => number): number[] {
    const out = [...block];
    const edits = 1 + Math.floor(random() * 4);
    for (let e = 0; e < edits; e++) {
      const at = Math.floor(random() * (out.length + 1));
      const kind = random();
      if (kind < 0.3 && out.length > 0) out[at % out.length]! ^= 1 << Math.floor(random() * 8);
      else if (kind < 0.5 && out.length > 0) out[at % out.length] = Math.floor(random() * 256);
      else if (kind < 0.65) out.splice(at, 0, Math.floor(random() * 256));
      else if (kind < 0.8) out.length = at;
      else if (kind < 0.9) out.splice(at, 0, ...out.slice(0, Math.floor(random() * 8)));
      else out.splice(at, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f);
    }
    return out;
  }

  it('decode returns fields of latin1 strings or throws HpackError, for mutated and random blocks', () => {
    const random = mulberry32(20251121);
    const seeds = seedBlocks();
    let decoded = 0;
    let rejected = 0;
    let decoder = new HpackDecoder();
    for (let n = 0; n < 4000; n++) {
      if (n % 8 === 0) {
        const sizes = [0, 64, 256, 4096];
        decoder = new HpackDecoder({
          maxTableSize: sizes[Math.floor(random() * sizes.length)]!,
          maxHeaderListBytes: random() < 0.5 ? 300 : 65536,
        });
      }
      const block =
        random() < 0.8
          ? mutate(seeds[Math.floor(random() * seeds.length)]!, random)
          : Array.from({ length: Math.floor(random() * 40) }, () => Math.floor(random() * 256));
      try {
        const fields = decoder.decode(Uint8Array.from(block));
        for (const [name, value] of fields) {
          expect(typeof name).toBe('string');
          expect(/^[\0-\xff]*$/.test(name + value)).toBe(true);
        }
        decoded++;
      } catch (e) {
        expect(e).toBeInstanceOf(HpackError);
        decoder = new HpackDecoder(); // a connection that gets an HpackError is torn down
        rejected++;
      }
    }
    expect(decoded).toBeGreaterThan(200);
    expect(rejected).toBeGreaterThan(200);
  });
});

// ---------------------------------------------------------------------------------------------
// Conformance with nghttp2: Node's HTTP/2 client encodes requests, a raw TCP server decodes them.
// ---------------------------------------------------------------------------------------------

const FRAME_HEADERS = 0x1;
const FRAME_SETTINGS = 0x4;
const FRAME_CONTINUATION = 0x9;
const FLAG_END_HEADERS = 0x4;
const FLAG_PADDED = 0x8;
const FLAG_PRIORITY = 0x20;
const PREFACE = 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n';

/** A request to send, and the regular (non-pseudo) fields it should arrive as, in order. */
interface TestRequest {
  readonly path: string;
  readonly headers: http2.OutgoingHttpHeaders;
  readonly expected: Field[];
}

/** What the raw server saw of one connection. */
interface Capture {
  /** The header blocks, in the order they arrived, with their stream's id. */
  readonly blocks: { readonly streamId: number; readonly block: Buffer }[];
  readonly sawPadded: boolean;
  readonly sawContinuation: boolean;
  readonly authority: string;
}

/** A SETTINGS frame: empty, or setting SETTINGS_HEADER_TABLE_SIZE (0x1). */
function settingsFrame(headerTableSize?: number): Buffer {
  const payload = Buffer.alloc(headerTableSize === undefined ? 0 : 6);
  if (headerTableSize !== undefined) {
    payload.writeUInt16BE(0x1, 0);
    payload.writeUInt32BE(headerTableSize, 2);
  }
  const header = Buffer.alloc(9);
  header.writeUIntBE(payload.length, 0, 3);
  header[3] = FRAME_SETTINGS;
  return Buffer.concat([header, payload]);
}

/**
 * Sends `requests` on one connection from Node's HTTP/2 client to a plain TCP server, which takes
 * the header blocks (HEADERS + CONTINUATION, padding and priority stripped) out of the raw bytes.
 */
async function captureRequestBlocks(
  requests: readonly TestRequest[],
  options: { headerTableSize?: number; paddingStrategy?: number },
): Promise<Capture> {
  const blocks: { streamId: number; block: Buffer }[] = [];
  const seen = { padded: false, continuation: false };
  let finish: (error?: Error) => void = () => {};
  const done = new Promise<void>((resolve, reject) => {
    finish = (error) => (error ? reject(error) : resolve());
  });
  const sockets: net.Socket[] = [];
  const server = net.createServer((socket) => {
    sockets.push(socket);
    socket.write(settingsFrame(options.headerTableSize));
    let pending = Buffer.alloc(0);
    let prefaceRead = false;
    let fragments: Buffer[] = [];
    let streamId = 0;
    socket.on('error', () => {});
    socket.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      if (!prefaceRead) {
        if (pending.length < PREFACE.length) return;
        if (pending.toString('latin1', 0, PREFACE.length) !== PREFACE) return finish(new Error('no preface'));
        pending = pending.subarray(PREFACE.length);
        prefaceRead = true;
      }
      while (pending.length >= 9 && pending.length >= 9 + pending.readUIntBE(0, 3)) {
        const length = pending.readUIntBE(0, 3);
        const type = pending[3]!;
        const flags = pending[4]!;
        const id = pending.readUInt32BE(5) & 0x7fffffff;
        let payload = pending.subarray(9, 9 + length);
        pending = pending.subarray(9 + length);
        if (type === FRAME_SETTINGS && (flags & 0x1) === 0)
          socket.write(Buffer.from([0, 0, 0, 4, 1, 0, 0, 0, 0]));
        if (type === FRAME_HEADERS) {
          if (flags & FLAG_PADDED) {
            payload = payload.subarray(1, payload.length - payload[0]!);
            seen.padded = true;
          }
          if (flags & FLAG_PRIORITY) payload = payload.subarray(5);
          fragments = [payload];
          streamId = id;
        } else if (type === FRAME_CONTINUATION) {
          if (id !== streamId) return finish(new Error('CONTINUATION on another stream'));
          fragments.push(payload);
          seen.continuation = true;
        } else {
          continue;
        }
        if (flags & FLAG_END_HEADERS) {
          blocks.push({ streamId, block: Buffer.concat(fragments) });
          if (blocks.length === requests.length) finish();
        }
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  const client = http2.connect(`http://127.0.0.1:${port}`, {
    ...(options.paddingStrategy === undefined ? {} : { paddingStrategy: options.paddingStrategy }),
  });
  client.on('error', () => {});
  const timeout = setTimeout(() => finish(new Error(`only ${blocks.length} header blocks arrived`)), 5000);
  try {
    // With a table size to announce, wait until nghttp2 has it, so the first block must resize the table.
    if (options.headerTableSize !== undefined) await once(client, 'remoteSettings');
    for (const request of requests) {
      const stream = client.request(
        { ':method': 'POST', ':path': request.path, ...request.headers },
        { endStream: true },
      );
      stream.on('error', () => {});
    }
    await done;
  } finally {
    clearTimeout(timeout);
    client.destroy();
    for (const socket of sockets) socket.destroy();
    server.close();
  }
  return {
    blocks,
    sawPadded: seen.padded,
    sawContinuation: seen.continuation,
    authority: `127.0.0.1:${port}`,
  };
}

const SMALL_REQUEST_PATH = '/etcdserverpb.KV/Range';

/** Every byte Node lets a header value hold: 0x20..0x7e and 0x80..0xff (and tab, left out). */
const ALL_VALUE_BYTES =
  String.fromCharCode(...Array.from({ length: 0x7f - 0x20 }, (_, i) => 0x20 + i)) +
  String.fromCharCode(...Array.from({ length: 0x80 }, (_, i) => 0x80 + i));

/**
 * gRPC-like requests with random extra fields: a pool of fields that recur (so nghttp2 indexes
 * and then refers to them), fresh fields with values up to 400 bytes (far more than 4096 bytes in
 * all, so the table evicts), repeated names, never-indexed fields, and one request big enough
 * for CONTINUATION frames. The last three requests are one small request, three times.
 */
function makeRequests(seed: number, count: number): TestRequest[] {
  const random = mulberry32(seed);
  const below = (n: number) => Math.floor(random() * n);
  const name = () =>
    `x-${Array.from({ length: 1 + below(20) }, () => 'abcdefghijklmnopqrstuvwxyz0123456789-'[below(37)]).join('')}`;
  const valueOfLength = (length: number) =>
    Array.from({ length }, () => ALL_VALUE_BYTES[below(ALL_VALUE_BYTES.length)]).join('');
  const value = (max: number) => valueOfLength(below(max + 1));
  const pool: Field[] = Array.from({ length: 12 }, () => [name(), value(120)]);
  const requests: TestRequest[] = [];
  for (let i = 0; i < count - 3; i++) {
    const fields: Field[] = [
      ['content-type', 'application/grpc'],
      ['te', 'trailers'],
      ['user-agent', 'grpc-node-js/1.14.7'],
      ['accept-encoding', 'gzip, deflate'],
      ['grpc-timeout', `${1 + below(100000)}m`],
      ['x-all-bytes', ALL_VALUE_BYTES],
      ['authorization', `Bearer ${value(30)}`],
    ];
    const used = new Set(fields.map(([n]) => n));
    const add = (field: Field) => {
      if (used.has(field[0])) return;
      used.add(field[0]);
      fields.push(field);
    };
    for (let k = 0; k < 4; k++) add(pool[below(pool.length)]!);
    for (let k = 1 + below(4); k > 0; k--) add([name(), value(400)]);
    if (i === 5) for (let k = 0; k < 6; k++) add([`x-big-${k}`, valueOfLength(4000)]); // > 16384: CONTINUATION
    const headers: http2.OutgoingHttpHeaders = Object.fromEntries(fields);
    const expected = [...fields];
    // a name sent twice: Node sends an array as one field per element, in place
    headers['x-dup'] = ['first', value(50)];
    expected.push(['x-dup', 'first'], ['x-dup', (headers['x-dup'] as string[])[1]!]);
    if (i % 2 === 1) {
      headers['x-secret'] = value(60);
      expected.push(['x-secret', headers['x-secret'] as string]);
      (headers as Record<symbol, string[]>)[http2.sensitiveHeaders] = ['x-secret'];
    }
    requests.push({
      path: `/etcdserverpb.KV/${['Range', 'Put', 'Txn'][i % 3]}?${value(20)}`,
      headers,
      expected,
    });
  }
  // A small request, three times. By the third, each of its fields was added to the table by one
  // of the two before (which added far less than 4096 bytes in all), so is still there.
  const small: Field[] = [['content-type', 'application/grpc'], ['te', 'trailers'], pool[0]!, pool[1]!];
  const smallRequest = { path: SMALL_REQUEST_PATH, headers: Object.fromEntries(small), expected: small };
  requests.push(smallRequest, smallRequest, smallRequest);
  return requests;
}

describe('HpackDecoder: conformance with nghttp2 (node:http2 client)', () => {
  async function checkConnection(
    options: { headerTableSize?: number; paddingStrategy?: number },
    seed: number,
  ) {
    const requests = makeRequests(seed, 40);
    const capture = await captureRequestBlocks(requests, options);
    const decoder = new HpackDecoder({ maxTableSize: options.headerTableSize ?? 4096 });
    expect(capture.blocks).toHaveLength(requests.length);
    capture.blocks.forEach(({ streamId, block }, i) => {
      expect(streamId).toBe(2 * i + 1);
      const request = requests[i]!;
      const fields = decoder.decode(block);
      const pseudo = fields.filter(([name]) => name.startsWith(':'));
      expect(new Map(pseudo)).toEqual(
        new Map([
          [':method', 'POST'],
          [':path', request.path],
          [':scheme', 'http'],
          [':authority', capture.authority],
        ]),
      );
      expect(fields.filter(([name]) => !name.startsWith(':'))).toEqual(request.expected);
    });
    return capture;
  }

  it('decodes 40 requests on one connection, with eviction and CONTINUATION', async () => {
    const capture = await checkConnection({}, 1);
    expect(capture.sawContinuation).toBe(true);
    // The third small request is seven one-byte indexes and :path, which nghttp2 never indexes.
    const last = capture.blocks[capture.blocks.length - 1]!.block;
    expect(last.length).toBeLessThanOrEqual(7 + 2 + SMALL_REQUEST_PATH.length);
  });

  it('decodes them after a SETTINGS_HEADER_TABLE_SIZE of 256, from padded HEADERS frames', async () => {
    const capture = await checkConnection(
      { headerTableSize: 256, paddingStrategy: http2.constants.PADDING_STRATEGY_MAX },
      2,
    );
    expect(capture.sawPadded).toBe(true);
    expect(capture.blocks[0]!.block[0]! & 0xe0).toBe(0x20); // starts with a table size update
  });
});

describe('encodeHeaderBlock and HpackDecoder: conformance with nghttp2 (node:http2 server)', () => {
  /** Every static-table name but the pseudo-headers and transfer-encoding (which HTTP/2 forbids). */
  const STATIC_NAMES = [
    'accept-charset',
    'accept-encoding',
    'accept-language',
    'accept-ranges',
    'accept',
    'access-control-allow-origin',
    'age',
    'allow',
    'authorization',
    'cache-control',
    'content-disposition',
    'content-encoding',
    'content-language',
    'content-length',
    'content-location',
    'content-range',
    'content-type',
    'cookie',
    'date',
    'etag',
    'expect',
    'expires',
    'from',
    'host',
    'if-match',
    'if-modified-since',
    'if-none-match',
    'if-range',
    'if-unmodified-since',
    'last-modified',
    'link',
    'location',
    'max-forwards',
    'proxy-authenticate',
    'proxy-authorization',
    'range',
    'referer',
    'refresh',
    'retry-after',
    'server',
    'set-cookie',
    'strict-transport-security',
    'user-agent',
    'vary',
    'via',
    'www-authenticate',
  ];
  /** The statuses of the static table (8..14), then two that are not in it. */
  const STATUSES = [200, 204, 206, 304, 400, 404, 500, 302, 418];

  it('nghttp2 decodes our blocks to what we sent; we decode its responses: every static :status and name', async () => {
    const random = mulberry32(99);
    // nghttp2 refuses values with whitespace at either end (RFC 9113 §8.2.1), hence the '!'s
    const value = () =>
      `!${Array.from({ length: Math.floor(random() * 100) }, () => ALL_VALUE_BYTES[Math.floor(random() * ALL_VALUE_BYTES.length)]).join('')}!`;
    const requests: Field[][] = STATUSES.map((_, i) => [
      [':method', i % 2 ? 'GET' : 'POST'],
      [':scheme', 'http'],
      [':path', i % 3 ? '/index.html' : `/x/${i}`],
      [':authority', 'localhost'],
      ['content-type', 'application/grpc'],
      ['accept-encoding', 'gzip, deflate'],
      ['te', 'trailers'],
      [`x-field-${i}`, value()],
      ['user-agent', value()],
      ['grpc-timeout', `${i}S`],
    ]);
    const responseHeaders = STATUSES.map((_, i): Field[] =>
      STATIC_NAMES.map((name, k) => [name, (i + k) % 4 === 0 ? value() : `v${k}`]),
    );

    const received: string[][] = [];
    const server = http2.createServer();
    const onStream = (
      stream: http2.ServerHttp2Stream,
      _headers: http2.IncomingHttpHeaders,
      _flags: number,
      rawHeaders: string[],
    ) => {
      const i = received.length;
      received.push(rawHeaders);
      stream.on('error', () => {});
      stream.respond(
        { ':status': STATUSES[i], ...Object.fromEntries(responseHeaders[i]!) },
        { endStream: true },
      );
    };
    // Node passes the fields as received, rawHeaders, as the 4th argument; @types/node leaves it out.
    server.on('stream', onStream as (stream: http2.ServerHttp2Stream) => void);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const socket = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
    const responses: Buffer[] = [];
    const allResponses = new Promise<void>((resolve, reject) => {
      let pending = Buffer.alloc(0);
      let fragments: Buffer[] = [];
      socket.on('error', reject);
      socket.on('close', () => reject(new Error(`closed after ${responses.length} responses`)));
      socket.on('data', (chunk: Buffer) => {
        pending = Buffer.concat([pending, chunk]);
        while (pending.length >= 9 && pending.length >= 9 + pending.readUIntBE(0, 3)) {
          const length = pending.readUIntBE(0, 3);
          const [type, flags] = [pending[3]!, pending[4]!];
          let payload = pending.subarray(9, 9 + length);
          pending = pending.subarray(9 + length);
          if (type === FRAME_SETTINGS && (flags & 0x1) === 0)
            socket.write(Buffer.from([0, 0, 0, 4, 1, 0, 0, 0, 0]));
          if (type !== FRAME_HEADERS && type !== FRAME_CONTINUATION) continue;
          if (type === FRAME_HEADERS) {
            if (flags & FLAG_PADDED) payload = payload.subarray(1, payload.length - payload[0]!);
            if (flags & FLAG_PRIORITY) payload = payload.subarray(5);
            fragments = [];
          }
          fragments.push(payload);
          if (flags & FLAG_END_HEADERS) responses.push(Buffer.concat(fragments));
          if (responses.length === STATUSES.length) resolve();
        }
      });
    });
    socket.write(Buffer.concat([Buffer.from(PREFACE, 'latin1'), settingsFrame()]));
    requests.forEach((fields, i) => {
      const block = encodeHeaderBlock(fields);
      const header = Buffer.alloc(9);
      header.writeUIntBE(block.length, 0, 3);
      header[3] = FRAME_HEADERS;
      header[4] = FLAG_END_HEADERS | 0x1; // END_STREAM
      header.writeUInt32BE(2 * i + 1, 5);
      socket.write(Buffer.concat([header, block]));
    });
    const timeout = setTimeout(() => socket.destroy(), 5000);
    try {
      await allResponses;
    } finally {
      clearTimeout(timeout);
      socket.destroy();
      server.close();
    }

    // What nghttp2 decoded from our blocks is what we encoded.
    expect(received.map((raw) => raw.flatMap((_, k) => (k % 2 ? [] : [[raw[k]!, raw[k + 1]!]])))).toEqual(
      requests,
    );
    // What we decode from nghttp2's blocks (static indexes, its dynamic table, Huffman) is what it was given.
    const decoder = new HpackDecoder();
    responses.forEach((block, i) => {
      expect(decoder.decode(block)).toEqual([[':status', String(STATUSES[i])], ...responseHeaders[i]!]);
    });
  });
});
