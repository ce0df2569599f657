/**
 * A tiny metrics registry (counter, gauge, histogram) and the etcd-named instruments a node
 * updates, so operators can point the dashboards and alerts they already use for etcd at tsetcd.
 *
 * Pure: instruments only hold numbers. No labels, no timers, no I/O; the text exposition format
 * lives in `prometheus.ts` and the HTTP endpoint in the server package.
 */

/** Prometheus metric name grammar; a name outside it would make the exposition unparsable. */
const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

/** The instrument kinds, spelled as Prometheus' `# TYPE` line spells them. */
export const MetricType = {
  Counter: 'counter',
  Gauge: 'gauge',
  Histogram: 'histogram',
} as const;
/** One of {@link MetricType}'s values. */
export type MetricType = (typeof MetricType)[keyof typeof MetricType];

/** What every instrument shares, so a registry and a renderer can treat them alike. */
interface InstrumentBase {
  readonly name: string;
  readonly help: string;
}

function checkName(name: string): void {
  if (!METRIC_NAME.test(name)) throw new TypeError(`invalid metric name ${JSON.stringify(name)}`);
}

/** A value that only goes up (Prometheus counter): totals such as failed proposals. */
export class Counter implements InstrumentBase {
  readonly type = MetricType.Counter;
  #value = 0;
  constructor(
    readonly name: string,
    readonly help: string,
  ) {
    checkName(name);
  }
  /** Adds `n` (default 1). A negative `n` is a programming mistake: counters never decrease. */
  inc(n = 1): void {
    if (!(n >= 0)) throw new RangeError(`counter ${this.name} cannot decrease (inc(${n}))`);
    this.#value += n;
  }
  /** The running total. */
  get value(): number {
    return this.#value;
  }
}

/** A value that goes up and down (Prometheus gauge): pending proposals, db size, is-leader. */
export class Gauge implements InstrumentBase {
  readonly type = MetricType.Gauge;
  #value = 0;
  constructor(
    readonly name: string,
    readonly help: string,
  ) {
    checkName(name);
  }
  /** Replaces the value. */
  set(v: number): void {
    this.#value = v;
  }
  /** Adds `n` (default 1). */
  inc(n = 1): void {
    this.#value += n;
  }
  /** Subtracts `n` (default 1). */
  dec(n = 1): void {
    this.#value -= n;
  }
  /** The current value. */
  get value(): number {
    return this.#value;
  }
}

/**
 * Bucket upper bounds `start * factor^i`, i = 0..count-1, computed by repeated multiplication as
 * Prometheus' `ExponentialBuckets` does (so the `le` labels print the same digits as etcd's).
 */
export function exponentialBuckets(start: number, factor: number, count: number): number[] {
  if (!(start > 0) || !(factor > 1) || !Number.isInteger(count) || count < 1) {
    throw new RangeError(
      `exponentialBuckets(${start}, ${factor}, ${count}): need start > 0, factor > 1, count >= 1`,
    );
  }
  const out: number[] = [];
  for (let i = 0, b = start; i < count; i++, b *= factor) out.push(b);
  return out;
}

/**
 * etcd's disk latency buckets: 1 ms doubling to 8.192 s (`ExponentialBuckets(0.001, 2, 14)`),
 * used by `etcd_disk_wal_fsync_duration_seconds` and `etcd_disk_backend_commit_duration_seconds`.
 */
export const ETCD_DISK_BUCKETS: readonly number[] = Object.freeze(exponentialBuckets(0.001, 2, 14));

/** One cumulative bucket as Prometheus exposes it: how many observations were `<= le`. */
export interface CumulativeBucket {
  readonly le: number;
  readonly count: number;
}

/**
 * A distribution of observations (Prometheus histogram): fsync and commit latencies, whose p99
 * is what etcd's tuning guide tells operators to watch.
 */
export class Histogram implements InstrumentBase {
  readonly type = MetricType.Histogram;
  /** Finite upper bounds, strictly increasing; the implicit last bucket is `+Inf`. */
  readonly upperBounds: readonly number[];
  /** Non-cumulative: counts[i] observations fell in (upperBounds[i-1], upperBounds[i]]; the last is `+Inf`. */
  readonly #counts: number[];
  #sum = 0;
  #count = 0;
  constructor(
    readonly name: string,
    readonly help: string,
    buckets: readonly number[] = ETCD_DISK_BUCKETS,
  ) {
    checkName(name);
    const bounds = buckets.filter((b) => b !== Number.POSITIVE_INFINITY);
    for (let i = 0; i < bounds.length; i++) {
      const b = bounds[i]!;
      if (Number.isNaN(b) || (i > 0 && !(b > bounds[i - 1]!))) {
        throw new RangeError(`histogram ${name}: buckets must be strictly increasing numbers`);
      }
    }
    this.upperBounds = Object.freeze(bounds);
    this.#counts = new Array<number>(bounds.length + 1).fill(0);
  }

