/**
 * etcd's auto-compaction (`--auto-compaction-mode`, `--auto-compaction-retention`), ported from
 * etcd 3.4's `etcdserver/api/v3compactor` (periodic.go, revision.go) and the flag parsing of
 * `embed/etcd.go` (`parseCompactionRetention`) and `embed/config.go` (`Validate`).
 *
 * Pure: no timers, no `Date`. The host calls `run(nowMs)` once, then `tick(nowMs)` whenever it
 * likes (at the latest at `nextWakeMs()`); the compactor reads the revision and compacts through
 * injected callbacks. Where etcd's goroutine sleeps on `clock.After(d)`, we store a wake-up time
 * `now + d`, with `now` the latest time the host reported — so a late tick fires once, late, as
 * a late Go timer does, and time spent inside `compact()` is only seen through later ticks.
 *
 * Only the leader compacts: the host calls `pause()` on followers and `resume()` on the leader,
 * as etcdserver does on every leader change.
 */

import { CoreError } from './errors.js';

/** etcd's two modes (`v3compactor.ModePeriodic`, `ModeRevision`). */
export const CompactorMode = {
  Periodic: 'periodic',
  Revision: 'revision',
} as const;
/** One of {@link CompactorMode}'s values. */
export type CompactorMode = (typeof CompactorMode)[keyof typeof CompactorMode];

/** etcd's default `--auto-compaction-mode`. */
export const DEFAULT_AUTO_COMPACTION_MODE: CompactorMode = CompactorMode.Periodic;
/** etcd's default `--auto-compaction-retention`: "0", which disables auto-compaction. */
export const DEFAULT_AUTO_COMPACTION_RETENTION = '0';
/** Periodic mode records a revision every 1/10 of the compaction interval (etcd's `retryDivisor`). */
export const PERIODIC_RETRY_DIVISOR = 10;
/** Periodic mode compacts at least hourly however long the retention (`getCompactInterval`). */
export const PERIODIC_MAX_COMPACT_INTERVAL_MS = 60 * 60 * 1000;
/** Revision mode looks at the current revision every 5 minutes (etcd's `revInterval`). */
export const REVISION_COMPACT_INTERVAL_MS = 5 * 60 * 1000;

const NS_PER_MS = 1e6;

/** A valid, enabled auto-compaction setting, as {@link parseAutoCompaction} returns it. */
export type AutoCompactionConfig =
  | {
      readonly mode: typeof CompactorMode.Periodic;
      /** Keep this much history, in ms. */
      readonly retentionMs: number;
    }
  | {
      readonly mode: typeof CompactorMode.Revision;
      /** Keep this many revisions. */
      readonly retention: number;
    };

/** A bad `--auto-compaction-mode` / `--auto-compaction-retention`; the node must not start. */
export class InvalidAutoCompactionError extends CoreError {
  readonly code = 'ErrInvalidAutoCompaction';
  constructor(message: string) {
    super(message);
    this.name = 'InvalidAutoCompactionError';
  }
}

/** Nanoseconds per unit, as Go's `time.ParseDuration` accepts them. */
const GO_DURATION_UNITS: ReadonlyMap<string, number> = new Map([
  ['ns', 1],
  ['us', 1e3],
  ['\u00b5s', 1e3], // U+00B5 micro sign
  ['\u03bcs', 1e3], // U+03BC Greek small letter mu
  ['ms', 1e6],
  ['s', 1e9],
  ['m', 60e9],
  ['h', 3600e9],
]);

/**
 * Go's `time.ParseDuration` (`"1h30m"`, `"1.5h"`, `"300ms"`, `"-2m"`), returning nanoseconds,
 * with Go's error texts — etcd's retention errors embed them.
 */
