/**
 * Differential test of what users see: the same `etcdctl` (3.4) command lines run against a fresh
 * real etcd 3.4 member and a fresh tsetcd member, and each must exit with the same code and print
 * the same stdout and stderr, in every output format the command supports (simple, json, fields,
 * table). Only what is each server's own is normalised: IDs, raft term and index, DB size,
 * version, durations, ID-dependent orders (see test/etcdctl-target.ts). Revisions are compared
 * as they are: both servers start empty and see the same writes.
 *
 * The cases are fixed scenarios that read as a spec, grouped by command group; each group shares
 * one pair of servers, so its cases run in order and each starts where the one before left off.
 * Commands that block or stream (watch, lock, elect) run in the background on both servers: the
 * case writes meanwhile, then compares what they printed so far, or after they exit by themselves,
 * or after Ctrl-C. A step that differs fails its case (etcd's output is "expected") and the case
 * goes on, so one difference does not hide the next; DIFF_TRACE=1 prints every step's outputs.
 * Skipped when `etcd` or `etcdctl` is not installed.
 */

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Background,
  type CtlResult,
  type EtcdctlPair,
  type EtcdctlTarget,
  type PairOptions,
  type RunOptions,
  startEtcdctlPair,
} from './test/etcdctl-target.js';
import { hasEtcdctl } from './test/harness.js';
import { hasEtcd } from './test/real-etcd.js';

const TRACE = process.env.DIFF_TRACE === '1';
/** How long a background watch gets to set itself up before the case writes. */
const WATCH_SETUP_MS = 400;
/** How long a background command may take to print what the case waits for, or to exit. */
const BACKGROUND_WAIT_MS = 5_000;
/** How long a blocked command is given to (wrongly) get through before the case checks it. */
const BLOCKED_MS = 500;
/** A lease ID neither server granted, in hex as etcdctl takes it. */
const MISSING_LEASE = '1234abcd';
/** A member ID neither server has, in hex. */
const MISSING_MEMBER = '1234abcd';
/** A command for `watch -- …` that prints the event etcdctl hands it in its environment. */
const EXEC_SHOWS_WATCH_ENV =
  'echo "$ETCD_WATCH_EVENT_TYPE $ETCD_WATCH_KEY $ETCD_WATCH_REVISION $ETCD_WATCH_VALUE"';
/** Bytes of a value over etcd's --max-request-bytes (1.5 MiB) but within gRPC's limit (2 MiB). */
const OVER_REQUEST_LIMIT = 1_600_000;

// ---- the step language --------------------------------------------------------------------

/** One step of a case, done on both servers at once. */
type Step =
  | { readonly kind: 'run'; readonly args: readonly string[]; readonly opts: RunOptions }
  | { readonly kind: 'snapshot'; readonly args: readonly string[] }
  | {
      readonly kind: 'start';
      readonly id: string;
      readonly args: readonly string[];
      readonly until: RegExp | number;
      /** The user (`name:password`) that reads the revision for `{NEXT_REV}` once auth is on. */
      readonly probeUser?: string;
    }
  | { readonly kind: 'peek' | 'exit' | 'stop'; readonly id: string }
  | { readonly kind: 'seen'; readonly id: string; readonly pattern: RegExp };

/** Runs etcdctl with `args` to completion. */
const ctl = (...args: string[]): Step => ({ kind: 'run', args, opts: {} });
/** Runs etcdctl with `args` as `user` (`name:password`). */
const as =
  (user: string) =>
  (...args: string[]): Step => ({ kind: 'run', args, opts: { user } });
/** Runs etcdctl with `input` on its standard input. */
const withInput = (input: string, ...args: string[]): Step => ({ kind: 'run', args, opts: { input } });
/** Runs etcdctl as `user` with `input` on its standard input (a password read from stdin). */
const asWithInput = (user: string, input: string, ...args: string[]): Step => ({
  kind: 'run',
  args,
  opts: { user, input },
});
/** Runs `args` once per output format. */
const inFormats = (formats: readonly string[], ...args: string[]): Step[] =>
  formats.map((w) => ctl(...args, '-w', w));
