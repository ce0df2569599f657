/**
 * Differential test of the KV service against a real etcd 3.4: the same seeded sequence of Put,
 * Range, DeleteRange, Txn, Compact, LeaseGrant and LeaseRevoke requests (test/kv-ops.ts) goes to
 * a fresh etcd process and a fresh in-process member, in the same order, through the same grpc-js
 * client code, and every answer must be the same — header revision, every field of every kv,
 * more, count, prev kvs, deleted, succeeded, nested responses — and every error the same gRPC
 * code and message. Only the header's cluster_id, member_id and raft_term are the servers' own;
 * they are compared as set or zero.
 *
 * A mismatch fails with the seed, the op's index and the op, and replays with
 * `DIFF_SEEDS=<seed> npx vitest run packages/server/src/kv-differential.integration.test.ts`;
 * DIFF_TRACE=1 prints every op and etcd's answer. Many seeds: `DIFF_SEEDS=1..50` (ranges and
 * lists, `1..5,9`); ops per seed: DIFF_OPS (default 400). Skipped when no `etcd` is installed.
 */

import {
  type Client,
  credentials,
  makeClientConstructor,
  type ServiceDefinition,
  status,
} from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { loadEtcdProtos } from './proto.js';
import { diffSettings } from './test/diff-seeds.js';
import { type Served, serve } from './test/harness.js';
import { type KvOp, KvOpGenerator, type Outcome, showBytes } from './test/kv-ops.js';
import { hasEtcd, startRealEtcd } from './test/real-etcd.js';

/** The seeds CI runs; DIFF_SEEDS overrides. */
const DEFAULT_SEEDS = [1, 2, 3, 4, 5];
const DEFAULT_OPS = 400;
/** A call taking longer than this counts as a hang. */
const CALL_DEADLINE_MS = 10_000;

const { seeds, ops: opsPerSeed, trace } = diffSettings(DEFAULT_SEEDS, DEFAULT_OPS);
const protos = loadEtcdProtos();

/** KV and Lease clients of one server. */
interface Clients {
  readonly KV: Client;
  readonly Lease: Client;
}

function clientsOf(endpoint: string): Clients {
  const make = (name: 'KV' | 'Lease') =>
    new (makeClientConstructor(protos[name] as ServiceDefinition, name))(
      endpoint,
      credentials.createInsecure(),
    );
  return { KV: make('KV'), Lease: make('Lease') };
}

type Unary = (
  req: object,
  options: { deadline: number },
  cb: (err: (Error & { code: number; details: string }) | null, res: Record<string, unknown>) => void,
) => void;

/** What a server answered: the response, or the error's code and message. */
type Answer = Outcome & {
  readonly res?: Record<string, unknown>;
  readonly code?: number;
  readonly details?: string;
};

function invoke(clients: Clients, op: KvOp): Promise<Answer> {
  const client = clients[op.service];
  const fn = (client as unknown as Record<string, Unary>)[op.method]!;
  return new Promise((resolve) =>
    fn.call(client, op.req, { deadline: Date.now() + CALL_DEADLINE_MS }, (err, res) =>
      resolve(err ? { ok: false, code: err.code, details: err.details } : { ok: true, res }),
    ),
  );
}

/** An answer as compared and printed: bytes readable, the header's per-server fields as set/zero. */
function normalise(answer: Answer): unknown {
  if (!answer.ok) return { error: { code: status[answer.code!], details: answer.details } };
  return readable(answer.res);
}

function readable(x: unknown): unknown {
  if (Buffer.isBuffer(x)) return showBytes(x);
  if (Array.isArray(x)) return x.map(readable);
  if (x === null || typeof x !== 'object') return x;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(x)) {
    out[k] =
      k === 'header' && v !== null && typeof v === 'object'
        ? header(v as Record<string, unknown>)
        : readable(v);
  }
  return out;
}

/** The cluster ID, member ID and term are each server's own: compared only as set or zero. */
function header(h: Record<string, unknown>): unknown {
  const own = (v: unknown) => (v === '0' ? '0' : '<set>');
  return { ...h, clusterId: own(h.clusterId), memberId: own(h.memberId), raftTerm: own(h.raftTerm) };
}

/** An op as printed in a failure: the service, method and request with readable bytes. */
function describeOp(op: KvOp): string {
  return `${op.service}.${op.method} ${JSON.stringify(readable(op.req))}`;
}

async function runSeed(seed: number): Promise<void> {
  const etcd = await startRealEtcd();
  let ours: Served | undefined;
  const clients: Client[] = [];
  try {
    ours = await serve();
    const a = clientsOf(etcd.endpoint);
    const b = clientsOf(ours.endpoint);
    clients.push(a.KV, a.Lease, b.KV, b.Lease);
    const gen = new KvOpGenerator(seed);
    for (let i = 0; i < opsPerSeed; i++) {
      const op = gen.next();
      const [want, got] = await Promise.all([invoke(a, op), invoke(b, op)]);
      if (trace) console.log(`#${i} ${describeOp(op)}\n  → ${JSON.stringify(normalise(want))}`);
      expect(
        normalise(got),
        `seed ${seed}, op #${i}: ${describeOp(op)}\n(etcd's answer is "expected")`,
      ).toEqual(normalise(want));
      gen.observe(op, want);
    }
  } finally {
    for (const c of clients) c.close();
    await ours?.close();
    etcd.stop();
  }
}

describe.skipIf(!hasEtcd)('KV against a real etcd 3.4, op for op', () => {
  it.each(seeds)('seed %i', runSeed);
});
