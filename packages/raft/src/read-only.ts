/**
 * ReadOnly: the leader's queue of ReadIndex requests waiting for a heartbeat round to confirm that
 * it is still the leader (thesis §6.4). Each request remembers the commit index at the time it
 * arrived; once a quorum acknowledges a heartbeat carrying its context, it and every request
 * queued before it may be answered with that index. Pure.
 */

import type { ReadOnlyOption } from './config.js';
import type { Index, NodeId } from './types.js';

/** A read request: its opaque context and who asked (this node or a follower). */
export interface ReadRequest {
  readonly context: Uint8Array;
  readonly from: NodeId;
}

/** A request confirmed by a quorum, ready to be answered at `index`. */
export interface ReadIndexStatus {
  readonly req: ReadRequest;
  readonly index: Index;
  readonly acks: Set<NodeId>;
}

/** A byte context as a Map key. */
export function contextKey(ctx: Uint8Array): string {
  let s = '';
  for (const b of ctx) s += String.fromCharCode(b);
  return s;
}

/** Pending ReadIndex requests of the current leader term. */
export class ReadOnly {
  private readonly pending = new Map<string, ReadIndexStatus>();
  private queue: string[] = [];

  constructor(readonly option: ReadOnlyOption) {}

  /** Queues a request that arrived when the commit index was `index`. Duplicate contexts are ignored. */
  addRequest(index: Index, req: ReadRequest): void {
    const key = contextKey(req.context);
    if (this.pending.has(key)) return;
    this.pending.set(key, { req, index, acks: new Set() });
    this.queue.push(key);
  }

  /** Records that `id` acknowledged the heartbeat carrying `ctx`; returns the acks so far. */
  recvAck(id: NodeId, ctx: Uint8Array): ReadonlySet<NodeId> | undefined {
    const rs = this.pending.get(contextKey(ctx));
    if (rs === undefined) return undefined;
    rs.acks.add(id);
    return rs.acks;
  }

  /** Dequeues the request with `ctx` and every request queued before it. */
  advance(ctx: Uint8Array): ReadIndexStatus[] {
    const key = contextKey(ctx);
    const at = this.queue.indexOf(key);
    if (at < 0) return [];
    const done = this.queue.slice(0, at + 1);
    this.queue = this.queue.slice(at + 1);
    const out: ReadIndexStatus[] = [];
    for (const k of done) {
      out.push(this.pending.get(k)!);
      this.pending.delete(k);
    }
    return out;
  }

  /** The context of the newest pending request: a heartbeat carrying it confirms them all. */
  lastPendingRequestCtx(): Uint8Array | undefined {
    const k = this.queue[this.queue.length - 1];
    return k === undefined ? undefined : this.pending.get(k)!.req.context;
  }
}
