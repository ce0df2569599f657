/**
 * The demo's script: a 3-member cluster in this process (createTestCluster on the in-memory
 * network, running on the system clock — real time, so leases really expire), where each member
 * stands for one service process that embeds it:
 *   1. instances api-1, api-2, api-3 register through their own member's ServiceRegistry, each
 *      under a lease of TTL_SECONDS kept alive while the instance runs;
 *   2. a gateway (on member n1) discovers the service as a live view and routes requests over it;
 *   3. api-3's process dies — its member crashes with it, so nobody renews its lease;
 *   4. the raft leader expires the lease, deletes the key, and the gateway's view drops api-3;
 *   5. check: the gateway saw all three arrive, then exactly api-3 leave, no sooner than the
 *      lease allowed, and routes only to the two live instances.
 * Not here: health checks — the view is the registry's membership, kept by leases.
 */

import { type ServiceInstance, ServiceRegistry, systemClock } from '@tsetcd/core';
import { createTestCluster } from '@tsetcd/core/testing';

/** Lease TTL of a registration, seconds (the cluster's minimum). */
const TTL_SECONDS = 2;
/** Any single step of the script may take this long before the demo declares itself failed. */
const STEP_DEADLINE_MS = 15_000;
const SERVICE = 'api';

/** Where the demo's narrative goes. */
export type Logger = (line: string) => void;

/** What happened, for main.ts's exit code and for the test. */
export interface DemoResult {
  readonly ok: boolean;
  /** Instances the gateway saw added / removed, in order. */
  readonly added: readonly string[];
  readonly removed: readonly string[];
  /** ms from the crash of api-3's process to its removal from the gateway's view. */
  readonly removedAfterMs: number;
  /** The gateway's view at the end. */
  readonly final: readonly string[];
}

const text = (b: Uint8Array) => new TextDecoder().decode(b);

/** Polls `cond` every 20 ms until it holds, or fails after STEP_DEADLINE_MS. */
async function until(what: string, cond: () => boolean): Promise<void> {
  const limit = Date.now() + STEP_DEADLINE_MS;
  while (!cond()) {
    if (Date.now() > limit) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Runs the script of the file comment; always stops the cluster. */
export async function runDemo(log: Logger): Promise<DemoResult> {
  const cluster = await createTestCluster({ nodes: 3, clock: systemClock });
  const registries: ServiceRegistry[] = [];
  try {
    const leader = await cluster.waitForLeader();
    log(
      `3 members in one process (${cluster.names.join(', ')}); ${cluster.names[cluster.indexOf(leader)]} leads`,
    );

    // 2. (first, so it sees the instances arrive)
    const gateway = new ServiceRegistry(cluster.node(0).client);
    registries.push(gateway);
    const view = await gateway.discover(SERVICE);
    const added: string[] = [];
    const removed: string[] = [];
    let removedAt = 0;
    view.on('added', (i: ServiceInstance) => {
      added.push(i.instanceId);
      log(`gateway: + ${i.instanceId} at ${text(i.value)} (lease ${i.lease.toString(16)})`);
    });
    view.on('removed', (i: ServiceInstance) => {
      removed.push(i.instanceId);
      removedAt = Date.now();
      log(`gateway: - ${i.instanceId}`);
    });
    let turn = 0;
    const route = () => {
      const live = [...view.instances().values()].sort((a, b) => a.instanceId.localeCompare(b.instanceId));
      return Array.from({ length: 6 }, () => live[turn++ % live.length]?.instanceId ?? 'none');
    };

    // 1.
    for (let i = 0; i < 3; i++) {
      const registry = new ServiceRegistry(cluster.node(i).client);
      registries.push(registry);
      await registry.register(SERVICE, `api-${i + 1}`, `10.0.0.${i + 1}:8080`, { ttl: TTL_SECONDS });
    }
    await until('three instances in the view', () => view.instances().size === 3);
    log(`gateway routes 6 requests to: ${route().join(', ')}`);

    // 3.
    const crashedAt = Date.now();
    await cluster.crash(2);
    log(`api-3's process dies (member ${cluster.names[2]} with it); its lease is no longer renewed`);

    // 4.
    await until('api-3 to leave the view', () => !view.instances().has('api-3'));
    const removedAfterMs = removedAt - crashedAt;
    log(`api-3's lease expired: gone from the view ${(removedAfterMs / 1000).toFixed(1)} s after it died`);
    log(`gateway routes 6 requests to: ${route().join(', ')}`);

    // 5.
    const final = [...view.instances().keys()].sort();
    const ok =
      added.join() === 'api-1,api-2,api-3' &&
      removed.join() === 'api-3' &&
      final.join() === 'api-1,api-2' &&
      removedAfterMs >= (TTL_SECONDS * 1000 * 2) / 3;
    log(ok ? '✓ the view follows the live instances' : `✗ unexpected view: ${final.join(', ')}`);
    return { ok, added, removed, removedAfterMs, final };
  } finally {
    for (const r of registries) await r.close().catch(() => undefined);
    await cluster.close();
  }
}
