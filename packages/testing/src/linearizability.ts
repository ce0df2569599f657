/**
 * checkLinearizability: is there one order of the history's operations, consistent with real
 * time (an op that returned before another was called comes first), in which the KV model gives
 * every completed op exactly the answer it got? Ambiguous ops may take effect at any point after
 * their call, or never.
 *
 * The history is not split by key: every answer carries the global revision. Instead, revisions
 * pin writes (see search.ts). A run out of time answers 'unknown' — never 'ok'.
 */

import { type Counterexample, findCounterexample } from './counterexample.js';
import { describeOutput } from './describe.js';
import { type History, isAmbiguous, type Operation, type Output } from './history.js';
import { type KvState, kvState, mayWrite } from './kv-model.js';
import { type PreparedOp, search } from './search.js';

/** Default time budget of one check, ms. */
export const DEFAULT_CHECK_TIMEOUT_MS = 30_000;

/** Options of checkLinearizability. */
export interface CheckOptions {
  /** Time budget in ms (default DEFAULT_CHECK_TIMEOUT_MS); past it the answer is 'unknown'. */
  readonly timeoutMs?: number;
  /** The store before the history (default: empty, revision 1 — a fresh cluster). */
  readonly initial?: KvState;
  /** Clock for the budget (default performance.now). */
  readonly now?: () => number;
}

/** Figures of one check. */
export interface CheckStats {
  /** Operations checked (ambiguous reads are dropped: they can neither change nor show anything). */
  readonly operations: number;
  readonly ambiguous: number;
  /** Search steps taken. */
  readonly steps: number;
  readonly elapsedMs: number;
}

/** The verdict: 'ok' (linearizable), 'illegal' (with a counterexample) or 'unknown' (out of time). */
export type CheckResult =
  | ({ readonly result: 'ok' } & CheckStats)
  | ({ readonly result: 'illegal'; readonly counterexample: Counterexample } & CheckStats)
  | ({ readonly result: 'unknown' } & CheckStats);

/** Checks a history against the KV model; see the file comment. */
export function checkLinearizability(history: History, opts: CheckOptions = {}): CheckResult {
  const now = opts.now ?? (() => performance.now());
  const started = now();
  const deadline = started + (opts.timeoutMs ?? DEFAULT_CHECK_TIMEOUT_MS);
  const initial = opts.initial ?? kvState();
  const ops = history.filter((op) => !isAmbiguous(op) || mayWrite(op.input)).map(prepare);
  const r = search(ops, initial, deadline, now);
  const stats = (): CheckStats => ({
    operations: ops.length,
    ambiguous: ops.filter((p) => p.ambiguous).length,
    steps: r.steps,
    elapsedMs: now() - started,
  });
  if (r.kind === 'ok') return { result: 'ok', ...stats() };
  if (r.kind === 'unknown') return { result: 'unknown', ...stats() };
  // The verdict stands even if finding a small window runs over the budget: give it a few seconds more.
  const counterexample = findCounterexample(
    ops,
    initial,
    r.best,
    r.blocking,
    Math.max(deadline, now() + 5_000),
    now,
  );
  return { result: 'illegal', counterexample, ...stats() };
}

/** An operation as the search wants it. */
export function prepare(op: Operation): PreparedOp {
  if (isAmbiguous(op)) {
    return {
      op,
      call: op.call,
      ret: Number.POSITIVE_INFINITY,
      ambiguous: true,
      outKey: undefined,
      outRevision: undefined,
      claim: undefined,
    };
  }
  const out = op.output!;
  if (op.return! < op.call)
    throw new RangeError(
      `linearizability: an operation returned before its call (${op.call} > ${op.return})`,
    );
  return {
    op,
    call: op.call,
    ret: op.return!,
    ambiguous: false,
    outKey: describeOutput(out),
    outRevision: out.type === 'error' ? undefined : out.revision,
    claim: claimedRevision(out),
  };
}

/** The revision an answer proves its request wrote, if it proves one. */
function claimedRevision(out: Output): number | undefined {
  switch (out.type) {
    case 'put':
      return out.revision;
    case 'delete':
      return out.deleted > 0 ? out.revision : undefined;
    case 'txn':
      return out.responses.some((r) => r.type === 'put' || (r.type === 'delete' && r.deleted > 0))
        ? out.revision
        : undefined;
    default:
      return undefined;
  }
}
