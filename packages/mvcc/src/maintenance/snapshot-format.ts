/**
 * The snapshot stream format: a header, length-prefixed key/value records in key order, an end
 * marker with the record count, and a SHA-256 of everything before it.
 *
 *   header   "TSETCDSN" | u32 version (1)
 *   record   u32 keyLen (1 .. MAX_RECORD_BYTES) | key | u32 valueLen | value        (repeated)
 *   end      u32 0xffffffff | u64 recordCount
 *   trailer  SHA-256 (32 bytes) of header, records and end
 *
 * Integers are big-endian. The SHA-256 guards against damage in transit or at rest, not against
 * tampering (anyone can recompute it). Encoding and decoding only: no backend, no store.
 */

import { createHash, type Hash } from 'node:crypto';
import { compareBytes } from '../bytes.js';
import { SnapshotIntegrityError } from './errors.js';

const MAGIC = new TextEncoder().encode('TSETCDSN');
/** The format version written; a reader refuses any other. */
export const SNAPSHOT_FORMAT_VERSION = 1;
/** The largest key or value accepted in a record: a corrupted length fails fast, not by OOM. */
export const MAX_RECORD_BYTES = 256 * 1024 * 1024;
/** Size the writer gathers records into before yielding a chunk. */
export const SNAPSHOT_CHUNK_BYTES = 64 * 1024;
const END_MARK = 0xffffffff;
const DIGEST_BYTES = 32;

/** One record of a snapshot: a raw backend entry. */
export interface SnapshotRecord {
  readonly key: Uint8Array;
  readonly value: Uint8Array;
}

/** Encodes entries (in key order) as a snapshot stream of ~SNAPSHOT_CHUNK_BYTES chunks. */
export async function* encodeSnapshot(
  entries: AsyncIterable<readonly [Uint8Array, Uint8Array]>,
): AsyncIterable<Uint8Array> {
  const sha = createHash('sha256');
  const chunks = new ChunkBuilder();
  const header = new Uint8Array(MAGIC.length + 4);
  header.set(MAGIC);
  new DataView(header.buffer).setUint32(MAGIC.length, SNAPSHOT_FORMAT_VERSION);
  chunks.push(header);
  let count = 0;
  for await (const [key, value] of entries) {
    if (key.length > MAX_RECORD_BYTES || value.length > MAX_RECORD_BYTES) {
      throw new RangeError(`snapshot: an entry exceeds ${MAX_RECORD_BYTES} bytes`);
    }
    chunks.push(u32(key.length), key, u32(value.length), value);
    count++;
    if (chunks.size >= SNAPSHOT_CHUNK_BYTES) yield hashed(sha, chunks.take());
  }
  const end = new Uint8Array(12);
  const dv = new DataView(end.buffer);
  dv.setUint32(0, END_MARK);
  dv.setBigUint64(4, BigInt(count));
  chunks.push(end);
  yield hashed(sha, chunks.take());
  yield new Uint8Array(sha.digest());
}

function hashed(sha: Hash, chunk: Uint8Array): Uint8Array {
  sha.update(chunk);
  return chunk;
}

/** What the decoder reports once the whole stream verified. */
export interface SnapshotSummary {
  /** Number of records. */
  readonly records: number;
  /** Bytes of the whole stream, trailer included. */
  readonly bytes: number;
}

/**
 * Decodes a snapshot stream, yielding its records as they arrive and returning the summary.
 * Records are yielded BEFORE the checksum is known: a consumer must not expose them until the
 * generator has returned (it throws SnapshotIntegrityError on any damage, at the end at latest).
 */
