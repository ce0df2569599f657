/**
 * The linearization search: Wing & Gong's algorithm with Lowe's memoization, as Porcupine runs
 * it (porcupine/checker.go checkSingle), over the KV model.
 *
 * 1. Put every operation's call and return in one list ordered by time (at equal times calls
 *    first, so operations that touch count as concurrent). An ambiguous operation has a call and
 *    no return: nothing ever has to wait for it, and it may be linearized anywhere or never.
 * 2. Walk the list from the head. At a call, try to linearize that operation now: step the model
 *    and compare its answer with the recorded one (ambiguous: any answer). If it fits and the pair
 *    (set of linearized operations, model state) was never reached before, push it, lift its call
 *    and return out of the list and restart from the head. Otherwise try the next call.
 * 3. At a return whose operation is not linearized yet, the current prefix cannot be extended:
 *    pop the last choice, put it back in the list and try the next call after it. Popping with
 *    nothing pushed proves the history is not linearizable.
 * 4. Done when every completed operation is linearized (ambiguous ones left over never happened).
 *
 * Revisions prune the search. Every completed write *claims* the revision it returned; no other
 * operation may produce that revision, so an ambiguous write is tried only where the next
 * revision is unclaimed (a gap), and a completed op is accepted only with exactly its returned
 * revision — a wrong choice dies at once instead of deep in the tree. Linearizing an ambiguous
 * op that changes nothing is skipped (it is the same as never). Two partial-order reductions
 * (see Frame.needsLease and Frame.forced) keep reads and lease-only ops from multiplying the
 * orders tried. Pure apart from the clock passed
 * in for the time budget.
 */

import { describeKv, describeOutput } from './describe.js';
import type { Input, KvSnapshot, Operation, Output, TxnOpOutput } from './history.js';
import { type KvState, step } from './kv-model.js';

/** An operation ready for the search. */
export interface PreparedOp {
  readonly op: Operation;
  readonly call: number;
  /** Infinity when ambiguous. */
  readonly ret: number;
  readonly ambiguous: boolean;
  /** Canonical answer (describeOutput); undefined when ambiguous. */
  readonly outKey: string | undefined;
  /** The answer's header revision, compared before the full answer (cheap reject). */
  readonly outRevision: number | undefined;
  /** The revision this op's write produced, when its answer proves it wrote. */
  readonly claim: number | undefined;
}

/** One choice on the search stack: a persistent list, so keeping the deepest one costs nothing. */
export interface Frame {
  readonly op: number;
  /**
   * Set when this op is an ambiguous one that changed only the lease set (a grant, or a revoke
   * of a lease with no keys): such an op is observable only by ops naming its lease, so it is
   * linearized only immediately before one (partial-order reduction; moving it later to there
   * changes no answer). The next op must name this lease.
   */
  readonly needsLease: bigint | undefined;
  /**
   * A completed op that changed nothing (a read, a failed txn, an error): linearizing it as soon
   * as it fits loses no solution — it cannot disturb any later op, and every op that had to
   * precede it already does. So if the search fails after it, it fails before it too, and
   * backtracking pops past it without trying alternatives there.
   */
  readonly forced: boolean;
  /** The walk's pass when this op was chosen (0: ops answering the current revision; 1: the rest). */
  readonly pass: 0 | 1;
  readonly before: KvState;
  readonly after: KvState;
  readonly parent: Frame | undefined;
  readonly depth: number;
}

/** How a search ended. `best` is the deepest linearized prefix; `blocking` the op that stopped it. */
export type SearchResult =
  | { readonly kind: 'ok'; readonly steps: number; readonly order: Frame | undefined }
  | {
      readonly kind: 'illegal';
      readonly steps: number;
      readonly best: Frame | undefined;
      readonly blocking: number;
    }
  | { readonly kind: 'unknown'; readonly steps: number };

/** How often (in steps) the search looks at the clock. */
const DEADLINE_CHECK_EVERY = 1024;
const NIL = -1;

