/**
 * keyIndex: the revisions of one key, grouped in generations. A generation runs from the put that
 * creates the key to the delete (tombstone) that ends it; a new put starts a new generation.
 *
 * Example (etcd's key_index.go picture): put(1.0); put(2.0); tombstone(3.0); put(4.0);
 * tombstone(5.0) gives
 *
 *     generations:
 *       {empty}
 *       {4.0, 5.0(t)}
 *       {1.0, 2.0, 3.0(t)}
 *
 * Compact(n) removes every revision <= n except the newest one <= n in each generation that is
 * live at n or ends exactly at n, and drops generations that ended before n:
 *
 *     compact(2) → {empty} {4.0, 5.0(t)} {2.0, 3.0(t)}
 *     compact(4) → {empty} {4.0, 5.0(t)}
 *     compact(5) → {empty} {5.0(t)}   (a tombstone AT the compaction revision is kept, so a
 *                                      watch from 5 still sees the delete: etcd#18274)
 *     compact(6) → {empty}            → the key index retains nothing and may be removed
 *
 * A generation's revisions are one flat number array (main, sub, main, sub, …) to keep a million
 * keys small and a put to one array touched. The current generation (the top one) lives in the
 * KeyIndex object itself. Pure.
 */

import type { Rev } from './revision.js';
import type { Revision } from './types.js';

/** Shared by every generation that holds no revision; `append` replaces it, nothing writes it. */
const NO_REVS: number[] = Object.freeze([]) as unknown as number[];

/** The revisions of one lifetime of a key. */
export class Generation {
  /** Number of puts in this generation (its last revision's `version`); 0 while it is empty. */
  ver: number;
  /** The revision that created this generation, as two numbers held in the object itself. */
  protected createdMain: number;
  protected createdSub: number;
  /**
   * The revisions, flattened: main of the i-th at 2i, its sub at 2i+1. Invariant: strictly
   * increasing (main, sub); the last one is a tombstone if the generation ended. Replaced by a
   * two-element literal on the first revision: V8 gives `[].push(x)` room for 16 elements, bytes
   * that most keys (written once or a few times) never use.
   */
  protected revs: number[];

  constructor(ver = 0, created: Rev = { main: 0 as Revision, sub: 0 }, revs: number[] = NO_REVS) {
    this.ver = ver;
    this.createdMain = created.main;
    this.createdSub = created.sub;
    this.revs = revs;
  }

  /** The revision that created this generation. */
  get created(): Rev {
    return { main: this.createdMain as Revision, sub: this.createdSub };
  }

  /** True for the empty generation that follows a tombstone (or a never-written key). */
  isEmpty(): boolean {
    return this.revs.length === 0;
  }

  /** The number of revisions in this generation. */
  get length(): number {
    return this.revs.length >> 1;
  }

  /** Main revision of the i-th revision. */
  main(i: number): number {
    return this.revs[2 * i]!;
  }

  /** Sub revision of the i-th revision. */
  sub(i: number): number {
    return this.revs[2 * i + 1]!;
  }

  /** Every main revision, in order (a copy: for tests and diagnostics). */
  get mains(): number[] {
    return this.revs.filter((_, i) => i % 2 === 0);
  }

  /** The i-th revision. */
  rev(i: number): Rev {
    return { main: this.revs[2 * i]! as Revision, sub: this.revs[2 * i + 1]! };
  }

  /** Appends a revision (it must follow every revision already here). */
  append(main: number, sub: number): void {
    if (this.revs.length === 0) this.revs = [main, sub];
    else this.revs.push(main, sub);
  }

  /** Index of the last revision whose main is <= atRev, or -1. */
  lastAtOrBefore(atRev: number): number {
    for (let i = this.revs.length - 2; i >= 0; i -= 2) if (this.revs[i]! <= atRev) return i >> 1;
    return -1;
  }

  /** Drops the first n revisions. */
  dropFirst(n: number): void {
    this.revs.splice(0, 2 * n);
  }
}

/** What `get` reports: the live revision at or before atRev and the generation's facts. */
export interface KeyIndexGet {
  readonly modified: Rev;
  readonly created: Rev;
  readonly ver: number;
}

/** A set of revisions, keyed `main:sub`, that compaction must keep in the backend. */
export type RevSet = Set<string>;

/** The key of a revision in a RevSet. */
export function revKey(main: number, sub: number): string {
  return `${main}:${sub}`;
}

/** No generation ended yet: shared, never written (`tombstone` replaces it). */
const NO_GENERATIONS: readonly Generation[] = Object.freeze([]);

