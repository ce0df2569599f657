/**
 * LeaseKeepAliveRequest (`int64 ID = 1`) decoded by hand: keep-alives are the most frequent
 * message a member receives from a busy client, and protobufjs decodes the ID into a Long and then
 * into a decimal string (proto.ts's `longs: String`), which cost more than renewing the lease.
 * Gives `{ ID }` as a bigint, as the handler's `big()` takes it; skips unknown fields as protobuf
 * requires; throws on a truncated or malformed message, like protobufjs.
 */

import type { Pb } from './convert.js';

/** Thrown for bytes that are not a LeaseKeepAliveRequest. */
export class MalformedMessageError extends Error {
  override readonly name = 'MalformedMessageError';
}

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_BYTES = 2;
const WIRE_FIXED32 = 5;
const ID_FIELD = 1;

/** Reads protobuf varints from a buffer; `pos` is where the next one starts. */
class VarintReader {
  pos = 0;
  constructor(private readonly buf: Uint8Array) {}

  get done(): boolean {
    return this.pos >= this.buf.length;
  }

  /** A varint of up to 64 bits as a bigint (uint64; the caller reinterprets the sign). */
  big(): bigint {
    let lo = 0;
    let hi = 0;
    for (let shift = 0; shift < 70; shift += 7) {
      if (this.pos >= this.buf.length) throw new MalformedMessageError('truncated varint');
      const b = this.buf[this.pos++]!;
      const bits = b & 0x7f;
      if (shift < 28) lo |= bits << shift;
      else if (shift === 28) {
        lo |= (bits & 0x0f) << 28;
        hi |= bits >>> 4;
      } else hi |= bits << (shift - 32);
      if ((b & 0x80) === 0) return (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
    }
    throw new MalformedMessageError('varint longer than 10 bytes');
  }

  /** A varint that must fit a safe integer (tags, lengths). */
  small(): number {
    const v = this.big();
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new MalformedMessageError('length out of range');
    return Number(v);
  }

  skip(n: number): void {
    if (this.pos + n > this.buf.length) throw new MalformedMessageError('truncated field');
    this.pos += n;
  }
}

/** The request's `{ ID }` (0n when absent, as protobuf's default). */
export function decodeKeepAliveRequest(buf: Uint8Array): Pb {
  const r = new VarintReader(buf);
  let id = 0n;
  while (!r.done) {
    const tag = r.small();
    const field = Math.floor(tag / 8);
    const wire = tag % 8;
    if (field === 0) throw new MalformedMessageError('field number 0');
    if (wire === WIRE_VARINT) {
      const v = r.big();
      if (field === ID_FIELD) id = BigInt.asIntN(64, v);
    } else if (wire === WIRE_FIXED64) r.skip(8);
    else if (wire === WIRE_BYTES) r.skip(r.small());
    else if (wire === WIRE_FIXED32) r.skip(4);
    else throw new MalformedMessageError(`wire type ${wire}`);
  }
  return { ID: id };
}
