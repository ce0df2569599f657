/**
 * Barrier and DoubleBarrier: etcd's barriers (client/v3/experimental/recipes/barrier.go,
 * double_barrier.go), on the public client API of any member.
 *
 * - Barrier: one key. `hold` creates it, `release` deletes it, `wait` returns once it is absent
 *   (at once if it already is). Any number of waiters on any members; a waiter learns of the
 *   release through a watch on its own member, so a waiter on a cut-off member is released only
 *   once that member catches up.
 * - DoubleBarrier: `count` participants meet twice. `enter` adds an ephemeral key under
 *   `<key>/waiters` and waits until `count` have entered (the one that completes the count puts
 *   `<key>/ready`); `leave` waits until all have left. Keys live on a lease kept alive while the
 *   participant is in the barrier, so a participant that dies (or is cut off past its TTL) is
 *   removed and no longer holds the others — etcd's algorithm: the participant with the lowest
 *   key waits for the highest to go, every other one deletes its key and waits for the lowest.
 *
 * The lease is the caller's (`lease`, e.g. a Session's) or, by default, one this barrier grants
 * and keeps alive itself with `client.lease.grant` + `keepAlive`, revoked when it leaves.
 *
 * Not here: reuse of one DoubleBarrier key for overlapping rounds (as in etcd, `ready` exists from
 * the round's completion until its last participant leaves).
 */

import { type LeaseId, utf8 } from '@tsetcd/mvcc';
import { CoreError } from '../errors.js';
import type { Client } from '../node/client.js';
import type { CallOptions } from '../node/deadline.js';
import type { LeaseKeepAlive } from '../node/lease-client.js';
import { newUniqueKey, putNewKey, type RecipeKey, waitEvents } from './queue.js';

/** The key a recipe would create exists already (etcd recipes' ErrKeyExists). */
export class KeyExistsError extends CoreError {
  readonly code = 'ErrKeyExists';
  constructor() {
    super('key already exists');
    this.name = 'KeyExistsError';
  }
}

/** A DoubleBarrier already has `count` participants (etcd recipes' ErrTooManyClients). */
export class TooManyClientsError extends CoreError {
  readonly code = 'ErrTooManyClients';
  constructor() {
    super('too many clients');
    this.name = 'TooManyClientsError';
  }
}

/** A single-key barrier; see the file comment. */
export class Barrier {
  constructor(
    private readonly client: Client,
    readonly key: string,
  ) {}

  /** Puts the barrier up; KeyExistsError if it is up already. */
  async hold(opts: CallOptions = {}): Promise<void> {
    if ((await putNewKey(this.client, this.key, '', opts)) === undefined) throw new KeyExistsError();
  }

  /** Takes the barrier down, releasing every waiter. */
  async release(opts: CallOptions = {}): Promise<void> {
    await this.client.kv.delete(this.key, opts);
  }

  /** Resolves once the barrier is down (at once if it is not up). */
  async wait(opts: CallOptions = {}): Promise<void> {
    for (;;) {
      const r = await this.client.kv.get(this.key, opts);
      if (r.kvs.length === 0) return;
      const ev = await waitEvents(this.client, this.key, {
        startRevision: r.header.revision + 1,
        types: ['DELETE'],
        ...(opts.signal !== undefined ? { signal: opts.signal } : {}),
      });
      if (ev !== undefined) return;
    }
  }
}

/** TTL, seconds, of the lease a DoubleBarrier grants itself (etcd's default session TTL). */
export const DEFAULT_BARRIER_TTL = 60;

/** Options of DoubleBarrier. */
export interface DoubleBarrierOptions {
  /** Attach the participant's key to this lease (the caller keeps it alive); default: own lease. */
  readonly lease?: LeaseId;
  /** TTL of the barrier's own lease, seconds; default DEFAULT_BARRIER_TTL. */
  readonly ttl?: number;
}

/** A barrier `count` participants enter together and leave together; see the file comment. */
export class DoubleBarrier {
  private myKey: RecipeKey | undefined;
  /** The lease this barrier granted itself, while in the barrier. */
  private own:
    | { readonly id: LeaseId; readonly ka: LeaseKeepAlive; readonly lost: AbortController }
    | undefined;

  constructor(
    private readonly client: Client,
    readonly key: string,
    readonly count: number,
    private readonly opts: DoubleBarrierOptions = {},
  ) {
    if (!Number.isSafeInteger(count) || count < 1)
      throw new RangeError(`double barrier: count must be a positive integer, got ${count}`);
  }

  private get waiters(): string {
    return `${this.key}/waiters`;
  }

  private get ready(): string {
    return `${this.key}/ready`;
  }

