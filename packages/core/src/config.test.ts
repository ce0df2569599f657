/**
 * parseNodeConfig as etcd's flags: every default is etcd's flag default, and every bad field is
 * reported as one ConfigError issue naming the field's path, with etcd's words where etcd has them
 * (embed/config.go Validate, etcdserver/config.go).
 */

import { DEFAULT_MAX_TXN_OPS } from '@tsetcd/mvcc';
import { describe, expect, it } from 'vitest';
import { ConfigError, type ConfigIssue, parseNodeConfig, quotaBytes } from './config.js';

/** The issues parseNodeConfig reports for `input` (fails the test if it accepts it). */
function issuesOf(input: unknown): readonly ConfigIssue[] {
  try {
    parseNodeConfig(input);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).code).toBe('ErrInvalidConfig');
    return (err as ConfigError).issues;
  }
  throw new Error(`parseNodeConfig accepted ${JSON.stringify(input)}`);
}

describe('parseNodeConfig defaults', () => {
  it("fills in etcd 3.4's flag defaults for an empty config", () => {
    const c = parseNodeConfig({});
    expect(c).toEqual({
      name: 'default', // --name
      clientUrls: [],
      initialClusterState: 'new', // --initial-cluster-state
      initialClusterToken: 'etcd-cluster', // --initial-cluster-token
      heartbeatMs: 100, // --heartbeat-interval
      electionMs: 1000, // --election-timeout
      snapshotCount: 100_000, // --snapshot-count
      snapshotCatchUpEntries: 5000, // etcdserver.DefaultSnapshotCatchUpEntries
      quotaBackendBytes: 0, // --quota-backend-bytes (0 = the 2 GiB default)
      maxTxnOps: 128, // --max-txn-ops
      maxRequestBytes: 1_572_864, // --max-request-bytes
      autoCompactionMode: 'periodic', // --auto-compaction-mode
      autoCompactionRetention: '0', // --auto-compaction-retention (off)
      maxLearners: 1, // --max-learners (etcd 3.5)
      strictReconfigCheck: true, // --strict-reconfig-check
      backendCommitMs: 100, // --backend-batch-interval
      requestTimeoutMs: 7000,
    });
    expect(DEFAULT_MAX_TXN_OPS).toBe(128);
    expect(quotaBytes(c)).toBe(2 * 1024 * 1024 * 1024);
    expect(parseNodeConfig(undefined)).toEqual(c);
  });

  it("derives requestTimeoutMs as etcd's ReqTimeout: 5 s plus two election timeouts, unless given", () => {
    expect(parseNodeConfig({ heartbeatMs: 50, electionMs: 500 }).requestTimeoutMs).toBe(6000);
    expect(parseNodeConfig({ requestTimeoutMs: 1234 }).requestTimeoutMs).toBe(1234);
    expect(issuesOf({ requestTimeoutMs: 0 }).map((i) => i.path)).toEqual(['requestTimeoutMs']);
  });

  it('maps quotaBackendBytes: 0 = the default, negative = no quota, positive = that many bytes', () => {
    expect(quotaBytes(parseNodeConfig({ quotaBackendBytes: -1 }))).toBe(Number.POSITIVE_INFINITY);
    expect(quotaBytes(parseNodeConfig({ quotaBackendBytes: 4096 }))).toBe(4096);
  });

  it('accepts a full valid initial cluster', () => {
    const c = parseNodeConfig({
      name: 'infra1',
      peers: { infra1: 'tcp://127.0.0.1:2380', infra2: 'tcp://127.0.0.1:22380' },
      initialClusterState: 'existing',
    });
    expect(c.peers).toEqual({ infra1: 'tcp://127.0.0.1:2380', infra2: 'tcp://127.0.0.1:22380' });
    expect(c.initialClusterState).toBe('existing');
  });
});

