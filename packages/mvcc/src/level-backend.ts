/**
 * LevelBackend: the Backend on LevelDB (classic-level), with Uint8Array keys and values.
 *
 * Writes go to an in-memory overlay that `get` consults first; `flush` turns the overlay into one
 * LevelDB batch (atomic: all or nothing across a crash), written in order after earlier batches.
 * Until a batch is written its overlay stays readable, so reads never go back in time.
 *
 * Every stored value starts with a CRC32 of key and value, verified on every read: classic-level
 * never enables LevelDB's own checksum verification, so without this a bit flip inside a table
 * file would be served as data.
 */

import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { ClassicLevel } from 'classic-level';
import type { Backend, BackendEntry, CloseOptions } from './backend.js';
import { toBinary } from './bytes.js';
import { CorruptDataDirError, StoreClosedError } from './errors.js';
import { WriteOverlay } from './write-overlay.js';

/** Options of a LevelDB backend. */
export interface LevelBackendOptions {
  /** fsync every batch (default true). A host whose raft WAL is already fsynced may turn it off. */
  readonly sync?: boolean;
  /** Bytes of values read from LevelDB kept in memory (default DEFAULT_READ_CACHE_BYTES; 0 = none). */
  readonly readCacheBytes?: number;
}

/**
 * Bytes of values read from LevelDB kept in memory, so that hot reads skip LevelDB, whose
 * synchronous get costs ~3.5 µs even from its block cache. Filled by reads only: caching every
 * write cost puts more than it saved reads. A write or delete of a key drops its entry.
 */
export const DEFAULT_READ_CACHE_BYTES = 64 * 1024 * 1024;
/** Bytes a cache entry costs beyond its key and value (Map entry, string and array headers). */
const CACHE_ENTRY_OVERHEAD = 96;

const MIN_KEY = new Uint8Array([0]);
const MAX_KEY = new Uint8Array([0xff, 0xff, 0xff, 0xff]);

/** A LevelDB-backed Backend. Open with `LevelBackend.open(dir)`. */
export class LevelBackend implements Backend {
  private pending = new WriteOverlay();
  /** Overlays handed to LevelDB and not yet written, oldest first. */
  private readonly writing: WriteOverlay[] = [];
  private lastWrite: Promise<void> = Promise.resolve();
  private closed = false;
  /** Values read from LevelDB. Invariant: cacheBytes <= readCacheBytes. */
  private readonly cache = new Map<string, Uint8Array>();
  private cacheBytes = 0;
  /**
   * Cached keys, oldest first, from `evictAt` on (a key cached twice appears twice; evicting it
   * early is harmless). Kept apart from the Map: iterating a Map from its start after many
   * deletions walks every deleted slot, which made eviction quadratic.
   */
  private evictOrder: string[] = [];
  private evictAt = 0;
  private readonly sealer = new Sealer();

  private constructor(
    private readonly db: ClassicLevel<Uint8Array, Uint8Array>,
    readonly dir: string,
    private readonly sync: boolean,
    private readonly readCacheBytes: number,
  ) {}

  /**
   * Opens (creating if missing) the LevelDB in `dir`. Damage is reported as CorruptDataDirError
   * naming the file where it can be told: LevelDB's own error, the log records its recovery
   * dropped (it reports them in its LOG file and opens anyway), or an existing LevelDB that
   * recovered empty (a truncated MANIFEST: LevelDB falls back to a version without tables).
   */
  static async open(dir: string, opts: LevelBackendOptions = {}): Promise<LevelBackend> {
    // Read before opening: a successful open replaces the MANIFEST that CURRENT names.
    const manifest = await readFile(join(dir, 'CURRENT'), 'utf8').then(
      (s) => s.trim(),
      () => undefined,
    );
    const db = new ClassicLevel<Uint8Array, Uint8Array>(dir, { keyEncoding: 'view', valueEncoding: 'view' });
    try {
      await db.open();
    } catch (e) {
      throw new CorruptDataDirError(dir, `${describeLevelError(e)}${await suspectFiles(dir, manifest)}`);
    }
    const backend = new LevelBackend(
      db,
      dir,
      opts.sync ?? true,
      opts.readCacheBytes ?? DEFAULT_READ_CACHE_BYTES,
    );
    let problem: string | undefined;
    try {
      problem =
        (await droppedByRecovery(dir)) ??
        (manifest !== undefined && (await backend.isEmpty()) ? `${EMPTIED} (it was ${manifest})` : undefined);
    } catch (e) {
      // Reading the first key can hit a damaged table (a truncated .ldb is an IO error).
      await backend.close().catch(() => undefined);
      throw isLevelDataError(e) ? new CorruptDataDirError(dir, describeLevelError(e)) : e;
    }
    if (problem !== undefined) {
      await backend.close();
      throw new CorruptDataDirError(dir, problem);
    }
    return backend;
  }

