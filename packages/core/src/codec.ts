/**
 * msgpack with an exact mapping for the values durable storage holds: node IDs (bigint, uint64)
 * travel as extension type 1 with 8 bytes big-endian and come back as bigints, never as numbers;
 * byte strings as `bin`; terms and indexes as ints. Also validates decoded hard states.
 * Pure. No I/O.
 */

import { Decoder, Encoder, ExtensionCodec } from '@msgpack/msgpack';
import type { HardState, Index, NodeId, Term } from '@tsetcd/raft';

/** msgpack extension type that carries a NodeId (an application type: 0–127). */
export const NODE_ID_EXT_TYPE = 1;

/** Bytes of an encoded NodeId's extension payload. */
export const NODE_ID_BYTES = 8;

const MAX_U64 = (1n << 64n) - 1n;

/** A stored value did not decode into the shape expected; the caller adds file and offset. */
export class StoredValueError extends Error {
  constructor(detail: string) {
    super(detail);
    this.name = 'StoredValueError';
  }
}

const extensionCodec = new ExtensionCodec();
extensionCodec.register({
  type: NODE_ID_EXT_TYPE,
  encode: (v: unknown): Uint8Array | null => {
    if (typeof v !== 'bigint') return null;
    if (v < 0n || v > MAX_U64) throw new RangeError(`node ID ${v} is not a uint64`);
    const out = new Uint8Array(NODE_ID_BYTES);
    new DataView(out.buffer).setBigUint64(0, v);
    return out;
  },
  decode: (data: Uint8Array): bigint => {
    if (data.length !== NODE_ID_BYTES) {
      throw new StoredValueError(`node ID extension of ${data.length} bytes, want ${NODE_ID_BYTES}`);
    }
    return new DataView(data.buffer, data.byteOffset, data.byteLength).getBigUint64(0);
  },
});

const encoder = new Encoder({ extensionCodec, useBigInt64: false });
const decoder = new Decoder({ extensionCodec, useBigInt64: false });

/** msgpack bytes of a stored value (a copy: the encoder reuses its buffer). */
export function encodeValue(v: unknown): Uint8Array {
  return encoder.encode(v).slice();
}

/** Decodes bytes made by encodeValue; throws StoredValueError on anything malformed. */
export function decodeValue(bytes: Uint8Array): unknown {
  try {
    return decoder.decode(bytes);
  } catch (err) {
    if (err instanceof StoredValueError) throw err;
    throw new StoredValueError(`msgpack: ${(err as Error).message}`);
  }
}

function counter(v: unknown, path: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    throw new StoredValueError(`${path} must be a non-negative safe integer`);
  }
  return v;
}

/** Validates a decoded hard state. */
export function validateHardState(v: unknown, path = 'hardState'): HardState {
  if (typeof v !== 'object' || v === null) throw new StoredValueError(`${path} must be an object`);
  const o = v as Record<string, unknown>;
  const vote = o.vote;
  if (typeof vote !== 'bigint' || vote < 0n || vote > MAX_U64) {
    throw new StoredValueError(`${path}.vote must be a uint64 bigint`);
  }
  return {
    term: counter(o.term, `${path}.term`) as Term,
    vote: vote as NodeId,
    commit: counter(o.commit, `${path}.commit`) as Index,
  };
}

/** Validates a decoded log position (a snapshot marker's index and term). */
export function validateCounter(v: unknown, path: string): number {
  return counter(v, path);
}
