/**
 * WatchEventEncoder: the gRPC frame of a WatchResponse carrying events, encoded by hand. One put
 * seen by N watchers is N responses that differ only in their watch ID: the header is encoded
 * once per revision and each event once (events without prev_kv are shared by every watcher that
 * gets them), so a response costs a copy of bytes already made instead of converting and
 * encoding objects with protobufjs — which was most of a watch's per-event cost.
 *
 * The bytes are those protobufjs produces from the objects the service used to build (same
 * fields present, in field-number order), so clients see no difference (watch-response.test.ts).
 *
 *   WatchResponse: header = 1 (ResponseHeader), watch_id = 2 (int64), events = 11 (repeated Event)
 *   ResponseHeader: cluster_id = 1, member_id = 2, revision = 3, raft_term = 4
 *   Event: type = 1 (enum, always written), kv = 2, prev_kv = 3
 *   KeyValue: key = 1 (always), create_revision = 2, mod_revision = 3, version = 4, value = 5, lease = 6
 *     (zero and empty fields other than key left out)
 */

import type { NodeResponseHeader } from '@tsetcd/core';
import type { Event, KeyValue } from '@tsetcd/mvcc';

/** Bytes of the gRPC message prefix (compressed flag, u32 length). */
const FRAME_PREFIX_BYTES = 5;
const LEN = 2;
const VARINT = 0;
const tag = (field: number, wire: number) => (field << 3) | wire;

/** Bytes of a varint of a non-negative safe integer. */
function varintSize(n: number): number {
  let size = 1;
  while (n >= 128) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}

function writeVarint(out: Uint8Array, at: number, n: number): number {
  while (n >= 128) {
    out[at++] = (n & 0x7f) | 0x80;
    n = Math.floor(n / 128);
  }
  out[at++] = n;
  return at;
}

