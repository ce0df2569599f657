/**
 * A real etcd 3.4 process for tests that hold our server to etcd's own answers: one member on
 * free loopback ports in a fresh data dir, killed and removed on stop. Tests that use it skip
 * when no `etcd` binary is installed (.ci/run installs Debian's etcd-server).
 */

import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { credentials, makeClientConstructor, type ServiceDefinition } from '@grpc/grpc-js';
import { freePorts } from '@tsetcd/core/testing';
import { loadEtcdProtos } from '../proto.js';

/** Whether the real etcd (3.4) is installed. */
export const hasEtcd = spawnSync('etcd', ['--version']).status === 0;

/** A running etcd member. */
export interface RealEtcd {
  /** host:port of its client URL. */
  readonly endpoint: string;
  /** Kills it and removes its data dir. */
  stop(): void;
}

/** How long to wait for a fresh etcd to answer Status, ms. */
const START_TIMEOUT_MS = 20_000;

/** Starts one etcd member with etcd's defaults (plus `extraFlags`) and waits until it answers. */
export async function startRealEtcd(extraFlags: readonly string[] = []): Promise<RealEtcd> {
  const dataDir = mkdtempSync(join(tmpdir(), 'tsetcd-real-etcd-'));
  const [clientPort, peerPort] = await freePorts(2);
  const endpoint = `127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  const child: ChildProcess = spawn(
    'etcd',
    [
      '--name=real',
      `--data-dir=${join(dataDir, 'data')}`,
      `--listen-client-urls=http://${endpoint}`,
      `--advertise-client-urls=http://${endpoint}`,
      `--listen-peer-urls=${peer}`,
      `--initial-advertise-peer-urls=${peer}`,
      `--initial-cluster=real=${peer}`,
      ...extraFlags,
    ],
    { stdio: 'ignore' },
  );
  const stop = (): void => {
    child.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    await waitForStatus(endpoint);
  } catch (err) {
    stop();
    throw err;
  }
  return { endpoint, stop };
}

/**
 * Waits until the member answers Status as its own leader: before it has elected itself, etcd
 * answers Status but sends leader-only requests (MemberPromote, MoveLeader) to a leader it does
 * not have, and they hang.
 */
async function waitForStatus(endpoint: string): Promise<void> {
  const protos = loadEtcdProtos();
  const Ctor = makeClientConstructor(protos.Maintenance as ServiceDefinition, 'Maintenance');
  const client = new Ctor(endpoint, credentials.createInsecure());
  const deadline = Date.now() + START_TIMEOUT_MS;
  type StatusCall = (
    r: object,
    cb: (e: Error | null, res?: { leader?: string; header?: { memberId?: string } }) => void,
  ) => void;
  try {
    for (;;) {
      const ok = await new Promise<boolean>((resolve) => {
        (client as unknown as { Status: StatusCall }).Status({}, (err, res) =>
          resolve(err === null && res?.leader !== undefined && res.leader === res.header?.memberId),
        );
      });
      if (ok) return;
      if (Date.now() > deadline) throw new Error(`etcd on ${endpoint} did not start`);
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    client.close();
  }
}
