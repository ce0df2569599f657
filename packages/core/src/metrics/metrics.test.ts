/**
 * Instruments, bucket and quantile arithmetic (checked against PromQL's histogram_quantile by
 * hand), and the etcd-named instruments of Metrics.
 */

import { describe, expect, it } from 'vitest';
import {
  Counter,
  ETCD_DISK_BUCKETS,
  exponentialBuckets,
  Gauge,
  Histogram,
  Metrics,
  Registry,
} from './metrics.js';

describe('Counter and Gauge', () => {
  it('a counter only goes up', () => {
    const c = new Counter('c_total', 'help');
    c.inc();
    c.inc(4);
    expect(c.value).toBe(5);
    expect(() => c.inc(-1)).toThrow(RangeError);
    expect(() => c.inc(Number.NaN)).toThrow(RangeError);
    expect(c.value).toBe(5);
  });

  it('a gauge is set, incremented and decremented', () => {
    const g = new Gauge('g', 'help');
    g.set(10);
    g.inc();
    g.dec(3);
    g.dec();
    expect(g.value).toBe(7);
  });

  it('rejects names outside the Prometheus grammar', () => {
    expect(() => new Gauge('1abc', 'x')).toThrow(TypeError);
    expect(() => new Counter('a-b', 'x')).toThrow(TypeError);
    expect(() => new Counter('ns:a_b1', 'x')).not.toThrow();
  });
});

describe('Histogram buckets', () => {
  it("etcd's disk buckets are 0.001 * 2^k for k = 0..13", () => {
    expect(ETCD_DISK_BUCKETS).toHaveLength(14);
    expect(ETCD_DISK_BUCKETS).toEqual(Array.from({ length: 14 }, (_, k) => 0.001 * 2 ** k));
    expect(ETCD_DISK_BUCKETS[0]).toBe(0.001);
    expect(ETCD_DISK_BUCKETS[13]).toBe(8.192);
    expect(exponentialBuckets(1, 10, 3)).toEqual([1, 10, 100]);
    expect(() => exponentialBuckets(0, 2, 3)).toThrow(RangeError);
    expect(() => exponentialBuckets(1, 1, 3)).toThrow(RangeError);
  });

  it('counts cumulatively; a value equal to a bound falls in that bound (le is inclusive)', () => {
    const h = new Histogram('h', 'help', [1, 2, 4]);
    for (const v of [0.5, 1, 1.5, 2, 3, 100]) h.observe(v);
    expect(h.buckets()).toEqual([
      { le: 1, count: 2 },
      { le: 2, count: 4 },
      { le: 4, count: 5 },
      { le: Number.POSITIVE_INFINITY, count: 6 },
    ]);
    expect(h.count).toBe(6);
    expect(h.sum).toBe(108);
  });

  it('rejects unsorted bounds and ignores an explicit +Inf', () => {
    expect(() => new Histogram('h', 'x', [2, 1])).toThrow(RangeError);
    expect(() => new Histogram('h', 'x', [1, 1])).toThrow(RangeError);
    expect(new Histogram('h', 'x', [1, Number.POSITIVE_INFINITY]).upperBounds).toEqual([1]);
  });
});

