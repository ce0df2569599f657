/**
 * encoding/json's json.Unmarshal into the Go types a protobuf field has (bool, string, []byte,
 * int32/int64/uint32/uint64 and enums), on a value go-json.ts scanned: what it accepts, and
 * its error for what it refuses (`json: cannot unmarshal string into Go value of type bool`,
 * `json: cannot unmarshal number 1.5 into Go value of type int64`). A JSON null leaves a Go value
 * as it is, so each reader gives undefined for it.
 *
 * Integers are read exactly (bigint): a decimal literal within the type's range, nothing else —
 * no fraction, no exponent, no wrapping modulo 2^64.
 *
 * Pure.
 */

import { decodeStdBase64 } from './go-base64.js';
import { arrayItems, kindOf, type Span, unquote } from './go-json.js';

/** A JSON value of a kind the Go type cannot hold (encoding/json's UnmarshalTypeError). */
export class UnmarshalTypeError extends Error {
  override readonly name = 'UnmarshalTypeError';
  constructor(value: string, goType: string) {
    super(`json: cannot unmarshal ${value} into Go value of type ${goType}`);
  }
}

/** A Go integer type: its name in errors, width and signedness. */
export interface GoIntType {
  readonly goType: string;
  readonly bits: 8 | 32 | 64;
  readonly signed: boolean;
}

const text = (buf: Uint8Array, span: Span): string =>
  Buffer.from(buf.subarray(span.start, span.end)).toString('latin1');

/** A JSON bool into a Go bool. */
export function unmarshalBool(buf: Uint8Array, span: Span): boolean | undefined {
  const kind = kindOf(buf, span);
  if (kind === 'null') return undefined;
  if (kind !== 'bool') throw new UnmarshalTypeError(kind, 'bool');
  return buf[span.start] === 0x74;
}

/** A JSON string into a Go string. */
export function unmarshalString(buf: Uint8Array, span: Span): string | undefined {
  const kind = kindOf(buf, span);
  if (kind === 'null') return undefined;
  if (kind !== 'string') throw new UnmarshalTypeError(kind, 'string');
  return unquote(buf, span);
}

/** A JSON number into a Go integer type, exactly. */
export function unmarshalInt(buf: Uint8Array, span: Span, type: GoIntType): bigint | undefined {
  const kind = kindOf(buf, span);
  if (kind === 'null') return undefined;
  if (kind !== 'number') throw new UnmarshalTypeError(kind, type.goType);
  const literal = text(buf, span);
  const n = parseGoInt(literal, type);
  if (n === undefined) throw new UnmarshalTypeError(`number ${literal}`, type.goType);
  return n;
}

/** strconv.ParseInt / ParseUint (base 10) of a JSON number literal, within the type's range. */
function parseGoInt(literal: string, type: GoIntType): bigint | undefined {
  if (!(type.signed ? /^-?\d+$/ : /^\d+$/).test(literal)) return undefined;
  const n = BigInt(literal);
  const min = type.signed ? -(1n << BigInt(type.bits - 1)) : 0n;
  const max = type.signed ? (1n << BigInt(type.bits - 1)) - 1n : (1n << BigInt(type.bits)) - 1n;
  return n >= min && n <= max ? n : undefined;
}

const UINT8: GoIntType = { goType: 'uint8', bits: 8, signed: false };

/**
 * A JSON value into a Go []byte: a string is base64 (Go's StdEncoding), an array is the bytes
 * one number each; the first error in an array is the one reported, as encoding/json keeps it.
 */
export function unmarshalBytes(buf: Uint8Array, span: Span): Uint8Array | undefined {
  const kind = kindOf(buf, span);
  if (kind === 'null') return undefined;
  if (kind === 'string') return decodeStdBase64(Buffer.from(unquote(buf, span), 'utf8'));
  if (kind !== 'array') throw new UnmarshalTypeError(kind, '[]uint8');
  const items = arrayItems(buf, span);
  const out = new Uint8Array(items.length);
  let first: Error | undefined;
  items.forEach((item, i) => {
    try {
      out[i] = Number(unmarshalInt(buf, item, UINT8) ?? 0n);
    } catch (err) {
      first ??= err as Error;
    }
  });
  if (first !== undefined) throw first;
  return out;
}