export async function* decodeSnapshot(
  source: AsyncIterable<Uint8Array>,
): AsyncGenerator<SnapshotRecord, SnapshotSummary, undefined> {
  const r = new StreamReader(source);
  try {
    const header = await r.read(MAGIC.length + 4, 'header');
    if (compareBytes(header.subarray(0, MAGIC.length), MAGIC) !== 0) {
      throw new SnapshotIntegrityError('not a tsetcd snapshot (bad magic)');
    }
    const version = view(header).getUint32(MAGIC.length);
    if (version !== SNAPSHOT_FORMAT_VERSION) {
      throw new SnapshotIntegrityError(`unsupported format version ${version}`);
    }
    let records = 0;
    let prev: Uint8Array | undefined;
    for (;;) {
      const keyLen = view(await r.read(4, 'record')).getUint32(0);
      if (keyLen === END_MARK) break;
      if (keyLen === 0) throw new SnapshotIntegrityError(`record ${records} has an empty key`);
      const key = await r.read(checkLength(keyLen, 'key'), 'key');
      const valueLen = checkLength(view(await r.read(4, 'value length')).getUint32(0), 'value');
      const value = await r.read(valueLen, 'value');
      if (prev !== undefined && compareBytes(prev, key) >= 0) {
        throw new SnapshotIntegrityError(`record ${records} is out of key order`);
      }
      prev = key;
      records++;
      yield { key, value };
    }
    const count = Number(view(await r.read(8, 'end marker')).getBigUint64(0));
    const computed = r.digest();
    const stored = await r.read(DIGEST_BYTES, 'checksum', false);
    if (compareBytes(computed, stored) !== 0) throw new SnapshotIntegrityError('SHA-256 mismatch');
    if (count !== records)
      throw new SnapshotIntegrityError(`end marker says ${count} records, read ${records}`);
    if (!(await r.atEnd())) throw new SnapshotIntegrityError('bytes after the checksum');
    return { records, bytes: r.consumed };
  } finally {
    await r.close();
  }
}

function checkLength(n: number, what: string): number {
  if (n > MAX_RECORD_BYTES)
    throw new SnapshotIntegrityError(`${what} length ${n} exceeds ${MAX_RECORD_BYTES}`);
  return n;
}

function u32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n);
  return b;
}

function view(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

/** Gathers small parts into one chunk. */
class ChunkBuilder {
  private parts: Uint8Array[] = [];
  size = 0;

  push(...parts: Uint8Array[]): void {
    for (const p of parts) {
      this.parts.push(p);
      this.size += p.length;
    }
  }

  take(): Uint8Array {
    const out = Buffer.concat(this.parts, this.size);
    this.parts = [];
    this.size = 0;
    return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  }
}

/** Reads exact byte counts from a chunked stream, hashing what it hands out. */
class StreamReader {
  private readonly it: AsyncIterator<Uint8Array>;
  private buf: Uint8Array = new Uint8Array(0);
  private pos = 0;
  private readonly sha = createHash('sha256');
  consumed = 0;

  constructor(source: AsyncIterable<Uint8Array>) {
    this.it = source[Symbol.asyncIterator]();
  }

  /** The next `n` bytes (a copy); SnapshotIntegrityError if the stream ends first. */
  async read(n: number, what: string, hashed = true): Promise<Uint8Array> {
    if (this.buf.length - this.pos < n) {
      // Gather whole chunks first and join once, so a record spanning many chunks is copied once.
      const parts = [this.buf.subarray(this.pos)];
      let have = parts[0]!.length;
      while (have < n) {
        const next = await this.it.next();
        if (next.done) throw new SnapshotIntegrityError(`stream truncated while reading ${what}`);
        parts.push(next.value);
        have += next.value.length;
      }
      const joined = Buffer.concat(parts, have);
      // A plain Uint8Array view, so slice() below copies (Buffer's slice would share memory).
      this.buf = new Uint8Array(joined.buffer, joined.byteOffset, joined.byteLength);
      this.pos = 0;
    }
    const out = this.buf.slice(this.pos, this.pos + n);
    this.pos += n;
    this.consumed += n;
    if (hashed) this.sha.update(out);
    return out;
  }

  /** Lets go of the source (closes a file stream left half-read). */
  async close(): Promise<void> {
    await this.it.return?.();
  }

  /** The SHA-256 of every hashed byte read so far. */
  digest(): Uint8Array {
    return new Uint8Array(this.sha.digest());
  }

  /** True if nothing but empty chunks remains. */
  async atEnd(): Promise<boolean> {
    if (this.pos < this.buf.length) return false;
    for (;;) {
      const next = await this.it.next();
      if (next.done) return true;
      if (next.value.length > 0) return false;
    }
  }
}
