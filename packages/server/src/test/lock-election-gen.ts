/**
 * Seeded random scripts for the lock/election differential test: leases granted and revoked,
 * Locks and Campaigns (that may wait) on names sharing prefixes, Unlocks, Proclaims and Resigns
 * with current, stale and missing LeaderKeys, Leader reads, Observe streams, canceled waits, and
 * plain puts and deletes under the same prefixes.
 *
 * The generator picks each operation from what etcd did so far (observe() after every step), so
 * a reference is to a call etcd answered; it never looks at tsetcd. It never takes away the key
 * of a call that is still waiting (revoking its lease, unlocking its key, deleting a prefix over
 * it, canceling another waiter on the same key): etcd 3.4 then answers that call as if it held
 * the lock or led, and tsetcd answers
 * "session is expired" — a difference kept on purpose (etcd#9921).
 *
 * Does not: send anything (test/lock-election-target.ts does) or compare answers.
 */

import { mulberry32 } from '@tsetcd/testing';
import type { KeyRef, LeaderRef, LeaseRef, Op } from './lock-election-target.js';

/** Lock and election names: `a` is a prefix of `a/b`, and locks and elections share them. */
const NAMES: readonly string[] = ['a', 'a/b', 'b', ''];
const VALUES: readonly string[] = ['v1', 'v2', ''];
/** At most this many calls wait at once (each waiting call makes a step settle). */
const MAX_WAITING = 3;
const MAX_LIVE_LEASES = 3;
const MAX_OBSERVERS = 2;
/** A lease ID neither server granted. */
const UNKNOWN_LEASE = '12345';

type CallState = 'waiting' | 'ok' | 'error';

interface CallModel {
  readonly name: string;
  readonly kind: 'lock' | 'campaign';
  /** The lock or election name, and the lease its key is attached to. */
  readonly on: string;
  readonly lease: LeaseRef;
  state: CallState;
}

/** Picks operations for one seed. */
export class LockElectionGen {
  private readonly rand: () => number;
  private readonly leases: { name: string; live: boolean }[] = [];
  private readonly calls: CallModel[] = [];
  private readonly observers: { name: string; open: boolean }[] = [];
  private count = 0;

  constructor(seed: number) {
    this.rand = mulberry32(seed);
  }

