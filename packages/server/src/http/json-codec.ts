/**
 * Protobuf JSON as etcd 3.4's grpc-gateway speaks it (jsonpb with OrigName): field names as in
 * the .proto (`create_revision`, `peerURLs`, `ID`), int64 as decimal strings, bytes as base64,
 * enums by name, zero fields left out. Requests may also use lowerCamelCase names
 * (`rangeEnd`), which jsonpb accepts.
 *
 * Converts through the wire format: JSON → (a second load of our .proto files, original names,
 * bytes as base64) → bytes → the gRPC method's own decoder → the object the service handlers
 * take; and back. So the gateway and gRPC share one decoding, and no field is mapped by hand.
 */

import { loadSync, type MessageTypeDefinition, type PackageDefinition } from '@grpc/proto-loader';
import { PROTO_DIR, PROTO_FILES } from '../proto.js';

/** The package definition with jsonpb's shapes (see the file comment). */
let jsonDef: PackageDefinition | undefined;

function definitions(): PackageDefinition {
  jsonDef ??= loadSync([...PROTO_FILES], {
    keepCase: true,
    longs: String,
    enums: String,
    bytes: String,
    defaults: false,
    oneofs: false,
    includeDirs: [PROTO_DIR],
  });
  return jsonDef;
}

interface FieldDescriptor {
  readonly name: string;
  readonly type: string;
  readonly typeName: string;
  readonly label: string;
  readonly oneofIndex?: number;
}

function messageDef(fullName: string): MessageTypeDefinition<object, object> | undefined {
  const d = definitions()[fullName];
  return d !== undefined && d.format === 'Protocol Buffer 3 DescriptorProto'
    ? (d as MessageTypeDefinition<object, object>)
    : undefined;
}

/** A field's message type name, resolved as protobuf does: nested, then in the package, then absolute. */
function resolve(from: string, typeName: string): string | undefined {
  const pkg = from.slice(0, from.indexOf('.'));
  for (const c of [`${from}.${typeName}`, `${pkg}.${typeName}`, typeName.replace(/^\./, '')]) {
    if (messageDef(c) !== undefined) return c;
  }
  return undefined;
}

const camel = (name: string): string => name.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/** `value` with lowerCamelCase field names renamed to the original ones, recursively. */
export function withOrigNames(value: unknown, fullName: string): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  const fields = (messageDef(fullName)?.type as { field?: FieldDescriptor[] } | undefined)?.field ?? [];
  const out: Record<string, unknown> = { ...(value as Record<string, unknown>) };
  for (const f of fields) {
    const alias = camel(f.name);
    if (!(f.name in out) && alias !== f.name && alias in out) {
      out[f.name] = out[alias];
      delete out[alias];
    }
    const sub = f.type === 'TYPE_MESSAGE' ? resolve(fullName, f.typeName) : undefined;
    if (sub === undefined || out[f.name] === undefined) continue;
    const v = out[f.name];
    out[f.name] = Array.isArray(v) ? v.map((x) => withOrigNames(x, sub)) : withOrigNames(v, sub);
  }
  return out;
}

/** A request body (parsed JSON) of message `fullName` as its wire bytes. */
export function jsonToWire(json: unknown, fullName: string): Buffer {
  const def = messageDef(fullName);
  if (def === undefined) throw new Error(`proto: ${fullName} is not a message`);
  return def.serialize(withOrigNames(json ?? {}, fullName) as object);
}

/** Wire bytes of message `fullName` as jsonpb's object (ready for JSON.stringify). */
export function wireToJson(buf: Buffer, fullName: string): unknown {
  const def = messageDef(fullName);
  if (def === undefined) throw new Error(`proto: ${fullName} is not a message`);
  return withoutDefaults(def.deserialize(buf), fullName);
}

/** The name of an enum's zero value. */
function enumZero(from: string, typeName: string): string | undefined {
  type Enums = { enumType?: { name: string; value: { name: string }[] }[] };
  const nested = ((messageDef(from)?.type ?? {}) as Enums).enumType?.find((e) => e.name === typeName);
  if (nested !== undefined) return nested.value[0]?.name;
  const pkg = from.slice(0, from.indexOf('.'));
  for (const c of [`${from}.${typeName}`, `${pkg}.${typeName}`, typeName.replace(/^\./, '')]) {
    const d = definitions()[c];
    if (d !== undefined && d.format === 'Protocol Buffer 3 EnumDescriptorProto')
      return (d.type as { value: { name: string }[] }).value[0]?.name;
  }
  return undefined;
}

/**
 * `value` without the zero scalars (jsonpb without EmitDefaults leaves them out; our handlers may
 * write them, and the wire keeps what was written). Members of a oneof stay: set means present.
 */
function withoutDefaults(value: unknown, fullName: string): unknown {
  if (value === null || typeof value !== 'object') return value;
  const d = messageDef(fullName)?.type as { field?: FieldDescriptor[]; oneofDecl?: unknown[] } | undefined;
  const out = value as Record<string, unknown>;
  for (const f of d?.field ?? []) {
    const v = out[f.name];
    if (v === undefined) continue;
    if (f.type === 'TYPE_MESSAGE') {
      const sub = resolve(fullName, f.typeName);
      if (sub !== undefined)
        out[f.name] = Array.isArray(v) ? v.map((x) => withoutDefaults(x, sub)) : withoutDefaults(v, sub);
      continue;
    }
    if (f.label === 'LABEL_REPEATED') {
      if (Array.isArray(v) && v.length === 0) delete out[f.name];
      continue;
    }
    const inOneof = (d?.oneofDecl?.length ?? 0) > 0 && f.oneofIndex !== undefined && f.oneofIndex !== null;
    if (inOneof) continue;
    const zero = f.type === 'TYPE_ENUM' ? enumZero(fullName, f.typeName) : undefined;
    if (v === '0' || v === 0 || v === false || v === '' || (zero !== undefined && v === zero))
      delete out[f.name];
  }
  return out;
}