  /** Records one observation (seconds, for etcd's latency histograms). */
  observe(v: number): void {
    let i = 0;
    while (i < this.upperBounds.length && !(v <= this.upperBounds[i]!)) i++;
    this.#counts[i]!++;
    this.#sum += v;
    this.#count++;
  }

  /** Number of observations. */
  get count(): number {
    return this.#count;
  }

  /** Sum of all observations. */
  get sum(): number {
    return this.#sum;
  }

  /** Cumulative counts per upper bound, ending with `le: +Inf` (whose count equals `count`). */
  buckets(): CumulativeBucket[] {
    const out: CumulativeBucket[] = [];
    let acc = 0;
    for (let i = 0; i <= this.upperBounds.length; i++) {
      acc += this.#counts[i]!;
      out.push({ le: this.upperBounds[i] ?? Number.POSITIVE_INFINITY, count: acc });
    }
    return out;
  }

  /**
   * Estimates the q-quantile from the buckets exactly as PromQL's `histogram_quantile` does:
   * find the bucket holding rank q*count and interpolate linearly inside it (the first bucket
   * starts at 0; a rank in the `+Inf` bucket answers the highest finite bound). NaN when empty.
   */
  quantile(q: number): number {
    if (q < 0) return Number.NEGATIVE_INFINITY;
    if (q > 1) return Number.POSITIVE_INFINITY;
    const buckets = this.buckets();
    const total = this.#count;
    if (total === 0 || Number.isNaN(q)) return Number.NaN;
    const rank = q * total;
    // The first bucket whose cumulative count reaches the rank (never past the +Inf bucket).
    let b = 0;
    while (b < buckets.length - 1 && !(buckets[b]!.count >= rank)) b++;
    if (b === buckets.length - 1) return buckets.length >= 2 ? buckets[b - 1]!.le : Number.NaN;
    const end = buckets[b]!.le;
    if (b === 0 && end <= 0) return end;
    const start = b === 0 ? 0 : buckets[b - 1]!.le;
    const below = b === 0 ? 0 : buckets[b - 1]!.count;
    const inBucket = buckets[b]!.count - below;
    return start + (end - start) * ((rank - below) / inBucket);
  }
}

/** Any instrument the registry holds. */
export type Instrument = Counter | Gauge | Histogram;

/** A histogram as {@link Registry.snapshot} reports it: plain data, JSON-friendly. */
export interface HistogramSnapshot {
  readonly count: number;
  readonly sum: number;
  /** Cumulative counts keyed by the `le` label text (`"0.001"` … `"+Inf"`). */
  readonly buckets: Readonly<Record<string, number>>;
  /** PromQL-style estimate; NaN (null in JSON) while empty. */
  readonly p50: number;
  /** PromQL-style estimate; NaN (null in JSON) while empty. */
  readonly p99: number;
}

/** What users and tests read: every metric's current value by name. */
export type MetricsSnapshot = Record<string, number | HistogramSnapshot>;

/**
 * Owns a set of uniquely named instruments, so a renderer can walk them and a second
 * registration of one name is caught instead of silently splitting a metric in two.
 */
export class Registry {
  readonly #byName = new Map<string, Instrument>();

  /** Creates and registers a counter. */
  counter(name: string, help: string): Counter {
    return this.register(new Counter(name, help));
  }

  /** Creates and registers a gauge. */
  gauge(name: string, help: string): Gauge {
    return this.register(new Gauge(name, help));
  }

  /** Creates and registers a histogram (etcd's disk buckets unless given). */
  histogram(name: string, help: string, buckets?: readonly number[]): Histogram {
    return this.register(new Histogram(name, help, buckets));
  }

  /** Adds an instrument; a duplicate name is a programming mistake. */
  register<T extends Instrument>(instrument: T): T {
    if (this.#byName.has(instrument.name)) {
      throw new TypeError(`metric ${instrument.name} is already registered`);
    }
    this.#byName.set(instrument.name, instrument);
    return instrument;
  }

  /** The instrument named `name`, if registered. */
  get(name: string): Instrument | undefined {
    return this.#byName.get(name);
  }

