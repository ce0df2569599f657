/**
 * LeaseKeepAliveRequest (`int64 ID = 1`) decoded by hand: keep-alives are the most frequent
 * message a member receives from a busy client, and protobufjs decodes the ID into a Long and then
 * into a decimal string (proto.ts's `longs: String`), which cost more than renewing the lease.
 * Gives `{ ID }` as a bigint, as the handler's `big()` takes it; skips unknown fields as protobuf
 * requires; throws on a truncated or malformed message, like protobufjs.
 */

import type { Pb } from './convert.js';
import { fieldOf, ProtoReader, WIRE_VARINT, wireOf } from './wire-reader.js';

const ID_FIELD = 1;

/** The request's `{ ID }` (0n when absent, as protobuf's default). */
export function decodeKeepAliveRequest(buf: Uint8Array): Pb {
  const r = new ProtoReader(buf);
  let id = 0n;
  while (!r.done) {
    const tag = r.tag();
    if (fieldOf(tag) === ID_FIELD && wireOf(tag) === WIRE_VARINT) id = r.int64Big();
    else r.skip(wireOf(tag));
  }
  return { ID: id };
}
