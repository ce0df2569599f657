/**
 * rangeStream: a range read as an async iterator of key-values, fetched in pages bounded by a
 * key count and (approximately) by bytes, every page at ONE revision — so reading a million keys
 * never holds more than a page, and the result is still a consistent snapshot.
 *
 *   1. The first page is a normal (linearizable unless `serializable`) read of at most
 *      `pageSize` keys; its header revision R becomes the stream's revision (or R = `revision`
 *      when given).
 *   2. Each following page reads at revision R from just after the last key seen, with a limit
 *      sized from the previous page: `pageBytes` divided by that page's average key+value size,
 *      clamped to [1, pageSize] — a page of large values shrinks the next one, small ones let it
 *      grow back. Byte bounds are approximate: one value larger than `pageBytes` is still a page.
 *   3. Later pages are serializable: this member served revision R already, and a read at a
 *      fixed past revision gives the same answer wherever it is served.
 *
 * If revision R is compacted while the stream is open, the next page fails and the iteration
 * throws mvcc's CompactedError (the snapshot cannot be finished; start again). Keys come in key order.
 */

import type { KeyValue, RangeRequest } from '@tsetcd/mvcc';
import type { Client } from '../node/client.js';
import type { CallOptions } from '../node/deadline.js';
import { type Bytes, type KeyRangeOptions, rangeEndFor, toBytes } from '../node/kv-client.js';

/** Keys per page unless told otherwise. */
export const DEFAULT_RANGE_PAGE_SIZE = 1000;
/** Approximate bytes (keys + values) per page unless told otherwise. */
export const DEFAULT_RANGE_PAGE_BYTES = 1 << 20;

/** Options of rangeStream. */
export interface RangeStreamOptions extends KeyRangeOptions, CallOptions {
  /** Max keys per page; default DEFAULT_RANGE_PAGE_SIZE. */
  readonly pageSize?: number;
  /** Approximate max bytes (key + value lengths) per page; default DEFAULT_RANGE_PAGE_BYTES. */
  readonly pageBytes?: number;
  /** Read at this revision (0/absent = the first page's revision). */
  readonly revision?: number;
  /** Serve the first page from this member's state too (may be stale). */
  readonly serializable?: boolean;
  /** Keys and revisions only, no values. */
  readonly keysOnly?: boolean;
}

/** A paged, single-revision range read; iterate it once. See the file comment. */
export class RangeStream implements AsyncIterable<KeyValue> {
  private rev: number | undefined;
  private started = false;
  private pageCount = 0;

  /** @internal Made by rangeStream. */
  constructor(
    private readonly client: Client,
    private readonly key: Uint8Array,
    private readonly rangeEnd: Uint8Array | undefined,
    private readonly opts: RangeStreamOptions,
  ) {
    const size = opts.pageSize ?? DEFAULT_RANGE_PAGE_SIZE;
    const bytes = opts.pageBytes ?? DEFAULT_RANGE_PAGE_BYTES;
    if (!Number.isSafeInteger(size) || size < 1) throw new RangeError(`rangeStream: bad pageSize ${size}`);
    if (!(bytes > 0)) throw new RangeError(`rangeStream: bad pageBytes ${bytes}`);
  }

  /** The revision every page is read at; known once the first page has been read. */
  get revision(): number | undefined {
    return this.rev;
  }

  /** Pages read so far. */
  get pages(): number {
    return this.pageCount;
  }

  [Symbol.asyncIterator](): AsyncIterator<KeyValue, undefined> {
    if (this.started) throw new TypeError('rangeStream: a RangeStream can be iterated only once');
    this.started = true;
    return this.run()[Symbol.asyncIterator]();
  }

  private async *run(): AsyncGenerator<KeyValue, undefined, undefined> {
    const pageSize = this.opts.pageSize ?? DEFAULT_RANGE_PAGE_SIZE;
    const pageBytes = this.opts.pageBytes ?? DEFAULT_RANGE_PAGE_BYTES;
    const call: CallOptions = {
      ...(this.opts.signal !== undefined ? { signal: this.opts.signal } : {}),
      ...(this.opts.timeoutMs !== undefined ? { timeoutMs: this.opts.timeoutMs } : {}),
    };
    let from = this.key;
    let limit = pageSize;
    if (this.opts.revision !== undefined && this.opts.revision > 0) this.rev = this.opts.revision;
    for (;;) {
      const first = this.pageCount === 0;
      const req: RangeRequest = {
        key: from,
        ...(this.rangeEnd !== undefined ? { rangeEnd: this.rangeEnd } : {}),
        limit,
        ...(this.rev !== undefined ? { revision: this.rev } : {}),
        ...(first ? (this.opts.serializable ? { serializable: true } : {}) : { serializable: true }),
        ...(this.opts.keysOnly ? { keysOnly: true } : {}),
      };
      const page = await this.client.kv.range(req, call);
      this.pageCount++;
      if (this.rev === undefined) this.rev = page.header.revision;
      let bytes = 0;
      for (const kv of page.kvs) bytes += kv.key.length + kv.value.length;
      const last = page.kvs.at(-1);
      for (const kv of page.kvs) yield kv;
      if (!page.more || last === undefined || this.rangeEnd === undefined) return undefined;
      from = keySuccessor(last.key);
      const avg = bytes / page.kvs.length;
      limit = Math.max(1, Math.min(pageSize, Math.floor(pageBytes / Math.max(1, avg))));
    }
  }
}

/**
 * Reads `key` (or the range `opts` gives) page by page at one revision; see the file comment.
 * @throws CompactedError from the iteration if the stream's revision is compacted before the last page.
 */
export function rangeStream(client: Client, key: Bytes, opts: RangeStreamOptions = {}): RangeStream {
  const k = toBytes(key);
  return new RangeStream(client, k, rangeEndFor(k, opts), opts);
}

/** The smallest key after `key` (etcd's clientv3 paging: key + "\0"). */
function keySuccessor(key: Uint8Array): Uint8Array {
  const next = new Uint8Array(key.length + 1);
  next.set(key);
  return next;
}
