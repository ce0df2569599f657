/**
 * WatchScheduler: the only source of time and background work in the watch subsystem, injected
 * so tests and the simulator decide exactly when sync passes and progress ticks run.
 *
 * The default runs deferred work on the next turn of the event loop (setImmediate) and periodic
 * work on an unref'd interval. ManualWatchScheduler runs nothing until told to.
 */

/** Runs the watch subsystem's background work. */
export interface WatchScheduler {
  /** Runs `fn` once, soon, outside the current call stack. */
  defer(fn: () => void): void;
  /** Runs `fn` every `ms` milliseconds until the returned function is called. */
  every(ms: number, fn: () => void): () => void;
}

/** setImmediate and an unref'd setInterval: passes yield to I/O, timers never keep a process alive. */
export const defaultWatchScheduler: WatchScheduler = {
  defer(fn) {
    setImmediate(fn);
  },
  every(ms, fn) {
    const t = setInterval(fn, ms);
    t.unref();
    return () => clearInterval(t);
  },
};

interface ManualTimer {
  readonly ms: number;
  readonly fn: () => void;
  due: number;
}

/** A scheduler driven by hand: deferred work waits for `runDeferred`, time moves only by `advance`. */
export class ManualWatchScheduler implements WatchScheduler {
  private deferred: (() => void)[] = [];
  private readonly timers = new Set<ManualTimer>();
  private now = 0;

  defer(fn: () => void): void {
    this.deferred.push(fn);
  }

  every(ms: number, fn: () => void): () => void {
    const t: ManualTimer = { ms, fn, due: this.now + ms };
    this.timers.add(t);
    return () => this.timers.delete(t);
  }

  /** Deferred calls waiting to run. */
  get pending(): number {
    return this.deferred.length;
  }

  /** Active periodic timers. */
  get activeTimers(): number {
    return this.timers.size;
  }

  /** Runs the calls deferred so far (not those they defer in turn); returns how many ran. */
  runDeferred(): number {
    const run = this.deferred;
    this.deferred = [];
    for (const fn of run) fn();
    return run.length;
  }

  /** Moves the clock forward, firing each due timer once per elapsed period, in time order. */
  advance(ms: number): void {
    const until = this.now + ms;
    for (;;) {
      let next: ManualTimer | undefined;
      for (const t of this.timers) if (t.due <= until && (next === undefined || t.due < next.due)) next = t;
      if (next === undefined) break;
      this.now = next.due;
      next.due += next.ms;
      next.fn();
    }
    this.now = until;
  }
}
