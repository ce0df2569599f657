/**
 * Allocation-free bookkeeping for the benchmark's client: a FIFO of proposal start rounds (the
 * leader applies its own proposals in the order it appended them) and a latency histogram.
 */

/** Latencies at or above this many rounds are counted in the last bucket. */
const HISTOGRAM_BUCKETS = 4_096;

/** A fixed-capacity ring buffer of the round each in-flight proposal was made in. */
export class ProposalQueue {
  private readonly rounds: Float64Array;
  private head = 0;
  /** How many proposals are in flight. */
  length = 0;

  /** A queue for at most `capacity` proposals in flight. */
  constructor(capacity: number) {
    this.rounds = new Float64Array(capacity);
  }

  /** Records a proposal made before round `round`. */
  push(round: number): void {
    if (this.length === this.rounds.length) throw new RangeError('bench: proposal queue overflow');
    this.rounds[(this.head + this.length) % this.rounds.length] = round;
    this.length++;
  }

  /** Removes the oldest proposal and returns its round. */
  shift(): number {
    if (this.length === 0) throw new RangeError('bench: the leader applied a proposal nobody made');
    const r = this.rounds[this.head]!;
    this.head = (this.head + 1) % this.rounds.length;
    this.length--;
    return r;
  }
}

/** Counts latencies (in rounds) to answer quantiles. */
export class LatencyHistogram {
  private readonly counts = new Float64Array(HISTOGRAM_BUCKETS);
  private total = 0;
  /** The largest latency recorded since the last reset. */
  max = 0;

  /** Records one latency. */
  record(rounds: number): void {
    this.counts[rounds < HISTOGRAM_BUCKETS ? rounds : HISTOGRAM_BUCKETS - 1]!++;
    this.total++;
    if (rounds > this.max) this.max = rounds;
  }

  /** The smallest latency such that a fraction `q` of the recorded ones are at or below it. */
  quantile(q: number): number {
    const want = Math.ceil(q * this.total);
    let seen = 0;
    for (let i = 0; i < HISTOGRAM_BUCKETS; i++) {
      seen += this.counts[i]!;
      if (seen >= want && seen > 0) return i;
    }
    return 0;
  }

  /** Forgets everything recorded (end of warm-up). */
  reset(): void {
    this.counts.fill(0);
    this.total = 0;
    this.max = 0;
  }
}