/** Runs the search; see the file comment. */
export function search(
  ops: readonly PreparedOp[],
  initial: KvState,
  deadline: number,
  now: () => number,
): SearchResult {
  const n = ops.length;
  // 1. The entry list: call entries and return entries, by time, calls first at equal times.
  const order: number[] = [];
  for (let i = 0; i < n; i++) {
    order.push(i * 2);
    if (!ops[i]!.ambiguous) order.push(i * 2 + 1);
  }
  const timeOf = (e: number) => (e & 1 ? ops[e >> 1]!.ret : ops[e >> 1]!.call);
  order.sort((a, b) => timeOf(a) - timeOf(b) || (a & 1) - (b & 1) || a - b);
  const HEAD = 2 * n;
  const next = new Int32Array(2 * n + 1).fill(NIL);
  const prev = new Int32Array(2 * n + 1).fill(NIL);
  let last = HEAD;
  for (const e of order) {
    next[last] = e;
    prev[e] = last;
    last = e;
  }
  const remove = (e: number) => {
    next[prev[e]!] = next[e]!;
    if (next[e]! !== NIL) prev[next[e]!] = prev[e]!;
  };
  const insert = (e: number) => {
    next[prev[e]!] = e;
    if (next[e]! !== NIL) prev[next[e]!] = e;
  };
  const lift = (i: number) => {
    remove(i * 2);
    if (!ops[i]!.ambiguous) remove(i * 2 + 1);
  };
  const unlift = (i: number) => {
    if (!ops[i]!.ambiguous) insert(i * 2 + 1);
    insert(i * 2);
  };

  const claims = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    const c = ops[i]!.claim;
    if (c !== undefined && !claims.has(c)) claims.set(c, i);
  }
  const written = observedWrites(ops, claims);
  // No completed op answered a revision above this: an ambiguous write beyond it could never be
  // followed by one, so it is never tried (else every subset of the leftover ambiguous writes
  // would be, in every order, at the end of the history).
  let lastAnswered = initial.revision;
  for (const p of ops) if (p.outRevision !== undefined) lastAnswered = Math.max(lastAnswered, p.outRevision);
  // Zobrist hashes of the linearized set (two 32-bit halves), kept incrementally.
  const z1 = new Uint32Array(n);
  const z2 = new Uint32Array(n);
  let seed = 0x9e3779b9;
  const rand = () => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return seed >>> 0;
  };
  for (let i = 0; i < n; i++) {
    z1[i] = rand();
    z2[i] = rand();
  }
  const linearized = new Uint32Array((n + 31) >>> 5);
  let h1 = 0;
  let h2 = 0;
  const memo = new Map<string, Uint32Array[]>();
  const seen = (key: string): boolean => {
    const list = memo.get(key);
    if (list === undefined) {
      memo.set(key, [linearized.slice()]);
      return false;
    }
    for (const bits of list) if (sameBits(bits, linearized)) return true;
    list.push(linearized.slice());
    return false;
  };

  // Whether an op other than i that names lease `id` could be linearized next: its call comes
  // before the first return still in the list. (A lease-only ambiguous op is useful only then.)
  const namedNext = (i: number, id: bigint): boolean => {
    for (let e = next[HEAD]!; e !== NIL && (e & 1) === 0; e = next[e]!) {
      if (e >> 1 !== i && namesLease(ops[e >> 1]!.op.input, id)) return true;
    }
    return false;
  };

  let remaining = 0;
  for (const o of ops) if (!o.ambiguous) remaining++;
  let state = initial;
  let top: Frame | undefined;
  let best: Frame | undefined;
  let bestDepth = -1;
  let blocking = -1;
  let steps = 0;
  let entry = next[HEAD]!;
  // Each walk makes two passes over the candidates: first the ops that answered the current
  // revision (finish a revision before moving on), then the rest.
  let pass: 0 | 1 = 0;

  while (remaining > 0) {
    if (++steps % DEADLINE_CHECK_EVERY === 0 && now() > deadline) return { kind: 'unknown', steps };
    if (entry === NIL) throw new Error('linearizability: entry list ended with operations left (bug)');
    const i = entry >> 1;
    if ((entry & 1) === 0) {
      // 2. A call: try to linearize op i here.
      const rev = ops[i]!.outRevision;
      if (rev !== undefined && (pass === 0 ? rev !== state.revision : rev !== state.revision + 1)) {
        entry = next[entry]!;
        continue;
      }
      if (pass === 0 && rev === undefined) {
        entry = next[entry]!;
        continue;
      }
      const needs = top?.needsLease;
      const input = ops[i]!.op.input;
      let after: KvState | undefined;
      if (needs !== undefined && !namesLease(input, needs)) after = undefined;
      else {
        after = tryStep(ops[i]!, i, state, claims, written, lastAnswered);
        // An ambiguous grant, or revoke that deletes no key, is useful only right before an op
        // naming its lease. A revoke that deletes keys writes a revision: always a candidate.
        if (
          after !== undefined &&
          ops[i]!.ambiguous &&
          (input.type === 'leaseGrant' || input.type === 'leaseRevoke') &&
          after.revision === state.revision &&
          !namedNext(i, input.id)
        )
          after = undefined;
      }
      if (after !== undefined) {
        linearized[i >>> 5]! |= 1 << (i & 31);
        const k1 = (h1 ^ z1[i]!) >>> 0;
        const k2 = (h2 ^ z2[i]!) >>> 0;
        if (!seen(`${k1},${k2}|${after.key}`)) {
          h1 = k1;
          h2 = k2;
          const leaseOnly = ops[i]!.ambiguous && after.revision === state.revision;
          const needsLease =
            leaseOnly && (input.type === 'leaseGrant' || input.type === 'leaseRevoke') ? input.id : undefined;
          const forced = !ops[i]!.ambiguous && after === state;
          top = {
            op: i,
            needsLease,
            forced,
            pass,
            before: state,
            after,
            parent: top,
            depth: (top?.depth ?? 0) + 1,
          };
          state = after;
          lift(i);
          if (!ops[i]!.ambiguous) remaining--;
          entry = next[HEAD]!;
          pass = 0;
          continue;
        }
        linearized[i >>> 5]! &= ~(1 << (i & 31));
      }
      entry = next[entry]!;
      continue;
    }
    // 3. A return of an op not linearized: second pass, or backtrack.
    if (pass === 0) {
      pass = 1;
      entry = next[HEAD]!;
      continue;
    }
    const depth = top?.depth ?? 0;
    if (depth > bestDepth) {
      bestDepth = depth;
      best = top;
      blocking = i;
    }
    let popped: Frame;
    do {
      if (top === undefined) return { kind: 'illegal', steps, best, blocking };
      popped = top;
      const j = top.op;
      state = top.before;
      top = top.parent;
      linearized[j >>> 5]! &= ~(1 << (j & 31));
      h1 = (h1 ^ z1[j]!) >>> 0;
      h2 = (h2 ^ z2[j]!) >>> 0;
      unlift(j);
      if (!ops[j]!.ambiguous) remaining++;
    } while (popped.forced);
    entry = next[popped.op * 2]!;
    pass = popped.pass;
  }
  return { kind: 'ok', steps, order: top };
}

