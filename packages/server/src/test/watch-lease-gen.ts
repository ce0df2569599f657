/**
 * The seeded generator of the watch/lease differential test: a random sequence of etcd requests
 * (writes, compactions, watch creates/cancels/progress, lease grant/revoke/keep-alive/queries)
 * over a small key space whose keys are prefixes of one another.
 *
 * The generator is interactive: it picks an operation's kind first, the runner may then bring
 * every watch up to date (a barrier), and only then are the details filled in from the state the
 * reference server (etcd) reported — the current and compacted revisions, the leases, the watch
 * history. Given the seed and etcd's answers the sequence is fixed, so a seed replays.
 *
 * Does not: talk to a server, or decide what a server should answer (the test compares etcd and
 * tsetcd with each other; see watch-lease-target.ts).
 */

import { mulberry32 } from '@tsetcd/testing';

/** Keys that are prefixes of one another, so prefix and range watches/deletes overlap. */
export const KEYS: readonly string[] = ['a', 'ab', 'abc', 'abd', 'b', 'ba', 'bb', 'c'];

/** A lease reference: a logical name (`L3`, translated per server) or `raw:<id>` (sent as is). */
export type LeaseRef = string;

/** One write inside a txn. */
export type TxnOpSpec =
  | { readonly op: 'put'; readonly key: string; readonly value: string; readonly lease?: LeaseRef }
  | { readonly op: 'delete'; readonly key: string; readonly rangeEnd?: string; readonly prevKv: boolean }
  | { readonly op: 'range'; readonly key: string; readonly rangeEnd?: string };

/** One txn compare. */
export interface CompareSpec {
  readonly key: string;
  readonly target: 'VERSION' | 'VALUE' | 'LEASE';
  readonly result: 'EQUAL' | 'NOT_EQUAL' | 'GREATER' | 'LESS';
  readonly version?: number;
  readonly value?: string;
  readonly lease?: LeaseRef;
}

/** A watch filter, by its proto enum name. */
export type Filter = 'NOPUT' | 'NODELETE';

/** One operation of the sequence, with every value both servers get already resolved. */
export type Op =
  | {
      readonly kind: 'put';
      readonly key: string;
      readonly value: string;
      readonly prevKv: boolean;
      readonly lease?: LeaseRef;
      readonly ignoreLease?: boolean;
    }
  | { readonly kind: 'delete'; readonly key: string; readonly rangeEnd?: string; readonly prevKv: boolean }
  | {
      readonly kind: 'txn';
      readonly compare: readonly CompareSpec[];
      readonly success: readonly TxnOpSpec[];
      readonly failure: readonly TxnOpSpec[];
    }
  | { readonly kind: 'compact'; readonly revision: number; readonly physical: boolean }
  | {
      readonly kind: 'watch';
      /** The logical watch this create opens (index into the runner's watch list). */
      readonly watch: number;
      readonly stream: string;
      readonly key: string;
      readonly rangeEnd?: string;
      readonly startRevision: number;
      readonly prevKv: boolean;
      readonly filters: readonly Filter[];
      readonly watchId?: number;
      readonly progressNotify: boolean;
    }
  /** Cancel logical watch `watch` (by the ID its server gave it), or the raw `watchId`. */
  | { readonly kind: 'cancel'; readonly stream: string; readonly watch?: number; readonly watchId?: number }
  | { readonly kind: 'progress'; readonly stream: string }
  | { readonly kind: 'grant'; readonly lease: string; readonly id?: string; readonly ttl: string }
  /** A grant of an ID that exists (an error), or of a lease that was revoked (granted again). */
  | { readonly kind: 'regrant'; readonly lease: LeaseRef; readonly ttl: string }
  | { readonly kind: 'revoke'; readonly lease: LeaseRef }
  | { readonly kind: 'timeToLive'; readonly lease: LeaseRef; readonly keys: boolean }
  | { readonly kind: 'leases' }
  | { readonly kind: 'keepAlive'; readonly lease: LeaseRef };

/** The kinds of operation. */
export type OpKind = Op['kind'] | 'watchPast';

/** Kinds that need every watch to have delivered everything first (see the runner). */
export function needsBarrier(kind: OpKind): boolean {
  return kind === 'compact' || kind === 'cancel' || kind === 'progress' || kind === 'watchPast';
}

/** An event of the history (from the reference server's all-keys watch). */
export interface HistoryEvent {
  readonly type: 'PUT' | 'DELETE';
  readonly key: string;
  readonly modRevision: number;
}

/** A lease as the generator knows it. */
export interface LeaseModel {
  readonly name: string;
  /** The ID requested (explicit), or undefined for a generated one. */
  readonly explicitId: string | undefined;
  /** Live until revoked; ephemeral ones (TTL below etcd's minimum) expire by themselves and are never used again. */
  state: 'live' | 'revoked' | 'ephemeral';
}

