/**
 * The two ways a caller waits on the apply loop: for the result of its own proposal, by request ID
 * (etcd's wait.Wait), and for the applied index to reach a point (etcd's wait.WaitTime), which is
 * how a linearizable read knows the state machine has caught up with its read index.
 */

/** The outcome of applying one request: its response, or the error it failed with. */
export type ApplyResult =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly error: unknown };

interface Pending {
  readonly resolve: (r: ApplyResult) => void;
  /** The proposal's deadline (clock ms): see forEachExpired. */
  readonly at: number;
  /** The leader changes its proposer had seen when it began (which timeout error it gets). */
  readonly seenChanges: number;
}

/**
 * This member's pending proposals, by the counter of their request ID: every ID it waits for
 * carries its own prefix, and the applier reports every applied request's ID, so `trigger` drops
 * the IDs other members proposed.
 */
export class ProposalWaits {
  private readonly pending = new Map<number, Pending>();

  /** `prefix`: this member's request-ID prefix (see RequestIdGenerator). */
  constructor(readonly prefix: number) {}

  /**
   * Registers `counter`, with its deadline `at` and the leader changes seen so far (one entry per
   * proposal holds both: the proposer keeps no second table); the promise settles when
   * settle(counter) is called (never, if nobody does).
   */
  register(counter: number, at = Number.POSITIVE_INFINITY, seenChanges = 0): Promise<ApplyResult> {
    if (this.pending.has(counter)) throw new Error(`wait: duplicate request counter ${counter}`);
    return new Promise((resolve) => this.pending.set(counter, { resolve, at, seenChanges }));
  }

  /** Calls `expire` with each pending proposal whose deadline is <= now (it may settle them). */
  forEachExpired(now: number, expire: (counter: number, seenChanges: number) => void): void {
    // forEach, not for-of: no iterator result or [key, value] pair per entry, every tick.
    this.pending.forEach((p, counter) => {
      if (now >= p.at) expire(counter, p.seenChanges);
    });
  }

  /** The leader changes seen when proposal `counter` began, if it is pending. */
  seenChangesOf(counter: number): number | undefined {
    return this.pending.get(counter)?.seenChanges;
  }

  /** Whether someone waits for `counter` (the proposer retries only those). */
  has(counter: number): boolean {
    return this.pending.has(counter);
  }

  /** Hands `result` to the waiter of the request (proposer, counter), if it is this member's and waited for. */
  trigger(proposer: number, counter: number, result: ApplyResult): void {
    if (proposer === this.prefix) this.settle(counter, result);
  }

  /** Hands `result` to the waiter of this member's request `counter`, if any. */
  settle(counter: number, result: ApplyResult): void {
    const p = this.pending.get(counter);
    if (p === undefined) return;
    this.pending.delete(counter);
    p.resolve(result);
  }

  /** Forgets `counter` (its caller gave up). */
  cancel(counter: number): void {
    this.pending.delete(counter);
  }

  /** Number of proposals in flight (etcd_server_proposals_pending). */
  get size(): number {
    return this.pending.size;
  }

  /** Fails every waiter with `error` (the node stopped). */
  failAll(error: unknown): void {
    const all = [...this.pending.values()];
    this.pending.clear();
    for (const p of all) p.resolve({ ok: false, error });
  }
}

interface IndexWaiter {
  readonly index: number;
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
}

/** Waiters for the applied index to reach a value. */
export class AppliedIndexWaits {
  private waiters: IndexWaiter[] = [];
  private current = 0;

  /** The applied index reported last. */
  get applied(): number {
    return this.current;
  }

  /** Resolves once the applied index is >= `index` (at once if it is already). */
  wait(index: number): Promise<void> {
    if (index <= this.current) return Promise.resolve();
    return new Promise((resolve, reject) => this.waiters.push({ index, resolve, reject }));
  }

  /** Reports that everything up to `index` is applied. */
  advance(index: number): void {
    if (index <= this.current) return;
    this.current = index;
    if (this.waiters.length === 0) return;
    const still: IndexWaiter[] = [];
    for (const w of this.waiters) (w.index <= index ? w.resolve : () => still.push(w))();
    this.waiters = still;
  }

  /** Fails every waiter (the node stopped). */
  failAll(error: unknown): void {
    const all = this.waiters;
    this.waiters = [];
    for (const w of all) w.reject(error);
  }
}
