/**
 * Shorthand for hand-written histories in this package's tests: `op(client, call, ret, input,
 * output)` and `kv(key, value, create, mod, version)`. Test support only; not exported.
 */

import type { Input, KvSnapshot, Operation, Output } from './history.js';

/** A completed operation, or an ambiguous one when `ret` is undefined. */
export function op(
  client: number,
  call: number,
  ret: number | undefined,
  input: Input,
  output?: Output,
): Operation {
  return ret === undefined ? { client, input, call } : { client, input, call, return: ret, output: output! };
}

/** A key-value as a get returns it. */
export function kv(
  key: string,
  value: string,
  create: number,
  mod: number,
  version: number,
  lease = 0n,
): KvSnapshot {
  return { key, value, createRevision: create, modRevision: mod, version, lease };
}