/** The state after linearizing op i at `state`, or undefined if its answer (or revision) rules it out. */
function tryStep(
  p: PreparedOp,
  i: number,
  state: KvState,
  claims: ReadonlyMap<number, number>,
  written: ReadonlyMap<number, readonly KvSnapshot[]>,
  lastAnswered: number,
): KvState | undefined {
  if (p.ambiguous) {
    // Useful only if it changes the state, and it may write only into an unclaimed revision (a
    // put always writes: reject it before stepping, which is most of the search's work).
    const c = claims.get(state.revision + 1);
    if (p.op.input.type === 'put' && ((c !== undefined && c !== i) || state.revision >= lastAnswered))
      return undefined;
    const r = step(state, p.op.input);
    if (r.state === state) return undefined;
    if (r.state.revision === state.revision) return r.state;
    if ((c !== undefined && c !== i) || r.state.revision > lastAnswered) return undefined;
    // Into a gap: it must write exactly what later answers show was written at that revision.
    for (const kv of written.get(r.state.revision) ?? []) {
      const now = r.state.keys.get(kv.key);
      if (now === undefined || describeKv(now) !== describeKv(kv)) return undefined;
    }
    return r.state;
  }
  const r = step(state, p.op.input);
  const o = r.output;
  if (o.type === 'error' ? p.outRevision !== undefined : o.revision !== p.outRevision) return undefined;
  if (r.state.revision !== state.revision) {
    const c = claims.get(r.state.revision);
    if (c !== undefined && c !== i) return undefined;
  }
  return describeOutput(o) === p.outKey ? r.state : undefined;
}

/**
 * Key-values that completed answers show were written at an unclaimed revision (a gap), by
 * revision: whatever fills that gap must have written exactly them.
 */
function observedWrites(
  ops: readonly PreparedOp[],
  claims: ReadonlyMap<number, number>,
): Map<number, KvSnapshot[]> {
  const out = new Map<number, KvSnapshot[]>();
  const note = (kv: KvSnapshot | null | undefined) => {
    if (kv === null || kv === undefined || claims.has(kv.modRevision)) return;
    const list = out.get(kv.modRevision) ?? [];
    if (!list.some((k) => k.key === kv.key)) list.push(kv);
    out.set(kv.modRevision, list);
  };
  const noteAll = (o: TxnOpOutput | Output) => {
    if (o.type === 'get') o.kvs.forEach(note);
    else if (o.type === 'put') note(o.prevKv);
    else if (o.type === 'delete') o.prevKvs?.forEach(note);
    else if (o.type === 'txn') o.responses.forEach(noteAll);
  };
  for (const p of ops) if (p.op.output !== undefined && !p.ambiguous) noteAll(p.op.output);
  return out;
}

/** Whether an op's outcome depends on whether lease `id` exists. */
function namesLease(input: Input, id: bigint): boolean {
  switch (input.type) {
    case 'put':
      return input.lease === id;
    case 'leaseGrant':
    case 'leaseRevoke':
      return input.id === id;
    case 'txn':
      return [...input.success, ...input.failure].some((op) => op.type === 'put' && op.lease === id);
    default:
      return false;
  }
}

function sameBits(a: Uint32Array, b: Uint32Array): boolean {
  for (let k = 0; k < a.length; k++) if (a[k] !== b[k]) return false;
  return true;
}
