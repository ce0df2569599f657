/**
 * One server under the etcdctl differential test (a real etcd 3.4 or a tsetcd member), driven by
 * the real `etcdctl` binary: it runs command lines to completion or in the background (watch,
 * lock, elect), learns the IDs the server picked, and turns what etcdctl printed into text that
 * compares equal across servers when the servers behaved the same.
 *
 * Command lines name server-picked values by symbol, in braces, and each target puts in its own:
 * `{SELF}` (this member's ID, hex), `{SELF_PEER}` (its peer URL), `{LEASE1}` / `{MEMBER1}` /
 * `{SESSION1}` (the first lease granted, learner added, lease a lock or elect session made, in
 * the order etcdctl first prints them; hex),
 * `{U1}`…`{U3}` (free peer URLs, the same for both) and `{DIR}` (a scratch dir of its own).
 *
 * Normalised, because each server has its own (everything else is compared byte for byte):
 * - its client endpoint and peer URL, its scratch dir;
 * - cluster, member and lease IDs, hex (padded or not) and decimal, as their symbols, `CLUSTER`
 *   and `SELF` included; `%16x` padding before a member or cluster ID (`removed from cluster  48…`);
 * - raft term and index, applied index, DB size (and in use) and server version, wherever
 *   etcdctl prints them (JSON, fields, simple and table `endpoint status`);
 * - durations (`took`), etcdctl's own log timestamps and client UUIDs, and the seconds a lease
 *   has left when within LEASE_TTL_SLACK_S of its granted TTL;
 * - orders that follow IDs or Go map iteration: members (etcd sorts them by ID), `lease list`
 *   and a lease's attached keys (etcd walks Go maps), the members in ETCD_INITIAL_CLUSTER;
 * - table padding (its width follows the cells, which are compared).
 *
 * Does not: compare the two targets (the test does) or decide which output is right.
 */

import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNode } from '@tsetcd/core';
import { freePorts } from '@tsetcd/core/testing';
import { startServer } from '../server.js';
import type { EtcdctlResult } from './harness.js';
import { startRealEtcd } from './real-etcd.js';

/** A command that takes longer than this is killed (and shows as killed, status null). */
const RUN_TIMEOUT_MS = 20_000;
/** A lease with at most this many seconds fewer left than granted reads as fresh (timing). */
const LEASE_TTL_SLACK_S = 3;
/** How long a fresh member may take to list itself with its client URL. */
const INIT_TIMEOUT_MS = 10_000;
/** Columns of `endpoint status` and `endpoint health` that are each server's own. */
const OWN_COLUMNS = new Set(['VERSION', 'DB SIZE', 'RAFT TERM', 'RAFT INDEX', 'RAFT APPLIED INDEX', 'TOOK']);
/** The same columns by index in `endpoint status`'s simple output (`endpoint, ID, version, …`). */
const OWN_STATUS_FIELDS = new Set([2, 3, 6, 7, 8]);
/** JSON and fields keys whose values are each server's own (raft position, storage, version). */
const OWN_KEYS = [
  'raft_term',
  'raftTerm',
  'raftIndex',
  'raftAppliedIndex',
  'dbSize',
  'dbSizeInUse',
  'RaftTerm',
  'RaftIndex',
  'RaftAppliedIndex',
  'DBSize',
  'DBSizeInUse',
];

/** Commands that change the membership (see EtcdctlTarget.run). */
const MEMBERSHIP_CHANGES = new Set(['member add', 'member remove', 'member update', 'member promote']);

/** What a command printed, how it exited, and the signal that ended it if one did. */
export interface CtlResult extends EtcdctlResult {
  readonly signal: NodeJS.Signals | null;
}

/** What a run may add to a command line: its standard input, or the user it runs as. */
export interface RunOptions {
  readonly input?: string;
  readonly user?: string;
}

