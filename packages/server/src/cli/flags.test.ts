/**
 * The command's settings: flags, ETCD_* variables and the YAML config file, each turned into a
 * NodeConfig and server options with etcd's defaults, and etcd's errors and exit codes. Pure.
 */

import { describe, expect, it } from 'vitest';
import {
  FlagError,
  type MemberOptions,
  readCommandLine,
  resolveFlags,
  toMemberOptions,
  toTransportUrl,
} from './flags.js';
import { createLog } from './log.js';
import { formatStatus, humanizeBytes, parseSubArgs } from './snapshot.js';

type Env = Record<string, string>;

/** The whole path from a command line to what the member is started with. */
function settle(argv: string[], env: Env = {}, files: Record<string, string> = {}): MemberOptions {
  const readFile = (path: string) => {
    const text = files[path];
    if (text === undefined) throw new Error(`open ${path}: no such file or directory`);
    return text;
  };
  const line = readCommandLine(argv, env, readFile);
  if (line.type !== 'run') throw new Error(`not a run: ${line.type}`);
  return toMemberOptions(resolveFlags(line.settings.values), readFile);
}

function failure(fn: () => unknown): FlagError {
  try {
    fn();
  } catch (err) {
    if (err instanceof FlagError) return err;
    throw err;
  }
  throw new Error('expected a FlagError');
}

describe('defaults', () => {
  it("are etcd's", () => {
    const { node, server } = settle([]);
    expect(node).toMatchObject({
      name: 'default',
      dataDir: 'default.etcd',
      peers: { default: 'tcp://localhost:2380' },
      listenPeerUrl: 'tcp://localhost:2380',
      clientUrls: ['http://localhost:2379'],
      initialClusterState: 'new',
      initialClusterToken: 'etcd-cluster',
      heartbeatMs: 100,
      electionMs: 1000,
      snapshotCount: 100_000,
      quotaBackendBytes: 0,
      maxTxnOps: 128,
      maxRequestBytes: 1_572_864,
      autoCompactionMode: 'periodic',
      autoCompactionRetention: '0',
      strictReconfigCheck: true,
    });
    expect(node.peerTls).toBeUndefined();
    expect(server).toEqual({ listenClientUrls: ['http://localhost:2379'], maxRequestBytes: 1_572_864 });
  });

  it('name the data dir and the initial cluster after --name', () => {
    const { node } = settle(['--name', 'infra0']);
    expect(node.dataDir).toBe('infra0.etcd');
    expect(node.peers).toEqual({ infra0: 'tcp://localhost:2380' });
  });
});