const ALL_FORMATS = ['simple', 'json', 'fields', 'table'] as const;
const NO_TABLE = ['simple', 'json', 'fields'] as const;
/**
 * Starts etcdctl in the background as `id`; waits until its stdout matches `until`, or for
 * `until` ms (a watch prints nothing once set up; a blocked lock or campaign prints nothing).
 */
const start = (
  id: string,
  args: readonly string[],
  until: RegExp | number = WATCH_SETUP_MS,
  probeUser?: string,
): Step => ({ kind: 'start', id, args, until, ...(probeUser !== undefined ? { probeUser } : {}) });
/** Compares what background `id` printed so far (it is still running: blocked or streaming). */
const peek = (id: string): Step => ({ kind: 'peek', id });
/**
 * Waits until background `id` has printed `pattern`, then compares what it printed so far: its
 * output comes asynchronously, after the writes that cause it have returned.
 */
const seen = (id: string, pattern: RegExp): Step => ({ kind: 'seen', id, pattern });
/** Waits for background `id` to exit by itself and compares its output. */
const exits = (id: string): Step => ({ kind: 'exit', id });
/** Ctrl-C to background `id`, then compares its output. */
const stop = (id: string): Step => ({ kind: 'stop', id });
/** `snapshot save`: only its exit code and its "Snapshot saved at" line are compared. */
const snapshotSave = (...args: string[]): Step => ({ kind: 'snapshot', args: ['snapshot', 'save', ...args] });

// ---- running steps -------------------------------------------------------------------------

/** Every difference found, printed at the end of the run. */
const differences: string[] = [];

/** `text`, or its start and length when it is too long to print. */
function shorten(text: string): string {
  return text.length <= 200 ? text : `${text.slice(0, 60)}… (${text.length} chars)`;
}

function describeStep(step: Step): string {
  if (step.kind === 'run' || step.kind === 'snapshot') {
    const user = step.kind === 'run' && step.opts.user !== undefined ? `--user=${step.opts.user} ` : '';
    const input =
      step.kind === 'run' && step.opts.input !== undefined
        ? ` <<< ${JSON.stringify(shorten(step.opts.input))}`
        : '';
    return `etcdctl ${user}${step.args.join(' ')}${input}`;
  }
  if (step.kind === 'start') return `[${step.id}] etcdctl ${step.args.join(' ')} &`;
  return `[${step.id}] ${step.kind}`;
}

/** Background commands of one case, per server. */
type Running = Map<string, Background>;

/** Does `step` on one server and returns what is compared, or nothing for a start. */
async function doStep(t: EtcdctlTarget, running: Running, step: Step): Promise<unknown> {
  switch (step.kind) {
    case 'run':
      return shown(await t.run(step.args, step.opts));
    case 'snapshot': {
      const r = await t.run(step.args);
      const saved = `${r.stdout}${r.stderr}`.split('\n').filter((l) => l.startsWith('Snapshot saved at'));
      return { status: r.status, saved };
    }
    case 'start': {
      const next = step.args.some((a) => a.includes('{NEXT_REV}'))
        ? String(await t.nextRevision(step.probeUser))
        : '';
      const bg = t.start(step.args.map((a) => a.replaceAll('{NEXT_REV}', next)));
      running.set(step.id, bg);
      const until = step.until;
      if (typeof until === 'number') await new Promise((r) => setTimeout(r, until));
      else await bg.waitFor(until, BACKGROUND_WAIT_MS);
      return undefined;
    }
    case 'seen':
      await background(running, step.id).waitFor(step.pattern, BACKGROUND_WAIT_MS);
      return shown(background(running, step.id).output());
    case 'peek':
      return shown(background(running, step.id).output());
    case 'exit': {
      const bg = background(running, step.id);
      const r = await bg.exited(BACKGROUND_WAIT_MS);
      return r === undefined ? { stillRunning: shown(bg.output()) } : shown(r);
    }
    case 'stop': {
      const r = await background(running, step.id).stop();
      running.delete(step.id);
      return shown(r);
    }
  }
}

function background(running: Running, id: string): Background {
  const bg = running.get(id);
  if (bg === undefined) throw new Error(`no background command ${id}`);
  return bg;
}

