/**
 * LevelBackend: the Backend on LevelDB (classic-level), with Uint8Array keys and values.
 *
 * Writes go to an in-memory overlay that `get` consults first; `flush` turns the overlay into one
 * LevelDB batch (atomic: all or nothing across a crash), written in order after earlier batches.
 * Until a batch is written its overlay stays readable, so reads never go back in time.
 */

import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ClassicLevel } from 'classic-level';
import type { Backend, BackendEntry } from './backend.js';
import { fromBinary, toBinary } from './bytes.js';
import { CorruptDataDirError, StoreClosedError } from './errors.js';

/** Options of a LevelDB backend. */
export interface LevelBackendOptions {
  /** fsync every batch (default true). A host whose raft WAL is already fsynced may turn it off. */
  readonly sync?: boolean;
}

type Overlay = Map<string, Uint8Array | null>;

const MIN_KEY = new Uint8Array([0]);
const MAX_KEY = new Uint8Array([0xff, 0xff, 0xff, 0xff]);

/** A LevelDB-backed Backend. Open with `LevelBackend.open(dir)`. */
export class LevelBackend implements Backend {
  private pending: Overlay = new Map();
  /** Overlays handed to LevelDB and not yet written, oldest first. */
  private readonly writing: Overlay[] = [];
  private lastWrite: Promise<void> = Promise.resolve();
  private closed = false;

  private constructor(
    private readonly db: ClassicLevel<Uint8Array, Uint8Array>,
    readonly dir: string,
    private readonly sync: boolean,
  ) {}

  /** Opens (creating if missing) the LevelDB in `dir`; damage is reported as CorruptDataDirError. */
  static async open(dir: string, opts: LevelBackendOptions = {}): Promise<LevelBackend> {
    const db = new ClassicLevel<Uint8Array, Uint8Array>(dir, { keyEncoding: 'view', valueEncoding: 'view' });
    try {
      await db.open();
    } catch (e) {
      throw new CorruptDataDirError(dir, describeLevelError(e));
    }
    return new LevelBackend(db, dir, opts.sync ?? true);
  }

  get(key: Uint8Array): Uint8Array | undefined {
    if (this.closed) throw new StoreClosedError();
    const k = toBinary(key);
    const p = this.pending.get(k);
    if (p !== undefined) return p ?? undefined;
    for (let i = this.writing.length - 1; i >= 0; i--) {
      const w = this.writing[i]!.get(k);
      if (w !== undefined) return w ?? undefined;
    }
    return this.db.getSync(key);
  }

  put(key: Uint8Array, value: Uint8Array): void {
    this.pending.set(toBinary(key), value);
  }

  del(key: Uint8Array): void {
    this.pending.set(toBinary(key), null);
  }

  flush(): Promise<void> {
    if (this.pending.size === 0) return this.lastWrite;
    const overlay = this.pending;
    this.pending = new Map();
    this.writing.push(overlay);
    const ops: ({ type: 'put'; key: Uint8Array; value: Uint8Array } | { type: 'del'; key: Uint8Array })[] =
      [];
    for (const [k, v] of overlay) {
      ops.push(
        v === null ? { type: 'del', key: fromBinary(k) } : { type: 'put', key: fromBinary(k), value: v },
      );
    }
    // Chained, so batches reach LevelDB in the order they were flushed.
    this.lastWrite = this.lastWrite.then(async () => {
      await this.db.batch(ops, { sync: this.sync });
      this.writing.shift();
    });
    return this.lastWrite;
  }

  async *iterate(gte: Uint8Array, lt: Uint8Array): AsyncIterable<BackendEntry> {
    await this.flush();
    const snapshot = this.db.snapshot();
    try {
      for await (const [k, v] of this.db.iterator({ gte, lt, snapshot })) yield [k, v];
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

  async close(): Promise<void> {
    if (this.closed) return;
    await this.flush();
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