describe('flags, environment and config file', () => {
  const cases: { name: string; argv: string[]; env?: Env; files?: Record<string, string>; want: object }[] = [
    { name: '--flag=value', argv: ['--name=a', '--data-dir=/d'], want: { name: 'a', dataDir: '/d' } },
    {
      name: '--flag value',
      argv: ['--name', 'a', '--snapshot-count', '7'],
      want: { name: 'a', snapshotCount: 7 },
    },
    { name: 'one dash, like Go', argv: ['-name', 'a', '-heartbeat-interval=50'], want: { heartbeatMs: 50 } },
    {
      name: 'booleans',
      argv: ['--strict-reconfig-check=false'],
      want: { strictReconfigCheck: false },
    },
    {
      name: 'a 3-member cluster',
      argv: [
        '--name=b',
        '--initial-advertise-peer-urls=http://10.0.0.2:2380',
        '--listen-peer-urls=http://10.0.0.2:2380',
        '--initial-cluster=a=http://10.0.0.1:2380,b=http://10.0.0.2:2380,c=https://10.0.0.3:2380',
        '--initial-cluster-state=existing',
        '--initial-cluster-token=tok',
        '--peer-cert-file=p.crt',
        '--peer-key-file=p.key',
        '--peer-trusted-ca-file=ca.crt',
      ],
      files: { 'p.crt': 'CERT', 'p.key': 'KEY', 'ca.crt': 'CA' },
      want: {
        peers: { a: 'tcp://10.0.0.1:2380', b: 'tcp://10.0.0.2:2380', c: 'tls://10.0.0.3:2380' },
        listenPeerUrl: 'tcp://10.0.0.2:2380',
        initialClusterState: 'existing',
        initialClusterToken: 'tok',
        peerTls: { cert: 'CERT', key: 'KEY', ca: 'CA' },
      },
    },
    {
      name: 'ETCD_* variables',
      argv: [],
      env: { ETCD_NAME: 'e', ETCD_DATA_DIR: '/e', ETCD_AUTO_COMPACTION_RETENTION: '1h', PATH: '/bin' },
      want: { name: 'e', dataDir: '/e', autoCompactionRetention: '1h' },
    },
    {
      name: 'flags and variables side by side',
      argv: ['--name', 'f'],
      env: { ETCD_MAX_TXN_OPS: '256' },
      want: { name: 'f', maxTxnOps: 256 },
    },
    {
      name: 'a config file, which replaces flags and variables',
      argv: ['--config-file', 'c.yml', '--name', 'ignored'],
      env: { ETCD_DATA_DIR: '/ignored' },
      files: {
        'c.yml': [
          'name: cfg',
          'listen-client-urls: http://127.0.0.1:2379,http://127.0.0.1:22379',
          'snapshot-count: 5000',
          'initial-cluster: cfg=http://127.0.0.1:2380',
          'initial-advertise-peer-urls: http://127.0.0.1:2380',
          'listen-peer-urls: http://127.0.0.1:2380',
          'auto-compaction-retention: 1',
          'unknown-key: ignored, as etcd does',
        ].join('\n'),
      },
      want: { name: 'cfg', dataDir: 'cfg.etcd', snapshotCount: 5000, autoCompactionRetention: '1' },
    },
    {
      name: 'ETCD_CONFIG_FILE',
      argv: [],
      env: { ETCD_CONFIG_FILE: 'c.yml' },
      files: { 'c.yml': 'name: viaenv\ninitial-cluster: viaenv=http://localhost:2380\n' },
      want: { name: 'viaenv' },
    },
  ];
  it.each(cases)('$name', ({ argv, env, files, want }) => {
    expect(settle(argv, env, files).node).toMatchObject(want);
  });

  it('reads client TLS from the files the flags or the config file name', () => {
    const files = { 's.crt': 'CERT', 's.key': 'KEY', 'ca.crt': 'CA' };
    const want = {
      listenClientUrls: ['https://127.0.0.1:2379'],
      tls: { cert: 'CERT', key: 'KEY', ca: 'CA', clientCertAuth: true },
    };
    const flags = settle(
      [
        '--listen-client-urls=https://127.0.0.1:2379',
        '--cert-file=s.crt',
        '--key-file=s.key',
        '--trusted-ca-file=ca.crt',
        '--client-cert-auth',
      ],
      {},
      files,
    );
    expect(flags.server).toMatchObject(want);
    const yaml = [
      'listen-client-urls: https://127.0.0.1:2379',
      'client-transport-security:',
      '  cert-file: s.crt',
      '  key-file: s.key',
      '  trusted-ca-file: ca.crt',
      '  client-cert-auth: true',
    ].join('\n');
    expect(settle(['--config-file=c.yml'], {}, { ...files, 'c.yml': yaml }).server).toMatchObject(want);
  });

  it('warns about unknown ETCD_* variables', () => {
    const line = readCommandLine([], { ETCD_BOGUS: '1' }, () => '');
    expect(line.type === 'run' && line.settings.warnings).toEqual([
      'unrecognized environment variable ETCD_BOGUS=1',
    ]);
  });

  it('answers --help and --version', () => {
    expect(readCommandLine(['--help'], {}, () => '').type).toBe('help');
    expect(readCommandLine(['-h'], {}, () => '').type).toBe('help');
    expect(readCommandLine(['--version'], {}, () => '').type).toBe('version');
  });
});

describe("errors, with etcd's messages and exit codes", () => {
  const cases: { argv: string[]; env?: Env; files?: Record<string, string>; message: RegExp; exit: 1 | 2 }[] =
    [
      { argv: ['--bogus'], message: /^flag provided but not defined: -bogus$/, exit: 2 },
      {
        argv: ['--snapshot-count=abc'],
        message: /^invalid value "abc" for flag -snapshot-count: parse error$/,
        exit: 2,
      },
      { argv: ['--name'], message: /^flag needs an argument: -name$/, exit: 2 },
      {
        argv: ['--client-cert-auth=maybe'],
        message: /^invalid boolean value "maybe" for -client-cert-auth/,
        exit: 2,
      },
      { argv: ['--initial-cluster-state=old'], message: /valid values are new, existing/, exit: 2 },
      { argv: ['foo'], message: /^'foo' is not a valid flag$/, exit: 1 },
      {
        argv: [],
        env: { ETCD_SNAPSHOT_COUNT: 'abc' },
        message: /invalid value "abc" for ETCD_SNAPSHOT_COUNT/,
        exit: 1,
      },
      {
        argv: ['--name=a'],
        env: { ETCD_NAME: 'b' },
        message: /conflicting environment variable "ETCD_NAME"/,
        exit: 1,
      },
      {
        argv: ['--initial-cluster=a=http://127.0.0.1:2380'],
        message: /--initial-cluster: couldn't find local name "default" in the initial cluster configuration/,
        exit: 1,
      },
      {
        argv: ['--name=a', '--initial-cluster=a=http://127.0.0.1:2380'],
        message:
          /--initial-cluster has a=http:\/\/127.0.0.1:2380 but missing from --initial-advertise-peer-urls/,
        exit: 1,
      },
      {
        argv: ['--initial-cluster=default=ftp://x:1', '--initial-advertise-peer-urls=ftp://x:1'],
        message: /^--initial-cluster: URL scheme must be http, https, unix, or unixs: ftp:\/\/x:1$/,
        exit: 1,
      },
      {
        argv: ['--election-timeout=100'],
        message:
          /--election-timeout: --election-timeout\[100ms\] should be at least as 5 times as --heartbeat-interval/,
        exit: 1,
      },
      { argv: ['--auto-compaction-retention=abc'], message: /^--auto-compaction-retention: /, exit: 1 },
      {
        argv: ['--listen-peer-urls=https://localhost:2380'],
        message: /tls:\/\/ peer URLs need peerTls/,
        exit: 1,
      },
      {
        argv: ['--listen-client-urls=https://localhost:2379'],
        message: /need --cert-file and --key-file/,
        exit: 1,
      },
      {
        argv: ['--cert-file=missing.crt', '--key-file=k'],
        message: /--cert-file: open missing.crt/,
        exit: 1,
      },
      {
        argv: ['--config-file=c.yml'],
        files: { 'c.yml': 'snapshot-count: "abc"\n' },
        message: /snapshot-count: cannot read "abc" as a number/,
        exit: 1,
      },
      {
        argv: ['--config-file=c.yml'],
        files: { 'c.yml': 'name: [\n' },
        message: /error unmarshaling c.yml/,
        exit: 1,
      },
    ];
  it.each(cases)('$argv $env → $message', ({ argv, env, files, message, exit }) => {
    const err = failure(() => settle(argv, env, files));
    expect(err.message).toMatch(message);
    expect(err.exitCode).toBe(exit);
  });

  it('lists every problem at once', () => {
    const err = failure(() => settle(['--election-timeout=100', '--auto-compaction-retention=abc']));
    expect(err.message.split('; ')).toHaveLength(2);
  });
});

