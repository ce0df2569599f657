/**
 * What jsonpb needs to know of each request message, from our .proto files: its fields in
 * declaration order with their proto and JSON names, numbers and types; each enum's values and
 * the name Go registers it under (`etcdserverpb.RangeRequest_SortOrder`, which is what jsonpb's
 * errors name); and which fields are members of a oneof (jsonpb reads those after the others,
 * and writes them even when zero).
 *
 * Oneof membership is read from the serialized file descriptors: the decoded descriptor objects
 * proto-loader hands out give every field a oneof index of 0.
 *
 * Reads the loaded definitions only. Does not: decode JSON (jsonpb-decode.ts).
 */

import { type EnumTypeDefinition, loadSync, type PackageDefinition } from '@grpc/proto-loader';
import { fieldOf, ProtoReader, WIRE_BYTES, WIRE_VARINT, wireOf } from '../grpc/wire-reader.js';
import { PROTO_DIR, PROTO_FILES } from '../proto.js';
import type { GoIntType } from './go-unmarshal.js';

/** A field's type as jsonpb reads it. */
export type FieldType =
  | { readonly kind: 'message'; readonly message: string }
  | { readonly kind: 'enum'; readonly goName: string; readonly values: ReadonlyMap<string, number> }
  | { readonly kind: 'int'; readonly int: GoIntType }
  | { readonly kind: 'bool' | 'string' | 'bytes' };

/** One field of a message. */
export interface FieldSchema {
  /** As in the .proto (`range_end`, `ID`). */
  readonly name: string;
  /** lowerCamelCase, as protoc derives it (`rangeEnd`, `ID`); jsonpb accepts both. */
  readonly jsonName: string;
  readonly number: number;
  readonly repeated: boolean;
  readonly oneof: boolean;
  readonly type: FieldType;
}

/** A message's fields, in declaration order. */
export interface MessageSchema {
  readonly fullName: string;
  readonly fields: readonly FieldSchema[];
}

/** A name the .proto files do not define (a programming mistake in a route table). */
export class UnknownProtoTypeError extends TypeError {
  override readonly name = 'UnknownProtoTypeError';
}

let defs: PackageDefinition | undefined;

/** The .proto files loaded with jsonpb's shapes: original names, int64 as strings, bytes as base64. */
export function jsonDefinitions(): PackageDefinition {
  defs ??= loadSync([...PROTO_FILES], {
    keepCase: true,
    longs: String,
    enums: String,
    bytes: String,
    defaults: false,
    oneofs: false,
    includeDirs: [PROTO_DIR],
  });
  return defs;
}

interface FieldDescriptor {
  readonly name: string;
  readonly number: number;
  readonly type: string;
  readonly typeName: string;
  readonly label: string;
}

interface EnumDescriptor {
  readonly name: string;
  readonly value: readonly { readonly name: string; readonly number: number }[];
}

interface MessageDescriptor {
  readonly field?: readonly FieldDescriptor[];
  readonly enumType?: readonly EnumDescriptor[];
}

const MESSAGE = 'Protocol Buffer 3 DescriptorProto';
const ENUM = 'Protocol Buffer 3 EnumDescriptorProto';

function descriptor(fullName: string): MessageDescriptor | undefined {
  const d = jsonDefinitions()[fullName];
  return d !== undefined && d.format === MESSAGE ? (d.type as MessageDescriptor) : undefined;
}

const INTS: Readonly<Record<string, GoIntType>> = {
  TYPE_INT32: { goType: 'int32', bits: 32, signed: true },
  TYPE_INT64: { goType: 'int64', bits: 64, signed: true },
  TYPE_UINT32: { goType: 'uint32', bits: 32, signed: false },
  TYPE_UINT64: { goType: 'uint64', bits: 64, signed: false },
};

/** protoc's json_name: each `_x` becomes `X`. */
function jsonNameOf(name: string): string {
  return name.replace(/_(.?)/g, (_, c: string) => c.toUpperCase());
}

const schemas = new Map<string, MessageSchema>();

/** The schema of message `fullName` (`etcdserverpb.RangeRequest`). */
export function messageSchema(fullName: string): MessageSchema {
  const known = schemas.get(fullName);
  if (known !== undefined) return known;
  const d = descriptor(fullName);
  if (d === undefined) throw new UnknownProtoTypeError(`proto: ${fullName} is not a message`);
  const oneofs = oneofMembers();
  const fields = (d.field ?? []).map(
    (f): FieldSchema => ({
      name: f.name,
      jsonName: jsonNameOf(f.name),
      number: f.number,
      repeated: f.label === 'LABEL_REPEATED',
      oneof: oneofs.has(`${fullName}.${f.name}`),
      type: fieldType(fullName, f),
    }),
  );
  const schema = { fullName, fields };
  schemas.set(fullName, schema);
  return schema;
}

function fieldType(from: string, f: FieldDescriptor): FieldType {
  const int = INTS[f.type];
  if (int !== undefined) return { kind: 'int', int };
  switch (f.type) {
    case 'TYPE_BOOL':
      return { kind: 'bool' };
    case 'TYPE_STRING':
      return { kind: 'string' };
    case 'TYPE_BYTES':
      return { kind: 'bytes' };
    case 'TYPE_MESSAGE':
      return { kind: 'message', message: resolveMessage(from, f.typeName) };
    case 'TYPE_ENUM':
      return resolveEnum(from, f.typeName);
    default:
      throw new UnknownProtoTypeError(
        `proto: ${from}.${f.name} has type ${f.type}, which jsonpb-decode does not read`,
      );
  }
}