/** A watch as the generator knows it. */
export interface WatchModel {
  readonly index: number;
  readonly stream: string;
  /** The watch ID the reference server gave it; undefined if its create failed. */
  watchId: number | undefined;
  /** Whether it is still open on the reference server. */
  open: boolean;
}

/** What the generator reads from the reference server's answers. */
export interface GenState {
  /** Current revision. */
  rev: number;
  /** Last compaction revision (0: none). */
  compactRev: number;
  readonly leases: LeaseModel[];
  readonly watches: WatchModel[];
  /** Every event so far, in revision order. */
  history: readonly HistoryEvent[];
}

/** A fresh state (etcd starts at revision 1). */
export function initialState(): GenState {
  return { rev: 1, compactRev: 0, leases: [], watches: [], history: [] };
}

/** Streams phase-A watches are opened on (a stream opens on first use). */
export const STREAMS: readonly string[] = ['S0', 'S1', 'S2'];

/** Explicit lease IDs to draw from (the last ones probe the int64 edges). */
const EXPLICIT_LEASE_IDS: readonly string[] = ['7', '4660', '100000', '9223372036854775807', '1', '-5'];
/** TTLs of long-lived leases (none expires during a run). */
const LONG_TTLS: readonly string[] = ['60', '3600', '100000'];
/** TTLs at or below etcd's minimum of 2 s (raised to it; such leases expire within seconds). */
const SHORT_TTLS: readonly string[] = ['-5', '0', '1', '2'];
/** Above etcd's MaxLeaseTTL (9,000,000,000 s): OutOfRange. */
const TOO_LARGE_TTL = '9000000001';
/** Watch IDs a create may ask for; small ones collide with the IDs the server picks. */
const EXPLICIT_WATCH_IDS: readonly number[] = [1, 2, 5, 100];
/** A watch ID no stream uses. */
export const UNKNOWN_WATCH_ID = 9999;
/** A lease ID no run grants. */
const UNKNOWN_LEASE: LeaseRef = 'raw:123456789';

/** The relative weight of each kind. */
const WEIGHTS: readonly (readonly [OpKind, number])[] = [
  ['put', 20],
  ['delete', 7],
  ['txn', 8],
  ['compact', 3],
  ['watch', 9],
  ['watchPast', 5],
  ['cancel', 4],
  ['progress', 3],
  ['grant', 7],
  ['regrant', 2],
  ['revoke', 5],
  ['timeToLive', 4],
  ['leases', 2],
  ['keepAlive', 4],
];

/** The byte-wise successor of a prefix (etcd's GetPrefixRangeEnd for our printable keys). */
export function prefixEnd(key: string): string {
  return key.slice(0, -1) + String.fromCharCode(key.charCodeAt(key.length - 1) + 1);
}

/** The seeded generator. */
export class Generator {
  private readonly next: () => number;
  private opCount = 0;
  private leaseCount = 0;

  constructor(readonly seed: number) {
    this.next = mulberry32(seed);
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }

  /** The kind of the next operation. */
  kind(): OpKind {
    const total = WEIGHTS.reduce((s, [, w]) => s + w, 0);
    let r = this.int(total);
    for (const [k, w] of WEIGHTS) {
      if (r < w) return k;
      r -= w;
    }
    throw new Error('unreachable');
  }

  /** The details of an operation of `kind`, from the state now. */
  fill(kind: OpKind, s: GenState): Op {
    this.opCount++;
    switch (kind) {
      case 'put':
        return this.put(s);
      case 'delete':
        return { kind: 'delete', ...this.range(), prevKv: this.chance(0.5) };
      case 'txn':
        return this.txn(s);
      case 'compact':
        return this.compact(s);
      case 'watch':
        return this.watch(s, false, this.pick(STREAMS));
      case 'watchPast':
        return this.watch(s, true, this.pick(STREAMS));
      case 'cancel':
        return this.cancel(s);
      case 'progress':
        return { kind: 'progress', stream: this.pick(STREAMS) };
      case 'grant':
        return this.grant(s);
      case 'regrant': {
        const known = s.leases.filter((l) => l.state !== 'ephemeral');
        if (known.length === 0) return this.grant(s);
        return { kind: 'regrant', lease: this.pick(known).name, ttl: this.pick(LONG_TTLS) };
      }
      case 'revoke':
        return { kind: 'revoke', lease: this.leaseRef(s, 0.75) };
      case 'timeToLive':
        return { kind: 'timeToLive', lease: this.leaseRef(s, 0.8), keys: this.chance(0.6) };
      case 'leases':
        return { kind: 'leases' };
      case 'keepAlive':
        return { kind: 'keepAlive', lease: this.leaseRef(s, 0.75) };
    }
  }