  /**
   * Joins the barrier and resolves once `count` participants have joined; TooManyClientsError if
   * it is full. Rejects with the lease's error if this barrier's own lease is lost meanwhile.
   */
  async enter(opts: CallOptions = {}): Promise<void> {
    const client = this.client;
    // Refuse before creating a key if the barrier is already full…
    if (
      (await client.kv.get(`${this.waiters}/`, { ...opts, prefix: true, countOnly: true })).count >=
      this.count
    ) {
      throw new TooManyClientsError();
    }
    const lease = await this.lease(opts);
    this.myKey = await newUniqueKey(client, this.waiters, '', { ...opts, lease });
    // …and after: if others joined meanwhile, the late ones step back out.
    const n = (await client.kv.get(`${this.waiters}/`, { ...opts, prefix: true, countOnly: true })).count;
    if (n > this.count) {
      await client.kv.delete(this.myKey.key, opts);
      await this.close(opts);
      throw new TooManyClientsError();
    }
    if (n === this.count) {
      await client.kv.put(this.ready, '', opts);
      return;
    }
    let from = this.myKey.revision + 1;
    for (;;) {
      const ev = await this.guard(opts, (signal) =>
        waitEvents(client, this.ready, { startRevision: from, types: ['PUT'], signal }),
      );
      if (ev !== undefined) return;
      const r = await client.kv.get(this.ready, opts); // the watch ended (compacted): look
      if (r.kvs.length > 0) return;
      from = r.header.revision + 1;
    }
  }

  /** Resolves once every participant has left (or lost its lease); ends this participant's lease. */
  async leave(opts: CallOptions = {}): Promise<void> {
    const client = this.client;
    const mine = this.myKey?.key;
    for (;;) {
      const r = await client.kv.get(`${this.waiters}/`, { ...opts, prefix: true });
      if (r.kvs.length === 0) {
        // Everyone is gone, the last by losing its lease: take the barrier down unless a new
        // round has put it up since this read.
        await client.kv.txn(
          {
            compare: [
              { target: 'MOD', key: utf8(this.ready), result: 'LESS', modRevision: r.header.revision + 1 },
            ],
            success: [{ type: 'deleteRange', request: { key: utf8(this.ready) } }],
            failure: [],
          },
          opts,
        );
        break;
      }
      let lowest = r.kvs[0]!;
      let highest = r.kvs[0]!;
      for (const kv of r.kvs) {
        if (kv.modRevision < lowest.modRevision) lowest = kv;
        if (kv.modRevision > highest.modRevision) highest = kv;
      }
      const isLowest = new TextDecoder().decode(lowest.key) === mine;
      if (r.kvs.length === 1 && isLowest && mine !== undefined) {
        // The last one in: take the barrier down.
        await client.kv.delete(this.ready, opts);
        await client.kv.delete(mine, opts);
        break;
      }
      // The lowest waits for the highest to go; every other one goes, then waits for the lowest.
      // Waiting on one key, not all, spares the cluster a herd of watchers at each departure.
      if (!isLowest && mine !== undefined) await client.kv.delete(mine, opts);
      const target = isLowest ? highest : lowest;
      await this.guard(opts, (signal) =>
        waitEvents(client, new TextDecoder().decode(target.key), {
          startRevision: r.header.revision + 1,
          types: ['DELETE'],
          signal,
        }),
      );
    }
    await this.close(opts);
  }

  /** Ends the lease this barrier granted itself, if any (leave does this). */
  async close(opts: CallOptions = {}): Promise<void> {
    const own = this.own;
    this.own = undefined;
    this.myKey = undefined;
    if (own === undefined) return;
    own.ka.close();
    await this.client.lease.revoke(own.id, opts).catch(() => undefined); // gone already: fine
  }

  /** The caller's lease, or this barrier's own, granted and kept alive on first use. */
  private async lease(opts: CallOptions): Promise<LeaseId> {
    if (this.opts.lease !== undefined) return this.opts.lease;
    if (this.own !== undefined) return this.own.id;
    const g = await this.client.lease.grant(this.opts.ttl ?? DEFAULT_BARRIER_TTL, opts);
    const ka = this.client.lease.keepAlive(g.id);
    const lost = new AbortController();
    ka.on('lost', (err) => lost.abort(err));
    this.own = { id: g.id, ka, lost };
    return g.id;
  }

  /** Runs a wait that ends when the caller's signal or the loss of the own lease aborts it. */
  private async guard<T>(opts: CallOptions, wait: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const signals = [opts.signal, this.own?.lost.signal].filter((s): s is AbortSignal => s !== undefined);
    const signal = AbortSignal.any(signals);
    try {
      return await wait(signal);
    } catch (err) {
      const lost = this.own?.lost.signal;
      if (lost?.aborted && !opts.signal?.aborted) throw lost.reason;
      throw err;
    }
  }
}
