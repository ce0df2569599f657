/**
 * Watcher: the consumer's end of one watch — etcd's WatchCreateRequest and WatchResponse
 * (camelCase), and a bounded buffer of responses read either as an async iterable or through
 * 'response' / 'canceled' events.
 *
 * The buffer is the back-pressure point: the WatchableStore offers each response with `send`,
 * which refuses (returns false) when the buffer is full; the store then holds the response and
 * retries when the consumer makes room (see watchable-store.ts). A Watcher therefore never
 * blocks a write and never drops a response it accepted.
 *
 * Listeners never run inside a store write: events are emitted from a microtask, or from the
 * consumer's own `next()` call.
 *
 * Not here: which events a watcher gets (watchable-store.ts), key indexing (watcher-group.ts).
 */

import { EventEmitter } from 'eventemitter3';
import { MvccError } from './errors.js';
import type { Event, ResponseHeader, Revision } from './types.js';

/** Drops PUT or DELETE events before they are sent (etcd's WatchCreateRequest.FilterType). */
export type WatchFilter = 'NOPUT' | 'NODELETE';

/**
 * etcd's WatchCreateRequest. `rangeEnd` as in a Range: absent = the single key `key`, `\0` =
 * every key >= `key`, otherwise [key, rangeEnd) (use `prefixEnd(key)` for a prefix). An empty
 * `key` means `\0`, the smallest key, as etcd's server does.
 */
export interface WatchRequest {
  readonly key: Uint8Array;
  readonly rangeEnd?: Uint8Array;
  /** First revision to deliver; 0 (default) = the next write. A past revision replays history. */
  readonly startRevision?: number;
  /** Attach to each event the key-value as it was just before it (when not compacted). */
  readonly prevKv?: boolean;
  readonly filters?: readonly WatchFilter[];
  /** Send an empty response every progress interval in which no events were sent. */
  readonly progressNotify?: boolean;
  /** Allow splitting large revisions over several responses: recorded for the server, which splits. */
  readonly fragment?: boolean;
}

/** Local options of one watch, not part of etcd's request. */
export interface WatchOptions {
  /** Responses buffered before the watcher becomes a victim; default the store's `bufferSize`. */
  readonly bufferSize?: number;
  /** Aborting it cancels the watch. */
  readonly signal?: AbortSignal;
}

/** Identifies a watcher within its WatchableStore (etcd's WatchID). */
export type WatchId = number;

/**
 * etcd's WatchResponse, every field present (proto3 defaults: false, 0, '', []).
 *
 * `header.revision`: for the `created` response, the store revision when the watch was created;
 * for every other response, the revision this watcher has been brought up to — every event in
 * its range with a revision <= header.revision has been delivered by this response or an
 * earlier one, and later responses carry only higher revisions. An empty, non-created,
 * non-canceled response is a progress notification.
 */
export interface WatchResponse {
  readonly header: ResponseHeader;
  readonly watchId: WatchId;
  /** Set on the first response of every watch. */
  readonly created: boolean;
  /** Set on the last response: nothing follows it. */
  readonly canceled: boolean;
  /** When canceled because startRevision (or the watcher's progress) fell below compaction: the compaction revision. */
  readonly compactRevision: Revision;
  readonly cancelReason: string;
  /** In revision order; a revision's events are never split across responses. */
  readonly events: readonly Event[];
}

/** The events of a Watcher's emitter interface. */
export interface WatcherEvents {
  /** Every response, in order, including the created and the final canceled one. */
  response: (resp: WatchResponse) => void;
  /** Once, after the last 'response': the watch is over (canceled by the client or the store). */
  canceled: (resp: WatchResponse) => void;
}

/** A watch range with end <= key, which could never match (etcd's ErrEmptyWatcherRange). */
export class EmptyWatcherRangeError extends MvccError {
  readonly code = 'ErrEmptyWatcherRange';
  constructor() {
    super('mvcc: watcher range is empty');
    this.name = 'EmptyWatcherRangeError';
  }
}

