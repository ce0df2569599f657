/**
 * Clusters of real `tsetcd` processes (dist/cli/main.js: run `tsc -b` first) on loopback, for
 * the integration tests that kill and restart members: a member's fixed identity (name, ports,
 * data dir), etcd's member flags, spawning a member and waiting until it serves clients, kill -9,
 * and polling with a generous deadline. The caller owns the list of spawned children and kills
 * them after each test (killAll).
 *
 * Does not: talk to the members (tests use etcdctl or grpc-recordable-client.ts), or assert on
 * timing — every wait is a poll up to DEADLINE_MS, the machine may be busy.
 */

import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePorts } from '@tsetcd/core/testing';

/** The `tsetcd` command as built by tsc -b. */
export const MAIN: string = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

/** Fast timers so elections take well under a second on loopback. */
export const TIMING: readonly string[] = ['--heartbeat-interval=50', '--election-timeout=500'];

/** How long to poll for a condition before failing: generous, the machine may be busy. */
export const DEADLINE_MS = 20_000;

/** A member's fixed identity: name, ports and data dir; `child` while a process runs it. */
export interface Member {
  readonly name: string;
  /** host:port of the client URL. */
  readonly client: string;
  /** The peer URL (http://host:port). */
  readonly peer: string;
  readonly dataDir: string;
  child?: ChildProcess;
  /** stderr of the current process. */
  log: string;
}

/**
 * Members with two free loopback ports each and data dirs `<dir>/<prefix>-<name>.etcd`. The ports
 * of all of them come from one freePorts call, which holds them open together: ports asked for one
 * at a time can repeat, as the kernel may hand a just-closed port out again.
 */
export async function newMembers(dir: string, names: readonly string[], prefix: string): Promise<Member[]> {
  const ports = await freePorts(2 * names.length);
  return names.map((name, i) => ({
    name,
    client: `127.0.0.1:${ports[2 * i]}`,
    peer: `http://127.0.0.1:${ports[2 * i + 1]}`,
    dataDir: join(dir, `${prefix}-${name}.etcd`),
    log: '',
  }));
}

/** etcd's --initial-cluster value for these members. */
export const initialCluster = (ms: readonly Member[]): string =>
  ms.map((m) => `${m.name}=${m.peer}`).join(',');

/** etcd's member flags; the cluster flags only matter on the first start of a data dir. */
export function memberFlags(m: Member, cluster: string, state: 'new' | 'existing', token: string): string[] {
  return [
    `--name=${m.name}`,
    `--data-dir=${m.dataDir}`,
    `--listen-client-urls=http://${m.client}`,
    `--advertise-client-urls=http://${m.client}`,
    `--listen-peer-urls=${m.peer}`,
    `--initial-advertise-peer-urls=${m.peer}`,
    `--initial-cluster=${cluster}`,
    `--initial-cluster-state=${state}`,
    `--initial-cluster-token=${token}`,
    ...TIMING,
  ];
}

/**
 * Spawns `tsetcd` (added to `children`); resolves once it logs that it is ready to serve client
 * requests (it has a leader), rejects if it exits first or is not ready by DEADLINE_MS.
 */
export async function startMember(
  m: Member,
  args: readonly string[],
  children: ChildProcess[],
): Promise<void> {
  const child = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  children.push(child);
  m.child = child;
  m.log = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${m.name} not ready after ${DEADLINE_MS} ms:\n${m.log}`)),
      DEADLINE_MS,
    );
    child.stderr!.on('data', (d: Buffer) => {
      m.log += d.toString();
      if (m.log.includes('ready to serve client requests')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${m.name} exited ${code ?? signal}:\n${m.log}`));
    });
  });
}

/** Whether the member's current process is still running. */
export const isRunning = (m: Member): boolean =>
  m.child !== undefined && m.child.exitCode === null && m.child.signalCode === null;

/**
 * Starts a new 3-member cluster in `dir` (members start concurrently: each waits for a quorum).
 * A port freePorts() handed out may be taken by another process before the member binds it: then
 * the attempt is dropped and made again on new ports.
 */
export async function startCluster(
  dir: string,
  children: ChildProcess[],
  prefix: string,
  token = `${prefix}-token`,
): Promise<Member[]> {
  for (let attempt = 1; ; attempt++) {
    const p = `${prefix}${attempt}`;
    const ms = await newMembers(dir, ['n1', 'n2', 'n3'], p);
    const cluster = initialCluster(ms);
    const started = await Promise.allSettled(
      ms.map((m) => startMember(m, memberFlags(m, cluster, 'new', token), children)),
    );
    const failed = started.find((r) => r.status === 'rejected');
    if (failed === undefined) return ms;
    const err = (failed as PromiseRejectedResult).reason as Error;
    if (attempt === 3 || !err.message.includes('EADDRINUSE')) throw err;
    for (const m of ms) if (isRunning(m)) await kill9(m);
  }
}

/** SIGKILLs the member's process and waits for it to exit. */
export async function kill9(m: Member): Promise<void> {
  const child = m.child!;
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGKILL');
  await exited;
}

/** SIGKILLs every child still running and empties the list (afterEach). */
export async function killAll(children: ChildProcess[]): Promise<void> {
  for (const c of children.splice(0)) {
    if (c.exitCode !== null || c.signalCode !== null) continue;
    const exited = once(c, 'exit');
    c.kill('SIGKILL');
    await exited;
  }
}

/** Polls `probe` until it returns a value other than undefined; throws its last error at the deadline. */
export async function until<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  deadlineMs = DEADLINE_MS,
): Promise<T> {
  const end = Date.now() + deadlineMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > end) throw new Error(`${what}: not after ${deadlineMs} ms (${String(last)})`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