  /** Watches opened after the sequence, replaying history (phase B): any start revision. */
  historical(s: GenState, watch: number): Op {
    this.opCount++;
    const r = this.range();
    // The compaction revision and the one below it are where replay and cancel meet: favour them.
    const k = this.int(10);
    let startRevision =
      s.compactRev > 0 && k < 3 ? s.compactRev - (k === 2 ? 1 : 0) : 1 + this.int(s.rev + 1);
    if (startRevision < 1) startRevision = 1;
    // Never a replay from exactly the compaction revision: etcd 3.4.23 drops the DELETE events
    // of that revision there (etcd#18089, fixed by #18274 in later patch releases), where
    // tsetcd keeps them as the fix does (mvcc's compaction tests); and after a non-physical
    // compaction etcd may still be deleting, so a replay from there races it.
    if (startRevision === s.compactRev && s.compactRev > 0) startRevision++;
    return { ...this.watchOptions(watch, 'B', r), startRevision };
  }

  // ---- writes ----------------------------------------------------------------------------------

  private value(): string {
    return this.chance(0.1) ? '' : `v${this.opCount}`;
  }

  private put(s: GenState): Op {
    const key = this.pick(KEYS);
    const base = { kind: 'put' as const, key, value: this.value(), prevKv: this.chance(0.5) };
    const r = this.int(10);
    if (r < 4) return base;
    if (r < 8) return { ...base, lease: this.leaseRef(s, 0.9) };
    // ignore_lease keeps the key's lease; with a lease too it is an error.
    return this.chance(0.7)
      ? { ...base, ignoreLease: true }
      : { ...base, ignoreLease: true, lease: this.leaseRef(s, 1) };
  }

  /** A single key, a prefix, a [k1, k2) range (sometimes empty), a from-key or the whole space. */
  private range(): { key: string; rangeEnd?: string } {
    const key = this.pick(KEYS);
    const r = this.int(20);
    if (r < 7) return { key };
    if (r < 12) return { key, rangeEnd: prefixEnd(key) };
    if (r < 16) return { key, rangeEnd: this.pick(KEYS) };
    if (r < 18) return { key, rangeEnd: '\0' };
    return { key: '\0', rangeEnd: '\0' };
  }

  private txnOps(s: GenState): TxnOpSpec[] {
    const ops: TxnOpSpec[] = [];
    const used = new Set<string>();
    // Writes to distinct keys, except now and then (etcd: "duplicate key given in txn request").
    const distinct = this.chance(0.9);
    for (let n = this.int(4); n > 0; n--) {
      let key = this.pick(KEYS);
      if (distinct) {
        const free = KEYS.filter(
          (k) => !used.has(k) && ![...used].some((u) => k.startsWith(u) || u.startsWith(k)),
        );
        if (free.length === 0) break;
        key = this.pick(free);
      }
      used.add(key);
      const r = this.int(10);
      if (r < 6) {
        const put = { op: 'put' as const, key, value: this.value() };
        ops.push(this.chance(0.3) ? { ...put, lease: this.leaseRef(s, 0.9) } : put);
      } else if (r < 9) {
        ops.push(
          this.chance(0.7)
            ? { op: 'delete', key, prevKv: this.chance(0.5) }
            : { op: 'delete', key, rangeEnd: prefixEnd(key), prevKv: this.chance(0.5) },
        );
      } else {
        ops.push({ op: 'range', key, rangeEnd: prefixEnd(key) });
      }
    }
    return ops;
  }

  private txn(s: GenState): Op {
    const compare: CompareSpec[] = [];
    for (let n = this.int(3); n > 0; n--) {
      const key = this.pick(KEYS);
      const result = this.pick(['EQUAL', 'NOT_EQUAL', 'GREATER', 'LESS'] as const);
      const t = this.int(3);
      if (t === 0) compare.push({ key, target: 'VERSION', result, version: this.int(3) });
      else if (t === 1)
        compare.push({ key, target: 'VALUE', result, value: `v${this.int(this.opCount + 1)}` });
      // Only (in)equality: a generated lease ID differs between the servers, so its order does too.
      else
        compare.push({
          key,
          target: 'LEASE',
          result: result === 'EQUAL' || result === 'LESS' ? 'EQUAL' : 'NOT_EQUAL',
          lease: this.leaseRef(s, 0.9),
        });
    }
    return { kind: 'txn', compare, success: this.txnOps(s), failure: this.txnOps(s) };
  }

