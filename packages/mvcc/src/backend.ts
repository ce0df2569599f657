/**
 * Backend: the ordered byte-key store under the KV store (etcd's backend over bbolt; ours is
 * LevelDB, or memory). Writes are buffered and visible to `get` at once; `flush` makes everything
 * written so far durable in one atomic batch, so data and the applied index always travel
 * together. Iteration reads flushed data only: callers flush first.
 */

/** One entry of an iteration. */
export type BackendEntry = readonly [key: Uint8Array, value: Uint8Array];

/** Options of Backend.close. */
export interface CloseOptions {
  /** Drop buffered writes instead of flushing them (a simulated crash). */
  readonly discard?: boolean;
}

/** The storage engine interface the KV store needs. */
export interface Backend {
  /**
   * Optional: what the backend recovered its state from when opened (LevelDB: the MANIFEST that
   * CURRENT named), for messages about damage found only after opening.
   */
  readonly recoveredFrom?: string | undefined;
  /** Reads one key, including buffered writes. */
  get(key: Uint8Array): Uint8Array | undefined;
  /** Buffers a write. The backend may keep `key` and `value` as given: callers must not mutate them. */
  put(key: Uint8Array, value: Uint8Array): void;
  /**
   * Optional: buffers a write of a key the caller writes nowhere else until the next flush (the
   * store's revision keys, each written once), so the backend need not look for another write of
   * it. Without it, the store calls `put`. Unlike `put`, the caller may reuse `key` and `value`
   * afterwards: the backend copies whatever of them it keeps.
   */
  putFresh?(key: Uint8Array, value: Uint8Array): void;
  /** Buffers a delete. The backend may keep `key` as given: callers must not mutate it. */
  del(key: Uint8Array): void;
  /** Writes every buffered change in one atomic batch; resolves once it is written. */
  flush(): Promise<void>;
  /** Iterates flushed entries with gte <= key < lt, in key order, from a consistent snapshot. */
  iterate(gte: Uint8Array, lt: Uint8Array): AsyncIterable<BackendEntry>;
  /** Whether the backend holds no entry at all (without reading any value). */
  isEmpty(): Promise<boolean>;
  /** Approximate bytes used on disk (or in memory). */
  sizeBytes(): Promise<number>;
  /** Rewrites storage to reclaim the space of deleted entries (etcd's defrag). */
  defragment(): Promise<void>;
  /**
   * Flushes and releases resources; with `discard`, buffered writes are dropped instead of
   * flushed, as a crash would lose them (tests and simulations of a killed member).
   */
  close(opts?: CloseOptions): Promise<void>;
}
