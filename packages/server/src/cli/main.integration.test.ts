/**
 * The built `tsetcd` command as a real process (dist/cli/main.js: run `tsc -b` first): start a
 * member with etcd's flags on free ports, drive it with the real etcdctl 3.4, stop it with SIGTERM
 * and start it again on the same data dir; restore a snapshot saved through the node API into a
 * new member; print a snapshot's status; refuse a bad flag as etcd does.
 */

import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createNode } from '@tsetcd/core';
import { freePorts } from '@tsetcd/core/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { hasEtcdctl } from '../test/harness.js';

const MAIN = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

let dir: string;
const members: ChildProcess[] = [];

beforeAll(async () => {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run tsc -b first`);
  dir = await mkdtemp(join(tmpdir(), 'tsetcd-cli-'));
});
afterEach(() => {
  for (const m of members.splice(0)) if (m.exitCode === null) m.kill('SIGKILL');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface Run {
  readonly stdout: string;
  readonly stderr: string;
  readonly code: number | null;
}

/** Runs a command to completion, asynchronously (a member may be running in this process). */
function run(cmd: string, args: readonly string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { env: { ...process.env, ETCDCTL_API: '3', ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ stdout, stderr, code });
    });
  });
}

/** The flags of a one-member cluster on the given ports. */
function memberFlags(name: string, dataDir: string, client: number, peer: number): string[] {
  const peerUrl = `http://127.0.0.1:${peer}`;
  return [
    `--name=${name}`,
    `--data-dir=${dataDir}`,
    `--listen-client-urls=http://127.0.0.1:${client}`,
    `--advertise-client-urls=http://127.0.0.1:${client}`,
    `--listen-peer-urls=${peerUrl}`,
    `--initial-advertise-peer-urls=${peerUrl}`,
    `--initial-cluster=${name}=${peerUrl}`,
  ];
}

/** A running member process and what it has logged so far. */
interface Member {
  readonly child: ChildProcess;
  log(): string;
}

/** Starts `tsetcd` and resolves once it logs that it is ready to serve clients. */
async function start(args: readonly string[]): Promise<Member> {
  const child = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  members.push(child);
  let log = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not ready after 10 s:\n${log}`)), 10_000);
    child.stderr!.on('data', (d: Buffer) => {
      log += d.toString();
      if (log.includes('ready to serve client requests')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited ${code}:\n${log}`));
    });
  });
  return { child, log: () => log };
}

async function stop(m: Member): Promise<number | null> {
  const exited = once(m.child, 'exit');
  m.child.kill('SIGTERM');
  const [code] = (await exited) as [number | null];
  return code;
}

describe.skipIf(!hasEtcdctl)('tsetcd as a process, driven by etcdctl', () => {
  it('serves etcdctl put/get, stops on SIGTERM with 0 and reopens its data dir', async () => {
    const [client, peer] = (await freePorts(2)) as [number, number];
    const flags = memberFlags('m1', join(dir, 'm1.etcd'), client, peer);
    const endpoint = `--endpoints=127.0.0.1:${client}`;
    const m = await start(flags);
    expect(m.log()).toMatch(/I \| raft: [0-9a-f]+ became leader at term \d+/);
    expect(m.log()).toContain(`ready to serve client requests on http://127.0.0.1:${client}`);
    expect((await run('etcdctl', [endpoint, 'put', 'foo', 'bar'])).stdout).toBe('OK\n');
    expect((await run('etcdctl', [endpoint, 'get', 'foo'])).stdout).toBe('foo\nbar\n');
    expect(await stop(m)).toBe(0);
    expect(m.log()).toContain('received terminated signal, shutting down...');

    const again = await start(flags);
    expect((await run('etcdctl', [endpoint, 'get', 'foo'])).stdout).toBe('foo\nbar\n');
    expect(await stop(again)).toBe(0);
  });

  it('restores a snapshot saved through the node API into a new member with the same data', async () => {
    const source = await createNode({});
    for (let i = 0; i < 5; i++) await source.kv.put(`k${i}`, `v${i}`);
    const chunks: Uint8Array[] = [];
    for await (const c of source.maintenance.snapshot()) chunks.push(c);
    await source.close();
    const file = join(dir, 'snap.db');
    await writeFile(file, Buffer.concat(chunks));

    const status = await run(process.execPath, [MAIN, 'snapshot', 'status', file, '-w', 'json']);
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ revision: 6, totalSize: expect.any(Number) });
    const table = await run(process.execPath, [MAIN, 'snapshot', 'status', file, '--write-out=table']);
    expect(table.stdout).toMatch(
      /^\+-+\+-+\+-+\+-+\+\n\| {3}HASH {3}\| REVISION \| TOTAL KEYS \| TOTAL SIZE \|\n/,
    );

    const [client, peer] = (await freePorts(2)) as [number, number];
    const flags = memberFlags('r1', join(dir, 'r1.etcd'), client, peer);
    const restored = await run(process.execPath, [
      MAIN,
      'snapshot',
      'restore',
      file,
      ...flags.filter((f) => !f.startsWith('--listen') && !f.startsWith('--advertise')),
    ]);
    expect(restored.stderr).toContain('restored snapshot');
    expect(restored.code).toBe(0);
    // A second restore into the same data dir is refused: nothing is overwritten.
    const twice = await run(process.execPath, [
      MAIN,
      'snapshot',
      'restore',
      file,
      `--data-dir=${join(dir, 'r1.etcd')}`,
    ]);
    expect(twice.code).toBe(1);

    const m = await start(flags);
    const got = await run('etcdctl', [`--endpoints=127.0.0.1:${client}`, 'get', 'k', '--prefix']);
    expect(got.stdout).toBe('k0\nv0\nk1\nv1\nk2\nv2\nk3\nv3\nk4\nv4\n');
    const j = JSON.parse(
      (await run('etcdctl', [`--endpoints=127.0.0.1:${client}`, 'get', 'k4', '-w', 'json'])).stdout,
    );
    expect(j.kvs[0].mod_revision).toBe(6);
    expect(await stop(m)).toBe(0);
  });
});

describe('tsetcd errors as a process', () => {
  it("exits 2 on a flag etcd's parser refuses, 1 on an invalid setting", async () => {
    const bad = await run(process.execPath, [MAIN, '--bogus']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^flag provided but not defined: -bogus\nUsage:/);
    const invalid = await run(process.execPath, [MAIN, '--election-timeout=10']);
    expect(invalid.code).toBe(1);
    expect(invalid.stderr).toMatch(
      /E \| etcdmain: error verifying flags, --election-timeout: .*See 'tsetcd --help'\./,
    );
    const version = await run(process.execPath, [MAIN, '--version']);
    expect(version.stdout).toMatch(/^tsetcd Version: \d+\.\d+\.\d+\n/);
  });
});
