/**
 * Auto-compaction with a fake clock. The periodic and revision scenarios port etcd 3.4's
 * periodic_test.go and revision_test.go, whose fake RevGetter returns 1, 2, 3, … on each call.
 */

import { describe, expect, it } from 'vitest';
import {
  type CompactorDeps,
  type CompactorEvent,
  InvalidAutoCompactionError,
  newCompactor,
  PeriodicCompactor,
  parseAutoCompaction,
  parseGoDuration,
  REVISION_COMPACT_INTERVAL_MS,
  RevisionCompactor,
} from './compactor.js';

const MIN = 60_000;
const HOUR = 60 * MIN;

/** etcd's fakeRevGetter + fakeCompactable, with a switch to make compactions fail. */
function fakes(startRev = 0) {
  const state = {
    rev: startRev,
    compacted: [] as number[],
    events: [] as CompactorEvent[],
    fail: undefined as Error | undefined,
  };
  const deps: CompactorDeps = {
    currentRevision: () => ++state.rev,
    compact: async (rev) => {
      state.compacted.push(rev);
      if (state.fail) throw state.fail;
    },
    onEvent: (e) => state.events.push(e),
  };
  return { state, deps };
}

/** Advances a fake clock by `ms`, ticking the compactor at the end (like clockwork's Advance). */
function clock(c: { tick(now: number): Promise<void> }) {
  let now = 0;
  return {
    get now() {
      return now;
    },
    advance: async (ms: number) => {
      now += ms;
      await c.tick(now);
    },
  };
}

describe('PeriodicCompactor', () => {
  it('hourly retention 2h: waits 2h, compacts to the revision of 2h ago, then every hour (TestPeriodicHourly)', async () => {
    const { state, deps } = fakes();
    const pc = new PeriodicCompactor(2 * HOUR, deps);
    expect([pc.compactIntervalMs, pc.retryIntervalMs, pc.retentions]).toEqual([HOUR, 6 * MIN, 21]);
    const fc = clock(pc);
    pc.run(0);
    expect(pc.nextWakeMs()).toBe(6 * MIN);
    for (let i = 0; i < 19; i++) await fc.advance(pc.retryIntervalMs);
    expect(state.compacted).toEqual([]);
    await fc.advance(pc.retryIntervalMs); // T = 2h
    expect(state.compacted).toEqual([1]);
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 10; j++) await fc.advance(pc.retryIntervalMs);
      expect(state.compacted.at(-1)).toBe((i + 1) * 10);
    }
    expect(state.compacted).toEqual([1, 10, 20, 30]);
  });

  it('retention 5m: records every 30s, compacts every 5 minutes (TestPeriodicMinutes)', async () => {
    const { state, deps } = fakes();
    const pc = new PeriodicCompactor(5 * MIN, deps);
    expect([pc.compactIntervalMs, pc.retryIntervalMs, pc.retentions]).toEqual([5 * MIN, 30_000, 11]);
    const fc = clock(pc);
    pc.run(0);
    for (let i = 0; i < 10; i++) await fc.advance(pc.retryIntervalMs);
    expect(state.compacted).toEqual([1]);
    for (let i = 0; i < 5; i++) {
      for (let j = 0; j < 10; j++) await fc.advance(pc.retryIntervalMs);
      expect(state.compacted.at(-1)).toBe((i + 1) * 10);
    }
  });

  it('paused: keeps recording, compacts nothing; on resume compacts the revision of 1h ago (TestPeriodicPause)', async () => {
    const { state, deps } = fakes();
    const pc = new PeriodicCompactor(HOUR, deps);
    const fc = clock(pc);
    pc.run(0);
    pc.pause();
    expect(pc.paused).toBe(true);
    const n = pc.retentions; // 11
    for (let i = 0; i < n * 3; i++) await fc.advance(pc.retryIntervalMs);
    expect(state.compacted).toEqual([]);
    pc.resume();
    await fc.advance(pc.retryIntervalMs); // T = 3h24m
    expect(state.compacted).toEqual([1 + 2 * n + 1]);
  });

  it('a failed compaction is retried one retry interval later', async () => {
    const { state, deps } = fakes();
    const pc = new PeriodicCompactor(HOUR, deps);
    const fc = clock(pc);
    pc.run(0);
    state.fail = new Error('etcdserver: request timed out');
    for (let i = 0; i < 10; i++) await fc.advance(pc.retryIntervalMs); // T = 1h
    expect(state.compacted).toEqual([1]);
    expect(state.events.at(-1)).toMatchObject({ type: 'compaction-failed', mode: 'periodic', revision: 1 });
    state.fail = undefined;
    // T = 1h06m: retry. The window keeps retentions (11) revisions, recorded at 0..1h, so its
    // oldest is still revision 1, as in etcd.
    await fc.advance(pc.retryIntervalMs);
    expect(state.compacted).toEqual([1, 1]);
    expect(state.events.at(-1)).toEqual({ type: 'compaction-completed', mode: 'periodic', revision: 1 });
    // The next one is a full compact interval after the success; the oldest of the window is
    // then revision 11, recorded at T = 1h.
    for (let i = 0; i < 9; i++) await fc.advance(pc.retryIntervalMs);
    expect(state.compacted).toEqual([1, 1]);
    await fc.advance(pc.retryIntervalMs); // T = 2h06m
    expect(state.compacted).toEqual([1, 1, 11]);
  });

  it('ErrCompacted counts as success, as in etcd', async () => {
    const { state, deps } = fakes();
    const pc = new PeriodicCompactor(HOUR, deps);
    const fc = clock(pc);
    pc.run(0);
    state.fail = Object.assign(new Error('mvcc: required revision has been compacted'), {
      code: 'ErrCompacted',
    });
    for (let i = 0; i < 10; i++) await fc.advance(pc.retryIntervalMs);
    await fc.advance(pc.retryIntervalMs);
    expect(state.compacted).toEqual([1]); // no retry at 1h06m
    expect(state.events.map((e) => e.type)).toEqual(['compaction-started', 'compaction-completed']);
  });

  it('a late tick fires once, and the next wake counts from the late time (a late Go timer)', async () => {
    const { state, deps } = fakes();
    const pc = new PeriodicCompactor(HOUR, deps);
    pc.run(0);
    await pc.tick(5 * HOUR);
    expect(state.rev).toBe(2); // one recording at run, one at the late wake
    expect(state.compacted).toEqual([1]);
    expect(pc.nextWakeMs()).toBe(5 * HOUR + 6 * MIN);
    await pc.tick(5 * HOUR + 5 * MIN); // not due yet
    expect(state.rev).toBe(2);
  });

  it('a tick during an in-flight compaction joins it; stop ends everything', async () => {
    let release: () => void = () => {};
    const calls: number[] = [];
    let rev = 0;
    const pc = new PeriodicCompactor(HOUR, {
      currentRevision: () => ++rev,
      compact: (r) => {
        calls.push(r);
        return new Promise<void>((resolve) => {
          release = resolve;
        });
      },
    });
    pc.run(0);
    const first = pc.tick(HOUR);
    const second = pc.tick(HOUR + 1);
    expect(calls).toEqual([1]);
    release();
    await Promise.all([first, second]);
    expect(pc.nextWakeMs()).toBe(HOUR + 1 + 6 * MIN);
    pc.stop();
    expect(pc.nextWakeMs()).toBeUndefined();
    await pc.tick(10 * HOUR);
    expect(calls).toEqual([1]);
  });

  it('does nothing before run, and refuses a second run or a non-positive retention', async () => {
    const { state, deps } = fakes();
    const pc = new PeriodicCompactor(HOUR, deps);
    expect(pc.nextWakeMs()).toBeUndefined();
    await pc.tick(HOUR);
    expect(state.rev).toBe(0);
    pc.run(0);
    expect(() => pc.run(1)).toThrow(TypeError);
    expect(() => new PeriodicCompactor(0, deps)).toThrow(RangeError);
  });
});

