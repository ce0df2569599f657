import { seededRandom } from '@tsetcd/raft';
import { describe, expect, it } from 'vitest';
import { InvalidPeerUrlError } from './tcp-errors.js';
import {
  backoffDelay,
  DEFAULT_BACKOFF_INITIAL_MS,
  DEFAULT_BACKOFF_MAX_MS,
  DEFAULT_SNAPSHOT_CHUNK_BYTES,
  formatTcpUrl,
  parseTcpUrl,
  resolveOptions,
} from './tcp-options.js';

const handler = { onMessage() {}, onUnreachable() {}, onSnapshotStatus() {} };
const base = { id: 1n, listen: 'tcp://127.0.0.1:0', clusterToken: 't', handler };

describe('tcp urls', () => {
  it.each([
    ['tcp://127.0.0.1:2380', { secure: false, host: '127.0.0.1', port: 2380 }],
    ['tls://member-1.example:2380/', { secure: true, host: 'member-1.example', port: 2380 }],
    ['tcp://[::1]:7', { secure: false, host: '::1', port: 7 }],
  ])('parses %s', (url, want) => {
    expect(parseTcpUrl(url)).toEqual(want);
    expect(parseTcpUrl(formatTcpUrl(want))).toEqual(want);
  });

  it.each([
    'http://127.0.0.1:2380',
    'tcp://127.0.0.1',
    'tcp://127.0.0.1:0',
    'tcp://127.0.0.1:99999',
    'tcp://u:p@127.0.0.1:1',
    'tcp://127.0.0.1:1/path',
    'tcp://127.0.0.1:1?x=1',
    'not a url',
  ])('refuses %s', (url) => {
    expect(() => parseTcpUrl(url)).toThrow(InvalidPeerUrlError);
  });

  it('allows port 0 only where asked (listening)', () => {
    expect(parseTcpUrl('tcp://127.0.0.1:0', true).port).toBe(0);
  });
});

describe('backoffDelay', () => {
  it('doubles from the initial delay up to the cap, jittered within [base/2, base]', () => {
    const rand = seededRandom(1);
    const bases = [50, 100, 200, 400, 800, 1600, 2000, 2000, 2000];
    bases.forEach((b, attempt) => {
      for (let i = 0; i < 50; i++) {
        const d = backoffDelay(attempt, rand, DEFAULT_BACKOFF_INITIAL_MS, DEFAULT_BACKOFF_MAX_MS);
        expect(d).toBeGreaterThanOrEqual(b / 2);
        expect(d).toBeLessThanOrEqual(b);
      }
    });
    expect(backoffDelay(10_000, rand, 50, 2000)).toBeLessThanOrEqual(2000);
  });

  it('takes its jitter only from the injected source', () => {
    expect(backoffDelay(0, () => 0, 50, 2000)).toBe(25);
    expect(backoffDelay(0, (n) => n - 1, 50, 2000)).toBe(50);
    expect(backoffDelay(3, () => 0, 50, 2000)).toBe(200);
  });
});

describe('resolveOptions', () => {
  it('fills defaults, keeping snapshot chunks inside a small frame limit', () => {
    expect(resolveOptions(base).snapshotChunkBytes).toBe(DEFAULT_SNAPSHOT_CHUNK_BYTES);
    expect(resolveOptions({ ...base, maxFrameBytes: 1000 }).snapshotChunkBytes).toBe(999);
  });

  it.each([
    { maxFrameBytes: 0 },
    { maxFrameBytes: 2 ** 32 },
    { maxFrameBytes: 1000, snapshotChunkBytes: 1000 },
    { sendQueueSize: -1 },
    { backoffInitialMs: 100, backoffMaxMs: 50 },
    { dialTimeoutMs: 1.5 },
    { clusterToken: 'x'.repeat(2000) },
  ])('refuses %o', (bad) => {
    expect(() => resolveOptions({ ...base, ...bad })).toThrow(RangeError);
  });
});
