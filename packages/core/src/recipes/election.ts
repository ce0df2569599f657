/**
 * Election: leader election on a Session, as etcd's concurrency.Election, with a fencing token.
 *
 * A candidate is a key `<prefix>/<lease ID in hex>` attached to its session's lease, holding the
 * candidate's value; the candidate whose key has the lowest create revision is the leader, and
 * that create revision is its fencing token. Campaigning is the mutex's algorithm (see mutex.ts):
 * 1. put our key if absent (if it exists with another value, proclaim ours on it);
 * 2. wait until every key created before ours is deleted, watching only the one just below ours;
 * 3. read our key again — if our session expired while we waited it is gone, and we fail with
 *    SessionExpiredError instead of becoming a zombie leader (etcd's Campaign skips this check).
 *
 * A leader stays leader until it resigns or its session ends; `isOwner()` is the compare to put
 * in the writes it makes as leader, so a deposed leader cannot write. Observers follow the
 * leader key by key and value (observe).
 *
 * Not done here: telling an observer that there is no leader for a while — as etcd, observe
 * yields leaders only.
 */

import { bytesEqual, type Compare, type KeyValue, type LeaseId } from '@tsetcd/mvcc';
import { EventEmitter } from 'eventemitter3';
import { CoreError } from '../errors.js';
import { type Bytes, toBytes } from '../node/kv-client.js';
import type { NodeResponseHeader } from '../node/node.js';
import {
  deleteOwnKey,
  endedError,
  LostWatcherError,
  leaveQueue,
  ownerCompare,
  rangeKvs,
  throwIfEnded,
  waitDeletes,
} from './mutex.js';
import { type Session, SessionExpiredError } from './session.js';
import { Tenure } from './tenure.js';

/** Only the leader may do this, and this candidate is not (etcd's ErrElectionNotLeader). */
export class ElectionNotLeaderError extends CoreError {
  readonly code = 'ErrElectionNotLeader';
  constructor() {
    super('election: not leader');
    this.name = 'ElectionNotLeaderError';
  }
}

/** No candidate holds the election (etcd's ErrElectionNoLeader). */
export class NoLeaderElectedError extends CoreError {
  readonly code = 'ErrElectionNoLeader';
  constructor() {
    super('election: no leader');
    this.name = 'NoLeaderElectedError';
  }
}

/** A Leadership's signal reason after resign(). */
export class ResignedError extends CoreError {
  readonly code = 'ErrResigned';
  constructor() {
    super('election: resigned');
    this.name = 'ResignedError';
  }
}

/** Who leads an election, as read at `revision`. */
export interface LeaderInfo {
  /** The leader's candidate key. */
  readonly key: string;
  /** The value the leader proclaimed. */
  readonly value: Uint8Array;
  /** The leader key's create revision: the leader's fencing token. */
  readonly createRevision: number;
  /** The revision of the last proclamation. */
  readonly modRevision: number;
  /** The leader's session lease. */
  readonly lease: LeaseId;
  /** The revision at which this was the leader. */
  readonly revision: number;
}

/** Events of an Election. */
export interface ElectionEvents {
  /** The session was lost while this candidate led: it no longer does. */
  lost: (err: Error) => void;
}

/** Options of campaign, proclaim, resign and leader. */
export interface ElectionCallOptions {
  readonly signal?: AbortSignal;
}

/** A won election: the fencing token and what a leader needs to act as one. */
export class Leadership {
  /** @internal Made by Election. */
  constructor(
    private readonly election: Election,
    /** The leader key. */
    readonly key: string,
    /** The leader key's create revision: larger for every later leader. */
    readonly fencingToken: number,
    /** The header of the read that confirmed the leadership. */
    readonly header: NodeResponseHeader,
    /** Aborted once the leadership ends: resigned, deposed, or the session ended. */
    readonly signal: AbortSignal,
    /**
     * The header of the campaign's own write, before any wait (etcd's Election.Header, which its
     * v3election Campaign answers with).
     */
    readonly campaignHeader: NodeResponseHeader = header,
  ) {}

  /** The compare that holds only while this leadership lasts; see Election.isOwner. */
  isOwner(): Compare {
    return ownerCompare(this.key, this.fencingToken);
  }

