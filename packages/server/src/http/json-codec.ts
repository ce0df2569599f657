/**
 * Responses as etcd 3.4's grpc-gateway writes them (jsonpb with OrigName): field names as in the
 * .proto (`create_revision`, `peerURLs`, `ID`), int64 as decimal strings, bytes as base64, enums
 * by name, zero fields left out.
 *
 * Converts from the wire format: the handler's response → the gRPC method's own encoder → bytes →
 * (a second load of our .proto files, original names, bytes as base64) → JSON. So the gateway and
 * gRPC share one encoding, and no field is mapped by hand. Requests go the other way in
 * jsonpb-decode.ts.
 */

import type { MessageTypeDefinition, PackageDefinition } from '@grpc/proto-loader';
import { isOneofMember, jsonDefinitions } from './proto-schema.js';

function definitions(): PackageDefinition {
  return jsonDefinitions();
}

interface FieldDescriptor {
  readonly name: string;
  readonly type: string;
  readonly typeName: string;
  readonly label: string;
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
  const d = messageDef(fullName)?.type as { field?: FieldDescriptor[] } | undefined;
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
    if (isOneofMember(fullName, f.name)) continue;
    const zero = f.type === 'TYPE_ENUM' ? enumZero(fullName, f.typeName) : undefined;
    if (v === '0' || v === 0 || v === false || v === '' || (zero !== undefined && v === zero))
      delete out[f.name];
  }
  return out;
}