/** etcdctl running in the background: what it printed so far, and how to end it. */
export interface Background {
  /** stdout and stderr so far (status and signal null while it runs). */
  output(): CtlResult;
  /** Resolves true once stdout matches `pattern`, false after `ms`. */
  waitFor(pattern: RegExp, ms: number): Promise<boolean>;
  /** Resolves when it has exited, or after `ms` with `undefined` (it keeps running). */
  exited(ms: number): Promise<CtlResult | undefined>;
  /** Sends `signal` (SIGINT: etcdctl's Ctrl-C) and resolves once it has exited. */
  stop(signal?: NodeJS.Signals): Promise<CtlResult>;
}

/** The words that name an etcdctl command (`endpoint status`), its flags and their values left out. */
export function commandOf(args: readonly string[]): string {
  const words: string[] = [];
  for (let i = 0; i < args.length && words.length < 2; i++) {
    const a = args[i]!;
    if (a === '-w' || a === '--user' || a === '--password') i++;
    else if (!a.startsWith('-')) words.push(a);
  }
  const two = words.join(' ');
  return /^(endpoint|member|lease|user|role|alarm|auth|snapshot) /.test(two) ? two : (words[0] ?? '');
}

/** The output format a command line asks for. */
export function formatOf(args: readonly string[]): string {
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '-w') return args[i + 1] ?? 'simple';
    const m = /^(?:-w|--write-out)=(.*)$/.exec(a);
    if (m !== null) return m[1]!;
  }
  return 'simple';
}

/** One server as etcdctl sees it; see the file comment. */
export class EtcdctlTarget {
  /** Symbol → the ID this server picked for it. */
  private readonly ids = new Map<string, bigint>();
  private readonly counts = new Map<string, number>();
  private peerUrl = '';

  constructor(
    readonly name: string,
    readonly endpoint: string,
    private readonly dir: string,
    private readonly shared: ReadonlyMap<string, string>,
  ) {}

  /** Learns the cluster ID, its own member ID and peer URL once it lists itself with its client URL. */
  async init(): Promise<void> {
    const deadline = Date.now() + INIT_TIMEOUT_MS;
    for (;;) {
      const r = await this.spawnRun(['member', 'list', '-w', 'json'], {});
      const cluster = /"cluster_id":(\d+)/.exec(r.stdout)?.[1];
      const member = /"member_id":(\d+)/.exec(r.stdout)?.[1];
      const self = new RegExp(`"ID":${member},[^}]*"peerURLs":\\["([^"]+)"[^}]*"clientURLs"`).exec(r.stdout);
      if (cluster !== undefined && member !== undefined && self !== null) {
        this.ids.set('CLUSTER', BigInt(cluster));
        this.ids.set('SELF', BigInt(member));
        this.peerUrl = self[1]!;
        return;
      }
      if (Date.now() > deadline) throw new Error(`${this.name}: never listed itself: ${JSON.stringify(r)}`);
      await new Promise((res) => setTimeout(res, 50));
    }
  }

  /** `arg` with this server's values in place of the symbols in braces. */
  resolve(arg: string): string {
    return arg.replace(/\{([A-Z_]+\d*)\}/g, (whole, sym: string) => {
      if (sym === 'DIR') return this.dir;
      if (sym === 'SELF_PEER') return this.peerUrl;
      const url = this.shared.get(sym);
      if (url !== undefined) return url;
      const id = this.ids.get(sym);
      return id === undefined ? whole : id.toString(16);
    });
  }

  /**
   * The revision after this server's current one: what a background watch is told to start from
   * (`--rev={NEXT_REV}` in a step), so that it sees every later write however long it takes to be
   * set up. Both servers see the same writes, so it is the same on both. `user` reads it once
   * auth is enabled (one that may read any key).
   */
  async nextRevision(user?: string): Promise<number> {
    const r = await this.spawnRun(
      ['get', 'revision-probe', '-w', 'json'],
      user === undefined ? {} : { user },
    );
    return Number((JSON.parse(r.stdout) as { header: { revision: number | string } }).header.revision) + 1;
  }