describe('parseNodeConfig errors', () => {
  it('refuses an unknown field, naming it', () => {
    const issues = issuesOf({ name: 'a', heartbeatInterval: 100 });
    expect(issues).toHaveLength(1);
    expect(issues[0]!.message).toContain('heartbeatInterval');
  });

  it("reports an unknown field at the field's own path", () => {
    expect(issuesOf({ name: 'a', heartbeatInterval: 100 }).map((i) => i.path)).toEqual(['heartbeatInterval']);
  });

  it('refuses a peer URL that is not tcp://, tls:// or mem://, at peers.<name>', () => {
    expect(issuesOf({ name: 'a', peers: { a: 'http://127.0.0.1:2380' } })).toEqual([
      { path: 'peers.a', message: 'must be a tcp://, tls:// or mem:// URL' },
    ]);
    expect(issuesOf({ listenPeerUrl: 'tcp://' }).map((i) => i.path)).toEqual(['listenPeerUrl']);
  });

  it("refuses an election timeout under 5 heartbeats with etcd's message", () => {
    expect(issuesOf({ heartbeatMs: 100, electionMs: 499 })).toEqual([
      {
        path: 'electionMs',
        message: '--election-timeout[499ms] should be at least as 5 times as --heartbeat-interval[100ms]',
      },
    ]);
    expect(parseNodeConfig({ heartbeatMs: 100, electionMs: 500 }).electionMs).toBe(500);
  });

  it('refuses an election timeout above 50 s (etcd maxElectionMs)', () => {
    expect(issuesOf({ electionMs: 50_001 }).map((i) => i.path)).toEqual(['electionMs']);
  });

  it("refuses an election timeout above 50 s with etcd's message", () => {
    expect(issuesOf({ electionMs: 60_000 })).toEqual([
      {
        path: 'electionMs',
        message: '--election-timeout[60000ms] is too long, and should be set less than 50000ms',
      },
    ]);
  });

  it("refuses peers that do not name this member, with etcd's message", () => {
    expect(issuesOf({ name: 'c', peers: { a: 'mem://a', b: 'mem://b' } })).toEqual([
      { path: 'peers', message: `couldn't find local name "c" in the initial cluster configuration` },
    ]);
    expect(issuesOf({ peers: { a: 'mem://a' } })[0]!.message).toContain('"default"');
  });

  it('refuses two members with the same peer URL, at the second one', () => {
    expect(issuesOf({ name: 'a', peers: { a: 'tcp://h:2380', b: 'tcp://h:2380' } })).toEqual([
      { path: 'peers.b', message: "peer URL tcp://h:2380 is also a's" },
    ]);
  });

  it('refuses tls:// peer URLs without peerTls', () => {
    expect(issuesOf({ name: 'a', peers: { a: 'tls://h:2380' } })).toEqual([
      { path: 'peerTls', message: 'tls:// peer URLs need peerTls' },
    ]);
    const ok = parseNodeConfig({
      name: 'a',
      peers: { a: 'tls://h:2380' },
      peerTls: { ca: 'CA', cert: 'CERT', key: 'KEY' },
    });
    expect(ok.peerTls?.cert).toBe('CERT');
    expect(issuesOf({ peerTls: { ca: '', cert: 'c', key: 'k' } }).map((i) => i.path)).toEqual(['peerTls.ca']);
  });

  it('refuses a tls:// listenPeerUrl without peerTls', () => {
    expect(issuesOf({ name: 'a', peers: { a: 'mem://a' }, listenPeerUrl: 'tls://h:2380' })).toEqual([
      { path: 'peerTls', message: 'tls:// peer URLs need peerTls' },
    ]);
  });

  it('reports every bad field at once, each with its path', () => {
    const issues = issuesOf({
      name: '',
      heartbeatMs: 0,
      snapshotCount: 1.5,
      initialClusterState: 'old',
      quotaBackendBytes: '8GiB',
    });
    expect(issues.map((i) => i.path).sort()).toEqual(
      ['heartbeatMs', 'initialClusterState', 'name', 'quotaBackendBytes', 'snapshotCount'].sort(),
    );
    for (const i of issues) expect(i.message.length).toBeGreaterThan(0);
  });

  it("puts every issue in the error's message", () => {
    const err = (() => {
      try {
        parseNodeConfig({ name: 'x', peers: { a: 'mem://a' }, electionMs: 10 });
      } catch (e) {
        return e as ConfigError;
      }
      return undefined;
    })();
    expect(err?.message).toBe(
      'invalid node config: electionMs: --election-timeout[10ms] should be at least as 5 times as ' +
        `--heartbeat-interval[100ms]; peers: couldn't find local name "x" in the initial cluster configuration`,
    );
  });
});
