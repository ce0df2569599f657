/**
 * Raft messages ⇄ msgpack, with an exact mapping for every value a message holds:
 *
 * | value                          | msgpack                                          |
 * | ------------------------------ | ------------------------------------------------ |
 * | NodeId (bigint, uint64)        | ext type 1, 8 bytes big-endian (never an int)    |
 * | Term / Index (safe integer)    | int (the encoder picks the width; up to uint64)  |
 * | boolean, string                | bool, str                                        |
 * | Uint8Array                     | bin                                              |
 * | object / array                 | map with the field names / array                 |
 * | a message's entries            | bin `E`: raft's compact entry encoding           |
 *
 * Decoding never makes a bigint from an int (so a node ID sent as an int is refused rather than
 * silently converted), reads ints above 2^53 as unsafe numbers (refused), and every decoded
 * message goes through raft's `validateMessage`. Decoded payloads are views into the buffer given
 * to the decoder, which must therefore not be reused. Pure. No I/O; framing is framing.ts's job.
 */

import { Decoder, Encoder, ExtensionCodec } from '@msgpack/msgpack';
import {
  decodeEntries,
  type Entry,
  encodeEntries,
  InvalidMessageError,
  type Message,
  validateMessage,
} from '@tsetcd/raft';
import { CodecError } from './tcp-errors.js';

/** msgpack extension type that carries a NodeId (an application type: 0–127). */
export const NODE_ID_EXT_TYPE = 1;

/** Bytes of an encoded NodeId's extension payload. */
export const NODE_ID_BYTES = 8;

const MAX_U64 = (1n << 64n) - 1n;
/** msgpack `array 32` marker: a message list's header is this byte and a u32 count. */
const ARRAY32 = 0xdd;
/** Bytes in front of the messages of an encoded message list. */
export const MESSAGE_LIST_HEADER_BYTES = 5;

/**
 * The msgpack extension that carries NodeIds exactly (8 bytes big-endian uint64, back as bigint).
 * Shared with every package that msgpack-encodes raft values (core's WAL), so there is one mapping.
 */
export const NODE_ID_EXTENSION_CODEC = new ExtensionCodec();
NODE_ID_EXTENSION_CODEC.register({
  type: NODE_ID_EXT_TYPE,
  encode: (v: unknown): Uint8Array | null => (typeof v === 'bigint' ? nodeIdBytes(v) : null),
  decode: (data: Uint8Array): bigint => {
    if (data.length !== NODE_ID_BYTES) {
      throw new CodecError(`node ID extension of ${data.length} bytes, want ${NODE_ID_BYTES}`);
    }
    return new DataView(data.buffer, data.byteOffset, data.byteLength).getBigUint64(0);
  },
});

/**
 * Encoded NodeIds by ID. A cluster has a handful of members, and every message names two of
 * them: encoding each afresh cost a DataView over the array's `.buffer`, which moves a small
 * array's bytes off V8's heap (about 0.7 µs, twice per message). msgpack copies the bytes it is
 * given, so one array per ID serves every message. Bounded, for a sender fed arbitrary IDs.
 */
const nodeIdCache = new Map<bigint, Uint8Array>();
const NODE_ID_CACHE_MAX = 1024;

/** The 8 big-endian bytes of a NodeId; throws RangeError if it is not a uint64. */
function nodeIdBytes(v: bigint): Uint8Array {
  const cached = nodeIdCache.get(v);
  if (cached !== undefined) return cached;
  if (v < 0n || v > MAX_U64) throw new RangeError(`node ID ${v} is not a uint64`);
  const out = new Uint8Array(NODE_ID_BYTES);
  let rest = v;
  for (let i = NODE_ID_BYTES - 1; i >= 0; i--) {
    out[i] = Number(rest & 0xffn);
    rest >>= 8n;
  }
  if (nodeIdCache.size < NODE_ID_CACHE_MAX) nodeIdCache.set(v, out);
  return out;
}

const encoder = new Encoder({ extensionCodec: NODE_ID_EXTENSION_CODEC, useBigInt64: false });

/**
 * `n` bytes for an encoding the caller fills completely, carved from Node's buffer pool: an array
 * of its own would cost an ArrayBuffer (about 0.7 µs for anything over 64 bytes, per message sent).
 * A plain Uint8Array, not a Buffer, so what is decoded from it is too. Its `.buffer` is shared:
 * read it only with the array's byteOffset.
 */
export function pooledBytes(n: number): Uint8Array {
  const b = Buffer.allocUnsafe(n);
  return new Uint8Array(b.buffer, b.byteOffset, n);
}
const decoder = new Decoder({ extensionCodec: NODE_ID_EXTENSION_CODEC, useBigInt64: false });