/** The scopes a type name is looked up in from message `from`: innermost first, as protoc does. */
function candidates(from: string, typeName: string): string[] {
  if (typeName.startsWith('.')) return [typeName.slice(1)];
  const out: string[] = [];
  const parts = from.split('.');
  for (let n = parts.length; n > 0; n--) out.push(`${parts.slice(0, n).join('.')}.${typeName}`);
  out.push(typeName);
  return out;
}

function resolveMessage(from: string, typeName: string): string {
  const found = candidates(from, typeName).find((c) => descriptor(c) !== undefined);
  if (found === undefined) throw new UnknownProtoTypeError(`proto: no message ${typeName} from ${from}`);
  return found;
}

function resolveEnum(from: string, typeName: string): FieldType {
  for (const c of candidates(from, typeName)) {
    const d = jsonDefinitions()[c];
    if (d !== undefined && d.format === ENUM)
      return enumType(c, (d as EnumTypeDefinition).type as EnumDescriptor);
    // An enum nested in a message: Go names it Message_Enum.
    const dot = c.lastIndexOf('.');
    const nested = descriptor(c.slice(0, dot))?.enumType?.find((e) => e.name === c.slice(dot + 1));
    if (nested !== undefined) return enumType(goNestedName(c), nested);
  }
  throw new UnknownProtoTypeError(`proto: no enum ${typeName} from ${from}`);
}

/** `etcdserverpb.RangeRequest.SortOrder` → `etcdserverpb.RangeRequest_SortOrder`. */
function goNestedName(fullName: string): string {
  const dot = fullName.indexOf('.');
  return `${fullName.slice(0, dot)}.${fullName.slice(dot + 1).replaceAll('.', '_')}`;
}

function enumType(goName: string, e: EnumDescriptor): FieldType {
  return { kind: 'enum', goName, values: new Map(e.value.map((v) => [v.name, v.number])) };
}

let oneofSet: Set<string> | undefined;

/** Whether field `field` of message `fullName` is a member of a oneof. */
export function isOneofMember(fullName: string, field: string): boolean {
  return oneofMembers().has(`${fullName}.${field}`);
}

/** `Message.field` of every field that is a member of a oneof, from the file descriptors. */
function oneofMembers(): Set<string> {
  if (oneofSet !== undefined) return oneofSet;
  const out = new Set<string>();
  const files = new Set<string>();
  for (const d of Object.values(jsonDefinitions())) {
    for (const bytes of (d as { fileDescriptorProtos?: Buffer[] }).fileDescriptorProtos ?? []) {
      const key = bytes.toString('base64');
      if (files.has(key)) continue;
      files.add(key);
      readFile(new ProtoReader(bytes), out);
    }
  }
  oneofSet = out;
  return out;
}

// FileDescriptorProto: 2 package, 4 message_type. DescriptorProto: 1 name, 2 field, 3 nested_type.
// FieldDescriptorProto: 1 name, 9 oneof_index.

function readFile(r: ProtoReader, out: Set<string>): void {
  let pkg = '';
  const messages: ProtoReader[] = [];
  while (!r.done) {
    const tag = r.tag();
    if (fieldOf(tag) === 2 && wireOf(tag) === WIRE_BYTES) pkg = text(r.bytes());
    else if (fieldOf(tag) === 4 && wireOf(tag) === WIRE_BYTES) messages.push(r.message());
    else r.skip(wireOf(tag));
  }
  for (const m of messages) readMessage(m, pkg, out);
}

function readMessage(r: ProtoReader, scope: string, out: Set<string>): void {
  let name = '';
  const members: string[] = [];
  const nested: ProtoReader[] = [];
  while (!r.done) {
    const tag = r.tag();
    const wire = wireOf(tag);
    if (fieldOf(tag) === 1 && wire === WIRE_BYTES) name = text(r.bytes());
    else if (fieldOf(tag) === 2 && wire === WIRE_BYTES) {
      const f = readField(r.message());
      if (f.oneof) members.push(f.name);
    } else if (fieldOf(tag) === 3 && wire === WIRE_BYTES) nested.push(r.message());
    else r.skip(wire);
  }
  const fullName = scope === '' ? name : `${scope}.${name}`;
  for (const m of members) out.add(`${fullName}.${m}`);
  for (const n of nested) readMessage(n, fullName, out);
}

function readField(r: ProtoReader): { name: string; oneof: boolean } {
  let name = '';
  let oneof = false;
  while (!r.done) {
    const tag = r.tag();
    if (fieldOf(tag) === 1 && wireOf(tag) === WIRE_BYTES) name = text(r.bytes());
    else if (fieldOf(tag) === 9 && wireOf(tag) === WIRE_VARINT) {
      r.skip(WIRE_VARINT);
      oneof = true;
    } else r.skip(wireOf(tag));
  }
  return { name, oneof };
}

const text = (b: Uint8Array): string => Buffer.from(b).toString('utf8');
