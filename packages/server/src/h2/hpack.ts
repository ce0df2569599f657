/**
 * HPACK (RFC 7541): decoding the header blocks of a connection's requests, and encoding our
 * responses' header blocks, for the HTTP/2 server that carries gRPC.
 *
 * Names and values are latin1 strings: one char per octet, so a string's length is its size in
 * octets, which is what the dynamic table's and the header list's size limits count.
 */

import { HpackError } from './hpack-error.js';
import { huffmanDecode } from './huffman.js';

export { HpackError };

/** RFC 7541 Appendix A: the static table, index 1 first. */
const STATIC_TABLE: readonly (readonly [name: string, value: string])[] = [
  [':authority', ''],
  [':method', 'GET'],
  [':method', 'POST'],
  [':path', '/'],
  [':path', '/index.html'],
  [':scheme', 'http'],
  [':scheme', 'https'],
  [':status', '200'],
  [':status', '204'],
  [':status', '206'],
  [':status', '304'],
  [':status', '400'],
  [':status', '404'],
  [':status', '500'],
  ['accept-charset', ''],
  ['accept-encoding', 'gzip, deflate'],
  ['accept-language', ''],
  ['accept-ranges', ''],
  ['accept', ''],
  ['access-control-allow-origin', ''],
  ['age', ''],
  ['allow', ''],
  ['authorization', ''],
  ['cache-control', ''],
  ['content-disposition', ''],
  ['content-encoding', ''],
  ['content-language', ''],
  ['content-length', ''],
  ['content-location', ''],
  ['content-range', ''],
  ['content-type', ''],
  ['cookie', ''],
  ['date', ''],
  ['etag', ''],
  ['expect', ''],
  ['expires', ''],
  ['from', ''],
  ['host', ''],
  ['if-match', ''],
  ['if-modified-since', ''],
  ['if-none-match', ''],
  ['if-range', ''],
  ['if-unmodified-since', ''],
  ['last-modified', ''],
  ['link', ''],
  ['location', ''],
  ['max-forwards', ''],
  ['proxy-authenticate', ''],
  ['proxy-authorization', ''],
  ['range', ''],
  ['referer', ''],
  ['refresh', ''],
  ['retry-after', ''],
  ['server', ''],
  ['set-cookie', ''],
  ['strict-transport-security', ''],
  ['transfer-encoding', ''],
  ['user-agent', ''],
  ['vary', ''],
  ['via', ''],
  ['www-authenticate', ''],
];
const STATIC_COUNT = STATIC_TABLE.length; // 61: dynamic entries are numbered from 62

/** RFC 7541 §4.1: an entry's size is its name's and value's octets plus 32. */
const ENTRY_OVERHEAD = 32;

/**
 * The dynamic table (RFC 7541 §2.3.2, §4): a ring buffer, newest entry first, so that a lookup by
 * index is two array reads and an insertion or eviction moves nothing.
 */
class DynamicTable {
  private names: string[] = new Array<string>(16);
  private values: string[] = new Array<string>(16);
  /** Slot of the newest entry (dynamic index 1); slots run head, head+1, ... modulo capacity. */
  private head = 0;
  private count = 0;
  /** The sum of the entries' sizes (§4.1). */
  private size = 0;

  constructor(private maxSize: number) {}

  /** How many entries there are: dynamic indices are 1..length. */
  get length(): number {
    return this.count;
  }

  name(index: number): string {
    return this.names[(this.head + index - 1) & (this.names.length - 1)]!;
  }

  value(index: number): string {
    return this.values[(this.head + index - 1) & (this.names.length - 1)]!;
  }

  /** §4.4: evicts oldest entries until the new one fits; one bigger than the whole table empties it. */
  add(name: string, value: string): void {
    const entrySize = name.length + value.length + ENTRY_OVERHEAD;
    if (entrySize > this.maxSize) {
      this.clear();
      return;
    }
    this.evictDownTo(this.maxSize - entrySize);
    if (this.count === this.names.length) this.grow();
    const mask = this.names.length - 1;
    this.head = (this.head - 1) & mask;
    this.names[this.head] = name;
    this.values[this.head] = value;
    this.count++;
    this.size += entrySize;
  }

  /** §4.3: a new maximum size, evicting entries until the table fits in it. */
  resize(maxSize: number): void {
    this.maxSize = maxSize;
    this.evictDownTo(maxSize);
  }

  private evictDownTo(size: number): void {
    const mask = this.names.length - 1;
    while (this.size > size) {
      const oldest = (this.head + this.count - 1) & mask;
      this.size -= this.names[oldest]!.length + this.values[oldest]!.length + ENTRY_OVERHEAD;
      this.names[oldest] = '';
      this.values[oldest] = '';
      this.count--;
    }
  }

