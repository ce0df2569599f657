/**
 * keyspace: a typed view of the keys under a prefix — values encoded as JSON or msgpack and
 * checked against a zod schema on every write AND every read. A write of a bad value throws
 * KeyspaceValidationError before anything is proposed; a stored value that does not decode or
 * does not match (written by another program, an older schema, a raw put) is reported as a
 * KeyspaceValidationError naming its key and the zod issues — never returned as the wrong type.
 *
 * Values are stored as given (the schema's input), and read through the schema (its output), so
 * a schema with defaults or transforms applies them on each read.
 *
 * Not here: schema migration and key encoding beyond `<prefix>/<name>` (names are UTF-8 strings,
 * which may themselves contain '/').
 */

import { decode as msgpackDecode, encode as msgpackEncode } from '@msgpack/msgpack';
import type { Compare, KeyValue, LeaseId, RequestOp } from '@tsetcd/mvcc';
import type { z } from 'zod';
import type { Clock } from '../clock.js';
import { CoreError } from '../errors.js';
import type { Client } from '../node/client.js';
import type { CallOptions } from '../node/deadline.js';
import { toBytes } from '../node/kv-client.js';
import { rangeStream } from './range-stream.js';
import { watchResilient } from './resilient-watch.js';

/** How values are encoded in the store. */
export type KeyspaceCodec = 'json' | 'msgpack';

/** One zod issue, as reported by KeyspaceValidationError. */
export type KeyspaceIssue = z.core.$ZodIssue;

/** A value did not match the keyspace's schema: on write (nothing written) or on read (stored value). */
export class KeyspaceValidationError extends CoreError {
  readonly code = 'ErrKeyspaceValidation';
  constructor(
    /** The full key. */
    readonly key: string,
    /** Whether the bad value was being written or was read from the store. */
    readonly direction: 'write' | 'read',
    /** zod's issues (a value that does not decode at all gets one 'custom' issue). */
    readonly issues: readonly KeyspaceIssue[],
  ) {
    super(
      `keyspace: ${direction === 'write' ? 'refusing to write' : 'stored'} invalid value at '${key}': ${issues
        .map((i) => `${i.path.length > 0 ? `${i.path.join('.')}: ` : ''}${i.message}`)
        .join('; ')}`,
    );
    this.name = 'KeyspaceValidationError';
  }
}

/** A typed key-value: the schema's output, with etcd's revisions. */
export interface TypedKeyValue<T> {
  /** The name within the keyspace. */
  readonly name: string;
  /** The full key. */
  readonly key: string;
  readonly value: T;
  readonly createRevision: number;
  readonly modRevision: number;
  readonly version: number;
  readonly lease: LeaseId;
}

/** What Keyspace.watch yields. */
export type KeyspaceWatchItem<T> =
  | { readonly type: 'put'; readonly entry: TypedKeyValue<T>; readonly revision: number }
  | { readonly type: 'delete'; readonly name: string; readonly revision: number }
  /** The whole keyspace at `revision` (after a compaction, or first with `initial`); replace your view. */
  | {
      readonly type: 'resync';
      readonly entries: readonly TypedKeyValue<T>[];
      readonly invalid: readonly KeyspaceValidationError[];
      readonly revision: number;
    }
  /** A value was written that does not match the schema. */
  | { readonly type: 'invalid'; readonly error: KeyspaceValidationError; readonly revision: number };

/** Options of keyspace. */
export interface KeyspaceOptions {
  /** Default 'json'. */
  readonly codec?: KeyspaceCodec;
}

/** Options of Keyspace.list. */
export interface KeyspaceListOptions extends CallOptions {
  readonly pageSize?: number;
  readonly pageBytes?: number;
  readonly revision?: number;
  /** Called with each stored value that fails validation, which is then skipped; absent = throw it. */
  readonly onInvalid?: (err: KeyspaceValidationError) => void;
}

/** Options of Keyspace.watch. */
export interface KeyspaceWatchOptions {
  /** First revision to deliver; 0 = the next write. */
  readonly startRevision?: number;
  /** Start with a resync item holding the whole keyspace. */
  readonly initial?: boolean;
  readonly signal?: AbortSignal;
  readonly clock?: Clock;
  readonly retryMs?: number;
}

/** Typed get / put / list / watch / txn over the keys under one prefix; see the file comment. */
export class Keyspace<S extends z.ZodType> {
  private readonly prefix: string;

