/**
 * Rewrites a URL scheme out of a request's `:authority`, inside an HPACK-encoded header block.
 *
 * Why: etcdctl 3.4's `--cluster` dials each member's client URL as written in the member list, and
 * grpc-go then sends `:authority: http://127.0.0.1:2379`. etcd (Go's HTTP/2) accepts it; Node's
 * HTTP/2 (nghttp2) resets the stream as a protocol error before any handler runs, and has no
 * option to relax that check. So the first request of each connection is looked at before nghttp2
 * gets the connection (see first-request-gate.ts), and `http://` / `https://` at the start of its
 * `:authority` becomes `httpB--` / `httpsB--`: a valid authority, and — the point — the same
 * length in both raw and Huffman form, so the HPACK dynamic tables of client and server stay in
 * step (the entry is the same size), and later requests that refer to it by index agree too.
 * Nobody reads `:authority` here; only nghttp2's validation sees it.
 */

/** The HPACK static table's index of `:authority` (RFC 7541 Appendix A). */
const AUTHORITY_INDEX = 1;

/** Huffman codes (RFC 7541 Appendix B) of the only characters this module writes or matches. */
const HUFFMAN: Readonly<Record<string, readonly [code: number, bits: number]>> = {
  h: [0x27, 6],
  t: [0x09, 5],
  p: [0x2b, 6],
  s: [0x08, 5],
  ':': [0x5c, 7],
  '/': [0x18, 6],
  B: [0x5d, 7], // replaces ':' (7 bits)
  '-': [0x16, 6], // replaces '/' (6 bits)
};

/** Reads an HPACK integer with an N-bit prefix (RFC 7541 §5.1); undefined past the end. */
function readInt(b: Uint8Array, at: number, prefixBits: number): { value: number; next: number } | undefined {
  if (at >= b.length) return undefined;
  const max = (1 << prefixBits) - 1;
  let value = b[at]! & max;
  let next = at + 1;
  if (value < max) return { value, next };
  for (let shift = 0; ; shift += 7) {
    if (next >= b.length || shift > 28) return undefined;
    const byte = b[next++]!;
    value += (byte & 0x7f) * 2 ** shift;
    if ((byte & 0x80) === 0) return { value, next };
  }
}

/** A string literal's position (RFC 7541 §5.2). */
interface StringAt {
  readonly huffman: boolean;
  readonly start: number;
  readonly end: number;
}

function readString(b: Uint8Array, at: number): StringAt | undefined {
  if (at >= b.length) return undefined;
  const huffman = (b[at]! & 0x80) !== 0;
  const len = readInt(b, at, 7);
  if (len === undefined || len.next + len.value > b.length) return undefined;
  return { huffman, start: len.next, end: len.next + len.value };
}

/** Bits of `chars` in Huffman code, MSB first, as a list of [code, bits]. */
function huffmanOf(chars: string): (readonly [number, number])[] {
  return [...chars].map((c) => HUFFMAN[c]!);
}

/** Whether the bits of `b` from byte `start` begin with `codes`; the bit offset after them. */
function matchBits(
  b: Uint8Array,
  start: number,
  end: number,
  codes: readonly (readonly [number, number])[],
): number {
  let bit = 0;
  for (const [code, bits] of codes) {
    for (let i = bits - 1; i >= 0; i--, bit++) {
      const byte = start + (bit >> 3);
      if (byte >= end) return -1;
      const have = (b[byte]! >> (7 - (bit & 7))) & 1;
      if (have !== ((code >> i) & 1)) return -1;
    }
  }
  return bit;
}

function writeBits(
  b: Uint8Array,
  start: number,
  fromBit: number,
  codes: readonly (readonly [number, number])[],
): void {
  let bit = fromBit;
  for (const [code, bits] of codes) {
    for (let i = bits - 1; i >= 0; i--, bit++) {
      const byte = start + (bit >> 3);
      const mask = 1 << (7 - (bit & 7));
      b[byte] = ((code >> i) & 1) === 1 ? b[byte]! | mask : b[byte]! & ~mask;
    }
  }
}

const SCHEMES = ['https', 'http'] as const;
const SEPARATOR = huffmanOf('://');
const REPLACEMENT = huffmanOf('B--');

/** Rewrites the scheme of one `:authority` value in place; true if it had one. */
function rewriteValue(b: Uint8Array, s: StringAt): boolean {
  if (!s.huffman) {
    const text = Buffer.from(b.subarray(s.start, Math.min(s.end, s.start + 8))).toString('latin1');
    for (const scheme of SCHEMES) {
      if (text.startsWith(`${scheme}://`)) {
        b.set(Buffer.from('B--', 'latin1'), s.start + scheme.length);
        return true;
      }
    }
    return false;
  }
  for (const scheme of SCHEMES) {
    const at = matchBits(b, s.start, s.end, huffmanOf(scheme));
    if (at < 0) continue;
    const after = matchBits(b, s.start, s.end, [...huffmanOf(scheme), ...SEPARATOR]);
    if (after < 0) continue;
    writeBits(b, s.start, at, REPLACEMENT);
    return true;
  }
  return false;
}

/**
 * Walks one HPACK header block fragment (RFC 7541 §6) and rewrites a URL scheme at the start of
 * its `:authority` in place (see the file comment). Returns whether it did; a block it cannot
 * follow to the field (cut off, or naming `:authority` by a literal name) is left alone.
 */
export function rewriteAuthorityScheme(block: Uint8Array): boolean {
  let at = 0;
  while (at < block.length) {
    const first = block[at]!;
    if ((first & 0x80) !== 0) {
      // Indexed field: a table entry; nothing literal to see.
      const i = readInt(block, at, 7);
      if (i === undefined) return false;
      at = i.next;
      continue;
    }
    if ((first & 0xe0) === 0x20) {
      // Dynamic table size update.
      const i = readInt(block, at, 5);
      if (i === undefined) return false;
      at = i.next;
      continue;
    }
    // A literal: with incremental indexing (01), or without / never indexed (0000 / 0001).
    const prefix = (first & 0xc0) === 0x40 ? 6 : 4;
    const name = readInt(block, at, prefix);
    if (name === undefined) return false;
    at = name.next;
    if (name.value === 0) {
      const n = readString(block, at);
      if (n === undefined) return false;
      at = n.end;
    }
    const value = readString(block, at);
    if (value === undefined) return false;
    if (name.value === AUTHORITY_INDEX) return rewriteValue(block, value);
    at = value.end;
  }
  return false;
}
