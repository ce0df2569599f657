/**
 * The simulation's clients: each bound to one of the initial members, doing puts, linearizable
 * and serializable gets, deletes, txns and lease grant/attach/revoke on a few keys until the run's
 * operation budget is spent — every linearizable call recorded for the checker, every
 * serializable read kept for its own checks — and a lease keeper that holds a short lease with
 * keep-alives and probes that the key attached to it is not gone while its keep-alives were
 * acknowledged in time.
 */

import type { TsetcdNode } from '@tsetcd/core';
import type { KeyValue } from '@tsetcd/mvcc';
import type { CompareInput } from '../history.js';
import type { RecordableClient, RecordingClient } from '../recorder.js';
import { pick, reach, type SimContext, sleep, text } from './sim-context.js';

/** A serializable read as a client saw it. */
export interface SerializableRead {
  /** Client and member incarnation: revisions must not go backwards within one session. */
  readonly session: string;
  readonly key: string;
  readonly revision: number;
  readonly kv: KeyValue | undefined;
}

/** Long enough that no recorded lease expires during a run (only explicit revokes end them). */
export const RECORDED_LEASE_TTL = 600;
/** The keeper's lease TTL, seconds: short, so expiry happens under faults. */
export const KEEPER_TTL = 3;
/** Relative clock drift the lease check tolerates (members drift by at most 1%). */
const DRIFT_MARGIN = 0.05;

/** The workload's counters. */
export interface WorkloadStats {
  operations: number;
  serializableReads: number;
  keepAlives: number;
  leaseExpiries: number;
}

/** A RecordableClient that calls whichever incarnation of member `i` is running now. */
function memberClient(ctx: SimContext, i: number): RecordableClient {
  const node = async (): Promise<TsetcdNode> => {
    const m = await reach(ctx, i);
    if (m === undefined) throw new Error('member gone');
    return m;
  };
  return {
    kv: {
      put: async (k, v, o) => (await node()).kv.put(k, v, o),
      get: async (k, o) => (await node()).kv.get(k, o),
      delete: async (k, o) => (await node()).kv.delete(k, o),
      txn: async (req) => (await node()).kv.txn(req),
    },
    lease: {
      grant: async (ttl, o) => (await node()).lease.grant(ttl, o),
      revoke: async (id) => (await node()).lease.revoke(id),
    },
  };
}

/** Runs `clients` clients per initial member until `operations` calls were made. */
export async function runClients(
  ctx: SimContext,
  opts: { readonly clientsPerMember: number; readonly operations: number; readonly keys: number },
  stats: WorkloadStats,
  reads: SerializableRead[],
): Promise<void> {
  const all: Promise<void>[] = [];
  let id = 0;
  for (const i of ctx.initial) {
    for (let c = 0; c < opts.clientsPerMember; c++) {
      all.push(oneClient(ctx, i, id++, opts, stats, reads));
    }
  }
  await Promise.all(all);
}

async function oneClient(
  ctx: SimContext,
  member: number,
  id: number,
  opts: { readonly operations: number; readonly keys: number },
  stats: WorkloadStats,
  reads: SerializableRead[],
): Promise<void> {
  const rc = ctx.recorder.client(memberClient(ctx, member), id);
  const leases: bigint[] = [];
  const key = () => `k${ctx.rand(opts.keys)}`;
  let n = 0;
  const value = () => `c${id}-${n}`;
  while (stats.operations < opts.operations && !ctx.done) {
    // Do not start a call on a member that is down: it would only be recorded as ambiguous.
    const node = await reach(ctx, member);
    if (node === undefined) return;
    stats.operations++;
    n++;
    const r = ctx.rand(100);
    try {
      if (r < 30) await rc.put(key(), value(), { prevKv: ctx.rand(3) === 0 });
      else if (r < 48) await rc.get(key());
      else if (r < 58) {
        const k = key();
        const g = await node.kv.get(k, { serializable: true });
        stats.serializableReads++;
        reads.push({
          session: `${id}@${ctx.incarnation[member]}`,
          key: k,
          revision: g.header.revision,
          kv: g.kvs[0],
        });
      } else if (r < 66) await rc.delete(key(), { prevKv: ctx.rand(2) === 0 });
      else if (r < 82) {
        const k = key();
        const target = pick(ctx, ['VALUE', 'VERSION', 'MOD', 'CREATE'] as const);
        const compare: CompareInput =
          target === 'VALUE'
            ? { key: k, target, result: 'EQUAL', value: `c${ctx.rand(8)}-${ctx.rand(8)}` }
            : {
                key: k,
                target,
                result: pick(ctx, ['EQUAL', 'GREATER', 'LESS'] as const),
                operand: ctx.rand(target === 'VERSION' ? 4 : 40),
              };
        const other = key();
        await rc.txn({
          compare: [compare],
          success:
            other === k
              ? [{ type: 'put', key: k, value: value() }]
              : [
                  { type: 'put', key: k, value: value() },
                  { type: 'delete', key: other },
                ],
          failure: [{ type: 'get', key: k }],
        });
      } else if (r < 90 || leases.length === 0) {
        const g = await rc.leaseGrant(RECORDED_LEASE_TTL);
        leases.push(g.id);
        await rc.put(key(), value(), { lease: g.id });
      } else {
        const l = leases.splice(ctx.rand(leases.length), 1)[0]!;
        await rc.leaseRevoke(l);
      }
    } catch {
      // Recorded as ambiguous (or a definite error); carry on.
    }
  }
}

