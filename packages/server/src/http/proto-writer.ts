/**
 * A small protobuf wire-format writer for the gateway's requests: varint and length-delimited
 * fields only (every field type an etcd request has), int64s written exactly from bigints, and
 * negative int32s and enums sign-extended to ten bytes as protobuf requires.
 *
 * Pure.
 */

import { WIRE_BYTES, WIRE_VARINT } from '../grpc/wire-reader.js';

/** Builds one message's bytes; nested messages are written by writers of their own. */
export class ProtoWriter {
  private readonly chunks: Uint8Array[] = [];
  private scratch: number[] = [];
  /** Bytes written so far. */
  length = 0;

  private flushScratch(): void {
    if (this.scratch.length === 0) return;
    this.chunks.push(Uint8Array.from(this.scratch));
    this.scratch = [];
  }

  private varint(v: bigint): void {
    let u = BigInt.asUintN(64, v);
    while (u >= 0x80n) {
      this.scratch.push(Number(u & 0x7fn) | 0x80);
      this.length++;
      u >>= 7n;
    }
    this.scratch.push(Number(u));
    this.length++;
  }

  private tag(field: number, wire: number): void {
    this.varint(BigInt(field * 8 + wire));
  }

  /** A varint field (int32, int64, uint32, uint64, bool, enum) of value `v`, as a 64-bit integer. */
  writeVarint(field: number, v: bigint): void {
    this.tag(field, WIRE_VARINT);
    this.varint(v);
  }

  /** A length-delimited field: bytes, a string's UTF-8, or a nested message's bytes. */
  writeBytes(field: number, bytes: Uint8Array): void {
    this.tag(field, WIRE_BYTES);
    this.varint(BigInt(bytes.length));
    this.flushScratch();
    this.chunks.push(bytes);
    this.length += bytes.length;
  }

  /** A packed repeated varint field. */
  writePacked(field: number, values: readonly bigint[]): void {
    const inner = new ProtoWriter();
    for (const v of values) inner.varint(v);
    this.writeBytes(field, inner.finish());
  }

  /** The message's bytes. */
  finish(): Buffer {
    this.flushScratch();
    return Buffer.concat(this.chunks);
  }
}