describe('RevisionCompactor', () => {
  it('every 5 minutes compacts to current - retention, skipping a repeat (TestRevision)', async () => {
    const { state, deps } = fakes();
    const rc = new RevisionCompactor(10, deps);
    const fc = clock(rc);
    rc.run(0);
    await fc.advance(REVISION_COMPACT_INTERVAL_MS); // rev 1 - 10 <= 0: nothing
    expect(state.compacted).toEqual([]);
    state.rev = 99; // will be 100
    await fc.advance(REVISION_COMPACT_INTERVAL_MS);
    expect(state.compacted).toEqual([90]);
    state.rev = 99; // 90 again: skipped
    await fc.advance(REVISION_COMPACT_INTERVAL_MS);
    expect(state.compacted).toEqual([90]);
    state.rev = 199;
    await fc.advance(REVISION_COMPACT_INTERVAL_MS);
    expect(state.compacted).toEqual([90, 190]);
  });

  it('paused for 3 hours: nothing; resumed: compacts at the next interval (TestRevisionPause)', async () => {
    const { state, deps } = fakes(99);
    const rc = new RevisionCompactor(10, deps);
    const fc = clock(rc);
    rc.run(0);
    rc.pause();
    for (let i = 0; i < 3 * (HOUR / REVISION_COMPACT_INTERVAL_MS); i++)
      await fc.advance(REVISION_COMPACT_INTERVAL_MS);
    expect(state.compacted).toEqual([]);
    expect(state.rev).toBe(99); // not even read while paused
    rc.resume();
    await fc.advance(REVISION_COMPACT_INTERVAL_MS);
    expect(state.compacted).toEqual([90]);
  });

  it('a failure is retried 5 minutes later, even for the same revision', async () => {
    const { state, deps } = fakes(99);
    const rc = new RevisionCompactor(10, deps);
    const fc = clock(rc);
    rc.run(0);
    state.fail = new Error('etcdserver: no leader');
    await fc.advance(REVISION_COMPACT_INTERVAL_MS);
    state.fail = undefined;
    state.rev = 99;
    await fc.advance(REVISION_COMPACT_INTERVAL_MS);
    expect(state.compacted).toEqual([90, 90]);
    expect(state.events.map((e) => e.type)).toEqual([
      'compaction-started',
      'compaction-failed',
      'compaction-started',
      'compaction-completed',
    ]);
  });

  it('refuses a non-positive or fractional retention', () => {
    const { deps } = fakes();
    expect(() => new RevisionCompactor(0, deps)).toThrow(RangeError);
    expect(() => new RevisionCompactor(1.5, deps)).toThrow(RangeError);
  });
});

