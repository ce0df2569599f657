/**
 * randomFaults: a seeded schedule of network faults for a TestCluster — the leader or a random
 * member isolated, or one member partitioned from the rest, for a while, then healed — until a
 * time on the cluster's clock. What the recipes' safety tests run their contenders under; a test
 * replays the same faults from the same seed.
 */

import type { RandomSource } from '@tsetcd/raft';
import type { TestCluster } from './test-cluster.js';

/** Options of randomFaults. */
export interface RandomFaultsOptions {
  /** Stop injecting at this time on the cluster's clock (ms). */
  readonly until: number;
  /** The seeded source of every choice (e.g. raft's `seededRandom(seed)`). */
  readonly rand: RandomSource;
  /** Ms between faults: a random value below this, plus 300. Default 1,200. */
  readonly gapMs?: number;
  /** Ms a fault lasts: a random value below this, plus 200. Default 3,500 (longer than short TTLs). */
  readonly durationMs?: number;
}

/** Injects faults into a running cluster of at least 3 members until `until`; see the file comment. */
export async function randomFaults(c: TestCluster, opts: RandomFaultsOptions): Promise<void> {
  const { rand } = opts;
  const n = c.members.length;
  while (c.clock.now() < opts.until) {
    await c.sleep(300 + rand(opts.gapMs ?? 1_200));
    const leader = c.leader();
    const pick = rand(4);
    if (pick === 0 && leader !== undefined) c.isolate(c.indexOf(leader));
    else if (pick === 1) c.isolate(rand(n));
    else if (pick === 2) {
      const lone = rand(n);
      c.partition(
        [lone],
        Array.from({ length: n }, (_, i) => i).filter((x) => x !== lone),
      );
    }
    await c.sleep(200 + rand(opts.durationMs ?? 3_500));
    c.heal();
  }
}