/**
 * Holds a KEEPER_TTL lease with a key attached, renewing it every second on member `member`, and
 * probes the key with linearizable gets. The key may vanish only if no keep-alive was
 * acknowledged in time: if it is gone at time t, the last acknowledged keep-alive must have been
 * sent more than TTL (less the drift margin and any clock jumps since) before t.
 */
export async function runKeeper(
  ctx: SimContext,
  member: number,
  clientId: number,
  stats: WorkloadStats,
): Promise<void> {
  const rc: RecordingClient = ctx.recorder.client(memberClient(ctx, member), clientId);
  let expiries = 0;
  const key = `lease-key-${member}`;
  let current: bigint | undefined;
  while (!ctx.done) {
    const id = ctx.recorder.newLeaseId();
    current = id;
    let lastAck: number;
    try {
      const sent = ctx.cluster.clock.now();
      await rc.leaseGrant(KEEPER_TTL, id);
      lastAck = sent;
      // The lease may expire at any moment from now on: an ambiguous revoke, for the checker.
      void ctx.recorder
        .record(
          100_000 + clientId * 1_000 + expiries++,
          { type: 'leaseRevoke', id },
          () => Promise.reject(new Error('expiry')),
          () => ({ type: 'leaseRevoke', revision: 0 }),
        )
        .catch(() => undefined);
      await rc.put(key, `${id}`, { lease: id });
    } catch {
      await sleep(ctx, 200);
      continue;
    }
    while (!ctx.done) {
      await sleep(ctx, 1_000);
      const node = await reach(ctx, member);
      if (node === undefined) return;
      try {
        const sent = ctx.cluster.clock.now();
        const r = await node.lease.keepAliveOnce(id);
        if (r.ttl > 0) {
          lastAck = sent;
          stats.keepAlives++;
        }
      } catch {
        // not acknowledged
      }
      let present: boolean;
      try {
        const g = await rc.get(key);
        present = g.kvs.some((kv) => text(kv.value) === `${id}`);
      } catch {
        continue;
      }
      if (present) continue;
      stats.leaseExpiries++;
      const now = ctx.cluster.clock.now();
      const jumped = ctx.clockJumps.filter((j) => j.at >= lastAck - 1).reduce((s, j) => s + j.ms, 0);
      const earliest = lastAck + KEEPER_TTL * 1_000 * (1 - DRIFT_MARGIN) - jumped;
      if (now < earliest) {
        ctx.violations.push(
          `lease ${id} expired by ${now} ms although a keep-alive sent at ${lastAck} ms was acknowledged (TTL ${KEEPER_TTL} s, clock jumps ${jumped} ms)`,
        );
      }
      break;
    }
  }
  // Revoke the last lease (recorded), so it does not expire after the run settled: the final
  // checks compare every member at one revision. Lease not found (it expired) is an answer too.
  for (let tries = 0; current !== undefined && tries < 20; tries++) {
    const ok = await rc.leaseRevoke(current).then(
      () => true,
      (err: unknown) => (err as { code?: unknown }).code === 'ErrLeaseNotFound',
    );
    if (ok) break;
    await sleep(ctx, 200);
  }
}