/** How a Watcher reaches its store; the WatchableStore binds one to each watcher. */
export interface WatcherHost {
  /** The consumer took a response: the buffer has room again. */
  consumed(): void;
  /** The client canceled: forget the watcher. */
  detach(): void;
  /** etcd's RequestProgress for this watcher. */
  requestProgress(): void;
  /** The store's current revision. */
  revision(): Revision;
}

/** The facts of a watch, as normalised by the store. */
export interface WatcherInit {
  readonly id: WatchId;
  readonly key: Uint8Array;
  readonly rangeEnd: Uint8Array | undefined;
  readonly startRevision: Revision;
  readonly prevKv: boolean;
  readonly filters: readonly WatchFilter[];
  readonly progressNotify: boolean;
  readonly fragment: boolean;
  readonly bufferSize: number;
}

/** A response with only a header: created, canceled, or progress. */
export function controlResponse(
  watchId: WatchId,
  revision: Revision,
  fields: Partial<Pick<WatchResponse, 'created' | 'canceled' | 'compactRevision' | 'cancelReason'>> = {},
): WatchResponse {
  return {
    header: { revision },
    watchId,
    created: fields.created ?? false,
    canceled: fields.canceled ?? false,
    compactRevision: fields.compactRevision ?? (0 as Revision),
    cancelReason: fields.cancelReason ?? '',
    events: [],
  };
}

/** The consumer's end of one watch: cancel it, iterate its responses, or listen to them. */
export class Watcher implements AsyncIterable<WatchResponse> {
  readonly id: WatchId;
  readonly key: Uint8Array;
  /** undefined for a single key; `\0` for every key >= key. */
  readonly rangeEnd: Uint8Array | undefined;
  /** As requested (0 = from the next write). */
  readonly startRevision: Revision;
  readonly prevKv: boolean;
  readonly filters: readonly WatchFilter[];
  readonly progressNotify: boolean;
  readonly fragment: boolean;
  /** Max responses held for the consumer (plus the final canceled one). */
  readonly bufferSize: number;

  // Invariant: queue.length <= bufferSize + 1, the extra one being a final canceled response.
  private readonly queue: WatchResponse[] = [];
  /** open: the store may send; ending: the final response is queued; ended: nothing more. */
  private state: 'open' | 'ending' | 'ended' = 'open';
  private readonly emitter = new EventEmitter<WatcherEvents>();
  /** Pending `next()` calls; Invariant: non-empty only while the queue is empty. */
  private readonly waiters: ((r: IteratorResult<WatchResponse, undefined>) => void)[] = [];
  private iterating = false;
  private drainQueued = false;
  private unbindSignal: (() => void) | undefined;

  constructor(
    init: WatcherInit,
    private readonly host: WatcherHost,
  ) {
    this.id = init.id;
    this.key = init.key;
    this.rangeEnd = init.rangeEnd;
    this.startRevision = init.startRevision;
    this.prevKv = init.prevKv;
    this.filters = init.filters;
    this.progressNotify = init.progressNotify;
    this.fragment = init.fragment;
    this.bufferSize = init.bufferSize;
  }

  /** Responses waiting for the consumer. */
  get buffered(): number {
    return this.queue.length;
  }

  /** True once the watch is over: no further responses will be added. */
  get canceled(): boolean {
    return this.state !== 'open';
  }

  /** Stops the watch: buffered responses are dropped, iteration ends, 'canceled' is emitted. */
  cancel(): void {
    if (this.state === 'ended') return;
    const final =
      this.state === 'ending'
        ? this.queue[this.queue.length - 1]!
        : controlResponse(this.id, this.host.revision(), { canceled: true });
    if (this.state === 'open') this.host.detach();
    this.queue.length = 0;
    this.finish();
    this.emitter.emit('canceled', final);
  }

  /** Asks for a progress notification (etcd's RequestProgress); sent once the watcher is caught up. */
  requestProgress(): void {
    if (this.state === 'open') this.host.requestProgress();
  }

  /** Adds a listener. Listening consumes responses whenever no async iterator is active. */
  on<E extends keyof WatcherEvents>(event: E, fn: WatcherEvents[E]): this {
    this.emitter.on(event, fn as never);
    this.scheduleDrain();
    return this;
  }

