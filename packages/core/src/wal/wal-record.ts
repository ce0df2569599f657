/**
 * WAL records and their framing (etcd's `wal/walpb.Record` + `encoder.go`/`decoder.go`).
 *
 * On disk a record is `u32 length (LE) | u32 CRC32 of the body (LE) | body`, the body being msgpack
 * (a state record's entries inside it in raft's compact binary entry encoding).
 * One `state` record carries a whole Ready (its entries and hard state), so a torn write loses the
 * whole Ready or nothing: replay never sees entries of a half-written Ready, nor a hard state
 * without the entries it commits.
 *
 * `scanRecords` tells a torn tail (a crash mid-write: the final record is short, or has a bad CRC
 * with nothing but zeros after it up to EOF, or the tail is all zeros) from corruption (anything
 * else). Known limit: a bit
 * flip that makes a length point past EOF looks exactly like a torn write and is treated as one.
 * Pure. No I/O.
 */

import { crc32 } from 'node:zlib';
import {
  decodeEntries,
  type Entry,
  encodeEntries,
  type HardState,
  type Index,
  type Term,
  validateEntry,
} from '@tsetcd/raft';
import { pooledBytes } from '@tsetcd/transport';
import {
  decodeValue,
  encodeValueShared,
  StoredValueError,
  validateCounter,
  validateHardState,
} from '../codec.js';

/** Bytes of a record header: length and CRC. */
export const RECORD_HEADER_BYTES = 8;

/** Opaque host bytes (etcd keeps node and cluster IDs here), repeated at the head of every segment. */
export interface MetadataRecord {
  readonly type: 'metadata';
  readonly data: Uint8Array;
}

/** One Ready's worth of log writes: entries (replacing any at the same or later index), then hard state. */
export interface StateRecord {
  readonly type: 'state';
  readonly entries: readonly Entry[];
  readonly hardState?: HardState;
}

/** Says a snapshot file at (index, term) is durable; replay may start from it. */
export interface SnapshotRecord {
  readonly type: 'snapshot';
  readonly index: Index;
  readonly term: Term;
}

/** Anything the WAL stores. */
export type WalRecord = MetadataRecord | StateRecord | SnapshotRecord;

/** The body of a record as msgpack: short keys, since every entry pays for them. */
function toBody(r: WalRecord): unknown {
  switch (r.type) {
    case 'metadata':
      return { t: 'm', d: r.data };
    case 'snapshot':
      return { t: 's', i: r.index, r: r.term };
    case 'state': {
      // Entries in raft's compact binary form (`E`): every write pays for this encoding.
      const E = encodeEntries(r.entries, pooledBytes);
      return r.hardState === undefined ? { t: 'e', E } : { t: 'e', E, h: r.hardState };
    }
  }
}

/** Frames a value as `length | crc | body` (shared by WAL records and snapshot files). */
export function frame(body: Uint8Array): Uint8Array {
  // From Node's buffer pool (an ArrayBuffer of its own costs ~0.7 µs per record); every byte is
  // written here, and its shared `.buffer` is never read.
  const out = pooledBytes(RECORD_HEADER_BYTES + body.length);
  writeU32LE(out, 0, body.length);
  writeU32LE(out, 4, crc32(body));
  out.set(body, RECORD_HEADER_BYTES);
  return out;
}

function writeU32LE(out: Uint8Array, at: number, n: number): void {
  out[at] = n & 0xff;
  out[at + 1] = (n >>> 8) & 0xff;
  out[at + 2] = (n >>> 16) & 0xff;
  out[at + 3] = n >>> 24;
}

/** The framed bytes of one record. */
export function encodeRecord(r: WalRecord): Uint8Array {
  return frame(encodeValueShared(toBody(r)));
}