  /** @internal Made by keyspace(). */
  constructor(
    private readonly client: Client,
    prefix: string,
    private readonly schema: S,
    private readonly codec: KeyspaceCodec,
  ) {
    if (prefix.length === 0) throw new RangeError('keyspace: prefix must be non-empty');
    this.prefix = prefix.endsWith('/') ? prefix : `${prefix}/`;
  }

  /** The full key of `name`. */
  keyOf(name: string): string {
    if (name.length === 0) throw new RangeError('keyspace: name must be non-empty');
    return this.prefix + name;
  }

  /** The value of `name`, or undefined; KeyspaceValidationError if the stored value is invalid. */
  async get(
    name: string,
    opts: CallOptions & { readonly revision?: number; readonly serializable?: boolean } = {},
  ): Promise<TypedKeyValue<z.output<S>> | undefined> {
    const r = await this.client.kv.get(this.keyOf(name), opts);
    const kv = r.kvs[0];
    return kv === undefined ? undefined : this.decode(kv);
  }

  /** Validates and writes `value`; resolves with the write's revision. */
  async put(
    name: string,
    value: z.input<S>,
    opts: CallOptions & { readonly lease?: LeaseId } = {},
  ): Promise<{ readonly revision: number }> {
    const key = this.keyOf(name);
    const r = await this.client.kv.put(key, this.encode(key, value), opts);
    return { revision: r.header.revision };
  }

  /** Deletes `name`; resolves with whether it existed. */
  async delete(name: string, opts: CallOptions = {}): Promise<boolean> {
    const r = await this.client.kv.delete(this.keyOf(name), opts);
    return r.deleted > 0;
  }

  /** Every entry, in name order, read in pages at one revision (see rangeStream). */
  async *list(opts: KeyspaceListOptions = {}): AsyncGenerator<TypedKeyValue<z.output<S>>, void, undefined> {
    const stream = rangeStream(this.client, this.prefix, {
      prefix: true,
      ...(opts.pageSize !== undefined ? { pageSize: opts.pageSize } : {}),
      ...(opts.pageBytes !== undefined ? { pageBytes: opts.pageBytes } : {}),
      ...(opts.revision !== undefined ? { revision: opts.revision } : {}),
      ...(opts.signal !== undefined ? { signal: opts.signal } : {}),
      ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
    });
    for await (const kv of stream) {
      const r = this.tryDecode(kv);
      if (r instanceof KeyspaceValidationError) {
        if (opts.onInvalid === undefined) throw r;
        opts.onInvalid(r);
      } else yield r;
    }
  }

  /** Typed changes of the keyspace, surviving compaction (see watchResilient). */
  async *watch(
    opts: KeyspaceWatchOptions = {},
  ): AsyncGenerator<KeyspaceWatchItem<z.output<S>>, void, undefined> {
    const items = watchResilient(this.client, this.prefix, {
      prefix: true,
      ...(opts.startRevision !== undefined ? { startRevision: opts.startRevision } : {}),
      ...(opts.initial ? { initialResync: true } : {}),
      ...(opts.signal !== undefined ? { signal: opts.signal } : {}),
      ...(opts.clock !== undefined ? { clock: opts.clock } : {}),
      ...(opts.retryMs !== undefined ? { retryMs: opts.retryMs } : {}),
    });
    for await (const item of items) {
      if (item.type === 'resync') {
        const entries: TypedKeyValue<z.output<S>>[] = [];
        const invalid: KeyspaceValidationError[] = [];
        for (const kv of item.kvs) {
          const r = this.tryDecode(kv);
          if (r instanceof KeyspaceValidationError) invalid.push(r);
          else entries.push(r);
        }
        yield { type: 'resync', entries, invalid, revision: item.revision };
        continue;
      }
      for (const e of item.events) {
        const revision = e.kv.modRevision;
        if (e.type === 'DELETE') {
          yield { type: 'delete', name: this.nameOf(e.kv.key), revision };
          continue;
        }
        const r = this.tryDecode(e.kv);
        if (r instanceof KeyspaceValidationError) yield { type: 'invalid', error: r, revision };
        else yield { type: 'put', entry: r, revision };
      }
    }
  }

  /** A transaction over this keyspace: typed compares on mod revisions, typed writes. */
  txn(): KeyspaceTxn<S> {
    return new KeyspaceTxn(this);
  }

  /**
   * Writes `value` only if `name` was last modified at `modRevision` (0 = only if absent) —
   * optimistic concurrency; resolves with whether it was written.
   */
  async putIfUnchanged(
    name: string,
    value: z.input<S>,
    modRevision: number,
    opts: CallOptions = {},
  ): Promise<{ readonly succeeded: boolean; readonly revision: number }> {
    return this.txn().ifUnchanged(name, modRevision).put(name, value).commit(opts);
  }