  /** Runs etcdctl to completion, learns the IDs it printed, and returns its normalised output. */
  async run(args: readonly string[], opts: RunOptions = {}): Promise<CtlResult> {
    const r = await this.spawnRun(args, opts);
    this.learn(args, r);
    // etcd 3.4 answers a membership change once it applied it, but its raft may not count it as
    // applied yet, and then drops the next change proposed (the call hangs to its deadline). A
    // linearizable read takes a raft round, after which it does. Both servers get it.
    if (MEMBERSHIP_CHANGES.has(commandOf(args)) && r.status === 0) {
      await this.spawnRun(['get', 'barrier'], opts.user === undefined ? {} : { user: opts.user });
    }
    return this.normalise(args, r);
  }

  /** Starts etcdctl in the background; its output is normalised (and learnt from) as it is read. */
  start(args: readonly string[], opts: RunOptions = {}): Background {
    const child = this.spawnCtl(args, opts);
    const out = { stdout: '', stderr: '' };
    const listeners = new Set<() => void>();
    const notify = (): void => {
      for (const l of listeners) l();
    };
    child.stdout.on('data', (d: Buffer) => {
      out.stdout += d.toString();
      notify();
    });
    child.stderr.on('data', (d: Buffer) => {
      out.stderr += d.toString();
      notify();
    });
    const done = new Promise<CtlResult>((resolve) =>
      child.on('close', (status, signal) => resolve({ ...out, status, signal })),
    );
    const killer = setTimeout(() => child.kill('SIGKILL'), RUN_TIMEOUT_MS);
    void done.then(() => clearTimeout(killer));
    const seen = (r: CtlResult): CtlResult => {
      this.learn(args, r);
      return this.normalise(args, r);
    };
    return {
      output: () => seen({ ...out, status: null, signal: null }),
      waitFor: (pattern, ms) =>
        new Promise((resolve) => {
          const check = (): void => {
            if (!pattern.test(out.stdout)) return;
            listeners.delete(check);
            clearTimeout(timer);
            resolve(true);
          };
          const timer = setTimeout(() => {
            listeners.delete(check);
            resolve(false);
          }, ms);
          listeners.add(check);
          check();
        }),
      exited: async (ms) => {
        let timer: NodeJS.Timeout | undefined;
        const r = await Promise.race([
          done,
          new Promise<undefined>((resolve) => {
            timer = setTimeout(() => resolve(undefined), ms);
          }),
        ]);
        clearTimeout(timer);
        return r === undefined ? undefined : seen(r);
      },
      stop: async (signal = 'SIGINT') => {
        if (child.exitCode === null && child.signalCode === null) child.kill(signal);
        return seen(await done);
      },
    };
  }

  private spawnCtl(args: readonly string[], opts: RunOptions): ChildProcessWithoutNullStreams {
    const user = opts.user === undefined ? [] : [`--user=${opts.user}`];
    const child = spawn(
      'etcdctl',
      [`--endpoints=${this.endpoint}`, ...user, ...args.map((a) => this.resolve(a))],
      {
        env: { ...process.env, ETCDCTL_API: '3' },
      },
    );
    child.stdin.end(opts.input ?? '');
    return child;
  }