/** Decodes and validates a record body; throws StoredValueError naming the bad field. */
export function decodeRecordBody(body: Uint8Array): WalRecord {
  const v = decodeValue(body);
  if (typeof v !== 'object' || v === null) throw new StoredValueError('record must be an object');
  const o = v as Record<string, unknown>;
  try {
    switch (o.t) {
      case 'm':
        if (!(o.d instanceof Uint8Array)) throw new StoredValueError('metadata.data must be bytes');
        return { type: 'metadata', data: new Uint8Array(o.d) };
      case 's':
        return {
          type: 'snapshot',
          index: validateCounter(o.i, 'snapshot.index') as Index,
          term: validateCounter(o.r, 'snapshot.term') as Term,
        };
      case 'e': {
        let entries: Entry[];
        if (o.E instanceof Uint8Array) entries = decodeEntries(o.E, 'state.entries').map(copyEntry);
        else if (Array.isArray(o.e))
          entries = o.e.map((e, i) => copyEntry(validateEntry(e, `state.entries[${i}]`)));
        else throw new StoredValueError('state.entries must be bytes (or, in older segments, an array)');
        if (o.h === undefined) return { type: 'state', entries };
        return { type: 'state', entries, hardState: validateHardState(o.h, 'state.hardState') };
      }
      default:
        throw new StoredValueError(`unknown record type ${String(o.t)}`);
    }
  } catch (err) {
    if (err instanceof StoredValueError) throw err;
    throw new StoredValueError((err as Error).message);
  }
}

/** Copies payload bytes out of the segment buffer so a retained entry does not pin the whole file. */
function copyEntry(e: Entry): Entry {
  if (e.type === 'EntryNormal') return { ...e, data: new Uint8Array(e.data) };
  return { ...e, change: { ...e.change, context: new Uint8Array(e.change.context) } };
}

/** Why a scan stopped before the end of the buffer. */
export type ScanStop =
  | { readonly kind: 'end' }
  | { readonly kind: 'torn'; readonly offset: number; readonly detail: string }
  | { readonly kind: 'corrupt'; readonly offset: number; readonly detail: string };

/** The records found in a buffer, and where (and why) the valid part ends. */
export interface ScanResult {
  readonly records: WalRecord[];
  /** Offset just past the last valid record. */
  readonly validBytes: number;
  readonly stop: ScanStop;
}

/** A block of zeros to compare tails against (natively: a preallocated tail is megabytes long). */
const ZEROS = Buffer.alloc(64 * 1024);

function allZero(buf: Uint8Array, from: number): boolean {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  for (let i = from; i < b.length; i += ZEROS.length) {
    const end = Math.min(b.length, i + ZEROS.length);
    if (b.compare(ZEROS, 0, end - i, i, end) !== 0) return false;
  }
  return true;
}

/**
 * Reads framed records from `buf`. A damaged final record is reported as `torn` (the caller decides
 * whether a torn tail is allowed: only in the last segment); anything else damaged is `corrupt`.
 * A record whose CRC holds but whose body does not decode is always `corrupt`.
 */
export function scanRecords(buf: Uint8Array): ScanResult {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const records: WalRecord[] = [];
  let off = 0;
  const done = (stop: ScanStop): ScanResult => ({ records, validBytes: off, stop });
  while (off < buf.length) {
    const remaining = buf.length - off;
    if (remaining < RECORD_HEADER_BYTES) return done({ kind: 'torn', offset: off, detail: 'short header' });
    const len = view.getUint32(off, true);
    const crc = view.getUint32(off + 4, true);
    if (len === 0) {
      if (allZero(buf, off)) return done({ kind: 'torn', offset: off, detail: 'zero-filled tail' });
      return done({ kind: 'corrupt', offset: off, detail: 'zero-length record' });
    }
    const end = off + RECORD_HEADER_BYTES + len;
    if (end > buf.length) return done({ kind: 'torn', offset: off, detail: `short body (${len} bytes)` });
    const body = buf.subarray(off + RECORD_HEADER_BYTES, end);
    if (crc32(body) !== crc) {
      // The last record (nothing after it but a preallocated segment's zeros) was torn.
      const kind = allZero(buf, end) ? 'torn' : 'corrupt';
      return done({ kind, offset: off, detail: 'CRC mismatch' });
    }
    try {
      records.push(decodeRecordBody(body));
    } catch (err) {
      return done({ kind: 'corrupt', offset: off, detail: (err as Error).message });
    }
    off = end;
  }
  return done({ kind: 'end' });
}

/** The parts joined into one buffer (the part itself when there is one). */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}
