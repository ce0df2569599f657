/**
 * The exact exposition text for a small registry, and Go's float formatting.
 */

import { describe, expect, it } from 'vitest';
import { Metrics, Registry } from './metrics.js';
import { formatGoFloat, renderPrometheus } from './prometheus.js';

describe('formatGoFloat (strconv.FormatFloat(f, g, -1, 64))', () => {
  it.each([
    [0, '0'],
    [1, '1'],
    [-1, '-1'],
    [0.001, '0.001'],
    [8.192, '8.192'],
    [0.0001, '0.0001'],
    [0.00001, '1e-05'],
    [123456, '123456'],
    [1000000, '1e+06'],
    [1234567, '1.234567e+06'],
    [2.7631616e7, '2.7631616e+07'],
    [1e21, '1e+21'],
    [-0.5, '-0.5'],
    [Number.NaN, 'NaN'],
    [Number.POSITIVE_INFINITY, '+Inf'],
    [Number.NEGATIVE_INFINITY, '-Inf'],
  ])('%s -> %s', (f, text) => {
    expect(formatGoFloat(f)).toBe(text);
  });
});

describe('renderPrometheus', () => {
  it('renders a small registry exactly, families sorted by name', () => {
    const r = new Registry();
    const h = r.histogram('req_duration_seconds', 'Request latency.', [0.1, 0.5]);
    r.gauge('queue_depth', 'Items waiting.\nSecond line \\ with backslash.').set(3);
    r.counter('errors_total', 'Errors seen.').inc(2);
    h.observe(0.0625);
    h.observe(0.25);
    h.observe(0.75);
    expect(renderPrometheus(r)).toBe(
      [
        '# HELP errors_total Errors seen.',
        '# TYPE errors_total counter',
        'errors_total 2',
        '# HELP queue_depth Items waiting.\\nSecond line \\\\ with backslash.',
        '# TYPE queue_depth gauge',
        'queue_depth 3',
        '# HELP req_duration_seconds Request latency.',
        '# TYPE req_duration_seconds histogram',
        'req_duration_seconds_bucket{le="0.1"} 1',
        'req_duration_seconds_bucket{le="0.5"} 2',
        'req_duration_seconds_bucket{le="+Inf"} 3',
        'req_duration_seconds_sum 1.0625',
        'req_duration_seconds_count 3',
        '',
      ].join('\n'),
    );
  });

  it('renders an empty registry as nothing', () => {
    expect(renderPrometheus(new Registry())).toBe('');
  });

  it("renders etcd's wal fsync histogram as etcd does", () => {
    const m = new Metrics();
    m.walFsyncSec.observe(0.0015);
    m.dbTotalSize.set(20480000);
    const text = renderPrometheus(m);
    const fsync = text.split('\n').filter((l) => l.includes('etcd_disk_wal_fsync_duration_seconds'));
    expect(fsync).toEqual([
      '# HELP etcd_disk_wal_fsync_duration_seconds The latency distributions of fsync called by WAL.',
      '# TYPE etcd_disk_wal_fsync_duration_seconds histogram',
      'etcd_disk_wal_fsync_duration_seconds_bucket{le="0.001"} 0',
      'etcd_disk_wal_fsync_duration_seconds_bucket{le="0.002"} 1',
      'etcd_disk_wal_fsync_duration_seconds_bucket{le="0.004"} 1',
      'etcd_disk_wal_fsync_duration_seconds_bucket{le="0.008"} 1',
      'etcd_disk_wal_fsync_duration_seconds_bucket{le="0.016"} 1',
      'etcd_disk_wal_fsync_duration_seconds_bucket{le="0.032"} 1',
      'etcd_disk_wal_fsync_duration_seconds_bucket{le="0.064"} 1',
      'etcd_disk_wal_fsync_duration_seconds_bucket{le="0.128"} 1',
      'etcd_disk_wal_fsync_duration_seconds_bucket{le="0.256"} 1',
      'etcd_disk_wal_fsync_duration_seconds_bucket{le="0.512"} 1',
      'etcd_disk_wal_fsync_duration_seconds_bucket{le="1.024"} 1',
      'etcd_disk_wal_fsync_duration_seconds_bucket{le="2.048"} 1',
      'etcd_disk_wal_fsync_duration_seconds_bucket{le="4.096"} 1',
      'etcd_disk_wal_fsync_duration_seconds_bucket{le="8.192"} 1',
      'etcd_disk_wal_fsync_duration_seconds_bucket{le="+Inf"} 1',
      'etcd_disk_wal_fsync_duration_seconds_sum 0.0015',
      'etcd_disk_wal_fsync_duration_seconds_count 1',
    ]);
    expect(text).toContain('\netcd_mvcc_db_total_size_in_bytes 2.048e+07\n');
    expect(text).toContain('# TYPE etcd_server_proposals_committed_total gauge\n');
    expect(text.endsWith('\n')).toBe(true);
  });
});
