/**
 * The demo's script: three members over TCP on loopback, each in its own child process with its
 * own data dir —
 *   1. start them and wait for a leader;
 *   2. write through one follower (a follower's writes reach the leader through raft);
 *   3. keep a writer going through the two followers, and SIGKILL the leader's process mid-write;
 *   4. the survivors elect a new leader and the writer carries on;
 *   5. read every acknowledged write back from both survivors (linearizable reads).
 * A write is acknowledged once it is fsynced on a quorum, so none may be missing. Writes that
 * failed (in flight at the kill, or sent during the election) were never acknowledged and are
 * not checked. Real processes and sockets: timings vary, nothing waits on a fixed schedule.
 */

import { type ChildProcess, fork } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePorts } from '@tsetcd/core/testing';
import type { MemberCall, MemberReply, MemberRequest } from './protocol.js';

/** Raft timing on loopback, ms: a new leader within about a second of the kill. */
const HEARTBEAT_MS = 50;
const ELECTION_MS = 500;
/** A write or read that takes longer than this fails (and is retried or counted as failed). */
const REQUEST_TIMEOUT_MS = 2_000;
/** Any single step of the script may take this long before the demo declares itself failed. */
const STEP_DEADLINE_MS = 15_000;
/** Writes through one follower before the kill, and acknowledged writes wanted after it. */
const WRITES_BEFORE = 10;
const WRITES_AFTER = 20;
const NAMES = ['a', 'b', 'c'] as const;
/** The compiled member script (this path works from src/ under vitest and from dist/). */
const MEMBER_SCRIPT = fileURLToPath(new URL('../dist/member.js', import.meta.url));

/** Where the demo's narrative goes. */
export type Logger = (line: string) => void;

/** What happened, for main.ts's exit code and for the test. */
export interface DemoResult {
  readonly ok: boolean;
  /** The first leader, whose process was killed. */
  readonly killed: string;
  /** The leader elected among the survivors. */
  readonly newLeader: string;
  /** Acknowledged writes before / after the kill, and writes that failed. */
  readonly ackedBefore: number;
  readonly ackedAfter: number;
  readonly failed: number;
  /** Acknowledged writes not readable on some survivor (must be empty). */
  readonly missing: readonly string[];
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A member's child process and its request/reply channel. */
class MemberProcess {
  private nextId = 1;
  private readonly pending = new Map<number, (reply: MemberReply) => void>();
  readonly started: Promise<void>;
  readonly exited: Promise<void>;

  constructor(
    readonly name: string,
    readonly child: ChildProcess,
  ) {
    this.started = new Promise((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (code) => reject(new Error(`member ${name} exited with ${code} while starting`)));
      const onStart = (m: MemberReply) => {
        if (m.id === 0) resolve();
      };
      child.on('message', onStart);
    });
    this.started.catch(() => undefined);
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    child.on('message', (m: MemberReply) => {
      this.pending.get(m.id)?.(m);
      this.pending.delete(m.id);
    });
    child.once('exit', () => {
      for (const done of this.pending.values()) done({ id: -1, ok: false, error: 'member process exited' });
      this.pending.clear();
    });
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Sends a request; resolves with the reply (ok: false on failure, never rejects). */
  request(req: MemberCall): Promise<MemberReply> {
    if (!this.alive || !this.child.connected)
      return Promise.resolve({ id: -1, ok: false, error: 'not running' });
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      this.child.send({ ...req, id } as MemberRequest);
    });
  }
}