  get(key: Uint8Array): Uint8Array | undefined {
    if (this.closed) throw new StoreClosedError();
    const k = toBinary(key);
    const p = this.pending.lookup(k);
    if (p !== undefined) return p ?? undefined;
    for (let i = this.writing.length - 1; i >= 0; i--) {
      const w = this.writing[i]!.lookup(k);
      if (w !== undefined) return w ?? undefined;
    }
    const cached = this.cache.get(k);
    if (cached !== undefined) return cached;
    let stored: Uint8Array | undefined;
    try {
      stored = this.db.getSync(key);
    } catch (e) {
      throw this.readError(e, key);
    }
    if (stored === undefined) return undefined;
    const v = this.unseal(key, stored);
    this.remember(k, v);
    return v;
  }

  private remember(k: string, v: Uint8Array): void {
    this.forget(k);
    const size = k.length + v.length + CACHE_ENTRY_OVERHEAD;
    if (size > this.readCacheBytes) return;
    this.cache.set(k, v);
    this.cacheBytes += size;
    this.evictOrder.push(k);
    while (this.cacheBytes > this.readCacheBytes) this.forget(this.evictOrder[this.evictAt++]!);
    if (this.evictAt > 4096 && this.evictAt * 2 > this.evictOrder.length) {
      this.evictOrder = this.evictOrder.slice(this.evictAt);
      this.evictAt = 0;
    }
  }

  private forget(k: string): void {
    const old = this.cache.get(k);
    if (old === undefined) return;
    this.cache.delete(k);
    this.cacheBytes -= k.length + old.length + CACHE_ENTRY_OVERHEAD;
  }

  // The read cache's entries for written keys are dropped at flush, not here: until its batch is
  // written, a key's newest write is read from the overlays, which `get` consults first.
  put(key: Uint8Array, value: Uint8Array): void {
    this.pending.add(key, value);
  }

  putFresh(key: Uint8Array, value: Uint8Array): void {
    this.pending.addFresh(key, value);
  }

  del(key: Uint8Array): void {
    this.pending.add(key, null);
  }

  flush(): Promise<void> {
    if (this.pending.size === 0) return this.lastWrite;
    const overlay = this.pending;
    this.pending = new WriteOverlay();
    this.writing.push(overlay);
    if (this.cache.size > 0) {
      overlay.forEach((key) => {
        this.forget(toBinary(key));
      });
    }
    // A chained batch hands each op straight to LevelDB's WriteBatch; the array form of batch()
    // clones, validates and re-encodes every op in JavaScript first (about 3x slower).
    const batch = this.db.batch();
    overlay.forEach((key, v) => {
      if (v === null) batch.del(key);
      else batch.put(key, this.sealer.seal(key, v));
    });
    // Chained, so batches reach LevelDB in the order they were flushed.
    this.lastWrite = this.lastWrite.then(async () => {
      await batch.write({ sync: this.sync });
      this.writing.shift();
    });
    return this.lastWrite;
  }

  async *iterate(gte: Uint8Array, lt: Uint8Array): AsyncIterable<BackendEntry> {
    await this.flush();
    const snapshot = this.db.snapshot();
    let at = gte;
    try {
      for await (const [k, v] of this.db.iterator({ gte, lt, snapshot })) {
        at = k;
        yield [k, this.unseal(k, v)];
      }
    } catch (e) {
      throw this.readError(e, at);
    } finally {
      await snapshot.close();
    }
  }

  async sizeBytes(): Promise<number> {
    let total = 0;
    for (const name of await readdir(this.dir)) {
      const s = await stat(join(this.dir, name)).catch(() => undefined);
      if (s?.isFile()) total += s.size;
    }
    return total;
  }

  async defragment(): Promise<void> {
    await this.flush();
    await this.db.compactRange(MIN_KEY, MAX_KEY);
  }

  /** Checks and strips the checksum of a stored value. */
  private unseal(key: Uint8Array, stored: Uint8Array): Uint8Array {
    const value = stored.subarray(CHECKSUM_BYTES);
    if (stored.length < CHECKSUM_BYTES || readU32(stored) !== checksum(key, value)) {
      const tables = tablesHolding(this.db.getProperty('leveldb.sstables'), key);
      const where = tables.length > 0 ? ` in ${tables.join(' or ')}` : ' (in the log or memtable)';
      throw new CorruptDataDirError(this.dir, `checksum mismatch for a stored entry${where}`);
    }
    return value;
  }

  /** Whether the LevelDB holds no entry at all. */
  async isEmpty(): Promise<boolean> {
    for await (const _ of this.db.keys({ limit: 1 })) return false;
    return true;
  }

  /** A LevelDB read error as CorruptDataDirError, naming the table files that hold `near`. */
  private readError(e: unknown, near: Uint8Array): unknown {
    if (e instanceof StoreClosedError || !isLevelDataError(e)) return e;
    const tables = tablesHolding(this.db.getProperty('leveldb.sstables'), near);
    const where = tables.length > 0 ? ` (reading ${tables.join(' or ')})` : '';
    return new CorruptDataDirError(this.dir, `${describeLevelError(e)}${where}`);
  }