/** A result as compared: the signal only when one ended it. */
function shown(r: CtlResult): unknown {
  return r.signal === null
    ? { status: r.status, stdout: r.stdout, stderr: r.stderr }
    : { signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

/** Does `steps` on both servers, step by step, and fails (softly) on every step that differs. */
async function check(pair: EtcdctlPair, name: string, steps: readonly Step[]): Promise<void> {
  const running: [Running, Running] = [new Map(), new Map()];
  const trace: string[] = [];
  try {
    for (const step of steps) {
      const [want, got] = await Promise.all([
        doStep(pair.etcd, running[0], step),
        doStep(pair.ts, running[1], step),
      ]);
      if (step.kind === 'start') continue;
      const line = describeStep(step);
      const same = JSON.stringify(want) === JSON.stringify(got);
      const both = `  etcd:   ${JSON.stringify(want)}\n  tsetcd: ${same ? '(the same)' : JSON.stringify(got)}`;
      trace.push(`$ ${line}\n${both}`);
      if (!same) differences.push(`${name}\n  $ ${line}\n${both}`);
      expect.soft(got, `${line}\n(tsetcd received, etcd expected)`).toEqual(want);
    }
  } finally {
    if (TRACE) console.log(`${name}\n${trace.join('\n')}`);
    await Promise.all(running.flatMap((m) => [...m.values()].map((bg) => bg.stop('SIGKILL'))));
  }
}

/** A group of cases sharing one pair of fresh servers, in order. */
function group(title: string, cases: Record<string, readonly Step[]>, opts: PairOptions = {}): void {
  describe(title, () => {
    let pair: EtcdctlPair | undefined;
    beforeAll(async () => {
      pair = await startEtcdctlPair(opts);
    }, 60_000);
    afterAll(async () => {
      await pair?.close();
    });
    for (const [name, steps] of Object.entries(cases)) {
      it(name, { timeout: 60_000 }, () => check(pair!, name, steps));
    }
  });
}

// ---- the cases -----------------------------------------------------------------------------

describe.skipIf(!hasEtcd || !hasEtcdctl)('etcdctl against a real etcd 3.4 and tsetcd, line for line', () => {
  afterAll(() => {
    if (differences.length > 0)
      console.log(`${differences.length} differences:\n\n${differences.join('\n\n')}`);
  });

  group('keys: put, get, del, txn, compaction', {
    'put answers OK; get prints key and value in every format; table is refused': [
      ctl('put', 'foo', 'bar'),
      ...inFormats(['json', 'fields'], 'put', 'foo', 'bar2'),
      ...inFormats(ALL_FORMATS, 'get', 'foo'),
      ctl('put', 'foo', 'bar3', '--prev-kv'),
      ctl('put', 'foo', 'bar4', '--prev-kv', '-w', 'json'),
      ctl('get', 'foo', '--hex'),
      ctl('put', 'foo', '--ignore-value'),
      ctl('put', 'foo', 'v', '--ignore-value'),
      ctl('put', 'nokey', '--ignore-value'),
      ctl('get', 'foo', '-w', 'json'),
      ctl('get', 'missing'),
      ctl('get', 'missing', '-w', 'json'),
      ctl('put', 'empty', ''),
      ctl('get', 'empty', '-w', 'json'),
      ctl('get', 'empty', '--rev=0'),
    ],
    'get over ranges: prefix, range end, from-key, limit, sort and order': [
      ctl('put', 'a', '1'),
      ctl('put', 'a1', '3'),
      ctl('put', 'a2', '2'),
      ctl('put', 'b', '5'),
      ctl('put', 'c', '4'),
      ctl('put', 'a1', '6'),
      ...inFormats(NO_TABLE, 'get', 'a', '--prefix'),
      ctl('get', 'a', 'b'),
      ctl('get', 'b', '--from-key'),
      ctl('get', '', '--from-key', '--keys-only'),
      ...inFormats(NO_TABLE, 'get', 'a', '--prefix', '--limit=2'),
      ctl('get', 'a', '--prefix', '--sort-by=MODIFY', '--order=DESCEND'),
      ctl('get', 'a', '--prefix', '--sort-by=VALUE'),
      ctl('get', 'a', '--prefix', '--sort-by=VERSION', '--order=DESCEND', '--limit=2'),
      ctl('get', 'a', '--prefix', '--sort-by=CREATE', '--order=ASCEND'),
      ctl('get', 'a', '--prefix', '--order=DESCEND'),
      ctl('get', 'a', '--prefix', '--sort-by=KEY', '--order=SIDEWAYS'),
      ctl('get', '', '--from-key', '--limit=3', '--sort-by=VALUE', '--order=DESCEND'),
      ctl('get', 'a', '--from-key', '--limit=2', '--rev=10', '-w', 'json'),
    ],
    'get shapes: keys-only, print-value-only, serializable, at a revision': [
      ctl('get', 'a', '--prefix', '--keys-only'),
      ctl('get', 'a', '--prefix', '--keys-only', '-w', 'json'),
      ctl('get', 'a', '--prefix', '--print-value-only'),
      ctl('get', 'a', '--prefix', '--consistency=s'),
      ctl('get', 'a', '--prefix', '--consistency=x'),
      ...inFormats(NO_TABLE, 'get', 'a1', '--rev=11'),
      ctl('get', 'a', '--prefix', '--rev=8', '-w', 'json'),
      ctl('get', 'a1', '--rev=1'),
      ctl('get', 'a', '--prefix', '--rev=9', '--keys-only', '--order=DESCEND'),
    ],
    'del: a key, a range, a prefix, from a key, with prev-kv, and a missing key': [
      ctl('del', 'a'),
      ctl('del', 'missing'),
      ctl('del', 'a1', '--prev-kv'),
      ctl('put', 'a', 'again'),
      ...inFormats(['json'], 'del', 'a', '--prefix', '--prev-kv'),
      ctl('put', 'x1', '1'),
      ctl('put', 'x2', '2'),
      ctl('del', 'x1', 'x2', '-w', 'fields'),
      ctl('del', 'c', '--from-key', '--prev-kv'),
      ctl('get', '', '--from-key'),
    ],
    'txn from stdin: the success branch, the failure branch, with and without prompts': [
      ctl('put', 'tk', 'v1'),
      withInput('value("tk") = "v1"\n\nput tk v2\nget tk\n\nput tk nope\n\n', 'txn'),
      withInput('value("tk") = "v1"\n\nput tk v3\n\ndel tk\nget tk\n\n', 'txn'),
      withInput('version("tk") > "0"\nmod("tk") < "100"\n\nget tk\n\nput tk lost\n\n', 'txn', '-i'),
      withInput('create("tk") = "0"\n\n\nput tk v4\nget tk --prefix\n\n', 'txn', '-w', 'json'),
      withInput('value("tk") = "v4"\n\nput tk v5 --prev-kv\ndel nothing\n\n\n', 'txn', '-w', 'fields'),
      withInput('\nput t2 x\n\n\n', 'txn'),
      withInput('value("tk") != "v4"\nvalue("t2") < "y"\n\nget t2\n\n\n', 'txn'),
      withInput('value("nokey") = ""\n\nput t3 a\n\nput t3 b\n\n', 'txn'),
      withInput('version("nokey") = "0"\ncreate("nokey") = "0"\nmod("nokey") = "0"\n\nget t3\n\n\n', 'txn'),
      withInput('value("nokey") != "x"\n\nget t3\n\nget t2\n\n', 'txn'),
      ctl('get', 't', '--prefix'),
    ],
    'txn refuses bad syntax (etcdctl) and bad requests (the server)': [
      withInput('value("tk") = "v5"\n\nfrob tk\n\n\n', 'txn'),
      withInput('value(tk) = "v5"\n\n\n\n', 'txn'),
      withInput('mod("tk") > "x"\n\n\n\n', 'txn'),
      withInput('\nget tk\n', 'txn'),
      withInput('\nput tk 1\nput tk 2\n\n\n', 'txn'),
      withInput('\nput tk 1\ndel tk\n\n\n', 'txn', '-w', 'json'),
      withInput('\nget tk --rev=1000\n\n\n', 'txn'),
      withInput(`value("tk") = "v5"\n\nput tk x --lease=${MISSING_LEASE}\n\n\n`, 'txn'),
      ctl('get', 'tk'),
    ],
    'watch: a key, a prefix, a range, with prev-kv, in json, running a command, from an old revision': [
      // From the next revision: they see every write below however long they take to set up.
      start('key', ['watch', 'wk', '--rev={NEXT_REV}'], 0),
      start('prefix', ['watch', 'w', '--prefix', '--prev-kv', '--rev={NEXT_REV}'], 0),
      start('range', ['watch', 'w2', 'wk', '--rev={NEXT_REV}'], 0),
      start('exec', ['watch', 'wk', '--rev={NEXT_REV}', '--', 'sh', '-c', EXEC_SHOWS_WATCH_ENV], 0),
      start('json', ['watch', 'w', '--prefix', '-w', 'json', '--rev={NEXT_REV}'], 0),
      ctl('put', 'wk', 'v1'),
      ctl('put', 'w2', 'v2'),
      ctl('put', 'wk', 'v3'),
      ctl('del', 'w', '--prefix'),
      seen('key', /DELETE\nwk\n\n$/),
      seen('prefix', /DELETE\nwk\nv3\nwk\n\n$/),
      seen('json', /\{"type":1,"kv":\{"key":"d2s=","mod_revision":\d+\}\}\]/),
      seen('range', /DELETE\nw2\n\n$/),
      seen('exec', /"DELETE" "wk" \d+ ""\n$/),
      stop('key'),
      stop('range'),
      stop('exec'),
      stop('prefix'),
      stop('json'),
      start('history', ['watch', 'wk', '--rev=1', '-w', 'fields']),
      seen('history', /"Type" : DELETE/),
      stop('history'),
    ],
    'compaction: at a revision, physical; get or watch at a compacted or future revision fails': [
      ctl('put', 'ck', '1'),
      ctl('put', 'ck', '2'),
      ctl('get', 'ck', '-w', 'json'),
      ctl('compaction', '5'),
      ctl('get', 'ck', '--rev=4'),
      ctl('get', 'foo', '--rev=5', '-w', 'json'),
      ctl('compaction', '3'),
      ctl('compaction', '7', '--physical'),
      ctl('compaction', '1000'),
      ctl('get', 'ck', '--rev=1000'),
      ctl('get', 'ck', '--rev=1000', '-w', 'json'),
      start('compacted', ['watch', 'ck', '--rev=2']),
      exits('compacted'),
      ...inFormats(['simple', 'json'], 'endpoint', 'hashkv'),
      ctl('endpoint', 'hashkv', '--rev=7'),
      ctl('endpoint', 'hashkv', '--rev=6'),
    ],
    // Not over 2 MiB: etcdctl's gRPC client refuses to send that, whatever the server.
    'request size: a request over --max-request-bytes is refused': [
      withInput(`\nput big ${'x'.repeat(OVER_REQUEST_LIMIT)}\n\n\n`, 'txn'),
      ctl('get', 'big', '--keys-only'),
    ],
  });

  group('leases, locks and elections', {
    'lease grant, attach to keys, timetolive (with keys), list, keep-alive once, revoke': [
      ctl('lease', 'grant', '600'),
      ctl('lease', 'grant', '300', '-w', 'json'),
      ctl('lease', 'grant', '100', '-w', 'fields'),
      ctl('put', 'lk1', 'v', '--lease={LEASE1}'),
      ctl('put', 'lk2', 'v', '--lease={LEASE1}'),
      ctl('put', 'lk3', 'v', '--lease={LEASE2}'),
      ...inFormats(NO_TABLE, 'lease', 'timetolive', '{LEASE1}', '--keys'),
      ctl('lease', 'timetolive', '{LEASE2}'),
      ...inFormats(NO_TABLE, 'lease', 'list'),
      ...inFormats(NO_TABLE, 'lease', 'keep-alive', '--once', '{LEASE2}'),
      ctl('get', 'lk', '--prefix', '-w', 'json'),
      ctl('put', 'lk3', 'v2', '--ignore-lease'),
      ctl('put', 'lk4', '--ignore-lease'),
      ctl('get', 'lk3', '-w', 'json'),
      ctl('lease', 'revoke', '{LEASE1}'),
      ctl('lease', 'revoke', '{LEASE2}', '-w', 'json'),
      ctl('get', 'lk', '--prefix'),
      ...inFormats(['simple', 'json'], 'lease', 'timetolive', '{LEASE1}'),
      ctl('lease', 'list'),
    ],
    'lease errors: revoke, keep-alive and timetolive of a missing lease; put with one': [
      ctl('lease', 'revoke', MISSING_LEASE),
      ctl('lease', 'revoke', '{LEASE1}'),
      ctl('lease', 'keep-alive', '--once', MISSING_LEASE),
      ctl('lease', 'timetolive', MISSING_LEASE),
      ctl('put', 'lk', 'v', `--lease=${MISSING_LEASE}`),
      ctl('lease', 'revoke', 'nothex'),
      ctl('lease', 'grant', 'x'),
      ctl('lease', 'grant', '9000000001'),
    ],
    'lease keep-alive until Ctrl-C': [
      start('keepalive', ['lease', 'keep-alive', '{LEASE3}'], /keepalived.*\n/),
      peek('keepalive'),
      stop('keepalive'),
      start('keepalive-json', ['lease', 'keep-alive', '{LEASE3}', '-w', 'json'], /\}\n/),
      stop('keepalive-json'),
      start('keepalive-missing', ['lease', 'keep-alive', MISSING_LEASE], /./),
      exits('keepalive-missing'),
    ],
    'lock: runs a command with its key and revision; a holder blocks a waiter until Ctrl-C': [
      // Each prints its key, so that the lease in it has a name (see test/etcdctl-target.ts).
      ctl('lock', 'l0', '--', 'sh', '-c', 'echo "$ETCD_LOCK_KEY"; echo "$ETCD_LOCK_REV"'),
      ctl('lock', 'l0', '--', 'sh', '-c', 'echo "$ETCD_LOCK_KEY"; exit 3'),
      ctl('lock', '--ttl=5', 'l0', '--', 'sh', '-c', 'echo "$ETCD_LOCK_KEY"'),
      start('holder', ['lock', 'l1'], /\n\n$/),
      peek('holder'),
      start('waiter', ['lock', 'l1', 'echo', 'waited'], BLOCKED_MS),
      peek('waiter'),
      ctl('get', 'l1', '--prefix', '--keys-only', '--sort-by=CREATE'),
      stop('holder'),
      exits('waiter'),
      ctl('get', 'l', '--prefix'),
      ctl('lease', 'list'),
    ],
    'elect: a leader, an observer, a second candidate that waits and then leads': [
      start('p1', ['elect', 'e1', 'p1'], /p1\n/),
      start('observer', ['elect', '-l', 'e1'], /p1\n/),
      start('p2', ['elect', 'e1', 'p2'], BLOCKED_MS),
      peek('p1'),
      peek('observer'),
      peek('p2'),
      stop('p1'),
      seen('p2', /p2\n/),
      start('p2-led', ['elect', '-l', 'e1'], /p2\n/),
      seen('observer', /p2\n/),
      // The observers first: once p2 resigns they look the election up again, and a Ctrl-C
      // during that lookup makes etcdctl log the canceled call (a race, not a difference).
      stop('observer'),
      stop('p2-led'),
      stop('p2'),
      ctl('get', 'e1', '--prefix'),
      ctl('elect', 'e1'),
    ],
    // Last in its group: these leases expire within seconds.
    'lease grant below the minimum TTL gets the minimum (etcd: 1.5 election timeouts, rounded up)': [
      ctl('lease', 'grant', '1'),
      ctl('lease', 'grant', '0', '-w', 'json'),
      ctl('lease', 'grant', '--', '-5'),
      ctl('lease', 'timetolive', '{LEASE4}'),
    ],
  });

  group('cluster and maintenance', {
    'member list: the one member, started, in every format': [
      ...inFormats(ALL_FORMATS, 'member', 'list'),
      ctl('member', 'list', '-w', 'json', '--hex'),
    ],
    'member add --learner, list, promote refused, update, remove, remove again': [
      ctl('member', 'add', 'l1', '--learner', '--peer-urls={U1}'),
      ...inFormats(ALL_FORMATS, 'member', 'list'),
      ctl('member', 'add', 'l2', '--learner', '--peer-urls={U2}'),
      ctl('member', 'add', 'l3', '--peer-urls={SELF_PEER}'),
      ctl('member', 'promote', '{MEMBER1}'),
      ctl('member', 'promote', '{SELF}'),
      ctl('member', 'update', '{SELF}', '--peer-urls={U3}'),
      ctl('member', 'list'),
      ctl('member', 'update', '{SELF}', '--peer-urls={SELF_PEER}', '-w', 'json'),
      ctl('member', 'update', MISSING_MEMBER, '--peer-urls={U3}'),
      ctl('member', 'remove', '{MEMBER1}'),
      ctl('member', 'remove', '{MEMBER1}'),
      ctl('member', 'remove', MISSING_MEMBER),
      ctl('member', 'add', 'l2', '--learner', '--peer-urls={U2}', '-w', 'json'),
      ctl('member', 'remove', '{MEMBER2}', '-w', 'json'),
      ctl('member', 'list', '-w', 'json'),
    ],
    'endpoint status, health and hashkv in every format': [
      ctl('put', 'k', 'v'),
      ...inFormats(ALL_FORMATS, 'endpoint', 'status'),
      ...inFormats(ALL_FORMATS, 'endpoint', 'health'),
      ...inFormats(ALL_FORMATS, 'endpoint', 'hashkv'),
      ctl('endpoint', 'hashkv', '--rev=1'),
    ],
    'alarm list and disarm with no alarm; defrag; status after': [
      // Not `-w fields`: etcdctl 3.4 itself crashes printing an alarm list as fields.
      ...inFormats(['simple', 'json', 'table'], 'alarm', 'list'),
      ctl('alarm', 'disarm'),
      ctl('defrag'),
      ctl('endpoint', 'status'),
    ],
    'move-leader: to itself, to an unknown ID, to a learner': [
      ctl('move-leader', '{SELF}'),
      ctl('move-leader', MISSING_MEMBER),
      ctl('member', 'add', 'l4', '--learner', '--peer-urls={U3}'),
      ctl('move-leader', '{MEMBER3}'),
      ctl('endpoint', 'status'),
    ],
    'a learner with two peer URLs; --cluster commands reach the members with client URLs': [
      ctl('member', 'remove', '{MEMBER3}'),
      ctl('member', 'add', 'l5', '--learner', '--peer-urls={U2},{U1}'),
      ...inFormats(['simple', 'table'], 'member', 'list'),
      ctl('endpoint', 'status', '--cluster'),
      ctl('endpoint', 'health', '--cluster'),
      ctl('endpoint', 'hashkv', '--cluster'),
      ctl('defrag', '--cluster'),
      ctl('member', 'remove', '{MEMBER4}'),
    ],
    'snapshot save writes the db and says where': [snapshotSave('{DIR}/snap.db')],
  });

  group(
    'alarms: a 1-byte quota raises NOSPACE',
    {
      'a write over quota raises NOSPACE; reads and deletes still work; disarm clears it until the next write':
        [
          ctl('put', 'k', 'v'),
          ...inFormats(['simple', 'json'], 'alarm', 'list'),
          ctl('put', 'k', 'v'),
          ctl('get', 'k'),
          ctl('del', 'k'),
          ctl('lease', 'grant', '60'),
          withInput('\nput k v\n\n\n', 'txn'),
          withInput('\nget k\n\n\n', 'txn'),
          ...inFormats(ALL_FORMATS, 'endpoint', 'status'),
          ctl('endpoint', 'health'),
          ...inFormats(['simple', 'json'], 'alarm', 'disarm'),
          ctl('alarm', 'list'),
          ctl('put', 'k', 'v'),
          ctl('alarm', 'list'),
        ],
    },
    { quotaBackendBytes: 1 },
  );

  const root = as('root:rootpw');
  const alice = as('alice:alicepw');
  group('auth, users and roles', {
    'auth enable needs a root user; then requests need a user': [
      ctl('auth', 'enable'),
      ctl('user', 'add', 'root', '--new-user-password=rootpw'),
      ctl('auth', 'enable'),
      ctl('put', 'foo', 'bar'),
      root('put', 'foo', 'bar'),
      ctl('--user=root', '--password=rootpw', 'get', 'foo'),
      as('root:wrong')('get', 'foo'),
      as('nobody:pw')('get', 'foo'),
      root('auth', 'enable'),
      root('user', 'delete', 'root'),
      root('user', 'revoke-role', 'root', 'root'),
    ],
    'users and roles: add, grant prefix and from-key permissions, get --detail, list': [
      root('user', 'add', 'alice', '--new-user-password=alicepw'),
      root('user', 'add', 'alice', '--new-user-password=alicepw'),
      asWithInput('root:rootpw', 'bobpw\n', 'user', 'add', 'bob', '--interactive=false'),
      root('user', 'get', 'bob'),
      root('role', 'get', 'nope'),
      root('role', 'add', 'r1'),
      root('role', 'add', 'r2'),
      root('role', 'grant-permission', 'r1', 'readwrite', 'foo', '--prefix'),
      root('role', 'grant-permission', 'r1', 'read', 'm', '--from-key'),
      root('role', 'grant-permission', 'r2', 'write', 'k1', 'k5'),
      root('role', 'grant-permission', 'r2', 'sideways', 'k1'),
      root('user', 'grant-role', 'alice', 'r1'),
      root('user', 'grant-role', 'alice', 'r2'),
      root('user', 'grant-role', 'alice', 'nope'),
      ...['simple', 'json', 'fields'].map((w) => root('role', 'get', 'r1', '-w', w)),
      root('role', 'get', 'r2'),
      ...['simple', 'json', 'fields'].map((w) => root('user', 'get', 'alice', '--detail', '-w', w)),
      root('user', 'get', 'alice'),
      root('user', 'get', 'root', '--detail'),
      ...['simple', 'json'].map((w) => root('user', 'list', '-w', w)),
      ...['simple', 'json'].map((w) => root('role', 'list', '-w', w)),
      root('user', 'add', 'nopw', '--no-password'),
      root('user', 'get', 'nopw'),
      as('nopw:x')('get', 'foo'),
      root('role', 'add', 'r3'),
      root('role', 'grant-permission', 'r3', 'read', '', '--prefix'),
      root('role', 'grant-permission', 'r3', 'write', 'a', 'a'),
      root('role', 'get', 'r3', '-w', 'json'),
      root('role', 'get', 'r3'),
      asWithInput('root:rootpw', 'pw\n', 'user', 'passwd', 'nobody', '--interactive=false'),
    ],
    'a user’s requests are checked against its roles’ permissions': [
      alice('put', 'foo1', 'x'),
      alice('get', 'foo', '--prefix'),
      alice('put', 'bar', 'x'),
      alice('get', 'bar'),
      alice('get', 'zz'),
      alice('put', 'k3', 'x'),
      alice('get', 'k3'),
      alice('del', 'foo1'),
      alice('user', 'list'),
      alice('auth', 'disable'),
      alice('lease', 'grant', '60'),
      start('denied', ['--user=alice:alicepw', 'watch', 'bar']),
      exits('denied'),
      start(
        'allowed',
        ['--user=alice:alicepw', 'watch', 'foo', '--prefix', '--rev={NEXT_REV}'],
        0,
        'root:rootpw',
      ),
      root('put', 'foo2', 'y'),
      seen('allowed', /foo2\ny\n/),
      stop('allowed'),
    ],
    'revoke permission and role, change password, delete user and role, disable auth': [
      root('role', 'revoke-permission', 'r1', 'foo', '--prefix'),
      root('role', 'revoke-permission', 'r1', 'foo', '--prefix'),
      alice('get', 'foo'),
      root('user', 'revoke-role', 'alice', 'r2'),
      root('user', 'revoke-role', 'alice', 'r2'),
      asWithInput('root:rootpw', 'newpw\n', 'user', 'passwd', 'alice', '--interactive=false'),
      alice('get', 'm'),
      as('alice:newpw')('get', 'm'),
      root('user', 'delete', 'alice'),
      root('user', 'delete', 'alice'),
      root('role', 'delete', 'r1'),
      root('role', 'delete', 'r1'),
      root('user', 'get', 'alice'),
      root('auth', 'disable'),
      ctl('get', 'foo'),
      ctl('auth', 'disable'),
    ],
  });
});
