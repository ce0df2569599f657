/**
 * Queue and PriorityQueue: etcd's distributed queues (client/v3/experimental/recipes/queue.go,
 * priority_queue.go), on the public client API of any member.
 *
 * - Queue: FIFO by revision. `enqueue` puts a new, uniquely named key under the prefix;
 *   `dequeue` takes the key with the lowest mod revision and claims it by deleting it in a txn
 *   guarded by that mod revision — of several consumers racing for one item exactly one delete
 *   succeeds, the others try the next. When the queue is empty, `dequeue` watches the prefix
 *   from the revision it read at and claims the first item put.
 * - PriorityQueue: the priority is in the key (`<prefix>/<priority, 5 digits>/<sequence, 16
 *   digits>`), so key order is priority order, then FIFO within a priority; lower numbers are
 *   dequeued first, as etcd's.
 *
 * Also here, shared with barrier.ts: the small helpers of etcd's recipes/key.go and watch.go
 * (unique keys, sequential keys, claim-by-revision, wait for events).
 *
 * Not here: at-least-once delivery. An item is deleted when it is claimed, so a consumer that
 * fails after `dequeue` resolves loses it, and a claim whose outcome is unknown (the request
 * timed out) may or may not have taken the item — the error is the caller's, as in etcd.
 */

import type { Event, KeyValue } from '@tsetcd/mvcc';
import { utf8 } from '@tsetcd/mvcc';
import type { Client } from '../node/client.js';
import type { CallOptions } from '../node/deadline.js';
import { type Bytes, toBytes } from '../node/kv-client.js';
import { RequestCanceledError } from '../node-errors.js';

/** Where a newly created recipe key lives and when it was written. */
export interface RecipeKey {
  readonly key: string;
  /** The revision of the put that created it (also its create and mod revision). */
  readonly revision: number;
}

/** A distributed FIFO queue under `keyPrefix`; see the file comment. */
export class Queue {
  constructor(
    private readonly client: Client,
    /** Items are keys `<keyPrefix>/<unique id>`. */
    readonly keyPrefix: string,
  ) {}

  /** Appends `value` to the queue. */
  async enqueue(value: Bytes, opts: CallOptions = {}): Promise<RecipeKey> {
    return newUniqueKey(this.client, this.keyPrefix, value, opts);
  }

  /** Takes the oldest item (by revision), waiting for one if the queue is empty. */
  async dequeue(opts: CallOptions = {}): Promise<string> {
    const prefix = `${this.keyPrefix}/`;
    return decode(
      await dequeueFirst(this.client, prefix, opts, () =>
        this.client.kv.get(prefix, {
          ...opts,
          prefix: true,
          sortTarget: 'MOD',
          sortOrder: 'ASCEND',
          limit: 1,
        }),
      ),
    );
  }
}

/** Lowest priority number accepted by PriorityQueue.enqueue. */
export const MIN_PRIORITY = 0;
/** Highest priority number accepted (etcd's uint16). */
export const MAX_PRIORITY = 0xffff;

/** A distributed queue ordered by priority (lower first), FIFO within a priority. */
export class PriorityQueue {
  /** Items are keys `<key>/<priority>/<sequence>`. */
  private readonly prefix: string;

  constructor(
    private readonly client: Client,
    readonly key: string,
  ) {
    this.prefix = `${key}/`;
  }

  /** Adds `value` with `priority` (MIN_PRIORITY … MAX_PRIORITY; lower is dequeued first). */
  async enqueue(value: Bytes, priority: number, opts: CallOptions = {}): Promise<RecipeKey> {
    if (!Number.isInteger(priority) || priority < MIN_PRIORITY || priority > MAX_PRIORITY)
      throw new RangeError(`priority queue: priority must be an integer in [0, 65535], got ${priority}`);
    return newSequentialKey(this.client, `${this.prefix}${String(priority).padStart(5, '0')}`, value, opts);
  }

  /** Takes the item of the lowest priority number, waiting for one if the queue is empty. */
  async dequeue(opts: CallOptions = {}): Promise<string> {
    return decode(
      await dequeueFirst(this.client, this.prefix, opts, () =>
        this.client.kv.get(this.prefix, {
          ...opts,
          prefix: true,
          sortTarget: 'KEY',
          sortOrder: 'ASCEND',
          limit: 1,
        }),
      ),
    );
  }
}

/**
 * Dequeues from a queue whose head `first()` reads:
 * 1. read the head; if there is one, claim it — done, or someone else took it: read again;
 * 2. if the queue is empty, watch the prefix from the next revision and claim the first item
 *    put — done, or someone else took it: start over.
 */
async function dequeueFirst(
  client: Client,
  prefix: string,
  opts: CallOptions,
  first: () => Promise<{ readonly kvs: readonly KeyValue[]; readonly header: { readonly revision: number } }>,
): Promise<KeyValue> {
  for (;;) {
    const resp = await first();
    const head = resp.kvs[0];
    if (head !== undefined) {
      if (await claimKey(client, head, opts)) return head;
      continue;
    }
    const ev = await waitEvents(client, prefix, {
      prefix: true,
      startRevision: resp.header.revision + 1,
      types: ['PUT'],
      ...(opts.signal !== undefined ? { signal: opts.signal } : {}),
    });
    if (ev !== undefined && (await claimKey(client, ev.kv, opts))) return ev.kv;
  }
}