  /** Deletes `name` only if it was last modified at `modRevision`. */
  async deleteIfUnchanged(
    name: string,
    modRevision: number,
    opts: CallOptions = {},
  ): Promise<{ readonly succeeded: boolean; readonly revision: number }> {
    return this.txn().ifUnchanged(name, modRevision).delete(name).commit(opts);
  }

  /** @internal */
  get kvClient(): Client['kv'] {
    return this.client.kv;
  }

  /** @internal The stored bytes of `value`, after validating it. */
  encode(key: string, value: z.input<S>): Uint8Array {
    const r = this.schema.safeParse(value);
    if (!r.success) throw new KeyspaceValidationError(key, 'write', r.error.issues);
    return this.codec === 'json' ? toBytes(JSON.stringify(value)) : msgpackEncode(value);
  }

  private nameOf(key: Uint8Array): string {
    return decoder.decode(key).slice(this.prefix.length);
  }

  /** The typed entry of a stored kv; KeyspaceValidationError if it is invalid. */
  private decode(kv: KeyValue): TypedKeyValue<z.output<S>> {
    const r = this.tryDecode(kv);
    if (r instanceof KeyspaceValidationError) throw r;
    return r;
  }

  private tryDecode(kv: KeyValue): TypedKeyValue<z.output<S>> | KeyspaceValidationError {
    const key = decoder.decode(kv.key);
    let raw: unknown;
    try {
      raw = this.codec === 'json' ? JSON.parse(decoder.decode(kv.value)) : msgpackDecode(kv.value);
    } catch (err) {
      const issue = {
        code: 'custom',
        path: [],
        message: `not valid ${this.codec}: ${(err as Error).message}`,
        input: kv.value,
      } as KeyspaceIssue;
      return new KeyspaceValidationError(key, 'read', [issue]);
    }
    const r = this.schema.safeParse(raw);
    if (!r.success) return new KeyspaceValidationError(key, 'read', r.error.issues);
    return {
      name: key.slice(this.prefix.length),
      key,
      value: r.data as z.output<S>,
      createRevision: kv.createRevision,
      modRevision: kv.modRevision,
      version: kv.version,
      lease: kv.lease,
    };
  }
}

/**
 * A transaction on a keyspace: `ifUnchanged` compares, then writes applied only if every compare
 * holds (etcd's Txn with MOD compares). Values are validated as they are added.
 */
export class KeyspaceTxn<S extends z.ZodType> {
  private readonly compares: Compare[] = [];
  private readonly ops: RequestOp[] = [];

  /** @internal Made by Keyspace.txn. */
  constructor(private readonly ks: Keyspace<S>) {}

  /** Requires `name`'s mod revision to be `modRevision` (0 = the key must not exist). */
  ifUnchanged(name: string, modRevision: number): this {
    this.compares.push({
      target: 'MOD',
      result: 'EQUAL',
      key: toBytes(this.ks.keyOf(name)),
      modRevision,
    });
    return this;
  }

  /** Writes `value` (validated now). */
  put(name: string, value: z.input<S>, opts: { readonly lease?: LeaseId } = {}): this {
    const key = this.ks.keyOf(name);
    this.ops.push({
      type: 'put',
      request: {
        key: toBytes(key),
        value: this.ks.encode(key, value),
        ...(opts.lease !== undefined ? { lease: opts.lease } : {}),
      },
    });
    return this;
  }

  /** Deletes `name`. */
  delete(name: string): this {
    this.ops.push({ type: 'deleteRange', request: { key: toBytes(this.ks.keyOf(name)) } });
    return this;
  }

  /** Runs the txn; `succeeded` = every compare held and the writes were applied. */
  async commit(opts: CallOptions = {}): Promise<{ readonly succeeded: boolean; readonly revision: number }> {
    const r = await this.ks.kvClient.txn({ compare: this.compares, success: this.ops, failure: [] }, opts);
    return { succeeded: r.succeeded, revision: r.header.revision };
  }
}

/** A typed keyspace under `prefix`, values checked with `schema`; see the file comment. */
export function keyspace<S extends z.ZodType>(
  client: Client,
  prefix: string,
  schema: S,
  opts: KeyspaceOptions = {},
): Keyspace<S> {
  return new Keyspace(client, prefix, schema, opts.codec ?? 'json');
}

const decoder = new TextDecoder();