  private compact(s: GenState): Op {
    const physical = this.chance(0.6);
    const r = this.int(10);
    let revision: number;
    if (r < 6) revision = Math.max(1, s.rev - this.int(4));
    else if (r < 7)
      revision = s.compactRev; // already compacted
    else if (r < 8)
      revision = s.rev + 1 + this.int(2); // future
    else if (r < 9)
      revision = this.int(2); // 0 or 1
    else revision = s.rev;
    return { kind: 'compact', revision, physical };
  }

  // ---- watches ---------------------------------------------------------------------------------

  private watchOptions(
    watch: number,
    stream: string,
    r: { key: string; rangeEnd?: string },
  ): Omit<Extract<Op, { kind: 'watch' }>, 'startRevision'> {
    const f = this.int(20);
    const filters: Filter[] =
      f < 12 ? [] : f < 15 ? ['NOPUT'] : f < 19 ? ['NODELETE'] : ['NOPUT', 'NODELETE'];
    return {
      kind: 'watch',
      watch,
      stream,
      ...r,
      prevKv: this.chance(0.5),
      filters,
      ...(this.chance(0.15) ? { watchId: this.pick(EXPLICIT_WATCH_IDS) } : {}),
      progressNotify: this.chance(0.2),
    };
  }

  /**
   * A create: live (start 0, current+1, future) or, with `past`, replaying from an earlier
   * revision. A past start either lies below the compaction (canceled) or is chosen so that the
   * watch has at least one event to replay: the runner waits for that event before any later
   * compaction, so etcd has synced the watch by then (an unsynced one would be canceled by it).
   */
  private watch(s: GenState, past: boolean, stream: string): Op {
    const index = s.watches.length;
    const r = this.range();
    const opts = this.watchOptions(index, stream, r);
    let startRevision = 0;
    if (!past) {
      const k = this.int(10);
      startRevision = k < 5 ? 0 : k < 7 ? s.rev + 1 : s.rev + 2 + this.int(3);
    } else if (s.compactRev > 1 && this.chance(0.3)) {
      startRevision = 1 + this.int(s.compactRev - 1); // compacted away
    } else {
      // Above the compaction revision: see historical() for why not from it.
      const lowest = Math.max(1, s.compactRev + 1);
      const matches = s.history.filter(
        (e) =>
          e.modRevision >= lowest &&
          inRange(e.key, opts.key, opts.rangeEnd) &&
          !opts.filters.includes(e.type === 'PUT' ? 'NOPUT' : 'NODELETE'),
      );
      if (matches.length > 0) {
        const e = this.pick(matches);
        startRevision = Math.max(lowest, e.modRevision - this.int(3));
      }
    }
    return { ...opts, startRevision };
  }

  private cancel(s: GenState): Op {
    const mine = s.watches;
    if (mine.length === 0 || this.chance(0.15)) {
      return { kind: 'cancel', stream: this.pick(STREAMS), watchId: UNKNOWN_WATCH_ID };
    }
    // Prefer open watches; a closed one's ID is unknown to the server by now.
    const open = mine.filter((w) => w.open);
    const w = open.length > 0 && this.chance(0.8) ? this.pick(open) : this.pick(mine);
    return { kind: 'cancel', stream: w.stream, watch: w.index };
  }

  // ---- leases ----------------------------------------------------------------------------------

  private grant(s: GenState): Op {
    const name = `L${this.leaseCount++}`;
    const r = this.int(20);
    const ttl = r < 14 ? this.pick(LONG_TTLS) : r < 19 ? this.pick(SHORT_TTLS) : TOO_LARGE_TTL;
    const taken = new Set(s.leases.map((l) => l.explicitId));
    const free = EXPLICIT_LEASE_IDS.filter((id) => !taken.has(id));
    // Negative and huge IDs are rare.
    if (this.chance(0.5) && free.length > 0) {
      const id = this.pick(free);
      const rare = id.startsWith('-') || id.length > 10;
      if (!rare || this.chance(0.3)) return { kind: 'grant', lease: name, id, ttl };
    }
    return { kind: 'grant', lease: name, ttl };
  }

  /** A live lease with probability `pLive`, else a revoked or unknown one. */
  private leaseRef(s: GenState, pLive: number): LeaseRef {
    const live = s.leases.filter((l) => l.state === 'live');
    const revoked = s.leases.filter((l) => l.state === 'revoked');
    if (live.length > 0 && this.chance(pLive)) return this.pick(live).name;
    if (revoked.length > 0 && this.chance(0.6)) return this.pick(revoked).name;
    return UNKNOWN_LEASE;
  }
}

/** Whether `key` lies in a watch's range, as etcd reads key/range_end ("\0" end: from key). */
export function inRange(key: string, start: string, rangeEnd: string | undefined): boolean {
  const k = start === '' ? '\0' : start;
  if (rangeEnd === undefined || rangeEnd === '') return key === k;
  if (rangeEnd === '\0') return key >= k;
  return key >= k && key < rangeEnd;
}
