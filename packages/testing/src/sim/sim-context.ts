/**
 * What the simulation's parts share: the cluster, the seeded randomness, the recorder, counters,
 * and a way to reach a member that may be crashed or paused at the moment.
 */

import type { TsetcdNode } from '@tsetcd/core';
import type { TestCluster } from '@tsetcd/core/testing';
import type { RandomSource } from '@tsetcd/raft';
import type { Recorder } from '../recorder.js';

/** A forward jump of one member's clock, for the lease check's allowance. */
export interface ClockJump {
  readonly at: number;
  readonly ms: number;
}

/** State shared by the workload, the watchers and the fault injector of one run. */
export interface SimContext {
  readonly cluster: TestCluster;
  readonly rand: RandomSource;
  readonly recorder: Recorder;
  /** Indexes of the members the run started with (clients and watchers are bound to these). */
  readonly initial: readonly number[];
  /** Members removed from the cluster for good. */
  readonly removed: Set<number>;
  /** Member incarnations: bumped at each restart (a serializable-read session ends with one). */
  readonly incarnation: number[];
  readonly clockJumps: ClockJump[];
  /** Set once the workload is done: faults stop, clients stop. */
  done: boolean;
  /** Problems found while running (the checks at the end add theirs). */
  readonly violations: string[];
  /** Where the run narrates its faults (SimulationOptions.trace), for replaying a failing seed. */
  readonly trace: (line: string) => void;
}

/** Waits `ms` of virtual time. */
export function sleep(ctx: SimContext, ms: number): Promise<void> {
  return ctx.cluster.sleep(ms);
}

/**
 * The running, unpaused member at `i` — waiting while it is crashed or paused, as a client
 * whose connection is down would. Undefined once the run is done or the member was removed.
 */
export async function reach(ctx: SimContext, i: number): Promise<TsetcdNode | undefined> {
  for (;;) {
    if (ctx.removed.has(i)) return undefined;
    const m = ctx.cluster.members[i];
    if (m !== undefined && !m.isClosed) {
      if (!ctx.cluster.isPaused(i)) return m;
      await ctx.cluster.whenResumed(i);
      continue;
    }
    if (ctx.done) return undefined;
    await sleep(ctx, 20);
  }
}

/** A random element. */
export function pick<T>(ctx: SimContext, xs: readonly T[]): T {
  return xs[ctx.rand(xs.length)]!;
}

const decoder = new TextDecoder();

/** Bytes as text. */
export function text(b: Uint8Array): string {
  return decoder.decode(b);
}