  private spawnRun(args: readonly string[], opts: RunOptions): Promise<CtlResult> {
    const child = this.spawnCtl(args, opts);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), RUN_TIMEOUT_MS);
    return new Promise((resolve) =>
      child.on('close', (status, signal) => {
        clearTimeout(timer);
        resolve({ stdout, stderr, status, signal });
      }),
    );
  }

  /** Names the IDs this output shows for the first time: granted leases, added members, sessions. */
  private learn(args: readonly string[], r: CtlResult): void {
    const cmd = commandOf(args);
    const text = r.stdout;
    if (cmd === 'lease grant') {
      for (const m of text.matchAll(/lease ([0-9a-f]+) granted/g)) this.name16('LEASE', m[1]!);
      for (const m of text.matchAll(/"ID"\s?:\s?(\d+)/g)) this.nameId('LEASE', BigInt(m[1]!));
    } else if (cmd === 'member add') {
      for (const m of text.matchAll(/Member +([0-9a-f]+) added/g)) this.name16('MEMBER', m[1]!);
      for (const m of text.matchAll(/"member":\{"ID":(\d+)/g)) this.nameId('MEMBER', BigInt(m[1]!));
    }
    // A lock or election key, `<name>/<lease hex>` (printed by lock, elect, or a get of them).
    for (const m of text.matchAll(/^[a-z0-9]+\/([0-9a-f]{12,16})$/gm)) this.name16('SESSION', m[1]!);
  }

  private name16(kind: string, hex: string): void {
    this.nameId(kind, BigInt(`0x${hex}`));
  }

  private nameId(kind: string, id: bigint): void {
    for (const v of this.ids.values()) if (v === id) return;
    const n = (this.counts.get(kind) ?? 0) + 1;
    this.counts.set(kind, n);
    this.ids.set(`${kind}${n}`, id);
  }

  /** The output as compared; see the file comment. */
  normalise(args: readonly string[], r: CtlResult): CtlResult {
    const cmd = commandOf(args);
    const format = formatOf(args);
    const one = (s: string): string => {
      s = this.ownValues(s);
      if (cmd === 'endpoint status' && format === 'simple') s = mapLines(s, statusLine);
      if (format === 'table') s = table(s);
      if (cmd.startsWith('member ')) s = sortMembers(s, format);
      if (cmd === 'lease list') s = sortLeases(s, format);
      if (cmd === 'lease timetolive') s = sortAttachedKeys(s);
      return leaseTtls(s);
    };
    return { ...r, stdout: one(r.stdout), stderr: one(r.stderr) };
  }

  /** Endpoint, URLs, dir, IDs, raft position, storage and version, durations, log noise. */
  private ownValues(s: string): string {
    s = literal(s, this.dir, '<DIR>');
    if (this.peerUrl !== '') s = literal(s, this.peerUrl, '<SELF_PEER>');
    s = literal(s, this.endpoint, '<ENDPOINT>')
      .replace(/"ts":"[^"]*"/g, '"ts":"<ts>"')
      .replace(/endpoint:\/\/client-[0-9a-f-]+\//g, 'endpoint://client-<uuid>/')
      .replace(/ cluster +/g, ' cluster ')
      .replace(/Member +([0-9a-f]+) /g, 'Member $1 ')
      .replace(/took = \S+/g, 'took = <took>')
      .replace(/"took":"[^"]*"/g, '"took":"<took>"')
      .replace(/"Took" : \S+/g, '"Took" : <took>')
      .replace(/"version":"[^"]*"/g, '"version":"<version>"')
      .replace(/"Version" : "[^"]*"/g, '"Version" : "<version>"');
    for (const k of OWN_KEYS) s = s.replace(new RegExp(`"${k}"( ?: ?)\\d+`, 'g'), `"${k}"$1<own>`);
    for (const [sym, id] of this.ids) {
      s = s
        .replace(new RegExp(`\\b0*${id.toString(16)}\\b`, 'g'), sym)
        .replace(new RegExp(`\\b${id.toString(10)}\\b`, 'g'), sym);
    }
    return s;
  }
}

/** `s` with `text` replaced where no digit follows it (port 4000 is not in port 40001). */
function literal(s: string, text: string, by: string): string {
  return s.replace(new RegExp(`${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?!\\d)`, 'g'), by);
}

function mapLines(s: string, f: (line: string) => string): string {
  return s
    .split('\n')
    .map((l) => (l === '' ? l : f(l)))
    .join('\n');
}

/** A simple `endpoint status` line with the server's own fields replaced. */
function statusLine(line: string): string {
  return line
    .split(', ')
    .map((f, i) => (OWN_STATUS_FIELDS.has(i) ? '<own>' : f))
    .join(', ');
}

/** A table without padding, its server-own columns replaced. */
function table(s: string): string {
  let own: boolean[] = [];
  return mapLines(s, (line) => {
    if (line.startsWith('+')) return line.replace(/-+/g, '-');
    if (!line.startsWith('|')) return line;
    const cells = line
      .split('|')
      .slice(1, -1)
      .map((c) => c.trim());
    // The header row says which columns are the server's own; it is kept as it is.
    if (cells.some((c) => OWN_COLUMNS.has(c))) {
      own = cells.map((c) => OWN_COLUMNS.has(c));
      return `| ${cells.join(' | ')} |`;
    }
    const shown =
      own.length === cells.length ? cells.map((c, i) => (own[i] && c !== '' ? '<own>' : c)) : cells;
    return `| ${shown.join(' | ')} |`;
  });
}

/** A lease's remaining seconds as `<fresh>` when within LEASE_TTL_SLACK_S of its granted TTL. */
function leaseTtls(s: string): string {
  const fresh = (left: string, granted: string): string =>
    Number(granted) - Number(left) <= LEASE_TTL_SLACK_S && Number(left) <= Number(granted) ? '<fresh>' : left;
  return s
    .replace(
      /granted with TTL\((\d+)s\), remaining\((\d+)s\)/g,
      (_, g: string, l: string) => `granted with TTL(${g}s), remaining(${fresh(l, g)}s)`,
    )
    .replace(
      /"ttl":(\d+),"granted-ttl":(\d+)/g,
      (_, l: string, g: string) => `"ttl":${fresh(l, g)},"granted-ttl":${g}`,
    )
    .replace(
      /"TTL" : (\d+)\n"GrantedTTL" : (\d+)/g,
      (_, l: string, g: string) => `"TTL" : ${fresh(l, g)}\n"GrantedTTL" : ${g}`,
    );
}

/** Members in order of their text rather than of their IDs, in every format. */
function sortMembers(s: string, format: string): string {
  s = s.replace(/ETCD_INITIAL_CLUSTER="([^"]*)"/, (_, list: string) => {
    return `ETCD_INITIAL_CLUSTER="${list.split(',').sort().join(',')}"`;
  });
  if (format === 'simple' && !s.startsWith('Member ')) return sortLines(s, 0);
  if (format === 'table') {
    const lines = s.split('\n');
    // Header rows, then the member rows, then the closing rule and the empty last line.
    const body = lines.slice(3, -2).sort();
    return [...lines.slice(0, 3), ...body, ...lines.slice(-2)].join('\n');
  }
  if (format === 'json') return sortJsonArray(s, '"members":[');
  if (format === 'fields') {
    // A header of four fields, then one block per member, each starting at its "ID".
    const [head, ...blocks] = s.split(/(?="ID" : )/);
    return [head, ...blocks.map((b) => (b.endsWith('\n\n') ? b : `${b}\n`)).sort()].join('');
  }
  return s;
}