  /** Proclaims a new value as this leader; see Election.proclaim. */
  async proclaim(value: Bytes, opts: ElectionCallOptions = {}): Promise<void> {
    if (this.signal.aborted) throw new ElectionNotLeaderError();
    await this.election.proclaim(value, opts);
  }

  /** Gives up this leadership; see Election.resign. */
  async resign(opts: ElectionCallOptions = {}): Promise<void> {
    if (this.signal.aborted) return;
    await this.election.resign(opts);
  }
}

/** One candidate in the election on `prefix`, through `session`; see the file comment. */
export class Election extends EventEmitter<ElectionEvents> {
  /** This candidate's key (etcd's Election.Key). */
  readonly key: string;
  private readonly pfx: string;
  private readonly tenure: Tenure<Leadership>;

  constructor(
    /** The session whose lease the candidate key is attached to. */
    readonly session: Session,
    prefix: string,
  ) {
    super();
    this.pfx = `${prefix}/`;
    this.key = `${this.pfx}${session.lease.toString(16)}`;
    this.tenure = new Tenure(session, this.key, (reason) => this.emit('lost', reason));
  }

  /** Whether this candidate believes it leads (a lost session ends the belief). */
  get isLeader(): boolean {
    return this.tenure.value !== undefined;
  }

  /** The fencing token while leading, else undefined. */
  get fencingToken(): number | undefined {
    return this.tenure.value?.fencingToken;
  }

  /** The txn compare "this candidate leads"; never holds while it does not. */
  isOwner(): Compare {
    return ownerCompare(this.key, this.tenure.value?.fencingToken ?? -1);
  }

  /**
   * Puts this candidate in the running with `value` and waits to lead, in create-revision order.
   * Fails with SessionExpiredError if the session ends first, or RequestCanceledError if `signal`
   * aborts; on any failure the candidate leaves the election.
   */
  async campaign(value: Bytes, opts: ElectionCallOptions = {}): Promise<Leadership> {
    const session = this.session;
    const client = session.client;
    throwIfEnded(session);
    const signal =
      opts.signal === undefined ? session.signal : AbortSignal.any([opts.signal, session.signal]);
    const key = toBytes(this.key);
    const val = toBytes(value);
    // 1.
    let resp: Awaited<ReturnType<typeof client.kv.txn>>;
    try {
      resp = await client.kv.txn(
        {
          compare: [{ target: 'CREATE', key, result: 'EQUAL', createRevision: 0 }],
          success: [{ type: 'put', request: { key, value: val, lease: session.lease } }],
          failure: [{ type: 'range', request: { key } }],
        },
        { signal },
      );
    } catch (err) {
      throw endedError(session, err);
    }
    let rev = resp.header.revision;
    try {
      if (!resp.succeeded) {
        const kv = rangeKvs(resp.responses[0])[0];
        if (kv === undefined) throw new SessionExpiredError();
        rev = kv.createRevision;
        if (!bytesEqual(kv.value, val)) await this.put(rev, val, signal);
      }
      // 2.
      await waitDeletes(client, this.pfx, rev - 1, signal);
      // 3.
      const g = await client.kv.get(key, { signal });
      if (g.kvs[0]?.createRevision !== rev) throw new SessionExpiredError();
      throwIfEnded(session);
      return this.hold(rev, g.header, resp.header);
    } catch (err) {
      await leaveQueue(client, this.key, rev);
      throw endedError(session, err);
    }
  }

  /**
   * Replaces the leader's value, only while this candidate leads (guarded by isOwner); fails with
   * ElectionNotLeaderError otherwise — and then this candidate no longer believes it leads.
   */
  async proclaim(value: Bytes, opts: ElectionCallOptions = {}): Promise<void> {
    const h = this.tenure.value;
    if (h === undefined) throw new ElectionNotLeaderError();
    try {
      await this.put(h.fencingToken, toBytes(value), opts.signal);
    } catch (err) {
      if (err instanceof ElectionNotLeaderError && this.tenure.value === h) this.tenure.end(err);
      throw endedError(this.session, err);
    }
  }

  /**
   * Stops leading and leaves the election (no-op if not leading). The belief ends at once; if the
   * delete fails, the key (and the leadership) stays until the session ends.
   */
  async resign(opts: ElectionCallOptions = {}): Promise<void> {
    const h = this.tenure.value;
    if (h === undefined) return;
    this.tenure.end(new ResignedError());
    await deleteOwnKey(this.session.client, this.key, h.fencingToken, opts.signal);
  }