function decode(kv: KeyValue): string {
  return new TextDecoder().decode(kv.value);
}

/**
 * @internal Deletes `kv.key` if it is still the version read (etcd's deleteRevKey): true when this
 * caller took it, false when it was changed or taken since.
 */
export async function claimKey(client: Client, kv: KeyValue, opts: CallOptions = {}): Promise<boolean> {
  const r = await client.kv.txn(
    {
      compare: [{ target: 'MOD', key: kv.key, result: 'EQUAL', modRevision: kv.modRevision }],
      success: [{ type: 'deleteRange', request: { key: kv.key } }],
      failure: [],
    },
    opts,
  );
  return r.succeeded;
}

/**
 * @internal Creates `key` = `value` only if it does not exist (etcd's putNewKV): the create
 * revision, or undefined if the key exists.
 */
export async function putNewKey(
  client: Client,
  key: string,
  value: Bytes,
  opts: CallOptions & { readonly lease?: bigint } = {},
): Promise<number | undefined> {
  const k = utf8(key);
  const { lease, ...call } = opts;
  const r = await client.kv.txn(
    {
      compare: [{ target: 'VERSION', key: k, result: 'EQUAL', version: 0 }],
      success: [
        {
          type: 'put',
          request: {
            key: k,
            value: toBytes(value),
            ...(lease !== undefined && lease !== 0n ? { lease } : {}),
          },
        },
      ],
      failure: [],
    },
    call,
  );
  return r.succeeded ? r.header.revision : undefined;
}

/** @internal A key `<prefix>/<random id>` created with `value` (etcd's newUniqueKV). */
export async function newUniqueKey(
  client: Client,
  prefix: string,
  value: Bytes,
  opts: CallOptions & { readonly lease?: bigint } = {},
): Promise<RecipeKey> {
  for (;;) {
    // etcd names it by wall-clock nanoseconds; random bits are as unique and need no clock.
    const id = Array.from(crypto.getRandomValues(new Uint8Array(8)), (b) => b.toString(16).padStart(2, '0'));
    const key = `${prefix}/${id.join('')}`;
    const revision = await putNewKey(client, key, value, opts);
    if (revision !== undefined) return { key, revision };
  }
}

/**
 * @internal A key `<prefix>/<sequence, 16 digits>` one past the last such key (etcd's
 * newSequentialKV). The txn also bumps a base key `__<prefix>`, guarded by its mod revision, so
 * two writers that read the same last key cannot both allocate after it, and a key deleted
 * meanwhile is never re-allocated out of order.
 */
export async function newSequentialKey(
  client: Client,
  prefix: string,
  value: Bytes,
  opts: CallOptions = {},
): Promise<RecipeKey> {
  for (;;) {
    const last = await client.kv.get(`${prefix}/`, {
      ...opts,
      prefix: true,
      sortTarget: 'KEY',
      sortOrder: 'DESCEND',
      limit: 1,
    });
    const lastKey = last.kvs[0] === undefined ? undefined : new TextDecoder().decode(last.kvs[0].key);
    const seq = lastKey === undefined ? 0 : Number(lastKey.slice(lastKey.lastIndexOf('/') + 1)) + 1;
    const key = `${prefix}/${String(seq).padStart(16, '0')}`;
    const baseKey = utf8(`__${prefix}`);
    const r = await client.kv.txn(
      {
        // The base key is no newer than the read: nobody allocated since.
        compare: [{ target: 'MOD', key: baseKey, result: 'LESS', modRevision: last.header.revision + 1 }],
        success: [
          { type: 'put', request: { key: baseKey, value: new Uint8Array(0) } },
          { type: 'put', request: { key: utf8(key), value: toBytes(value) } },
        ],
        failure: [],
      },
      opts,
    );
    if (r.succeeded) return { key, revision: r.header.revision };
  }
}

/** Options of waitEvents. */
export interface WaitEventsOptions {
  readonly prefix?: boolean;
  /** First revision to look at (inclusive). */
  readonly startRevision: number;
  /** The event types to see, in this order; resolves with the event matching the last. */
  readonly types: readonly Event['type'][];
  readonly signal?: AbortSignal;
}

/**
 * @internal Watches `key` (or the prefix) from `startRevision` until events of `types` have
 * been seen in that order (etcd's WaitEvents): resolves with the last one, or undefined if the
 * watch ended first (its start was compacted, or the member stopped) — the caller re-reads and
 * tries again. Rejects with RequestCanceledError when `signal` aborts.
 */
export async function waitEvents(
  client: Client,
  key: string,
  opts: WaitEventsOptions,
): Promise<Event | undefined> {
  if (opts.signal?.aborted) throw new RequestCanceledError(opts.signal.reason);
  const w = client.watch(key, {
    ...(opts.prefix ? { prefix: true } : {}),
    startRevision: opts.startRevision,
    ...(opts.signal !== undefined ? { signal: opts.signal } : {}),
  });
  let seen = 0;
  try {
    for await (const resp of w) {
      for (const ev of resp.events) {
        if (ev.type !== opts.types[seen]) continue;
        if (++seen === opts.types.length) return ev;
      }
    }
  } finally {
    w.cancel();
  }
  if (opts.signal?.aborted) throw new RequestCanceledError(opts.signal.reason);
  return undefined;
}