/** Polls `find` until it returns something, or fails after STEP_DEADLINE_MS. */
async function waitFor<T>(what: string, find: () => Promise<T | undefined>): Promise<T> {
  const limit = Date.now() + STEP_DEADLINE_MS;
  for (;;) {
    const found = await find();
    if (found !== undefined) return found;
    if (Date.now() > limit) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** The member every running member agrees is leader (the leader says so, in the highest term). */
async function leaderAmong(members: readonly MemberProcess[]): Promise<MemberProcess | undefined> {
  const statuses = await Promise.all(members.map((m) => m.request({ op: 'status' })));
  const i = statuses.findIndex((s) => s.ok && s.isLeader === true);
  return i < 0 ? undefined : members[i];
}

/** Runs the script of the file comment; always stops the children and removes the data dirs. */
export async function runDemo(log: Logger): Promise<DemoResult> {
  const root = await mkdtemp(join(tmpdir(), 'tsetcd-tcp-cluster-'));
  const ports = await freePorts(NAMES.length);
  const peers = Object.fromEntries(NAMES.map((n, i) => [n, `tcp://127.0.0.1:${ports[i]}`]));
  const members = NAMES.map((name) => {
    const config = {
      name,
      peers,
      dataDir: join(root, name),
      heartbeatMs: HEARTBEAT_MS,
      electionMs: ELECTION_MS,
      requestTimeoutMs: REQUEST_TIMEOUT_MS,
    };
    const child = fork(MEMBER_SCRIPT, [JSON.stringify(config)], { execArgv: [], stdio: 'inherit' });
    return new MemberProcess(name, child);
  });
  try {
    // 1.
    await Promise.all(members.map((m) => m.started));
    log(
      `started members ${members.map((m) => `${m.name} (pid ${m.child.pid}, ${peers[m.name]})`).join(', ')}`,
    );
    log(`data dirs under ${root}`);
    const leader = await waitFor('a leader', () => leaderAmong(members));
    const followers = members.filter((m) => m !== leader);
    log(`${leader.name} is the leader; ${followers.map((m) => m.name).join(' and ')} follow`);

    // 2.
    const acked = new Map<string, string>();
    let seq = 0;
    let failed = 0;
    const write = async (via: MemberProcess): Promise<boolean> => {
      seq++;
      const key = `/demo/key-${String(seq).padStart(4, '0')}`;
      const value = `value ${seq} via ${via.name}`;
      const r = await via.request({ op: 'put', key, value, timeoutMs: REQUEST_TIMEOUT_MS });
      if (r.ok) acked.set(key, value);
      else failed++;
      return r.ok;
    };
    const first = followers[0]!;
    for (let i = 0; i < WRITES_BEFORE; i++) {
      if (!(await write(first))) throw new Error(`write ${seq} through ${first.name} failed`);
    }
    log(`wrote ${WRITES_BEFORE} keys through follower ${first.name}`);

    // 3.
    let stop = false;
    let ackedAfterKill = 0;
    let killed = false;
    const writer = (async () => {
      for (let i = 0; !stop; i++) {
        const ok = await write(followers[i % followers.length]!);
        if (ok && killed) ackedAfterKill++;
        if (!ok) await sleep(100);
      }
    })();
    await waitFor('writes in flight', async () => (acked.size >= WRITES_BEFORE + 5 ? true : undefined));
    const ackedBefore = acked.size;
    leader.child.kill('SIGKILL');
    killed = true;
    await leader.exited;
    log(`SIGKILLed the leader ${leader.name} (pid ${leader.child.pid}) with writes in flight`);

    // 4.
    const newLeader = await waitFor('a new leader', () => leaderAmong(followers));
    const status = await newLeader.request({ op: 'status' });
    log(
      `${newLeader.name} won the election (term ${status.term}); writes go on through ${followers.map((m) => m.name).join(' and ')}`,
    );
    await waitFor(`${WRITES_AFTER} writes after the kill`, async () =>
      ackedAfterKill >= WRITES_AFTER ? true : undefined,
    );
    stop = true;
    await writer;
    const ackedAfter = acked.size - ackedBefore;
    log(`${acked.size} writes acknowledged (${ackedAfter} after the kill), ${failed} failed during the kill`);

    // 5.
    const missing: string[] = [];
    for (const m of followers) {
      for (const [key, value] of acked) {
        const r = await m.request({ op: 'get', key, timeoutMs: REQUEST_TIMEOUT_MS });
        if (!r.ok || r.value !== value) missing.push(`${key} on ${m.name}: ${r.ok ? r.value : r.error}`);
      }
    }
    const ok = missing.length === 0 && ackedAfter >= WRITES_AFTER;
    if (ok)
      log(
        `✓ all ${acked.size} acknowledged writes are readable on ${followers.map((m) => m.name).join(' and ')}`,
      );
    else log(`✗ ${missing.length} acknowledged writes missing: ${missing.slice(0, 5).join('; ')}`);
    return { ok, killed: leader.name, newLeader: newLeader.name, ackedBefore, ackedAfter, failed, missing };
  } finally {
    await Promise.all(
      members.map(async (m) => {
        if (!m.alive) return;
        await Promise.race([m.request({ op: 'close' }), sleep(3_000)]);
        if (m.alive) m.child.kill('SIGKILL');
        await m.exited;
      }),
    );
    await rm(root, { recursive: true, force: true });
    log('stopped the members and removed their data dirs');
  }
}
