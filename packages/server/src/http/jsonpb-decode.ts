/**
 * A request message's JSON as etcd 3.4's gateway reads it (golang/protobuf 1.3's jsonpb, unknown
 * fields allowed, over encoding/json), straight to protobuf wire bytes for the gRPC handlers:
 *
 * 1. The value must be an object (or null: the empty message); its members become a map, so a
 *    repeated key keeps its last value.
 * 2. Each field is looked up by its proto name and its lowerCamelCase name; when both are given,
 *    the camelCase one wins. Regular fields are read in declaration order, then oneof members;
 *    the first error is the answer. Unknown members are ignored.
 * 3. A field's value is read as encoding/json reads the Go type behind it (go-unmarshal.ts);
 *    integers may also be JSON strings, whose text is then read as JSON (`"5"`, `" 5"`), and
 *    enums are names (exactly, else `unknown value "X" for enum pkg.Msg_Enum`) or numbers (any
 *    int32, known or not). null leaves a field unset.
 *
 * int64s are exact; a few beyond JavaScript's safe integers are replaced as unsafe-int64.ts
 * says. Output is the wire format, so the handlers decode a gateway request exactly as they
 * decode a gRPC one.
 *
 * Pure. Does not: read the body (the first JSON value is found by go-json.ts's scanNext).
 */

import { CorruptInputError } from './go-base64.js';
import {
  arrayItems,
  GoJsonSyntaxError,
  kindOf,
  objectMembers,
  type Span,
  scanWhole,
  UnexpectedEofError,
} from './go-json.js';
import { goQuote } from './go-quote.js';
import {
  type GoIntType,
  UnmarshalTypeError,
  unmarshalBool,
  unmarshalBytes,
  unmarshalInt,
  unmarshalString,
} from './go-unmarshal.js';
import { type FieldSchema, type FieldType, messageSchema } from './proto-schema.js';
import { ProtoWriter } from './proto-writer.js';
import { safeInt64 } from './unsafe-int64.js';

/** An enum given by a name it does not have (jsonpb's error). */
export class UnknownEnumValueError extends Error {
  override readonly name = 'UnknownEnumValueError';
  constructor(value: Uint8Array, goName: string) {
    super(`unknown value ${goQuote(value)} for enum ${goName}`);
  }
}

/** An enum name given for a field that is not one enum (a repeated one): jsonpb's error. */
export class EnumTargetError extends Error {
  override readonly name = 'EnumTargetError';
  constructor(goKind: string, goName: string) {
    super(`invalid target "${goKind}" for enum ${goName}`);
  }
}

/**
 * A null item in a repeated message field. etcd's gateway crashes marshalling it and drops the
 * connection without an answer; ours refuses it with this error (400, code 3), as a bad body.
 */
export class NilRepeatedMessageError extends Error {
  override readonly name = 'NilRepeatedMessageError';
  constructor(field: string) {
    super(`null item in repeated message field ${field}`);
  }
}

/** Messages nested deeper than this are refused (the handlers refuse txns nested as deep). */
export const MAX_MESSAGE_DEPTH = 1000;

/** A request nested deeper than MAX_MESSAGE_DEPTH. */
export class MessageTooDeepError extends Error {
  override readonly name = 'MessageTooDeepError';
  constructor() {
    super(`proto: message nested more than ${MAX_MESSAGE_DEPTH} deep`);
  }
}

/** Whether `err` is one of the errors grpc-gateway's decoding answers a bad body with. */
export function isJsonpbError(err: unknown): err is Error {
  return (
    err instanceof GoJsonSyntaxError ||
    err instanceof UnexpectedEofError ||
    err instanceof UnmarshalTypeError ||
    err instanceof CorruptInputError ||
    err instanceof UnknownEnumValueError ||
    err instanceof EnumTargetError ||
    err instanceof NilRepeatedMessageError ||
    err instanceof MessageTooDeepError
  );
}

/** The Go type jsonpb unmarshals a message's JSON into first. */
const MESSAGE_GO_TYPE = 'map[string]json.RawMessage';
/** … and a repeated field's JSON. */
const REPEATED_GO_TYPE = '[]json.RawMessage';

/** The JSON value `buf[span]` as message `fullName`'s wire bytes; throws jsonpb's errors. */
export function decodeRequest(buf: Uint8Array, span: Span, fullName: string): Buffer {
  const w = new ProtoWriter();
  writeMessage(buf, span, fullName, w, 0);
  return w.finish();
}