/**
 * The generations of one key. A KeyIndex is itself its key's current generation (the fields it
 * inherits), and holds the generations that ended before it: a put, or a read at the newest
 * revision, then touches this one object and the revision array, not a Generation object and
 * its created revision besides (over many keys each of those was a cache miss per put).
 */
export class KeyIndex extends Generation {
  /** The key as a binary string (see bytes.ts). */
  readonly key: string;
  /** The key's hash, kept by the TreeIndex's KeyHashMap. */
  keyHash = 0;
  /**
   * The last revision written (put or tombstone), as two numbers held in the object itself: a
   * read at the current revision then touches no other object to find what to read.
   */
  private modMain = 0;
  private modSub = 0;
  /**
   * The generations that ended (each with its tombstone), oldest first. Invariant: none is
   * empty. The key is live exactly when the current generation is not empty, i.e. `ver > 0`.
   */
  private ended: readonly Generation[] = NO_GENERATIONS;

  constructor(key: string) {
    super();
    this.key = key;
  }

  /** The last revision written (put or tombstone); main 0 if none. */
  get modified(): Rev {
    return { main: this.modMain as Revision, sub: this.modSub };
  }

  /** Whether the key is live now (its current generation has a put). */
  get isLive(): boolean {
    return this.ver > 0;
  }

  /** Main revision of the put that created the live generation (0 when not live). */
  get createdRevision(): number {
    return this.createdMain;
  }

  /**
   * Every generation, oldest first, the current one (this object, possibly empty) last; none
   * before the first write. A fresh array: for restore, tests and diagnostics.
   */
  get generations(): Generation[] {
    return this.modMain === 0 && this.ended.length === 0 ? [] : [...this.ended, this];
  }

  /** Records a put at (main, sub). */
  put(main: Revision, sub: number): void {
    if (main < this.modMain || (main === this.modMain && sub <= this.modSub)) {
      throw new Error(
        `mvcc: put with an unexpected smaller revision ${main}.${sub} on ${JSON.stringify(this.key)}`,
      );
    }
    if (this.ver === 0) {
      this.createdMain = main;
      this.createdSub = sub;
    }
    this.append(main, sub);
    this.ver++;
    this.modMain = main;
    this.modSub = sub;
  }

  /**
   * Rebuilds a generation from stored state on restore: the key was last written at `modified`
   * and its KeyValue says it was created at `created` with `ver` puts.
   */
  restore(created: Rev, modified: Rev, ver: number): void {
    this.ended = NO_GENERATIONS;
    this.startGeneration(ver, created, [modified.main, modified.sub]);
    this.modMain = modified.main;
    this.modSub = modified.sub;
  }

  /**
   * Restores a key whose first retained revision is its tombstone (the rest was compacted): a
   * generation holding just the tombstone, so compaction and hashKV treat it exactly as on a
   * replica that never restarted (etcd#19188).
   */
  restoreTombstone(tombstone: Rev): void {
    this.ended = [new Generation(1, tombstone, [tombstone.main, tombstone.sub])];
    this.startGeneration(0, { main: 0 as Revision, sub: 0 }, NO_REVS);
    this.modMain = tombstone.main;
    this.modSub = tombstone.sub;
  }

  /** Records a delete at (main, sub): ends the current generation. Returns false if not live. */
  tombstone(main: Revision, sub: number): boolean {
    if (this.ver === 0) return false;
    this.put(main, sub);
    this.ended = [...this.ended, new Generation(this.ver, this.created, this.revs)];
    this.startGeneration(0, { main: 0 as Revision, sub: 0 }, NO_REVS);
    return true;
  }

  /** True once every generation was compacted away: the key may be dropped from the index. */
  retainsNothing(): boolean {
    return this.ended.length === 0 && this.revs.length === 0;
  }

  /** Makes the current generation this one. */
  private startGeneration(ver: number, created: Rev, revs: number[]): void {
    this.ver = ver;
    this.createdMain = created.main;
    this.createdSub = created.sub;
    this.revs = revs;
  }

  /** Generation i, oldest first: the ended ones, then the current one (this). */
  private generation(i: number): Generation {
    return i < this.ended.length ? this.ended[i]! : this;
  }

  /** The generation live at `atRev`, or undefined if the key did not exist then. */
  findGeneration(atRev: number): Generation | undefined {
    if (!this.isEmpty() && this.main(0) <= atRev) return this;
    for (let i = this.ended.length - 1; i >= 0; i--) {
      const g = this.ended[i]!;
      // A generation that ended (tombstone) at or before atRev was not live at atRev.
      if (g.main(g.length - 1) <= atRev) return undefined;
      if (g.main(0) <= atRev) return g;
    }
    return undefined;
  }