  private clear(): void {
    this.names.fill('');
    this.values.fill('');
    this.count = 0;
    this.size = 0;
  }

  /** Doubles the capacity (a power of two, so slots wrap with a mask), newest entry in slot 0. */
  private grow(): void {
    const capacity = this.names.length;
    const names = new Array<string>(capacity * 2);
    const values = new Array<string>(capacity * 2);
    for (let i = 0; i < this.count; i++) {
      names[i] = this.names[(this.head + i) & (capacity - 1)]!;
      values[i] = this.values[(this.head + i) & (capacity - 1)]!;
    }
    this.names = names;
    this.values = values;
    this.head = 0;
  }
}

const EMPTY = Buffer.alloc(0);

/** Options of HpackDecoder; both limits are ones we advertise in SETTINGS. */
export interface HpackDecoderOptions {
  /** The most the peer may set the dynamic table's size to: our SETTINGS_HEADER_TABLE_SIZE. Default 4096. */
  readonly maxTableSize?: number;
  /**
   * The most a decoded header list may hold, counted as SETTINGS_MAX_HEADER_LIST_SIZE counts
   * (RFC 7540 §6.5.2: name + value + 32 per field). Default 65536.
   */
  readonly maxHeaderListBytes?: number;
}

/**
 * Decodes the header blocks one connection receives, in order (RFC 7541 §3). One per connection:
 * the dynamic table carries over from block to block. Anything malformed throws HpackError.
 */
export class HpackDecoder {
  private readonly maxTableSize: number;
  private readonly maxHeaderListBytes: number;
  private readonly table: DynamicTable;
  /** The block being decoded, as a Buffer (for latin1 slices), and the read position in it. */
  private block: Buffer = EMPTY;
  private pos = 0;

  constructor(opts: HpackDecoderOptions = {}) {
    this.maxTableSize = opts.maxTableSize ?? 4096;
    this.maxHeaderListBytes = opts.maxHeaderListBytes ?? 65536;
    this.table = new DynamicTable(this.maxTableSize);
  }

  /** Decodes one complete header block (the fragments of HEADERS and its CONTINUATIONs, joined). */
  decode(block: Uint8Array): [string, string][] {
    this.block = Buffer.isBuffer(block)
      ? block
      : Buffer.from(block.buffer, block.byteOffset, block.byteLength);
    this.pos = 0;
    const fields: [string, string][] = [];
    let listBytes = 0;
    const end = this.block.length;
    while (this.pos < end) {
      const first = this.block[this.pos]!;
      let name: string;
      let value: string;
      if (first & 0x80) {
        // §6.1 indexed field
        const index = this.readInteger(7);
        name = this.nameAt(index);
        value = index <= STATIC_COUNT ? STATIC_TABLE[index - 1]![1] : this.table.value(index - STATIC_COUNT);
      } else if (first & 0x40) {
        // §6.2.1 literal with incremental indexing
        name = this.readName(6);
        value = this.readString();
        this.table.add(name, value);
      } else if (first & 0x20) {
        // §6.3 dynamic table size update: only before the first field (§4.2)
        if (fields.length > 0) throw new HpackError('dynamic table size update after a header field');
        const size = this.readInteger(5);
        if (size > this.maxTableSize) {
          throw new HpackError(
            `dynamic table size update to ${size}, above the ${this.maxTableSize} allowed`,
          );
        }
        this.table.resize(size);
        continue;
      } else {
        // §6.2.2 literal without indexing (0000), §6.2.3 never indexed (0001)
        name = this.readName(4);
        value = this.readString();
      }
      listBytes += name.length + value.length + ENTRY_OVERHEAD;
      if (listBytes > this.maxHeaderListBytes) {
        throw new HpackError(`header list larger than ${this.maxHeaderListBytes} bytes`);
      }
      fields.push([name, value]);
    }
    this.block = EMPTY; // holds no connection's bytes between blocks
    return fields;
  }

  /** The name of static or dynamic entry `index` (§2.3.3). */
  private nameAt(index: number): string {
    if (index === 0) throw new HpackError('index 0');
    if (index <= STATIC_COUNT) return STATIC_TABLE[index - 1]![0];
    if (index - STATIC_COUNT > this.table.length) {
      throw new HpackError(`index ${index} past the end of the table (${STATIC_COUNT + this.table.length})`);
    }
    return this.table.name(index - STATIC_COUNT);
  }