function writeMessage(buf: Uint8Array, span: Span, fullName: string, w: ProtoWriter, depth: number): void {
  if (depth > MAX_MESSAGE_DEPTH) throw new MessageTooDeepError();
  const kind = kindOf(buf, span);
  if (kind === 'null') return;
  if (kind !== 'object') throw new UnmarshalTypeError(kind, MESSAGE_GO_TYPE);
  const members = new Map(objectMembers(buf, span));
  const fields = messageSchema(fullName).fields;
  for (const oneof of [false, true]) {
    for (const f of fields) {
      if (f.oneof !== oneof) continue;
      const value = members.get(f.jsonName) ?? members.get(f.name);
      if (value !== undefined) writeField(buf, value, fullName, f, w, depth);
    }
  }
}

function writeField(
  buf: Uint8Array,
  span: Span,
  message: string,
  f: FieldSchema,
  w: ProtoWriter,
  depth: number,
): void {
  if (!f.repeated) {
    writeValue(buf, span, message, f, w, depth, f.oneof);
    return;
  }
  const kind = kindOf(buf, span);
  if (kind === 'null') return;
  if (kind === 'string' && f.type.kind === 'enum') {
    // jsonpb reads a quoted value of an enum field as a name before it looks at the Go type.
    enumByName(buf, span, f.type);
    throw new EnumTargetError('slice', f.type.goName);
  }
  if (kind !== 'array') throw new UnmarshalTypeError(kind, REPEATED_GO_TYPE);
  const items = arrayItems(buf, span);
  if (f.type.kind === 'int' || f.type.kind === 'enum' || f.type.kind === 'bool') {
    const values = items.map((item) => scalarVarint(buf, item, message, f) ?? 0n);
    if (values.length > 0) w.writePacked(f.number, values);
    return;
  }
  for (const item of items) {
    if (f.type.kind === 'message' && kindOf(buf, item) === 'null')
      throw new NilRepeatedMessageError(`${message}.${f.name}`);
    writeValue(buf, item, message, f, w, depth, true);
  }
}

/** One value of field `f`; `always` writes it even when it is the zero value. */
function writeValue(
  buf: Uint8Array,
  span: Span,
  message: string,
  f: FieldSchema,
  w: ProtoWriter,
  depth: number,
  always: boolean,
): void {
  switch (f.type.kind) {
    case 'message': {
      if (kindOf(buf, span) === 'null') return;
      const sub = new ProtoWriter();
      writeMessage(buf, span, f.type.message, sub, depth + 1);
      w.writeBytes(f.number, sub.finish());
      return;
    }
    case 'string': {
      const s = unmarshalString(buf, span) ?? '';
      if (always || s !== '') w.writeBytes(f.number, Buffer.from(s, 'utf8'));
      return;
    }
    case 'bytes': {
      const b = unmarshalBytes(buf, span) ?? new Uint8Array(0);
      if (always || b.length > 0) w.writeBytes(f.number, b);
      return;
    }
    default: {
      const v = scalarVarint(buf, span, message, f) ?? 0n;
      if (always || v !== 0n) w.writeVarint(f.number, v);
    }
  }
}

/** A bool, enum or integer field's value as the varint it is written as (undefined for null). */
function scalarVarint(buf: Uint8Array, span: Span, message: string, f: FieldSchema): bigint | undefined {
  const t = f.type;
  switch (t.kind) {
    case 'bool': {
      const b = unmarshalBool(buf, span);
      return b === undefined ? undefined : b ? 1n : 0n;
    }
    case 'enum':
      if (kindOf(buf, span) === 'string') return BigInt(enumByName(buf, span, t));
      return unmarshalInt(buf, span, { goType: t.goName, bits: 32, signed: true });
    case 'int': {
      const n = integer(buf, span, t.int);
      return n === undefined || t.int.bits !== 64 || !t.int.signed ? n : safeInt64(message, f.name, n);
    }
    default:
      throw new TypeError(`${message}.${f.name} is not a varint field`);
  }
}

/** An enum's value named by the JSON string `buf[span]`, as given (escapes are not read). */
function enumByName(buf: Uint8Array, span: Span, t: Extract<FieldType, { kind: 'enum' }>): number {
  const name = buf.subarray(span.start + 1, span.end - 1);
  const n = t.values.get(Buffer.from(name).toString('latin1'));
  if (n === undefined) throw new UnknownEnumValueError(name, t.goName);
  return n;
}

/** An integer field: a JSON number, or a JSON string whose text (quotes dropped) is read as JSON. */
function integer(buf: Uint8Array, span: Span, type: GoIntType): bigint | undefined {
  if (kindOf(buf, span) !== 'string') return unmarshalInt(buf, span, type);
  const inner = buf.subarray(span.start + 1, span.end - 1);
  return unmarshalInt(inner, scanWhole(inner), type);
}