  async close(opts: CloseOptions = {}): Promise<void> {
    if (this.closed) return;
    if (opts.discard) {
      this.pending = new WriteOverlay();
      await this.lastWrite.catch(() => undefined);
    } else {
      await this.flush();
    }
    this.closed = true;
    await this.db.close();
  }
}

function describeLevelError(e: unknown): string {
  const parts: string[] = [];
  let cur: unknown = e;
  while (cur instanceof Error) {
    parts.push(cur.message);
    cur = (cur as { cause?: unknown }).cause;
  }
  return parts.join(': ') || String(e);
}

/** Bytes of the per-entry checksum that precedes every stored value. */
const CHECKSUM_BYTES = 4;

function checksum(key: Uint8Array, value: Uint8Array): number {
  return crc32(value, crc32(key));
}

function readU32(b: Uint8Array): number {
  return ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
}

/**
 * Makes the stored form of values — CRC32(key, value) big-endian, then the value — in one reused
 * buffer: LevelDB's batch copies each op as it is added (classic-level's batch_put), so the
 * sealed bytes need only live until `batch.put` returns, and a fresh array per entry (its own
 * ArrayBuffer past 64 bytes) cost a put more than its checksum.
 */
class Sealer {
  private buf = new Uint8Array(1024);

  /** The sealed form of `value`, valid until the next call. */
  seal(key: Uint8Array, value: Uint8Array): Uint8Array {
    const n = CHECKSUM_BYTES + value.length;
    if (n > this.buf.length) this.buf = new Uint8Array(Math.max(n, this.buf.length * 2));
    const out = this.buf;
    const c = checksum(key, value);
    out[0] = c >>> 24;
    out[1] = (c >>> 16) & 0xff;
    out[2] = (c >>> 8) & 0xff;
    out[3] = c & 0xff;
    out.set(value, CHECKSUM_BYTES);
    return out.subarray(0, n);
  }
}

const EMPTIED =
  'the LevelDB exists but recovered with no entries at all: its MANIFEST or log was truncated or lost ' +
  '(remove the dir only if it never held a store)';

/** LevelDB errors that mean damaged data, as opposed to misuse. */
function isLevelDataError(e: unknown): boolean {
  const code = (e as { code?: unknown }).code;
  const message = e instanceof Error ? e.message : '';
  return code === 'LEVEL_CORRUPTION' || code === 'LEVEL_IO_ERROR' || /^(Corruption|IO error):/.test(message);
}

/**
 * LevelDB writes what its log recovery dropped to the LOG file ("…/000003.log: dropping 32768
 * bytes; Corruption: checksum mismatch") and opens anyway unless paranoid_checks is set, which
 * classic-level never sets. A torn tail (a crash mid-write) is not reported there, so any such
 * line means damage.
 */
async function droppedByRecovery(dir: string): Promise<string | undefined> {
  const log = await readFile(join(dir, 'LOG'), 'utf8').catch(() => '');
  const dropped = log.split('\n').filter((l) => /: dropping \d+ bytes; /.test(l));
  if (dropped.length === 0) return undefined;
  return `log recovery dropped records: ${dropped.map((l) => l.replace(/^\S+ \S+ /, '').replace(`${dir}/`, '')).join('; ')}`;
}

/** For an open failure: the files LevelDB was recovering, when its message names none. */
async function suspectFiles(dir: string, manifest: string | undefined): Promise<string> {
  const dropped = await droppedByRecovery(dir);
  if (dropped !== undefined) return ` (${dropped})`;
  return manifest === undefined ? '' : ` (recovering ${manifest}, named by CURRENT)`;
}

/**
 * The table files whose key range holds `key`, from LevelDB's "leveldb.sstables" property:
 * lines like " 5:40449['\x01\x00…' @ 1 : 1 .. 'key-99' @ 301 : 1]" (keys escaped as \xHH).
 */
function tablesHolding(sstables: string, key: Uint8Array): string[] {
  const k = toBinary(key);
  const out: string[] = [];
  for (const m of sstables.matchAll(/^ (\d+):\d+\['(.*)' @ \d+ : \d+ \.\. '(.*)' @ \d+ : \d+\]$/gm)) {
    const [, num, smallest, largest] = m;
    if (unescapeLevelKey(smallest!) <= k && k <= unescapeLevelKey(largest!))
      out.push(`${num!.padStart(6, '0')}.ldb`);
  }
  return out;
}

/** Undoes LevelDB's EscapeString (non-printable bytes as \xHH) into a binary string. */
function unescapeLevelKey(s: string): string {
  return s.replace(/\\x([0-9a-f]{2})/g, (_, h: string) => String.fromCharCode(Number.parseInt(h, 16)));
}
