/**
 * A key-bucket entry in the bytes etcd's bbolt holds for it: the revision key (8-byte main, '_',
 * 8-byte sub, then 't' for a tombstone) and mvccpb.KeyValue's protobuf encoding (a tombstone's
 * value holds the key alone). HashKV hashes these, so that its value is etcd's for the same
 * history. Pure.
 */

import type { Rev } from '../revision.js';
import type { KeyValue } from '../types.js';

/** etcd's revToBytes, with appendMarkTombstone's 't'. */
export function etcdRevisionKey(rev: Rev, tombstone: boolean): Uint8Array {
  const out = new Uint8Array(tombstone ? 18 : 17);
  const dv = new DataView(out.buffer);
  dv.setBigUint64(0, BigInt(rev.main));
  out[8] = 0x5f; // '_'
  dv.setBigUint64(9, BigInt(rev.sub));
  if (tombstone) out[17] = 0x74; // 't'
  return out;
}

/** mvccpb.KeyValue as etcd marshals it: fields 1–6 in order, zero values left out. */
export function etcdKeyValueBytes(kv: KeyValue, tombstone: boolean): Uint8Array {
  const out: number[] = [];
  const bytesField = (tag: number, b: Uint8Array) => {
    if (b.length === 0) return;
    out.push(tag);
    varint(out, BigInt(b.length));
    for (const x of b) out.push(x);
  };
  const intField = (tag: number, n: bigint) => {
    if (n === 0n) return;
    out.push(tag);
    varint(out, BigInt.asUintN(64, n));
  };
  bytesField(0x0a, kv.key);
  if (!tombstone) {
    intField(0x10, BigInt(kv.createRevision));
    intField(0x18, BigInt(kv.modRevision));
    intField(0x20, BigInt(kv.version));
    bytesField(0x2a, kv.value);
    intField(0x30, kv.lease);
  }
  return Uint8Array.from(out);
}

function varint(out: number[], v: bigint): void {
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
}
