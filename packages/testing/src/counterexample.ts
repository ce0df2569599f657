/**
 * A small, readable counterexample from a failed search.
 *
 * 1. Take the deepest prefix the search could linearize and the op whose return it could not
 *    get past (the blocking op). The suspects are the ops left over that were called before the
 *    blocking op returned.
 * 2. Grow a window backwards from the end of that prefix — its last k ops plus the suspects —
 *    checked from the model state before those k ops, until the window alone cannot be
 *    linearized (with at least one prefix op in it, so a stale read is shown with a write it
 *    missed).
 * 3. Shrink it: a completed op whose answer is not needed (the window still fails with it made
 *    ambiguous) becomes context; an ambiguous op that is not needed is dropped; reads that are not
 *    needed are dropped too (without an answer they say nothing).
 *
 * The window is self-contained given its starting state, which is printed with it. Pure, apart
 * from the clock for the time budget.
 */

import { describeKv, describeOperation } from './describe.js';
import type { Operation } from './history.js';
import { type KvState, mayWrite } from './kv-model.js';
import { type Frame, type PreparedOp, search } from './search.js';

/** Operations that cannot be linearized, and the state they start from. */
export interface Counterexample {
  /** The model state before the window (after the longest prefix that does linearize). */
  readonly state: KvState;
  /** Ops whose answers together cannot be explained from `state`, by call time. */
  readonly operations: readonly Operation[];
  /** Ops of the window that may have to take effect but whose answers are not needed. */
  readonly context: readonly Operation[];
  /** The whole thing, printed with times, inputs and outputs. */
  readonly text: string;
}

/** How far back (in linearized ops) the window may grow before giving up on a small one. */
export const MAX_WINDOW_BACK = 200;
/** Windows larger than this are not shrunk op by op. */
export const MAX_SHRINK_WINDOW = 80;

/** Builds the counterexample for a search that ended 'illegal'; see the file comment. */
export function findCounterexample(
  ops: readonly PreparedOp[],
  initial: KvState,
  best: Frame | undefined,
  blocking: number,
  deadline: number,
  now: () => number,
): Counterexample {
  const path: Frame[] = [];
  for (let f = best; f !== undefined; f = f.parent) path.unshift(f);
  const inPath = new Set(path.map((f) => f.op));
  const cutoff = ops[blocking]!.ret;
  const suspects: PreparedOp[] = [];
  ops.forEach((p, i) => {
    if (!inPath.has(i) && p.call <= cutoff) suspects.push(p);
  });

  // 2. The smallest failing suffix window with at least one op of the prefix in it (so a stale
  // answer is shown next to a write it missed, not just after it).
  const stateAt = (k: number) => (k < path.length ? path[k]!.before : (path[k - 1]?.after ?? initial));
  const first = Math.max(0, path.length - 1);
  let window: PreparedOp[] = [...path.map((f) => ops[f.op]!), ...suspects];
  let start = initial;
  let prefix = 0;
  for (let k = first; k >= Math.max(0, first - MAX_WINDOW_BACK); k--) {
    const candidate = [...path.slice(k).map((f) => ops[f.op]!), ...suspects];
    const from = stateAt(k);
    if (search(candidate, from, deadline, now).kind === 'illegal') {
      window = candidate;
      start = from;
      prefix = k;
      break;
    }
  }

  // 3. Shrink.
  const fails = (w: readonly PreparedOp[]) => search(w, start, deadline, now).kind === 'illegal';
  const weakened = new Set<PreparedOp>();
  if (window.length <= MAX_SHRINK_WINDOW) {
    for (const p of [...window]) {
      if (now() > deadline) break;
      const without = window.filter((q) => q !== p);
      if (p.ambiguous || !mayWrite(p.op.input)) {
        if (fails(without)) window = without;
        continue;
      }
      const weak = asAmbiguous(p);
      const tried = window.map((q) => (q === p ? weak : q));
      if (fails(tried)) {
        window = tried;
        weakened.add(weak);
      }
    }
  }
  window.sort((a, b) => a.call - b.call);
  const operations = window.filter((p) => !weakened.has(p)).map((p) => p.op);
  const context = window.filter((p) => weakened.has(p)).map((p) => p.op);
  return { state: start, operations, context, text: render(start, operations, context, prefix) };
}

function asAmbiguous(p: PreparedOp): PreparedOp {
  return {
    op: p.op,
    call: p.call,
    ret: Number.POSITIVE_INFINITY,
    ambiguous: true,
    outKey: undefined,
    outRevision: undefined,
    claim: undefined,
  };
}

function render(
  state: KvState,
  ops: readonly Operation[],
  context: readonly Operation[],
  prefix: number,
): string {
  const kvs = [...state.keys.values()].map(describeKv).join(', ') || 'no keys';
  const ids = [...state.leases];
  const more = ids.length > 8 ? `, … (${ids.length} in all)` : '';
  const leases = ids.length === 0 ? '' : `, leases ${ids.slice(0, 8).join(', ')}${more}`;
  const lines = [
    `not linearizable: no order of these ${ops.length} operations explains their answers`,
    `starting from revision ${state.revision} {${kvs}}${leases} (reached after ${prefix} linearized operations):`,
    ...ops.map((op) => `  ${describeOperation(op)}`),
  ];
  if (context.length > 0) {
    lines.push('with these, whose answers are not needed, taking effect at any point or never:');
    lines.push(...context.map((op) => `  ${describeOperation(op)}`));
  }
  return lines.join('\n');
}