  /** A literal's name: an index in the first byte's `prefixBits` (§6.2), or, when that is 0, a string. */
  private readName(prefixBits: number): string {
    const index = this.readInteger(prefixBits);
    return index === 0 ? this.readString() : this.nameAt(index);
  }

  /** §5.1: an integer in the low `prefixBits` of the current byte and any continuation bytes. */
  private readInteger(prefixBits: number): number {
    const block = this.block;
    const max = (1 << prefixBits) - 1;
    let value = block[this.pos++]! & max; // callers have checked pos < length
    if (value < max) return value;
    for (let shift = 0; ; shift += 7) {
      if (this.pos >= block.length) throw new HpackError('truncated integer');
      if (shift > 28) throw new HpackError('integer with too many continuation bytes');
      const byte = block[this.pos++]!;
      value += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) break;
    }
    if (value > 0x7fffffff) throw new HpackError('integer above 2^31 - 1');
    return value;
  }

  /** §5.2: a string literal, raw or Huffman-coded. */
  private readString(): string {
    const block = this.block;
    if (this.pos >= block.length) throw new HpackError('truncated header block: string expected');
    const huffman = (block[this.pos]! & 0x80) !== 0;
    const length = this.readInteger(7);
    const start = this.pos;
    if (length > block.length - start) throw new HpackError('truncated string');
    this.pos = start + length;
    return huffman ? huffmanDecode(block, start, this.pos) : block.toString('latin1', start, this.pos);
  }
}

/** For each static-table name: its first index, and the index of each (name, value) it has. */
const STATIC_INDEX = new Map<string, { readonly nameIndex: number; readonly byValue: Map<string, number> }>();
STATIC_TABLE.forEach(([name, value], i) => {
  let entry = STATIC_INDEX.get(name);
  if (entry === undefined) {
    entry = { nameIndex: i + 1, byValue: new Map() };
    STATIC_INDEX.set(name, entry);
  }
  entry.byValue.set(value, i + 1);
});

/**
 * Encodes our responses' header blocks. Stateless, so any of our blocks can be decoded in any order:
 * a field that is wholly in the static table is sent as its index (`:status 200` is the one byte
 * 0x88); any other is a literal without indexing (RFC 7541 §6.2.2), naming its name by static index
 * when there is one; nothing is added to the peer's dynamic table, and nothing is Huffman-coded.
 * Names and values are latin1 (a char above U+00FF would be written as its low byte); names should
 * already be lowercase, as HTTP/2 requires.
 */
export function encodeHeaderBlock(headers: readonly (readonly [string, string])[]): Buffer {
  let size = 0;
  for (const [name, value] of headers) {
    const known = STATIC_INDEX.get(name);
    if (known?.byValue.has(value)) {
      size += integerSize(known.byValue.get(value)!, 7);
    } else {
      size += known ? integerSize(known.nameIndex, 4) : 1 + integerSize(name.length, 7) + name.length;
      size += integerSize(value.length, 7) + value.length;
    }
  }
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for (const [name, value] of headers) {
    const known = STATIC_INDEX.get(name);
    const fullIndex = known?.byValue.get(value);
    if (fullIndex !== undefined) {
      at = writeInteger(out, at, 0x80, 7, fullIndex);
      continue;
    }
    if (known) {
      at = writeInteger(out, at, 0x00, 4, known.nameIndex);
    } else {
      out[at++] = 0x00;
      at = writeInteger(out, at, 0x00, 7, name.length);
      at += out.write(name, at, 'latin1');
    }
    at = writeInteger(out, at, 0x00, 7, value.length);
    at += out.write(value, at, 'latin1');
  }
  return out;
}

/** How many bytes §5.1 takes for `value` with an N-bit prefix. */
function integerSize(value: number, prefixBits: number): number {
  const max = (1 << prefixBits) - 1;
  if (value < max) return 1;
  let size = 2;
  for (let rest = value - max; rest >= 0x80; rest = Math.floor(rest / 0x80)) size++;
  return size;
}

/** Writes `value` as §5.1 with an N-bit prefix, the byte's other bits `flags`; returns the next offset. */
function writeInteger(out: Buffer, at: number, flags: number, prefixBits: number, value: number): number {
  const max = (1 << prefixBits) - 1;
  if (value < max) {
    out[at++] = flags | value;
    return at;
  }
  out[at++] = flags | max;
  let rest = value - max;
  while (rest >= 0x80) {
    out[at++] = (rest % 0x80) | 0x80;
    rest = Math.floor(rest / 0x80);
  }
  out[at++] = rest;
  return at;
}
