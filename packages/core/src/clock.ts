/**
 * Clock: the node's only source of time — for raft ticks, lease expiry, request timeouts and
 * auto-compaction. Injected so tests control time: `systemClock` reads the global timer functions
 * at each call (so vitest's fake timers, installed later, take effect), and `ManualClock` moves
 * only when a test advances it, firing due timers in (due time, creation) order.
 */

/** An opaque handle for a scheduled callback. */
export type TimerHandle = { readonly __timer: true } | number | object;

/** Time and timers, as the node uses them. */
export interface Clock {
  /** Milliseconds on a monotonic scale (only differences matter). */
  now(): number;
  /** Calls `fn` once after `ms` milliseconds. */
  setTimeout(fn: () => void, ms: number): TimerHandle;
  /** Cancels a callback scheduled with setTimeout (no-op if it ran already). */
  clearTimeout(handle: TimerHandle): void;
}

/**
 * The process's clock and timers. Timers keep the process alive, as a running member should
 * (like a listening server) until it is closed.
 */
export const systemClock: Clock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
  clearTimeout: (h) => globalThis.clearTimeout(h as ReturnType<typeof globalThis.setTimeout>),
};

interface ManualTimer {
  readonly due: number;
  readonly seq: number;
  readonly fn: () => void;
}

/** A clock that moves only when told to: deterministic tests and simulations. */
export class ManualClock implements Clock {
  private time: number;
  private seq = 0;
  private readonly timers = new Map<number, ManualTimer>();

  constructor(start = 0) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const seq = ++this.seq;
    this.timers.set(seq, { due: this.time + Math.max(0, ms), seq, fn });
    return seq;
  }

  clearTimeout(handle: TimerHandle): void {
    if (typeof handle === 'number') this.timers.delete(handle);
  }

  /** When the earliest pending timer is due, or undefined if none is pending. */
  nextDue(): number | undefined {
    let min: number | undefined;
    for (const t of this.timers.values()) if (min === undefined || t.due < min) min = t.due;
    return min;
  }

  /**
   * Moves time `ms` forward, running every timer due by then in (due, creation) order — also
   * timers those callbacks schedule within the window. Returns how many ran.
   */
  advance(ms: number): number {
    if (!(ms >= 0 && Number.isFinite(ms))) throw new RangeError(`clock: cannot advance by ${ms}`);
    const target = this.time + ms;
    let ran = 0;
    for (;;) {
      const next = this.earliest();
      if (next === undefined || next.due > target) break;
      this.timers.delete(next.seq);
      this.time = Math.max(this.time, next.due);
      next.fn();
      ran++;
    }
    this.time = target;
    return ran;
  }

  /** Moves time by `ms` without running timers (a clock jump; timers run at the next advance). */
  jump(ms: number): void {
    this.time += ms;
  }

  private earliest(): ManualTimer | undefined {
    let best: ManualTimer | undefined;
    for (const t of this.timers.values()) {
      if (best === undefined || t.due < best.due || (t.due === best.due && t.seq < best.seq)) best = t;
    }
    return best;
  }
}
