/**
 * The errors a simulation run fails with: an InvariantViolation where a check trips, wrapped at
 * the top into a SimFailure whose message starts with `seed N:` and ends with the trace tail.
 */

/** The properties the simulator checks, named as in the Raft paper where they come from it. */
export type InvariantName =
  | 'election safety'
  | 'one vote per term'
  | 'log matching'
  | 'leader completeness'
  | 'state machine safety'
  | 'acknowledged proposal lost'
  | 'durability contract'
  | 'hard state monotonicity'
  | 'apply order'
  | 'read index linearizability'
  | 'integrity'
  | 'liveness'
  | 'exception';

/** A checked property does not hold. */
export class InvariantViolation extends Error {
  constructor(
    readonly invariant: InvariantName,
    readonly detail: string,
  ) {
    super(`${invariant}: ${detail}`);
    this.name = 'InvariantViolation';
  }
}

/** Throws an InvariantViolation; a function so checks read as one line. */
export function violation(invariant: InvariantName, detail: string): never {
  throw new InvariantViolation(invariant, detail);
}

/** A failed run: which seed, which property, what happened last. */
export class SimFailure extends Error {
  constructor(
    readonly seed: number,
    readonly invariant: InvariantName,
    readonly detail: string,
    readonly step: number,
    readonly traceTail: readonly string[],
    replayArgs: string,
  ) {
    super(
      `seed ${seed}: ${invariant} at step ${step}: ${detail}\n` +
        `replay: pnpm --filter @tsetcd/raft sim -- ${replayArgs} --trace\n` +
        `last ${traceTail.length} trace lines:\n${traceTail.join('\n')}`,
    );
    this.name = 'SimFailure';
  }
}