  /** The current leader (linearizable read), or NoLeaderElectedError. */
  async leader(opts: ElectionCallOptions = {}): Promise<LeaderInfo> {
    const r = await this.session.client.kv.get(this.pfx, { ...FIRST_CREATED, prefix: true, ...opts });
    const kv = r.kvs[0];
    if (kv === undefined) throw new NoLeaderElectedError();
    return leaderInfo(kv, r.header.revision);
  }

  /**
   * Every change of leader or of the leader's value, in revision order, starting with the current
   * leader (if any); ends when `signal` aborts. Reads go to this candidate's member: the leader
   * first (linearizable), then each change at the revision its watch event carries.
   */
  async *observe(opts: ElectionCallOptions = {}): AsyncGenerator<LeaderInfo, void, undefined> {
    const client = this.session.client;
    const signal = opts.signal;
    const call = signal !== undefined ? { signal } : {};
    let last: LeaderInfo | undefined;
    try {
      for (;;) {
        const r = await client.kv.get(this.pfx, { ...FIRST_CREATED, prefix: true, ...call });
        let cur = r.kvs[0] === undefined ? undefined : leaderInfo(r.kvs[0], r.header.revision);
        if (cur !== undefined && !sameLeader(last, cur)) {
          last = cur;
          yield cur;
        }
        const w = client.watch(this.pfx, { prefix: true, startRevision: r.header.revision + 1, ...call });
        try {
          for await (const resp of w) {
            if (resp.canceled) {
              if (signal?.aborted) return;
              if (resp.compactRevision > 0) break; // look again from the current revision
              throw new LostWatcherError(resp.cancelReason);
            }
            const relevant = resp.events.some((e) =>
              cur === undefined ? e.type === 'PUT' : bytesEqual(e.kv.key, toBytes(cur.key)),
            );
            if (!relevant) continue;
            const rev = Math.max(...resp.events.map((e) => e.kv.modRevision));
            const g = await client.kv.get(this.pfx, {
              ...FIRST_CREATED,
              prefix: true,
              revision: rev,
              serializable: true,
              ...call,
            });
            cur = g.kvs[0] === undefined ? undefined : leaderInfo(g.kvs[0], rev);
            if (cur !== undefined && !sameLeader(last, cur)) {
              last = cur;
              yield cur;
            }
          }
        } finally {
          w.cancel();
        }
      }
    } catch (err) {
      if (signal?.aborted) return;
      throw err;
    }
  }

  /** Puts our value on our key if it still has create revision `rev`. */
  private async put(rev: number, value: Uint8Array, signal: AbortSignal | undefined): Promise<void> {
    const key = toBytes(this.key);
    const r = await this.session.client.kv.txn(
      {
        compare: [ownerCompare(this.key, rev)],
        success: [{ type: 'put', request: { key, value, lease: this.session.lease } }],
        failure: [],
      },
      signal !== undefined ? { signal } : {},
    );
    if (!r.succeeded) throw new ElectionNotLeaderError();
  }

  private hold(token: number, header: NodeResponseHeader, campaignHeader: NodeResponseHeader): Leadership {
    return this.tenure.begin(
      (signal) => new Leadership(this, this.key, token, header, signal, campaignHeader),
      header.revision,
      () => new ResignedError(),
      () => new ElectionNotLeaderError(),
    );
  }
}

/** Range options that pick the key created first under a prefix (etcd's WithFirstCreate). */
const FIRST_CREATED = { sortTarget: 'CREATE', sortOrder: 'ASCEND', limit: 1 } as const;

function leaderInfo(kv: KeyValue, revision: number): LeaderInfo {
  return {
    key: new TextDecoder().decode(kv.key),
    value: kv.value,
    createRevision: kv.createRevision,
    modRevision: kv.modRevision,
    lease: kv.lease,
    revision,
  };
}

function sameLeader(a: LeaderInfo | undefined, b: LeaderInfo): boolean {
  return (
    a !== undefined &&
    a.key === b.key &&
    a.createRevision === b.createRevision &&
    a.modRevision === b.modRevision
  );
}
