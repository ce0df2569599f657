/**
 * The demo's script: three candidates, each a child process embedding one member of a 3-member
 * cluster over TCP (its own data dir), campaign in one election —
 *   1. start them; the first to campaign leads;
 *   2. SIGKILL the leader's process: its session's lease is no longer renewed, the raft leader
 *      expires it after the TTL, and the next candidate takes over;
 *   3. the new leader resigns, and the last candidate takes over at once;
 *   4. check the succession: three different leaders, fencing tokens strictly increasing, and
 *      never a new leader while the previous one was alive and had not resigned.
 * Real processes and sockets: takeover times vary, nothing waits on a fixed schedule.
 */

import { type ChildProcess, fork } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePorts } from '@tsetcd/core/testing';
import type { CandidateCommand, CandidateEvent } from './protocol.js';

/** Raft timing on loopback, ms. */
const HEARTBEAT_MS = 50;
const ELECTION_MS = 500;
/** Any single step of the script may take this long before the demo declares itself failed. */
const STEP_DEADLINE_MS = 15_000;
/** How long the first leader leads before its process is killed, ms. */
const LEAD_MS = 1_000;
const NAMES = ['a', 'b', 'c'] as const;
/** The compiled candidate script (this path works from src/ under vitest and from dist/). */
const CANDIDATE_SCRIPT = fileURLToPath(new URL('../dist/candidate.js', import.meta.url));

/** Where the demo's narrative goes. */
export type Logger = (line: string) => void;

/** One leader of the succession. */
export interface Reign {
  readonly name: string;
  readonly fencingToken: number;
  /** How it ended: killed (SIGKILL), resigned, or still leading at the end. */
  readonly end: 'killed' | 'resigned' | 'leading';
}

/** What happened, for main.ts's exit code and for the test. */
export interface DemoResult {
  readonly ok: boolean;
  readonly succession: readonly Reign[];
  /** ms from the SIGKILL to the next leader's election. */
  readonly takeoverMs: number;
  /** Broken promises of the election (must be empty). */
  readonly violations: readonly string[];
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A candidate's child process. */
interface Candidate {
  readonly name: string;
  readonly child: ChildProcess;
  readonly exited: Promise<void>;
  /** True from the moment it is told to resign (its belief ends at once) or killed. */
  deposed: boolean;
}

/** Runs the script of the file comment; always stops the children and removes the data dirs. */
export async function runDemo(log: Logger): Promise<DemoResult> {
  const root = await mkdtemp(join(tmpdir(), 'tsetcd-leader-election-'));
  const ports = await freePorts(NAMES.length);
  const peers = Object.fromEntries(NAMES.map((n, i) => [n, `tcp://127.0.0.1:${ports[i]}`]));
  const violations: string[] = [];
  const elected: { candidate: Candidate; fencingToken: number; at: number }[] = [];
  let onElected: (() => void) | undefined;

  const candidates: Candidate[] = NAMES.map((name) => {
    const config = {
      name,
      peers,
      dataDir: join(root, name),
      heartbeatMs: HEARTBEAT_MS,
      electionMs: ELECTION_MS,
    };
    const child = fork(CANDIDATE_SCRIPT, [JSON.stringify(config)], { execArgv: [], stdio: 'inherit' });
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    return { name, child, exited, deposed: false };
  });
  for (const c of candidates) {
    c.child.on('message', (e: CandidateEvent) => {
      if (e.type === 'campaigning') log(`${c.name} (pid ${c.child.pid}) campaigns with key ${e.key}`);
      if (e.type === 'session-lost') log(`${c.name}'s session was lost; it campaigns again with a new one`);
      if (e.type === 'failed') violations.push(`${c.name} failed: ${e.error}`);
      if (e.type !== 'elected') return;
      const previous = elected.at(-1);
      if (previous !== undefined && !previous.candidate.deposed) {
        violations.push(`${c.name} elected while ${previous.candidate.name} still led`);
      }
      if (previous !== undefined && e.fencingToken <= previous.fencingToken) {
        violations.push(`${c.name}'s token ${e.fencingToken} is not above ${previous.fencingToken}`);
      }
      elected.push({ candidate: c, fencingToken: e.fencingToken, at: e.at });
      onElected?.();
    });
  }
  const nextLeader = (count: number) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no leader #${count} in time`)), STEP_DEADLINE_MS);
      onElected = () => {
        if (elected.length < count) return;
        clearTimeout(timer);
        resolve();
      };
      onElected();
    });
  const tell = (c: Candidate, cmd: CandidateCommand) => {
    if (c.child.connected) c.child.send(cmd);
  };

  try {
    // 1.
    await nextLeader(1);
    const first = elected[0]!;
    log(`${first.candidate.name} is elected leader (fencing token ${first.fencingToken})`);
    await sleep(LEAD_MS);

    // 2.
    first.candidate.deposed = true;
    first.candidate.child.kill('SIGKILL');
    const killedAt = Date.now();
    await first.candidate.exited;
    log(`SIGKILLed ${first.candidate.name}'s process; its session lease (TTL 2 s) must expire first`);
    await nextLeader(2);
    const second = elected[1]!;
    const takeoverMs = second.at - killedAt;
    log(
      `${second.candidate.name} takes over ${(takeoverMs / 1000).toFixed(1)} s after the kill ` +
        `(fencing token ${second.fencingToken})`,
    );

    // 3.
    second.candidate.deposed = true;
    tell(second.candidate, { op: 'resign' });
    log(`${second.candidate.name} resigns`);
    await nextLeader(3);
    const third = elected[2]!;
    log(`${third.candidate.name} takes over (fencing token ${third.fencingToken})`);

    // 4.
    const succession: Reign[] = [
      { name: first.candidate.name, fencingToken: first.fencingToken, end: 'killed' },
      { name: second.candidate.name, fencingToken: second.fencingToken, end: 'resigned' },
      { name: third.candidate.name, fencingToken: third.fencingToken, end: 'leading' },
    ];
    if (new Set(succession.map((r) => r.name)).size !== NAMES.length) violations.push('a leader came back');
    log(`succession: ${succession.map((r) => `${r.name} (token ${r.fencingToken}, ${r.end})`).join(' → ')}`);
    const ok = violations.length === 0;
    if (ok) log('✓ one leader at a time, fencing tokens increasing');
    else log(`✗ ${violations.join('; ')}`);
    return { ok, succession, takeoverMs, violations };
  } finally {
    // One by one, the latest leader first, so each closing session still finds a quorum to revoke on.
    const order = [...new Set([...elected.map((e) => e.candidate).reverse(), ...candidates])];
    for (const c of order) {
      if (c.child.exitCode !== null || c.child.signalCode !== null) continue;
      tell(c, { op: 'close' });
      await Promise.race([c.exited, sleep(3_000)]);
      c.child.kill('SIGKILL');
      await c.exited;
    }
    await rm(root, { recursive: true, force: true });
    log('stopped the candidates and removed their data dirs');
  }
}
