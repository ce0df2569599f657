import { describe, expect, it } from 'vitest';
import { ManualClock } from '../clock.js';
import { MemberClock } from './member-clock.js';

describe('MemberClock', () => {
  it('runs at its rate: a fast clock fires its timers early on the shared clock', () => {
    const base = new ManualClock();
    const fast = new MemberClock(base, 2);
    let at = -1;
    fast.setTimeout(() => {
      at = base.now();
    }, 100);
    base.advance(49);
    expect(at).toBe(-1);
    base.advance(1);
    expect(at).toBe(50);
    expect(fast.now()).toBe(100);
  });

  it('holds timers while paused and runs them, in due order, after resuming', () => {
    const base = new ManualClock();
    const c = new MemberClock(base);
    const ran: string[] = [];
    c.setTimeout(() => ran.push('b'), 20);
    c.setTimeout(() => ran.push('a'), 10);
    c.pause();
    base.advance(100);
    expect(ran).toEqual([]);
    expect(c.now()).toBe(100);
    c.resume();
    base.advance(0);
    expect(ran).toEqual(['a', 'b']);
  });

  it('makes timers due at once when it jumps past them', () => {
    const base = new ManualClock();
    const c = new MemberClock(base);
    let fired = false;
    c.setTimeout(() => {
      fired = true;
    }, 1_000);
    c.jump(5_000);
    base.advance(0);
    expect(fired).toBe(true);
    expect(c.now()).toBe(5_000);
  });

  it('forgets every timer on reset, so a crashed incarnation runs nothing', () => {
    const base = new ManualClock();
    const c = new MemberClock(base);
    let fired = 0;
    c.setTimeout(() => fired++, 10);
    c.pause();
    c.setTimeout(() => fired++, 5);
    base.advance(20);
    c.reset();
    c.resume();
    base.advance(100);
    expect(fired).toBe(0);
    expect(c.isPaused).toBe(false);
  });

  it('cancels a timer with clearTimeout', () => {
    const base = new ManualClock();
    const c = new MemberClock(base);
    let fired = false;
    const h = c.setTimeout(() => {
      fired = true;
    }, 10);
    c.clearTimeout(h);
    base.advance(20);
    expect(fired).toBe(false);
  });
});