/**
 * `lease timetolive --keys` with the attached keys sorted: etcd keeps a lease's keys in a Go map,
 * so it lists them in a different order from run to run.
 */
function sortAttachedKeys(s: string): string {
  return s
    .replace(
      /attached keys\(\[([^\]]*)\]\)/,
      (_, keys: string) => `attached keys([${keys.split(' ').sort().join(' ')}])`,
    )
    .replace(/"keys":\[([^\]]*)\]/, (_, keys: string) => `"keys":[${keys.split(',').sort().join(',')}]`)
    .replace(/(?:"Key" : .*\n)+/, (lines) => `${lines.split('\n').slice(0, -1).sort().join('\n')}\n`);
}

/** `lease list` with its leases in order of their (normalised) IDs. */
function sortLeases(s: string, format: string): string {
  if (format === 'simple') return sortLines(s, 1);
  if (format === 'json') return sortJsonArray(s, '"leases":[');
  if (format === 'fields') {
    const lines = s.split('\n');
    const first = lines.findIndex((l) => l.startsWith('"ID"'));
    if (first < 0) return s;
    const ids = lines.slice(first).filter((l) => l.startsWith('"ID"'));
    const rest = lines.slice(first).filter((l) => !l.startsWith('"ID"'));
    return [...lines.slice(0, first), ...ids.sort(), ...rest].join('\n');
  }
  return s;
}

