/**
 * A member thread of the threaded bench (threaded-cluster.ts): one @tsetcd/core member, started
 * with the same config as cluster.ts (TCP peers on 127.0.0.1, persistence in its data dir), and
 * its share of the closed-loop clients, which call the member in-process as an embedded app's
 * would. It does what the main thread asks (thread-protocol.ts) and nothing on its own.
 *
 * Not an entry point for anything else: it expects `workerData` and a parent port.
 */

import { parentPort, workerData } from 'node:worker_threads';
import { createNode, type NodeRuntime, systemClock, type TsetcdNode } from '@tsetcd/core';
import { threadCpuSeconds } from './stats.js';
import type {
  MemberAnswer,
  MemberEnvelope,
  MemberReplies,
  MemberRequest,
  MemberWorkerData,
} from './thread-protocol.js';
import { type MeasureWindow, makeKeys, OPS, preload, runClients } from './workload.js';

const port = parentPort;
if (port === null) throw new Error('bench: member-worker.ts runs only as a worker thread');
const data = workerData as MemberWorkerData;
const keys = makeKeys(data.keyCount);

const runtime: NodeRuntime = {
  clock: systemClock,
  seed: data.seed,
  logger: (level, message) => {
    if (level === 'error') console.error(`bench: ${data.name}: ${message}`);
  },
};
const started: Promise<TsetcdNode> = createNode(
  { name: data.name, peers: data.peers, dataDir: data.dataDir },
  runtime,
);
// A failed start is reported to every request (and close still answers), never left unhandled.
started.catch(() => undefined);

port.on('message', (m: MemberEnvelope) => void answer(m));

async function answer({ seq, request }: MemberEnvelope): Promise<void> {
  let reply: MemberAnswer;
  const transfer: ArrayBuffer[] = [];
  try {
    const r = await serve(request);
    if (r !== null && 'latencies' in r) transfer.push(r.latencies.buffer as ArrayBuffer);
    reply = { seq, ok: true, reply: r };
  } catch (err) {
    reply = { seq, ok: false, error: (err as Error)?.stack ?? String(err) };
  }
  port!.postMessage(reply, transfer);
  // Closing the port lets the thread's event loop drain, so the thread exits on its own.
  if (request.type === 'close') port!.close();
}

async function serve(request: MemberRequest): Promise<MemberReplies[MemberRequest['type']]> {
  if (request.type === 'close') {
    const node = await started.catch(() => undefined);
    await node?.close();
    return null;
  }
  const node = await started;
  switch (request.type) {
    case 'status':
      return {
        id: String(node.id),
        leaderId: String(node.leaderId),
        isLeader: node.isLeader,
        leaderChanges: node.leaderChanges,
      };
    case 'preload':
      await preload(
        [node],
        keys.filter((_, i) => i % data.members === data.index),
        request.concurrency,
      );
      return null;
    case 'run':
      return run(node, request);
  }
}

async function run(
  node: TsetcdNode,
  r: Extract<MemberRequest, { type: 'run' }>,
): Promise<MemberReplies['run']> {
  // This thread's performance.now() for an absolute time of the main thread.
  const local = (absolute: number) => absolute - performance.timeOrigin;
  const window: MeasureWindow = { start: local(r.windowStart), end: local(r.windowEnd), stopped: false };
  const clients = Array.from({ length: r.concurrency }, (_, w) => w).filter(
    (w) => w % data.members === data.index,
  );
  const changesBefore = node.leaderChanges;
  const running = runClients({ clients, memberOf: () => node, keys, op: OPS[r.op], seed: r.seed }, window);
  await sleep(window.start - performance.now());
  const cpuAtStart = threadCpuSeconds();
  const eluAtStart = performance.eventLoopUtilization();
  await sleep(window.end - performance.now());
  const cpuAtEnd = threadCpuSeconds();
  const elu = performance.eventLoopUtilization(eluAtStart);
  window.stopped = true;
  const { ops, errors, firstError, latencies } = await running;
  return {
    clients: clients.length,
    ops,
    errors,
    firstError,
    latencies: latencies.toArray(),
    cpuSeconds: cpuAtStart === undefined || cpuAtEnd === undefined ? undefined : cpuAtEnd - cpuAtStart,
    eventLoopUtilization: elu.utilization,
    leaderChanges: node.leaderChanges - changesBefore,
    isLeader: node.isLeader,
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, Math.max(0, ms)));
}
