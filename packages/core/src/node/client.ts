/**
 * Client: etcd's client v3 services on one member, acting as one user — kv, lease, watch, auth,
 * cluster, maintenance. `node.kv` etc. are the node's own client (no user); `node.withToken(t)`
 * returns one acting as the user token `t` was issued to.
 */

import type { Watcher } from '@tsetcd/mvcc';
import type { Clock } from '../clock.js';
import { Auth } from './auth-client.js';
import type { ClientContext } from './client-context.js';
import { Cluster } from './cluster-client.js';
import { type Bytes, KV, rangeEndFor, toBytes } from './kv-client.js';
import { Lease } from './lease-client.js';
import { Maintenance } from './maintenance-client.js';
import type { NodeWatchOptions, TsetcdNode } from './node.js';

/** The client services, acting as one user; see the file comment. */
export class Client {
  /** etcd's KV service: put, get, delete, txn, compact. */
  readonly kv: KV;
  /** etcd's Lease service: grant, revoke, keepAlive, timeToLive, leases. */
  readonly lease: Lease;
  /** etcd's Auth service: users, roles, permissions, enable/disable, authenticate. */
  readonly auth: Auth;
  /** etcd's Cluster service: members, add, remove, update, promote. */
  readonly cluster: Cluster;
  /** etcd's Maintenance service: status, snapshot, defragment, hashes, alarms, move leader. */
  readonly maintenance: Maintenance;

  constructor(private readonly ctx: ClientContext) {
    this.kv = new KV(ctx);
    this.lease = new Lease(ctx);
    this.auth = new Auth(ctx);
    this.cluster = new Cluster(ctx);
    this.maintenance = new Maintenance(ctx);
  }

  /** The clock of the member this client talks to (recipes time their waits with it). */
  get clock(): Clock {
    return this.ctx.node.parts.clock;
  }

  /**
   * Watches a key or range on this member's store, from `startRevision` (0 = the next write; a
   * past revision replays history), with etcd's guarantees: ordered, no duplicates, no gaps, one
   * response per revision, cancelled with `compactRevision` if the start was compacted. Iterate it
   * (`for await`) or listen to its events; `cancel()` or the signal ends it.
   */
  watch(key: Bytes, opts: NodeWatchOptions = {}): Watcher {
    const node: TsetcdNode = this.ctx.node;
    const k = toBytes(key);
    const rangeEnd = rangeEndFor(k, opts);
    node.authorizeRange(this.ctx.authInfo(), k, rangeEnd);
    return node.openWatch(k, rangeEnd, opts);
  }
}
