/**
 * MemberClock: one member's view of a shared simulated clock, with the faults a real machine's
 * time and scheduling suffer:
 * - drift: the member's clock runs at `rate` times the shared one (a fast or slow crystal), so
 *   lease expiry and election timeouts on different members disagree a little;
 * - jumps: the monotonic clock leaps forward (a VM suspended and resumed);
 * - pauses: the process is frozen (a GC or event-loop stall): timers due meanwhile run only when
 *   it resumes, all at once, while `now()` keeps moving, so the member wakes up late.
 * A crash drops every timer of the dead incarnation (`reset`), so nothing of it runs again.
 */

import type { Clock, TimerHandle } from '../clock.js';

interface Timer {
  base: TimerHandle | undefined;
  /** When it is due on this clock. */
  readonly due: number;
  readonly fn: () => void;
}

/** A member's clock over a shared base clock; see the file comment. */
export class MemberClock implements Clock {
  private readonly timers = new Set<Timer>();
  private held: Timer[] = [];
  private paused = false;
  /** Base time and own time at the last rebase; own = ownAt + (base - baseAt) * rate. */
  private baseAt: number;
  private ownAt: number;

  constructor(
    private readonly base: Clock,
    /** How fast this clock runs relative to the base (1 = exactly as fast). */
    readonly rate = 1,
  ) {
    if (!(rate > 0 && Number.isFinite(rate))) throw new RangeError(`member clock: bad rate ${rate}`);
    this.baseAt = base.now();
    this.ownAt = this.baseAt;
  }

  now(): number {
    return this.ownAt + (this.base.now() - this.baseAt) * this.rate;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const t: Timer = { base: undefined, due: this.now() + Math.max(0, ms), fn };
    this.timers.add(t);
    this.arm(t);
    return t;
  }

  clearTimeout(handle: TimerHandle): void {
    const t = handle as Timer;
    if (!this.timers.delete(t)) return;
    if (t.base !== undefined) this.base.clearTimeout(t.base);
  }

  /** Whether the member is frozen. */
  get isPaused(): boolean {
    return this.paused;
  }

  /** Freezes the member: its timers wait until `resume`. */
  pause(): void {
    this.paused = true;
  }

  /** Unfreezes the member: timers that came due meanwhile run now, in the order they came due. */
  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    const due = this.held;
    this.held = [];
    for (const t of due) {
      t.base = this.base.setTimeout(() => this.fire(t), 0);
    }
  }

  /** Moves this clock forward by `ms` at once; timers it makes due run at the next base tick. */
  jump(ms: number): void {
    this.ownAt = this.now() + ms;
    this.baseAt = this.base.now();
    for (const t of this.timers) {
      if (t.base === undefined) continue;
      this.base.clearTimeout(t.base);
      this.arm(t);
    }
  }

  /** Forgets every timer (a crash): nothing the dead incarnation scheduled runs. */
  reset(): void {
    for (const t of this.timers) if (t.base !== undefined) this.base.clearTimeout(t.base);
    this.timers.clear();
    this.held = [];
    this.paused = false;
  }

  private arm(t: Timer): void {
    t.base = this.base.setTimeout(() => this.fire(t), Math.max(0, t.due - this.now()) / this.rate);
  }

  private fire(t: Timer): void {
    if (!this.timers.has(t)) return;
    if (this.paused) {
      t.base = undefined;
      this.held.push(t);
      return;
    }
    this.timers.delete(t);
    t.fn();
  }
}