  /** The key's state at `atRev`, or undefined if it did not exist (or was deleted) then. */
  get(atRev: number): KeyIndexGet | undefined {
    if (atRev >= this.modMain) {
      // Nothing was written after atRev: the key's state now is its state then.
      return this.ver === 0 ? undefined : { modified: this.modified, created: this.created, ver: this.ver };
    }
    const g = this.findGeneration(atRev);
    if (g === undefined) return undefined;
    const n = g.lastAtOrBefore(atRev);
    if (n < 0) return undefined;
    return { modified: g.rev(n), created: g.created, ver: g.ver - (g.length - n - 1) };
  }

  /** The revision of the key live at `atRev` (get(atRev).modified), or undefined. */
  modifiedAt(atRev: number): Rev | undefined {
    if (atRev >= this.modMain) return this.ver === 0 ? undefined : this.modified;
    const g = this.findGeneration(atRev);
    if (g === undefined) return undefined;
    const n = g.lastAtOrBefore(atRev);
    return n < 0 ? undefined : g.rev(n);
  }

  /**
   * Every revision with main >= `since`, keeping only the last write of each main revision
   * (what a watcher catching up from `since` must replay for this key).
   */
  since(since: number): Rev[] {
    const out: Rev[] = [];
    for (let gi = 0; gi <= this.ended.length; gi++) {
      const g = this.generation(gi);
      for (let i = 0; i < g.length; i++) {
        const main = g.main(i);
        if (main < since) continue;
        const prev = out[out.length - 1];
        if (prev !== undefined && prev.main === main) out[out.length - 1] = g.rev(i);
        else out.push(g.rev(i));
      }
    }
    return out;
  }

  /**
   * Steps 1–2 shared by compact and keep: (1) skip generations that ended before atRev;
   * (2) in the first one that did not, find the newest revision <= atRev and mark it available,
   * with every revision of main revision atRev, in it or in the generations after it.
   *
   * A key has several revisions at one main revision only when a txn deletes it with a from-key
   * range and also puts it (etcd's duplicate-key check lets that through): a put then the
   * delete, or the delete then a put, which ends one generation and starts the next within
   * atRev. All of them stay, so the key reads right at atRev and a watch from atRev sees every
   * event of that revision.
   */
  private doCompact(atRev: number, available: RevSet): { genIdx: number; revIndex: number } {
    let genIdx = 0;
    while (genIdx < this.ended.length) {
      const g = this.ended[genIdx]!;
      // A generation that ends exactly at atRev keeps its tombstone, so a watch from atRev still
      // sees that delete (etcd#18274).
      if (g.main(g.length - 1) >= atRev) break;
      genIdx++;
    }
    const g = this.generation(genIdx);
    let revIndex = g.lastAtOrBefore(atRev);
    if (revIndex < 0) return { genIdx, revIndex };
    for (let i = revIndex; i >= 0 && (i === revIndex || g.main(i) === atRev); i--) {
      available.add(revKey(g.main(i), g.sub(i)));
      revIndex = i;
    }
    for (let n = genIdx + 1; n <= this.ended.length; n++) {
      const later = this.generation(n);
      if (later.isEmpty() || later.main(0) > atRev) break;
      for (let i = 0; i < later.length && later.main(i) <= atRev; i++) {
        available.add(revKey(later.main(i), later.sub(i)));
      }
    }
    return { genIdx, revIndex };
  }

  /** Removes revisions older than the one live at atRev; records the kept revision in `available`. */
  compact(atRev: number, available: RevSet): void {
    if (this.retainsNothing()) return;
    const { genIdx, revIndex } = this.doCompact(atRev, available);
    const g = this.generation(genIdx);
    // Any generation kept here is the current one or ends at or after atRev (see doCompact), so
    // its revision at atRev (possibly the tombstone AT atRev) stays.
    if (!g.isEmpty() && revIndex > 0) g.dropFirst(revIndex);
    if (genIdx > 0) this.ended = genIdx >= this.ended.length ? NO_GENERATIONS : this.ended.slice(genIdx);
  }

  /** Like compact, without changing anything: which revision of this key survives compact(atRev). */
  keep(atRev: number, available: RevSet): void {
    if (this.retainsNothing()) return;
    this.doCompact(atRev, available);
  }
}
