/**
 * Keeps the benchmark honest: its cluster elects node 1, commits what the client proposes, and
 * every node applies the same log — including across the storage compactions a long run makes.
 */

import { describe, expect, it } from 'vitest';
import { BENCH_SNAPSHOT_EVERY, BenchCluster } from './cluster.js';

describe('BenchCluster', () => {
  it('commits and applies every proposal on all three nodes', () => {
    const c = new BenchCluster();
    c.electLeader();
    const payload = new Uint8Array(256);
    const total = BENCH_SNAPSHOT_EVERY + 1_000;
    let applied = 0;
    for (let made = 0; made < total || !c.idle(); ) {
      for (let i = 0; i < 512 && made < total; i++, made++) c.propose(payload);
      applied += c.round();
    }
    expect(applied).toBe(total);
    // Index 1 is the leader's empty entry.
    expect(c.appliedIndexes()).toEqual([total + 1, total + 1, total + 1]);
  });
});