  /** All instruments sorted by name, the order Prometheus' Go client gathers them in. */
  instruments(): Instrument[] {
    return [...this.#byName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** Every metric's value as plain data, keyed by name. */
  snapshot(): MetricsSnapshot {
    const out: MetricsSnapshot = {};
    for (const m of this.instruments()) {
      if (m.type !== MetricType.Histogram) {
        out[m.name] = m.value;
        continue;
      }
      const buckets: Record<string, number> = {};
      for (const b of m.buckets()) buckets[formatLe(b.le)] = b.count;
      out[m.name] = { count: m.count, sum: m.sum, buckets, p50: m.quantile(0.5), p99: m.quantile(0.99) };
    }
    return out;
  }
}

/** Snapshot keys for buckets; the exposition format uses Go's float text instead (see prometheus.ts). */
function formatLe(le: number): string {
  return le === Number.POSITIVE_INFINITY ? '+Inf' : String(le);
}

/**
 * The instruments a tsetcd node updates, under etcd 3.4's names, types and help strings
 * (etcdserver/metrics.go, wal/metrics.go, mvcc/backend/metrics.go, mvcc/metrics.go,
 * rafthttp/metrics.go). The proposal committed/applied totals are gauges in etcd, set to the
 * raft indexes, and stay gauges here so `# TYPE` matches. etcd's peer byte counters carry a
 * `To`/`From` label; ours are the unlabeled sum over peers.
 */
export class Metrics extends Registry {
  /** Set to 1 while this member knows a leader, 0 otherwise. */
  readonly hasLeader = this.gauge(
    'etcd_server_has_leader',
    'Whether or not a leader exists. 1 is existence, 0 is not.',
  );
  /** Set to 1 while this member is the leader. */
  readonly isLeader = this.gauge(
    'etcd_server_is_leader',
    'Whether or not this member is a leader. 1 if is, 0 otherwise.',
  );
  /** Incremented each time the known leader changes. */
  readonly leaderChanges = this.counter(
    'etcd_server_leader_changes_seen_total',
    'The number of leader changes seen.',
  );
  /** Incremented when applying an entry took longer than the slow-apply warning threshold. */
  readonly slowApplies = this.counter(
    'etcd_server_slow_apply_total',
    'The total number of slow apply requests (likely overloaded from slow disk).',
  );
  /** Set to the raft commit index (a gauge in etcd despite the `_total` suffix). */
  readonly proposalsCommitted = this.gauge(
    'etcd_server_proposals_committed_total',
    'The total number of consensus proposals committed.',
  );
  /** Set to the applied index (a gauge in etcd despite the `_total` suffix). */
  readonly proposalsApplied = this.gauge(
    'etcd_server_proposals_applied_total',
    'The total number of consensus proposals applied.',
  );
  /** Incremented when a proposal starts waiting, decremented when it commits or fails. */
  readonly proposalsPending = this.gauge(
    'etcd_server_proposals_pending',
    'The current number of pending proposals to commit.',
  );
  /** Incremented when a proposal fails (timeout, dropped, no leader). */
  readonly proposalsFailed = this.counter(
    'etcd_server_proposals_failed_total',
    'The total number of failed proposals seen.',
  );
  /** Observes every WAL fsync, in seconds. */
  readonly walFsyncSec = this.histogram(
    'etcd_disk_wal_fsync_duration_seconds',
    'The latency distributions of fsync called by WAL.',
    ETCD_DISK_BUCKETS,
  );
  /** Observes every backend batch commit, in seconds. */
  readonly backendCommitSec = this.histogram(
    'etcd_disk_backend_commit_duration_seconds',
    'The latency distributions of commit called by backend.',
    ETCD_DISK_BUCKETS,
  );
  /** Set to the backend's allocated size in bytes. */
  readonly dbTotalSize = this.gauge(
    'etcd_mvcc_db_total_size_in_bytes',
    'Total size of the underlying database physically allocated in bytes.',
  );
  /** Set to the number of live keys. */
  readonly keysTotal = this.gauge('etcd_debugging_mvcc_keys_total', 'Total number of keys.');
  /** Incremented by the bytes sent to peers (all peers together). */
  readonly peerSentBytes = this.counter(
    'etcd_network_peer_sent_bytes_total',
    'The total number of bytes sent to peers.',
  );
  /** Incremented by the bytes received from peers (all peers together). */
  readonly peerReceivedBytes = this.counter(
    'etcd_network_peer_received_bytes_total',
    'The total number of bytes received from peers.',
  );
}