/** The lines after the first `keep`, sorted (the empty last line stays last). */
function sortLines(s: string, keep: number): string {
  const lines = s.split('\n');
  const last = lines.at(-1) === '' ? [lines.pop()!] : [];
  return [...lines.slice(0, keep), ...lines.slice(keep).sort(), ...last].join('\n');
}

/** The objects of the JSON array that starts at `start` sorted by their text (no nesting in them). */
function sortJsonArray(s: string, start: string): string {
  const at = s.indexOf(start);
  if (at < 0) return s;
  const from = at + start.length;
  let depth = 0;
  let end = from;
  for (; end < s.length; end++) {
    const c = s[end];
    if (c === '[' || c === '{') depth++;
    else if (c === '}' || (c === ']' && depth > 0)) depth--;
    else if (c === ']') break;
  }
  const items = s.slice(from, end).split(/(?<=\}),(?=\{)/);
  return s.slice(0, from) + items.sort().join(',') + s.slice(end);
}

/** The symbols of the free peer URLs both targets share. */
export const SHARED_URLS = ['U1', 'U2', 'U3'] as const;

/** A fresh real etcd and a fresh tsetcd member, each as etcdctl sees it. */
export interface EtcdctlPair {
  readonly etcd: EtcdctlTarget;
  readonly ts: EtcdctlTarget;
  close(): Promise<void>;
}

/** How both servers of a pair are configured, beyond etcd's defaults. */
export interface PairOptions {
  /** Backend quota in bytes (etcd's --quota-backend-bytes); omitted = the default. */
  readonly quotaBackendBytes?: number;
}

/**
 * Starts both, as etcd is started: one member named `real`, its peer transport listening on a
 * free port, its client URL advertised.
 */
export async function startEtcdctlPair(opts: PairOptions = {}): Promise<EtcdctlPair> {
  const quota = opts.quotaBackendBytes;
  const [clientPort, peerPort, ...shared] = await freePorts(2 + SHARED_URLS.length);
  const urls = new Map(SHARED_URLS.map((u, i) => [u, `http://127.0.0.1:${shared[i]}`]));
  const dirs = [
    mkdtempSync(join(tmpdir(), 'etcdctl-diff-etcd-')),
    mkdtempSync(join(tmpdir(), 'etcdctl-diff-ts-')),
  ];
  const endpoint = `127.0.0.1:${clientPort}`;
  const cleanups: (() => Promise<void> | void)[] = [
    () => {
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    },
  ];
  const close = async (): Promise<void> => {
    for (const c of cleanups.reverse()) await c();
  };
  try {
    // Dialling learners' URLs, which nobody serves, fails by design: not worth a log line.
    const config = {
      name: 'real',
      peers: { real: `tcp://127.0.0.1:${peerPort}` },
      clientUrls: [`http://${endpoint}`],
      ...(quota === undefined ? {} : { quotaBackendBytes: quota }),
    };
    const [realR, nodeR] = await Promise.allSettled([
      startRealEtcd(quota === undefined ? [] : [`--quota-backend-bytes=${quota}`]),
      createNode(config, { logger: () => {} }),
    ]);
    if (realR.status === 'fulfilled') cleanups.push(() => realR.value.stop());
    if (nodeR.status === 'fulfilled') cleanups.push(() => nodeR.value.close());
    if (realR.status === 'rejected') throw realR.reason;
    if (nodeR.status === 'rejected') throw nodeR.reason;
    const [real, node] = [realR.value, nodeR.value];
    const server = await startServer(node, { listenClientUrls: [`http://${endpoint}`] });
    cleanups.push(() => server.close());
    const etcd = new EtcdctlTarget('etcd', real.endpoint, dirs[0]!, urls);
    const ts = new EtcdctlTarget('tsetcd', endpoint, dirs[1]!, urls);
    await Promise.all([etcd.init(), ts.init()]);
    return { etcd, ts, close };
  } catch (err) {
    await close();
    throw err;
  }
}