describe('peer URLs', () => {
  it.each([
    ['http://127.0.0.1:2380', 'tcp://127.0.0.1:2380'],
    ['https://h:2380/', 'tls://h:2380'],
    ['tcp://h:1', 'tcp://h:1'],
    ['tls://h:1', 'tls://h:1'],
  ])('%s → %s', (from, to) => {
    expect(toTransportUrl(from)).toBe(to);
  });
});

describe('snapshot subcommands', () => {
  it('parse cobra-style arguments', () => {
    expect(parseSubArgs(['s.db', '-w', 'table'], ['write-out'], { w: 'write-out' })).toEqual({
      positional: ['s.db'],
      flags: new Map([['write-out', 'table']]),
    });
    expect(() => parseSubArgs(['--nope=1'], ['write-out'])).toThrow('unknown flag: --nope');
  });

  it('print the status as etcdctl does', () => {
    const s = { hash: 0x2441fc9e, revision: 2, totalKeys: 5, totalSize: 20480 } as const;
    expect(formatStatus(s as never, 'simple')).toBe('2441fc9e, 2, 5, 20 kB\n');
    expect(formatStatus(s as never, 'json')).toBe(
      '{"hash":608304286,"revision":2,"totalKey":5,"totalSize":20480}\n',
    );
    expect(formatStatus(s as never, 'table')).toBe(
      [
        '+----------+----------+------------+------------+',
        '|   HASH   | REVISION | TOTAL KEYS | TOTAL SIZE |',
        '+----------+----------+------------+------------+',
        '| 2441fc9e |        2 |          5 |      20 kB |',
        '+----------+----------+------------+------------+',
        '',
      ].join('\n'),
    );
  });

  it.each([
    [5, '5 B'],
    [999, '999 B'],
    [20480, '20 kB'],
    [2_101_248, '2.1 MB'],
    [1_500_000_000, '1.5 GB'],
  ])('humanizes %d bytes as %s', (n, s) => {
    expect(humanizeBytes(n)).toBe(s);
  });
});

describe('log lines', () => {
  const at = () => new Date(2026, 0, 2, 15, 4, 5, 123);
  it('capnslog, as etcd 3.4 prints by default', () => {
    const lines: string[] = [];
    const log = createLog('capnslog', 'info', (l) => lines.push(l), at);
    log('info', 'embed', 'ready to serve client requests on http://127.0.0.1:2379');
    log('debug', 'raft', 'not shown');
    expect(lines).toEqual([
      '2026-01-02 15:04:05.123000 I | embed: ready to serve client requests on http://127.0.0.1:2379\n',
    ]);
  });

  it('zap: JSON lines', () => {
    const lines: string[] = [];
    createLog('zap', 'info', (l) => lines.push(l), at)('warn', 'etcdserver', 'alarm NOSPACE', {
      member: 'a',
    });
    expect(JSON.parse(lines[0]!)).toEqual({
      level: 'warn',
      ts: at().toISOString(),
      caller: 'etcdserver',
      msg: 'alarm NOSPACE',
      member: 'a',
    });
  });
});
