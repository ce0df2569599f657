/**
 * The messages between the bench's main thread and a member thread (member-worker.ts): what the
 * main thread asks, what each request answers. Types only, so both sides import it without
 * running anything.
 *
 * Times that must mean the same instant in every thread are absolute: `performance.timeOrigin +
 * performance.now()` in ms (each thread's `performance.now()` counts from its own start).
 */

import type { OpKind } from './workload.js';

/** What a member thread is started with (its `workerData`). */
export interface MemberWorkerData {
  /** This member's place in `peers` (0-based); it runs the clients w with w mod members = index. */
  readonly index: number;
  readonly members: number;
  readonly name: string;
  /** Every member's name → `tcp://127.0.0.1:PORT`. */
  readonly peers: Readonly<Record<string, string>>;
  readonly dataDir: string;
  /** The node runtime's seed (raft's election jitter). */
  readonly seed: number;
  /** The keyspace size (each thread encodes the same keys itself). */
  readonly keyCount: number;
}

/** Requests of the main thread, each answered once (see MemberReplies). */
export type MemberRequest =
  | { readonly type: 'status' }
  /** Write this member's share of the keyspace (keys i with i mod members = index). */
  | { readonly type: 'preload'; readonly concurrency: number }
  /**
   * Start this member's share of `concurrency` closed-loop clients now (the warm-up), count in
   * [windowStart, windowEnd] (absolute ms), stop at windowEnd and answer once all have stopped.
   */
  | {
      readonly type: 'run';
      readonly op: OpKind;
      readonly concurrency: number;
      readonly seed: number;
      readonly windowStart: number;
      readonly windowEnd: number;
    }
  /** Close the node; the thread exits after answering. */
  | { readonly type: 'close' };

/** A member's view of the cluster. */
export interface MemberStatus {
  /** Member IDs as decimal strings (bigints do not cross postMessage as map keys cleanly). */
  readonly id: string;
  readonly leaderId: string;
  readonly isLeader: boolean;
  readonly leaderChanges: number;
}

/** What one member thread measured in the window. */
export interface MemberRunResult {
  readonly clients: number;
  readonly ops: number;
  readonly errors: number;
  readonly firstError: string | undefined;
  /** Latency (ms) of every request counted in `ops`; its buffer is transferred. */
  readonly latencies: Float64Array;
  /** This thread's CPU seconds in the window (undefined off Linux). */
  readonly cpuSeconds: number | undefined;
  /** This thread's event-loop utilization in the window (0..1). */
  readonly eventLoopUtilization: number;
  /** Leader changes this member saw during the run. */
  readonly leaderChanges: number;
  readonly isLeader: boolean;
}

/** The answer to each request type. */
export interface MemberReplies {
  readonly status: MemberStatus;
  readonly preload: null;
  readonly run: MemberRunResult;
  readonly close: null;
}

/** Main → member: a request and its sequence number. */
export interface MemberEnvelope {
  readonly seq: number;
  readonly request: MemberRequest;
}

/** Member → main: the answer to request `seq`, or why it failed. */
export type MemberAnswer =
  | { readonly seq: number; readonly ok: true; readonly reply: MemberReplies[keyof MemberReplies] }
  | { readonly seq: number; readonly ok: false; readonly error: string };
