/**
 * Reading protobuf's wire format by hand, for the few requests decoded without protobufjs
 * (keep-alives, txns: see their files). protobufjs turns every int64 into a Long and then into a
 * decimal string (proto.ts's `longs: String`), and builds a defaulted object per message; on the
 * hottest requests that cost more than serving them.
 */

/** Thrown for bytes that are not a well-formed message: the call fails as unparseable. */
export class MalformedMessageError extends Error {
  override readonly name = 'MalformedMessageError';
}

export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_BYTES = 2;
export const WIRE_FIXED32 = 5;

/** A decoded int64 that is not a safe integer: the request is refused as etcd's num() does. */
export class UnsafeIntegerError extends RangeError {
  override readonly name = 'UnsafeIntegerError';
  constructor(value: bigint) {
    super(`value ${value} is not a safe integer`);
  }
}

const MIN_SAFE = BigInt(Number.MIN_SAFE_INTEGER);
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** Reads one message's fields from `buf[pos, end)`; embedded messages get readers of their own. */
export class ProtoReader {
  constructor(
    private readonly buf: Uint8Array,
    /** The next byte to read. */
    public pos = 0,
    private readonly end = buf.length,
  ) {}

  get done(): boolean {
    return this.pos >= this.end;
  }

  /** The last varint's low and high 32 bits, unsigned (set by varint64). */
  private lo32 = 0;
  private hi32 = 0;

  /** Reads a varint into lo32 and hi32. */
  private varint64(): void {
    const buf = this.buf;
    let lo = 0;
    let hi = 0;
    for (let shift = 0; shift < 70; shift += 7) {
      if (this.pos >= this.end) throw new MalformedMessageError('truncated varint');
      const b = buf[this.pos++]!;
      const bits = b & 0x7f;
      if (shift < 28) lo |= bits << shift;
      else if (shift === 28) {
        lo |= (bits & 0x0f) << 28;
        hi |= bits >>> 4;
      } else hi |= bits << (shift - 32);
      if ((b & 0x80) === 0) {
        this.lo32 = lo >>> 0;
        this.hi32 = hi >>> 0;
        return;
      }
    }
    throw new MalformedMessageError('varint longer than 10 bytes');
  }

  /** A varint as a bigint of its 64 bits, unsigned (the caller reinterprets the sign). */
  big(): bigint {
    this.varint64();
    return (BigInt(this.hi32) << 32n) | BigInt(this.lo32);
  }

  /** A varint that must fit a safe non-negative integer (tags, lengths, enums). */
  small(): number {
    this.varint64();
    if (this.hi32 >= 0x20_0000) throw new MalformedMessageError('length out of range');
    return this.hi32 * 0x1_0000_0000 + this.lo32;
  }

  /** An int64 as a safe integer, or UnsafeIntegerError (returned, for the caller to raise later). */
  int64(): number | UnsafeIntegerError {
    this.varint64();
    const hi = this.hi32;
    if (hi < 0x20_0000) return hi * 0x1_0000_0000 + this.lo32;
    const v = BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(this.lo32));
    return v >= MIN_SAFE && v <= MAX_SAFE ? Number(v) : new UnsafeIntegerError(v);
  }

  /** An int32 or enum: the low 32 bits, signed (protobuf sign-extends negatives to 64). */
  int32(): number {
    this.varint64();
    return this.lo32 | 0;
  }

  /** An int64 as a bigint (lease IDs). */
  int64Big(): bigint {
    return BigInt.asIntN(64, this.big());
  }

  bool(): boolean {
    this.varint64();
    return this.lo32 !== 0 || this.hi32 !== 0;
  }

  /** A length-delimited field's bytes, as a view (a Buffer's view is a Buffer). */
  bytes(): Uint8Array {
    const n = this.small();
    if (this.pos + n > this.end) throw new MalformedMessageError('truncated field');
    const at = this.pos;
    this.pos += n;
    return this.buf.subarray(at, at + n);
  }

  /** A reader over the embedded message that comes next. */
  message(): ProtoReader {
    const n = this.small();
    if (this.pos + n > this.end) throw new MalformedMessageError('truncated message');
    const sub = new ProtoReader(this.buf, this.pos, this.pos + n);
    this.pos += n;
    return sub;
  }

  /** Skips a field of wire type `wire` that the caller does not know, as protobuf requires. */
  skip(wire: number): void {
    let n: number;
    if (wire === WIRE_VARINT) {
      this.varint64();
      return;
    }
    if (wire === WIRE_FIXED64) n = 8;
    else if (wire === WIRE_BYTES) n = this.small();
    else if (wire === WIRE_FIXED32) n = 4;
    else throw new MalformedMessageError(`wire type ${wire}`);
    if (this.pos + n > this.end) throw new MalformedMessageError('truncated field');
    this.pos += n;
  }

  /** The next field's tag; throws on field number 0. */
  tag(): number {
    const tag = this.small();
    if (tag < 8) throw new MalformedMessageError('field number 0');
    return tag;
  }
}

/** A tag's field number. */
export function fieldOf(tag: number): number {
  return Math.floor(tag / 8);
}

/** A tag's wire type. */
export function wireOf(tag: number): number {
  return tag % 8;
}