describe('parseAutoCompaction', () => {
  it("defaults to etcd's: periodic, retention 0 = disabled", () => {
    expect(parseAutoCompaction()).toBeUndefined();
    expect(parseAutoCompaction('revision', '0')).toBeUndefined();
    expect(parseAutoCompaction('periodic', '0s')).toBeUndefined();
  });

  it('a bare number is hours in periodic mode and revisions in revision mode', () => {
    expect(parseAutoCompaction('periodic', '1')).toEqual({ mode: 'periodic', retentionMs: HOUR });
    expect(parseAutoCompaction('periodic', '72')).toEqual({ mode: 'periodic', retentionMs: 72 * HOUR });
    expect(parseAutoCompaction('revision', '1000')).toEqual({ mode: 'revision', retention: 1000 });
  });

  it('periodic mode takes Go durations', () => {
    expect(parseAutoCompaction('periodic', '30m')).toEqual({ mode: 'periodic', retentionMs: 30 * MIN });
    expect(parseAutoCompaction('periodic', '1h30m')).toEqual({ mode: 'periodic', retentionMs: 90 * MIN });
    expect(parseAutoCompaction('periodic', '1.5h')).toEqual({ mode: 'periodic', retentionMs: 90 * MIN });
    expect(parseAutoCompaction('periodic', '500ms')).toEqual({ mode: 'periodic', retentionMs: 500 });
  });

  it.each([
    ['', '1', 'undefined auto-compaction-mode'],
    ['hourly', '1', 'unknown auto-compaction-mode "hourly"'],
    ['periodic', 'abc', 'error parsing CompactionRetention: time: invalid duration "abc"'],
    ['periodic', '1.5', 'error parsing CompactionRetention: time: missing unit in duration "1.5"'],
    ['periodic', '1d', 'error parsing CompactionRetention: time: unknown unit "d" in duration "1d"'],
    ['periodic', '', 'error parsing CompactionRetention: time: invalid duration ""'],
    ['periodic', '-1', 'auto-compaction-retention must not be negative, got "-1"'],
    ['periodic', '-5m', 'auto-compaction-retention must not be negative, got "-5m"'],
    ['revision', '5m', 'auto-compaction-retention in revision mode is a number of revisions, got "5m"'],
  ])('mode %j retention %j: %s', (mode, retention, message) => {
    expect(() => parseAutoCompaction(mode, retention)).toThrow(InvalidAutoCompactionError);
    expect(() => parseAutoCompaction(mode, retention)).toThrow(message);
  });

  it('errors carry a stable code', () => {
    try {
      parseAutoCompaction('x', '1');
      expect.unreachable();
    } catch (err) {
      expect((err as InvalidAutoCompactionError).code).toBe('ErrInvalidAutoCompaction');
    }
  });

  it("parseGoDuration follows Go's grammar", () => {
    expect(parseGoDuration('0')).toBe(0);
    expect(parseGoDuration('-1m')).toBe(-60e9);
    expect(parseGoDuration('+2s')).toBe(2e9);
    expect(parseGoDuration('1h2m3s4ms5us6ns')).toBe(3723004005006);
    expect(parseGoDuration('.5s')).toBe(0.5e9);
    expect(parseGoDuration('3\u00b5s')).toBe(3000);
    expect(() => parseGoDuration('.s')).toThrow('time: invalid duration ".s"');
  });

  it('newCompactor builds the compactor for the mode', () => {
    const { deps } = fakes();
    const p = parseAutoCompaction('periodic', '10m');
    const r = parseAutoCompaction('revision', '100');
    expect(p && newCompactor(p, deps)).toBeInstanceOf(PeriodicCompactor);
    expect(r && newCompactor(r, deps)).toBeInstanceOf(RevisionCompactor);
  });
});