  private pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.rand() * xs.length)]!;
  }

  private chance(p: number): boolean {
    return this.rand() < p;
  }

  /** The next operation. */
  next(): Op {
    const live = this.leases.filter((l) => l.live);
    const waiting = this.calls.filter((c) => c.state === 'waiting');
    const held = this.calls.filter((c) => c.state === 'ok');
    const leaders = held.filter((c) => c.kind === 'campaign');
    const open = this.observers.filter((o) => o.open);
    const canWait = waiting.length < MAX_WAITING;
    const weights: [Op['kind'], number][] = [
      ['grant', live.length < MAX_LIVE_LEASES ? 2 : 0],
      ['revoke', this.leases.length > 0 ? 1.2 : 0],
      ['lock', canWait ? 3 : 0],
      ['campaign', canWait ? 3 : 0],
      ['unlock', 2],
      ['proclaim', leaders.length > 0 ? 1.5 : 0.1],
      ['resign', leaders.length > 0 ? 1.5 : 0.1],
      ['leader', 1],
      ['observe', open.length < MAX_OBSERVERS ? 0.6 : 0],
      ['stopObserve', open.length > 0 ? 0.3 : 0],
      ['cancel', waiting.length > 0 ? 0.6 : 0],
      ['put', 0.6],
      ['delete', 0.3],
      ['range', 0.4],
    ];
    let r = this.rand() * weights.reduce((s, [, w]) => s + w, 0);
    let kind: Op['kind'] = 'range';
    for (const [k, w] of weights) {
      if (r < w) {
        kind = k;
        break;
      }
      r -= w;
    }
    const n = ++this.count;
    switch (kind) {
      case 'grant':
        return { kind, lease: `L${n}`, ttl: 600 };
      case 'revoke': {
        const safe = this.leases.filter((l) => !waiting.some((c) => c.lease === l.name));
        return safe.length > 0 ? { kind, lease: this.pick(safe).name } : { kind: 'range' };
      }
      case 'lock':
        return { kind, call: `c${n}`, name: this.pick(NAMES), lease: this.leaseRef() };
      case 'campaign':
        return {
          kind,
          call: `c${n}`,
          name: this.pick(NAMES),
          lease: this.leaseRef(),
          value: this.pick(VALUES),
        };
      case 'unlock': {
        const key = this.keyRef(held);
        const hitsWaiter = 'name' in key && waiting.some((c) => c.on === key.name && c.lease === key.lease);
        return hitsWaiter ? { kind: 'range' } : { kind, key };
      }
      case 'proclaim':
        return { kind, leader: this.leaderRef(leaders), value: this.pick(VALUES) };
      case 'resign':
        return { kind, leader: this.leaderRef(leaders) };
      case 'leader':
        return { kind, name: this.pick(NAMES) };
      case 'observe':
        return { kind, stream: `o${n}`, name: this.pick(NAMES) };
      case 'stopObserve':
        return { kind, stream: this.pick(open).name };
      case 'cancel': {
        // A canceled waiter's key is deleted; another waiter on the same key (same name and
        // lease) would then wait without one (see the file comment).
        const sharesKey = (c: CallModel) =>
          c.lease !== '0' && waiting.some((o) => o !== c && o.on === c.on && o.lease === c.lease);
        const safe = waiting.filter((c) => !sharesKey(c));
        return safe.length > 0 ? { kind, call: this.pick(safe).name } : { kind: 'range' };
      }
      case 'put': {
        const lease = this.chance(0.2) && live.length > 0 ? { lease: this.pick(live).name } : {};
        return { kind, key: `${this.pick(NAMES)}/k`, value: this.pick(VALUES), ...lease };
      }
      case 'delete': {
        const name = this.pick(NAMES);
        const overWaiter = waiting.some((c) => `${c.on}/`.startsWith(`${name}/`));
        return this.chance(0.5) && !overWaiter
          ? { kind, key: `${name}/`, prefix: true }
          : { kind, key: `${name}/k`, prefix: false };
      }
      default:
        return { kind: 'range' };
    }
  }

  /** Mostly a live lease; sometimes none (the server grants one), a revoked one, or an unknown ID. */
  private leaseRef(): LeaseRef {
    const live = this.leases.filter((l) => l.live);
    if (live.length > 0 && this.chance(0.75)) return this.pick(live).name;
    const dead = this.leases.filter((l) => !l.live);
    if (dead.length > 0 && this.chance(0.4)) return this.pick(dead).name;
    return this.chance(0.5) ? '0' : UNKNOWN_LEASE;
  }

  private keyRef(held: readonly CallModel[]): KeyRef {
    if (held.length > 0 && this.chance(0.6)) return { of: this.pick(held).name };
    if (this.leases.length > 0 && this.chance(0.5))
      return { name: this.pick(NAMES), lease: this.pick(this.leases).name };
    return { raw: this.pick(['a/k', 'nope', '']) };
  }

  private leaderRef(leaders: readonly CallModel[]): LeaderRef {
    if (leaders.length === 0 || this.chance(0.1)) return { missing: true };
    const of = this.pick(leaders).name;
    if (this.chance(0.15)) return { of, rev: 1 };
    if (this.chance(0.1) && this.leases.length > 0) return { of, lease: this.pick(this.leases).name };
    return { of };
  }

  /**
   * Takes in etcd's outcome of a step: whether `op` succeeded, and the state of every call
   * (`callState` reads etcd's).
   */
  observe(op: Op, ok: boolean, callState: (call: string) => CallState): void {
    if (op.kind === 'grant' && ok) this.leases.push({ name: op.lease, live: true });
    if (op.kind === 'revoke' && ok) {
      const l = this.leases.find((x) => x.name === op.lease);
      if (l !== undefined) l.live = false;
    }
    if (op.kind === 'lock' || op.kind === 'campaign')
      this.calls.push({ name: op.call, kind: op.kind, on: op.name, lease: op.lease, state: 'waiting' });
    if (op.kind === 'observe') this.observers.push({ name: op.stream, open: true });
    if (op.kind === 'stopObserve') {
      const o = this.observers.find((x) => x.name === op.stream);
      if (o !== undefined) o.open = false;
    }
    for (const c of this.calls) c.state = callState(c.name);
  }
}
