/**
 * The clusters the bench measures: N members of @tsetcd/core in this process, wired either on
 * the in-memory network ('auto' mode, system clock — real timers, no simulated delay) or over TCP
 * on 127.0.0.1 with each member listening on its own free port. With `persistence`, each member
 * keeps its raft WAL (one fsync per Ready) and mvcc backend in `<fresh tmp dir>/n<i>`, and the
 * whole tmp dir is removed on close.
 *
 * Members use the node's default timing (etcd's: 100 ms heartbeat, 1 s election), so a cluster
 * takes one to two seconds to elect its first leader.
 */

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNode, type NodeRuntime, systemClock, type TsetcdNode } from '@tsetcd/core';
import { freePorts } from '@tsetcd/core/testing';
import { MemoryNetwork } from '@tsetcd/transport';

export { freePorts };

/** How members reach each other. */
export type BenchTransport = 'memory' | 'tcp';

/** Options of startBenchCluster. */
export interface BenchClusterOptions {
  readonly members: number;
  readonly transport: BenchTransport;
  /** Keep the raft WAL and mvcc backend on disk (fsync on) in a fresh tmp dir. */
  readonly persistence: boolean;
  /** Seeds the in-memory network and raft's election jitter. */
  readonly seed: number;
}

/** How long a fresh cluster may take to agree on a leader. */
export const LEADER_TIMEOUT_MS = 30_000;
/** How often the leader is polled while waiting for one. */
const LEADER_POLL_MS = 20;

/** A running cluster; close() stops it and removes its data. */
export interface BenchCluster {
  readonly nodes: readonly TsetcdNode[];
  /** The member every member follows (waits for one). */
  waitForLeader(): Promise<TsetcdNode>;
  /** Leader changes seen by all members so far (a stable run adds none). */
  leaderChanges(): number;
  close(): Promise<void>;
}

/** Starts the members, all at once (each bootstraps the same initial cluster), and waits for a leader. */
export async function startBenchCluster(opts: BenchClusterOptions): Promise<BenchCluster> {
  const names = Array.from({ length: opts.members }, (_, i) => `n${i + 1}`);
  const dataRoot = opts.persistence ? await mkdtemp(join(tmpdir(), 'tsetcd-bench-')) : undefined;
  const network =
    opts.transport === 'memory'
      ? new MemoryNetwork({
          seed: opts.seed,
          mode: 'auto',
          clock: () => systemClock.now(),
          logger: () => undefined,
        })
      : undefined;
  const urls =
    network !== undefined
      ? names.map((n) => `mem://${n}`)
      : (await freePorts(names.length)).map((p) => `tcp://127.0.0.1:${p}`);
  const peers = Object.fromEntries(names.map((n, i) => [n, urls[i]!]));
  const settled = await Promise.allSettled(
    names.map((name, i) => {
      const runtime: NodeRuntime = {
        clock: systemClock,
        seed: opts.seed * 1000 + i,
        logger: (level, message) => {
          if (level === 'error') console.error(`bench: ${name}: ${message}`);
        },
        ...(network !== undefined ? { transport: (id, handler) => network.join(id, handler) } : {}),
      };
      return createNode(
        { name, peers, ...(dataRoot !== undefined ? { dataDir: join(dataRoot, name) } : {}) },
        runtime,
      );
    }),
  );
  const nodes = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const close = async () => {
    await Promise.allSettled(nodes.map((n) => n.close()));
    await network?.close();
    if (dataRoot !== undefined) await rm(dataRoot, { recursive: true, force: true });
  };
  const failed = settled.find((s) => s.status === 'rejected');
  if (failed !== undefined) {
    await close();
    throw (failed as PromiseRejectedResult).reason;
  }
  const cluster: BenchCluster = {
    nodes,
    waitForLeader: () => waitForLeader(nodes),
    leaderChanges: () => nodes.reduce((sum, n) => sum + n.leaderChanges, 0),
    close,
  };
  try {
    await cluster.waitForLeader();
  } catch (err) {
    await close();
    throw err;
  }
  return cluster;
}

async function waitForLeader(nodes: readonly TsetcdNode[]): Promise<TsetcdNode> {
  const deadline = performance.now() + LEADER_TIMEOUT_MS;
  for (;;) {
    const leader = nodes.find((n) => n.isLeader);
    if (leader !== undefined && nodes.every((n) => n.leaderId === leader.id)) return leader;
    if (performance.now() > deadline) throw new Error('bench: the cluster elected no leader in time');
    await new Promise((r) => setTimeout(r, LEADER_POLL_MS));
  }
}