/** msgpack bytes of any value built from the types in the table above (used for control frames). */
export function encodeValue(v: unknown): Uint8Array {
  return encoder.encode(v);
}

/** Decodes bytes made by encodeValue. Throws CodecError on anything malformed or with trailing bytes. */
export function decodeValue(bytes: Uint8Array): unknown {
  try {
    return decoder.decode(bytes);
  } catch (err) {
    if (err instanceof CodecError) throw err;
    throw new CodecError(err instanceof Error ? err.message : String(err), { cause: err });
  }
}

/**
 * msgpack bytes of one message. A message's entries (MsgApp, MsgProp) travel as one `E` bin in
 * raft's compact entry encoding instead of a msgpack array of maps: the bulk of every write.
 * Throws RangeError if a node ID is not a uint64 (a local bug).
 */
export function encodeMessage(m: Message): Uint8Array {
  const entries = (m as { readonly entries?: readonly Entry[] }).entries;
  const shared =
    entries === undefined || entries.length === 0
      ? encoder.encodeSharedRef(m)
      : encoder.encodeSharedRef({ ...m, entries: EMPTY_ENTRIES, E: encodeEntries(entries, pooledBytes) });
  // A copy the caller may keep (the shared bytes are the encoder's, reused by the next call).
  const out = pooledBytes(shared.length);
  out.set(shared);
  return out;
}

/** Decodes and validates one message. Throws CodecError naming what is wrong. */
export function decodeMessage(bytes: Uint8Array): Message {
  return validated(decodeValue(bytes), 'message');
}

const EMPTY_ENTRIES: readonly Entry[] = [];

/**
 * Takes a message's `E` bin (see encodeMessage) out of it and decodes its entries, or returns
 * undefined when there is none. The message keeps an empty `entries` for validation.
 */
function takeEntries(v: unknown, what: string): Entry[] | undefined {
  const o = v as { E?: unknown; entries?: unknown } | null;
  if (o === null || typeof o !== 'object' || o.E === undefined) return undefined;
  if (!(o.E instanceof Uint8Array)) throw new CodecError(`${what}: E must be bytes`);
  let entries: Entry[];
  try {
    entries = decodeEntries(o.E, `${what}.entries`);
  } catch (err) {
    throw new CodecError(err instanceof Error ? err.message : String(err), { cause: err });
  }
  delete o.E;
  o.entries = EMPTY_ENTRIES;
  return entries;
}

/**
 * A msgpack array of already-encoded messages (so a sender can size a batch before building it):
 * an `array 32` header, then the messages back to back; after `reserve` leading bytes left for
 * the caller (a frame's type byte), so the messages are copied once.
 */
export function encodeMessageList(encoded: readonly Uint8Array[], reserve = 0): Uint8Array {
  let size = reserve + MESSAGE_LIST_HEADER_BYTES;
  for (const e of encoded) size += e.length;
  // Every byte after the `reserve` leading ones (the caller's to fill) is written below.
  const out = pooledBytes(size);
  const n = encoded.length;
  out[reserve] = ARRAY32;
  out[reserve + 1] = n >>> 24;
  out[reserve + 2] = (n >>> 16) & 0xff;
  out[reserve + 3] = (n >>> 8) & 0xff;
  out[reserve + 4] = n & 0xff;
  let at = reserve + MESSAGE_LIST_HEADER_BYTES;
  for (const e of encoded) {
    out.set(e, at);
    at += e.length;
  }
  return out;
}

/** Decodes and validates a list of messages; all or nothing. Throws CodecError. */
export function decodeMessageList(bytes: Uint8Array): Message[] {
  const v = decodeValue(bytes);
  if (!Array.isArray(v)) throw new CodecError('message list is not an array');
  return v.map((m, i) => validated(m, `message ${i}`));
}

/**
 * Validates a decoded message. Entries that came in an `E` bin were checked field by field as
 * they were decoded, so they are put in after validateMessage rather than checked again (for
 * every entry every follower receives); a message type without entries ignores them, as it
 * ignores any other extra field.
 */
function validated(v: unknown, what: string): Message {
  const entries = takeEntries(v, what);
  try {
    const m = validateMessage(v);
    return entries === undefined || !('entries' in m) ? m : ({ ...m, entries } as Message);
  } catch (err) {
    const detail = err instanceof InvalidMessageError ? err.message : String(err);
    throw new CodecError(`${what}: ${detail}`, { cause: err });
  }
}