  /** Adds a listener for the next occurrence only. */
  once<E extends keyof WatcherEvents>(event: E, fn: WatcherEvents[E]): this {
    this.emitter.once(event, fn as never);
    this.scheduleDrain();
    return this;
  }

  /** Removes a listener. */
  off<E extends keyof WatcherEvents>(event: E, fn?: WatcherEvents[E]): this {
    this.emitter.off(event, fn as never);
    return this;
  }

  /** The responses in order, ending after the canceled one; `break` cancels the watch. One at a time. */
  [Symbol.asyncIterator](): AsyncIterator<WatchResponse, undefined> {
    if (this.iterating) throw new TypeError('mvcc: a Watcher can be iterated only once');
    this.iterating = true;
    return {
      next: () => this.next(),
      return: () => {
        this.cancel();
        return Promise.resolve({ done: true, value: undefined });
      },
    };
  }

  /** `using w = ws.watch(…)` cancels at the end of the scope. */
  [Symbol.dispose](): void {
    this.cancel();
  }

  // ---- the store's side --------------------------------------------------------------------

  /**
   * Offers a response; false if the buffer is full (the caller keeps it and retries after
   * `consumed`). Accepts and drops everything once the watch is over.
   */
  send(resp: WatchResponse): boolean {
    if (this.state !== 'open') return true;
    if (this.queue.length >= this.bufferSize) return false;
    this.enqueue(resp);
    return true;
  }

  /** Queues the final (canceled) response, past the bound if need be; the store forgets the watcher. */
  end(resp: WatchResponse): void {
    if (this.state !== 'open') return;
    this.state = 'ending';
    this.enqueue(resp);
  }

  /** Cancels the watch when `signal` aborts. */
  bindSignal(signal: AbortSignal): void {
    const onAbort = () => this.cancel();
    signal.addEventListener('abort', onAbort, { once: true });
    this.unbindSignal = () => signal.removeEventListener('abort', onAbort);
  }

  // ---- internals -----------------------------------------------------------------------------

  private enqueue(resp: WatchResponse): void {
    const waiter = this.waiters.shift();
    if (waiter === undefined) {
      this.queue.push(resp);
      this.scheduleDrain();
      return;
    }
    // Handed straight to a waiting consumer: the buffer was empty and stays so.
    if (resp.canceled) {
      this.finish();
      queueMicrotask(() => this.emitter.emit('canceled', resp));
    }
    waiter({ done: false, value: resp });
  }

  /** Removes the next response; a final one ends the watch, any other frees a buffer slot. */
  private take(): WatchResponse | undefined {
    const resp = this.queue.shift();
    if (resp === undefined) return undefined;
    if (resp.canceled) this.finish();
    else if (this.state === 'open') this.host.consumed();
    return resp;
  }

  private next(): Promise<IteratorResult<WatchResponse, undefined>> {
    const resp = this.take();
    if (resp !== undefined) {
      if (resp.canceled) this.emitter.emit('canceled', resp);
      return Promise.resolve({ done: false, value: resp });
    }
    if (this.state === 'ended') return Promise.resolve({ done: true, value: undefined });
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private finish(): void {
    this.state = 'ended';
    this.unbindSignal?.();
    this.unbindSignal = undefined;
    for (const w of this.waiters.splice(0)) w({ done: true, value: undefined });
  }

  private listening(): boolean {
    return this.emitter.listenerCount('response') + this.emitter.listenerCount('canceled') > 0;
  }

  /** Emitter mode: with listeners and no iterator, responses are emitted from a microtask. */
  private scheduleDrain(): void {
    if (this.drainQueued || this.iterating || this.queue.length === 0 || !this.listening()) return;
    this.drainQueued = true;
    queueMicrotask(() => {
      this.drainQueued = false;
      while (!this.iterating && this.listening()) {
        const resp = this.take();
        if (resp === undefined) return;
        this.emitter.emit('response', resp);
        if (resp.canceled) this.emitter.emit('canceled', resp);
      }
    });
  }
}