/** A 64-bit field (uint64, or an int64 as two's complement) as varint bytes. */
function bigVarint(n: bigint): Uint8Array {
  let v = BigInt.asUintN(64, n);
  const out: number[] = [];
  while (v >= 128n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return Uint8Array.from(out);
}

/** Bytes of a length-delimited field holding `len` bytes (tag, length, body). */
function lenFieldSize(len: number): number {
  return 1 + varintSize(len) + len;
}

/** Bytes of a varint field holding `n` (tag, value). */
function varintFieldSize(n: number): number {
  return 1 + varintSize(n);
}

function kvBodySize(kv: KeyValue, lease: Uint8Array | undefined): number {
  let n = lenFieldSize(kv.key.length);
  if (kv.createRevision !== 0) n += varintFieldSize(kv.createRevision);
  if (kv.modRevision !== 0) n += varintFieldSize(kv.modRevision);
  if (kv.version !== 0) n += varintFieldSize(kv.version);
  if (kv.value.length > 0) n += lenFieldSize(kv.value.length);
  if (lease !== undefined) n += 1 + lease.length;
  return n;
}

/** A KeyValue's body size and lease bytes, worked out once for sizing and for writing. */
interface KvLayout {
  readonly kv: KeyValue;
  readonly lease: Uint8Array | undefined;
  readonly body: number;
}

function kvLayout(kv: KeyValue): KvLayout {
  const lease = kv.lease === 0n ? undefined : bigVarint(kv.lease);
  return { kv, lease, body: kvBodySize(kv, lease) };
}

function writeKv(out: Uint8Array, at: number, field: number, { kv, lease, body }: KvLayout): number {
  out[at++] = tag(field, LEN);
  at = writeVarint(out, at, body);
  out[at++] = tag(1, LEN);
  at = writeVarint(out, at, kv.key.length);
  out.set(kv.key, at);
  at += kv.key.length;
  if (kv.createRevision !== 0) {
    out[at++] = tag(2, VARINT);
    at = writeVarint(out, at, kv.createRevision);
  }
  if (kv.modRevision !== 0) {
    out[at++] = tag(3, VARINT);
    at = writeVarint(out, at, kv.modRevision);
  }
  if (kv.version !== 0) {
    out[at++] = tag(4, VARINT);
    at = writeVarint(out, at, kv.version);
  }
  if (kv.value.length > 0) {
    out[at++] = tag(5, LEN);
    at = writeVarint(out, at, kv.value.length);
    out.set(kv.value, at);
    at += kv.value.length;
  }
  if (lease !== undefined) {
    out[at++] = tag(6, VARINT);
    out.set(lease, at);
    at += lease.length;
  }
  return at;
}

/** An Event as WatchResponse field 11: tag, length, body. */
export function encodeEventField(e: Event): Uint8Array {
  const type = e.type === 'DELETE' ? 1 : 0;
  const kv = kvLayout(e.kv);
  const prev = e.prevKv === undefined ? undefined : kvLayout(e.prevKv);
  const body = 2 + lenFieldSize(kv.body) + (prev === undefined ? 0 : lenFieldSize(prev.body));
  const out = new Uint8Array(lenFieldSize(body));
  let at = 0;
  out[at++] = tag(11, LEN);
  at = writeVarint(out, at, body);
  out[at++] = tag(1, VARINT);
  out[at++] = type;
  at = writeKv(out, at, 2, kv);
  if (prev !== undefined) writeKv(out, at, 3, prev);
  return out;
}

/** A ResponseHeader as WatchResponse field 1: tag, length, body (every field written). */
export function encodeHeaderField(h: NodeResponseHeader): Uint8Array {
  const cluster = bigVarint(h.clusterId);
  const member = bigVarint(h.memberId);
  const body = 2 + cluster.length + member.length + varintFieldSize(h.revision) + varintFieldSize(h.raftTerm);
  const out = new Uint8Array(lenFieldSize(body));
  let at = 0;
  out[at++] = tag(1, LEN);
  at = writeVarint(out, at, body);
  out[at++] = tag(1, VARINT);
  out.set(cluster, at);
  at += cluster.length;
  out[at++] = tag(2, VARINT);
  out.set(member, at);
  at += member.length;
  out[at++] = tag(3, VARINT);
  at = writeVarint(out, at, h.revision);
  out[at++] = tag(4, VARINT);
  return out.subarray(0, writeVarint(out, at, h.raftTerm));
}

/** Encodes event responses for one member's watch streams; see the file comment. */
export class WatchEventEncoder {
  /** Encoded Event fields by event; only events shared between watchers are worth keeping. */
  private readonly events = new WeakMap<Event, Uint8Array>();
  private headerFor: NodeResponseHeader | undefined;
  private header: Uint8Array = new Uint8Array(0);

  /**
   * The gRPC frame (prefix and message) of a WatchResponse with `header`, watch ID `watchId`
   * (>= 0) and `events`.
   */
  frame(header: NodeResponseHeader, watchId: number, events: readonly Event[]): Buffer {
    const h = this.headerField(header);
    const parts: Uint8Array[] = [];
    let size = h.length + varintFieldSize(watchId);
    for (const e of events) {
      let bytes = this.events.get(e);
      if (bytes === undefined) {
        bytes = encodeEventField(e);
        this.events.set(e, bytes);
      }
      parts.push(bytes);
      size += bytes.length;
    }
    const out = Buffer.allocUnsafe(FRAME_PREFIX_BYTES + size);
    out[0] = 0;
    out.writeUInt32BE(size, 1);
    let at = FRAME_PREFIX_BYTES;
    out.set(h, at);
    at += h.length;
    out[at++] = tag(2, VARINT);
    at = writeVarint(out, at, watchId);
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }

  private headerField(h: NodeResponseHeader): Uint8Array {
    const last = this.headerFor;
    if (
      last === undefined ||
      last.revision !== h.revision ||
      last.raftTerm !== h.raftTerm ||
      last.memberId !== h.memberId ||
      last.clusterId !== h.clusterId
    ) {
      this.header = encodeHeaderField(h);
      this.headerFor = h;
    }
    return this.header;
  }
}
