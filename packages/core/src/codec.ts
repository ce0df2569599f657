/**
 * msgpack with an exact mapping for the values durable storage holds: node IDs (bigint, uint64)
 * use transport's NODE_ID_EXTENSION_CODEC (one mapping for wire and disk) and come back as bigints;
 * byte strings as `bin`; terms and indexes as ints. Also validates decoded hard states.
 * Pure. No I/O.
 */

import { Decoder, Encoder } from '@msgpack/msgpack';
import type { HardState, Index, NodeId, Term } from '@tsetcd/raft';
import { NODE_ID_EXTENSION_CODEC } from '@tsetcd/transport';

const MAX_U64 = (1n << 64n) - 1n;

/** A stored value did not decode into the shape expected; the caller adds file and offset. */
export class StoredValueError extends Error {
  constructor(detail: string) {
    super(detail);
    this.name = 'StoredValueError';
  }
}

const encoder = new Encoder({ extensionCodec: NODE_ID_EXTENSION_CODEC, useBigInt64: false });
const decoder = new Decoder({ extensionCodec: NODE_ID_EXTENSION_CODEC, useBigInt64: false });

/** msgpack bytes of a stored value (msgpack's `encode` copies them out of its reused buffer). */
export function encodeValue(v: unknown): Uint8Array {
  return encoder.encode(v);
}

/**
 * The encoder's own bytes of `v`, valid until the next encode: for a caller that copies them at
 * once (a WAL record's frame), saving the copy `encodeValue` makes.
 */
export function encodeValueShared(v: unknown): Uint8Array {
  return encoder.encodeSharedRef(v);
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