describe('Histogram.quantile (PromQL histogram_quantile)', () => {
  it('interpolates linearly inside the bucket holding the rank', () => {
    const h = new Histogram('h', 'help', [1, 2, 4]);
    // 10 observations: 4 in (0,1], 4 in (1,2], 2 in (2,4].
    for (const v of [0.1, 0.2, 0.3, 0.4, 1.1, 1.2, 1.3, 1.4, 3, 3]) h.observe(v);
    // p50: rank 5 falls in (1,2] holding ranks 5..8; 1 + (2-1) * (5-4)/4 = 1.25.
    expect(h.quantile(0.5)).toBe(1.25);
    // p99: rank 9.9 falls in (2,4] holding ranks 9..10; 2 + 2 * (9.9-8)/2 = 3.9.
    expect(h.quantile(0.99)).toBeCloseTo(3.9, 12);
    // p20: rank 2 in the first bucket, which starts at 0: 0 + 1 * 2/4 = 0.5.
    expect(h.quantile(0.2)).toBe(0.5);
    expect(h.quantile(1)).toBe(4);
  });

  it('answers the highest finite bound when the rank lies in +Inf', () => {
    const h = new Histogram('h', 'help', [1, 2]);
    h.observe(0.5);
    h.observe(50);
    h.observe(60);
    expect(h.quantile(0.99)).toBe(2);
  });

  it('is NaN while empty and ±Inf outside [0, 1]', () => {
    const h = new Histogram('h', 'help', [1]);
    expect(h.quantile(0.5)).toBeNaN();
    h.observe(0.5);
    expect(h.quantile(-0.1)).toBe(Number.NEGATIVE_INFINITY);
    expect(h.quantile(1.1)).toBe(Number.POSITIVE_INFINITY);
  });

  it('on etcd buckets: 99 fast fsyncs and one slow one', () => {
    const h = new Histogram('h', 'help');
    for (let i = 0; i < 99; i++) h.observe(0.0005);
    h.observe(0.1);
    // p50: rank 50 of 99 in (0, 0.001]: 0.001 * 50/99.
    expect(h.quantile(0.5)).toBeCloseTo((0.001 * 50) / 99, 15);
    // p99: rank 99 is reached by the first bucket exactly.
    expect(h.quantile(0.99)).toBe(0.001);
    // p999: rank 99.9 lies in (0.064, 0.128], holding only the slow one.
    expect(h.quantile(0.999)).toBeCloseTo(0.064 + 0.064 * 0.9, 15);
  });
});

describe('Registry', () => {
  it('refuses a second instrument with the same name', () => {
    const r = new Registry();
    r.counter('a_total', 'x');
    expect(() => r.gauge('a_total', 'y')).toThrow(TypeError);
  });

  it('snapshot: numbers for counters and gauges, plain objects for histograms', () => {
    const r = new Registry();
    r.counter('b_total', 'x').inc(3);
    r.gauge('a', 'x').set(-2);
    // p99: rank 1.98 lies in (0.5, 1] holding rank 2 only: 0.5 + 0.5 * 0.98 = 0.99.
    const h = r.histogram('c_seconds', 'x', [0.5, 1]);
    h.observe(0.25);
    h.observe(0.75);
    expect(r.snapshot()).toEqual({
      a: -2,
      b_total: 3,
      c_seconds: { count: 2, sum: 1, buckets: { '0.5': 1, '1': 2, '+Inf': 2 }, p50: 0.5, p99: 0.99 },
    });
    expect(Object.keys(r.snapshot())).toEqual(['a', 'b_total', 'c_seconds']);
  });
});

describe('Metrics', () => {
  it("owns etcd's instruments with etcd's names and types", () => {
    const m = new Metrics();
    const types = Object.fromEntries(m.instruments().map((i) => [i.name, i.type]));
    expect(types).toEqual({
      etcd_debugging_mvcc_keys_total: 'gauge',
      etcd_disk_backend_commit_duration_seconds: 'histogram',
      etcd_disk_wal_fsync_duration_seconds: 'histogram',
      etcd_mvcc_db_total_size_in_bytes: 'gauge',
      etcd_network_peer_received_bytes_total: 'counter',
      etcd_network_peer_sent_bytes_total: 'counter',
      etcd_server_has_leader: 'gauge',
      etcd_server_is_leader: 'gauge',
      etcd_server_leader_changes_seen_total: 'counter',
      etcd_server_proposals_applied_total: 'gauge',
      etcd_server_proposals_committed_total: 'gauge',
      etcd_server_proposals_failed_total: 'counter',
      etcd_server_proposals_pending: 'gauge',
      etcd_server_slow_apply_total: 'counter',
    });
  });

  it('snapshot reflects what the node updated', () => {
    const m = new Metrics();
    m.proposalsCommitted.set(42);
    m.leaderChanges.inc();
    m.walFsyncSec.observe(0.003);
    const s = m.snapshot();
    expect(s.etcd_server_proposals_committed_total).toBe(42);
    expect(s.etcd_server_leader_changes_seen_total).toBe(1);
    expect(s.etcd_disk_wal_fsync_duration_seconds).toMatchObject({
      count: 1,
      sum: 0.003,
      buckets: { '0.001': 0, '0.002': 0, '0.004': 1, '8.192': 1, '+Inf': 1 },
    });
    expect(JSON.parse(JSON.stringify(s)).etcd_disk_backend_commit_duration_seconds.p99).toBeNull();
  });
});