export function parseGoDuration(text: string): number {
  const quoted = JSON.stringify(text);
  let s = text;
  let sign = 1;
  if (s.startsWith('-') || s.startsWith('+')) {
    sign = s[0] === '-' ? -1 : 1;
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') throw new Error(`time: invalid duration ${quoted}`);
  let total = 0;
  while (s !== '') {
    const num = /^(\d*)(?:\.(\d*))?/.exec(s)!;
    const [whole = '', intDigits = '', fracDigits = ''] = num;
    if (intDigits === '' && fracDigits === '') throw new Error(`time: invalid duration ${quoted}`);
    s = s.slice(whole.length);
    const unit = /^[^0-9.]*/.exec(s)![0];
    if (unit === '') throw new Error(`time: missing unit in duration ${quoted}`);
    const scale = GO_DURATION_UNITS.get(unit);
    if (scale === undefined)
      throw new Error(`time: unknown unit ${JSON.stringify(unit)} in duration ${quoted}`);
    s = s.slice(unit.length);
    total += Number(`${intDigits || '0'}.${fracDigits || '0'}`) * scale;
  }
  if (total > 2 ** 63) throw new Error(`time: invalid duration ${quoted}`);
  return sign * total;
}

/**
 * Validates etcd's two flags and turns them into a config, or `undefined` when the retention is
 * zero (etcd's "0 means disable auto compaction"). As in etcd, a bare whole number means hours in
 * periodic mode and revisions in revision mode, and periodic mode also takes a Go duration
 * (`"30m"`, `"1h30m"`). Stricter than etcd 3.4 on purpose: an empty mode, a negative retention
 * and a duration in revision mode (which etcd reads as a nanosecond count of revisions) are errors.
 */
export function parseAutoCompaction(
  mode: string = DEFAULT_AUTO_COMPACTION_MODE,
  retention: string = DEFAULT_AUTO_COMPACTION_RETENTION,
): AutoCompactionConfig | undefined {
  if (mode === '') throw new InvalidAutoCompactionError('undefined auto-compaction-mode');
  if (mode !== CompactorMode.Periodic && mode !== CompactorMode.Revision) {
    throw new InvalidAutoCompactionError(`unknown auto-compaction-mode ${JSON.stringify(mode)}`);
  }
  // Go's strconv.Atoi: optional sign, decimal digits.
  if (/^[+-]?\d+$/.test(retention)) {
    const n = Number(retention);
    if (n < 0) {
      throw new InvalidAutoCompactionError(
        `auto-compaction-retention must not be negative, got ${JSON.stringify(retention)}`,
      );
    }
    if (!Number.isSafeInteger(n)) {
      throw new InvalidAutoCompactionError(
        `auto-compaction-retention ${JSON.stringify(retention)} is too large`,
      );
    }
    if (n === 0) return undefined;
    return mode === CompactorMode.Periodic
      ? { mode, retentionMs: n * PERIODIC_MAX_COMPACT_INTERVAL_MS }
      : { mode, retention: n };
  }
  let ns: number;
  try {
    ns = parseGoDuration(retention);
  } catch (err) {
    throw new InvalidAutoCompactionError(`error parsing CompactionRetention: ${(err as Error).message}`);
  }
  if (mode === CompactorMode.Revision) {
    throw new InvalidAutoCompactionError(
      `auto-compaction-retention in revision mode is a number of revisions, got ${JSON.stringify(retention)}`,
    );
  }
  if (ns < 0) {
    throw new InvalidAutoCompactionError(
      `auto-compaction-retention must not be negative, got ${JSON.stringify(retention)}`,
    );
  }
  return ns === 0 ? undefined : { mode, retentionMs: ns / NS_PER_MS };
}

/** What a compactor needs from the node: etcd's `RevGetter` and `Compactable`. */
export interface CompactorDeps {
  /** The store's current revision (etcd's `RevGetter.Rev`). */
  currentRevision(): number;
  /**
   * Proposes a compaction to `revision` and settles when it is applied. A rejection whose
   * `code` is `'ErrCompacted'` counts as success, as in etcd; any other is retried later.
   */
  compact(revision: number): Promise<void>;
  /** Optional log of what etcd logs at info/warn level; must not throw. */
  onEvent?: (event: CompactorEvent) => void;
}

/** etcd's log lines "starting / completed / failed auto … compaction", as data. */
export type CompactorEvent =
  | { readonly type: 'compaction-started'; readonly mode: CompactorMode; readonly revision: number }
  | { readonly type: 'compaction-completed'; readonly mode: CompactorMode; readonly revision: number }
  | {
      readonly type: 'compaction-failed';
      readonly mode: CompactorMode;
      readonly revision: number;
      readonly error: unknown;
    };

/** etcd's `Compactor` interface, driven by the host's clock instead of a goroutine. */
export interface Compactor {
  /** Starts the compactor at `nowMs` (etcd's `Run`). Calling it twice is a mistake. */
  run(nowMs: number): void;
  /** Reports the time; does the work due by then. Settles once any compaction it started settles. */
  tick(nowMs: number): Promise<void>;
  /** When the next `tick` has work to do; `undefined` before `run` and after `stop`. */
  nextWakeMs(): number | undefined;
  /** Stops compacting (the member is not the leader). Periodic mode keeps recording revisions. */
  pause(): void;
  /** Undoes `pause` (the member became leader). */
  resume(): void;
  /** Ends the compactor for good; an in-flight compaction is left to settle. */
  stop(): void;
  /** Whether `pause` is in effect. */
  readonly paused: boolean;
}

function isCompactedError(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 'ErrCompacted';
}

/**
 * The clock plumbing both modes share: a wake-up time, the latest reported time, and one wake-up
 * at a time (a tick during an in-flight compaction joins it and is handled after it settles).
 */
abstract class ClockDriven implements Compactor {
  abstract readonly mode: CompactorMode;
  #paused = false;
  #stopped = false;
  #now = Number.NEGATIVE_INFINITY;
  #wakeAt: number | undefined;
  #running: Promise<void> | undefined;

  constructor(protected readonly deps: CompactorDeps) {}

  /** Mode-specific start: record state and call `sleep`. */
  protected abstract start(): void;
  /** Mode-specific body of etcd's loop after its timer fired; ends by calling `sleep`. */
  protected abstract wake(): Promise<void>;

  run(nowMs: number): void {
    if (this.#now !== Number.NEGATIVE_INFINITY) throw new TypeError('compactor: run called twice');
    this.#now = nowMs;
    this.start();
  }

  tick(nowMs: number): Promise<void> {
    if (this.#stopped || this.#now === Number.NEGATIVE_INFINITY) return Promise.resolve();
    if (nowMs > this.#now) this.#now = nowMs; // time never goes backwards
    this.#running ??= this.#drain().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  async #drain(): Promise<void> {
    while (!this.#stopped && this.#wakeAt !== undefined && this.#wakeAt <= this.#now) {
      this.#wakeAt = undefined;
      await this.wake();
    }
  }

  nextWakeMs(): number | undefined {
    return this.#stopped ? undefined : this.#wakeAt;
  }

  pause(): void {
    this.#paused = true;
  }

  resume(): void {
    this.#paused = false;
  }

  stop(): void {
    this.#stopped = true;
    this.#wakeAt = undefined;
  }

  get paused(): boolean {
    return this.#paused;
  }

  /** The latest time the host reported. */
  protected get now(): number {
    return this.#now;
  }

  /** etcd's `clock.After(d)`: wake at `now + d` (unless stopped meanwhile). */
  protected sleep(ms: number): void {
    if (!this.#stopped) this.#wakeAt = this.#now + ms;
  }

  /** Calls `compact`; true on success or ErrCompacted, as etcd treats both. */
  protected async tryCompact(revision: number): Promise<boolean> {
    const { mode } = this;
    this.deps.onEvent?.({ type: 'compaction-started', mode, revision });
    try {
      await this.deps.compact(revision);
    } catch (error) {
      if (!isCompactedError(error)) {
        this.deps.onEvent?.({ type: 'compaction-failed', mode, revision, error });
        return false;
      }
    }
    this.deps.onEvent?.({ type: 'compaction-completed', mode, revision });
    return true;
  }
}

/**
 * Periodic mode (etcd's `Periodic`): keep `retention` worth of history. With a 1h retention:
 *   1. every 1/10 of min(retention, 1h) (6 min), record the current revision, keeping the last
 *      retention/interval + 1 of them, so the oldest is the revision of `retention` ago;
 *   2. compact nothing for the first `retention`;
 *   3. then, once `retention` has passed since the last success, compact to the oldest recorded
 *      revision; afterwards every min(retention, 1h) (a 24h retention compacts hourly);
 *   4. on failure, retry at the next recording (6 min later) — the last success has not moved.
 * While paused it keeps recording (step 1) but skips steps 3–4.
 */
export class PeriodicCompactor extends ClockDriven {
  readonly mode = CompactorMode.Periodic;
  /** Revisions recorded every `retryIntervalMs`. Invariant: revs[0] is the revision of `periodMs` ago. */
  #revs: number[] = [];
  #lastSuccess = 0;
  #baseInterval: number;

  /** `periodMs` is the retention, > 0. */
  constructor(
    readonly periodMs: number,
    deps: CompactorDeps,
  ) {
    super(deps);
    if (!(periodMs > 0))
      throw new RangeError(`periodic compactor: retention must be > 0 ms, got ${periodMs}`);
    this.#baseInterval = periodMs;
  }

  /** Compact interval once the first retention has passed (etcd's `getCompactInterval`). */
  get compactIntervalMs(): number {
    return Math.min(this.periodMs, PERIODIC_MAX_COMPACT_INTERVAL_MS);
  }

  /** How often revisions are recorded and failures retried (etcd's `getRetryInterval`). */
  get retryIntervalMs(): number {
    return this.compactIntervalMs / PERIODIC_RETRY_DIVISOR;
  }

  /** How many recorded revisions are kept (etcd's `getRetentions`). */
  get retentions(): number {
    return Math.floor(this.periodMs / this.retryIntervalMs) + 1;
  }

  protected start(): void {
    this.#lastSuccess = this.now;
    this.#recordAndSleep();
  }

  protected async wake(): Promise<void> {
    if (!this.paused && this.now - this.#lastSuccess >= this.#baseInterval) {
      // wait up to the initial given period, then compact every compact interval
      if (this.#baseInterval === this.periodMs) this.#baseInterval = this.compactIntervalMs;
      if (await this.tryCompact(this.#revs[0]!)) this.#lastSuccess = this.now;
    }
    this.#recordAndSleep();
  }

  #recordAndSleep(): void {
    this.#revs.push(this.deps.currentRevision());
    if (this.#revs.length > this.retentions) this.#revs.shift();
    this.sleep(this.retryIntervalMs);
  }
}

/**
 * Revision mode (etcd's `Revision`): every 5 minutes, compact to current revision − retention,
 * unless that is ≤ 0 or the revision last compacted successfully. A failure is retried 5 minutes
 * later with whatever the revision is then.
 */
export class RevisionCompactor extends ClockDriven {
  readonly mode = CompactorMode.Revision;
  #prev = 0;

  /** `retention` is the number of revisions to keep, > 0. */
  constructor(
    readonly retention: number,
    deps: CompactorDeps,
  ) {
    super(deps);
    if (!Number.isSafeInteger(retention) || retention <= 0) {
      throw new RangeError(`revision compactor: retention must be a positive integer, got ${retention}`);
    }
  }

  protected start(): void {
    this.sleep(REVISION_COMPACT_INTERVAL_MS);
  }

  protected async wake(): Promise<void> {
    if (!this.paused) {
      const rev = this.deps.currentRevision() - this.retention;
      if (rev > 0 && rev !== this.#prev && (await this.tryCompact(rev))) this.#prev = rev;
    }
    this.sleep(REVISION_COMPACT_INTERVAL_MS);
  }
}

/** etcd's `v3compactor.New`: the compactor for a parsed config (not yet running). */
export function newCompactor(config: AutoCompactionConfig, deps: CompactorDeps): Compactor {
  return config.mode === CompactorMode.Periodic
    ? new PeriodicCompactor(config.retentionMs, deps)
    : new RevisionCompactor(config.retention, deps);
}
