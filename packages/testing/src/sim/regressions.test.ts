/**
 * The simulator's track record: every bug it found, pinned to a seed that reproduces it with the
 * fix reverted (checked when pinned), kept forever; each also has a focused test next to its fix.
 * A seed replays exactly: `pnpm soak --from <seed> --runs 1 --trace`. A seed stops reproducing
 * when the simulator's own choices change: the pins were re-checked against the current simulator,
 * and where none of seeds 1–150 reproduces a bug any more the focused test is the record (the
 * snapshot race of seed 87: core/src/node/snapshotter.test.ts; the deposed leader revoking a
 * lease, seed 66: core/src/testing/lease-deposed-leader.test.ts).
 */

import { describe, expect, it } from 'vitest';
import { runSimulation } from './run.js';

/** Seed → the bug it revealed, and the commit subject of the fix. */
const FOUND: readonly { readonly seed: number; readonly nodes: number; readonly bug: string }[] = [
  {
    seed: 3,
    nodes: 3,
    bug: 'a follower that received a snapshot and later made its own could not restart (WalGapError in WAL replay; first seen on seeds 10, 12); a duplicated forwarded proposal was applied twice (seeds 23, 32, 34, 35)',
  },
  {
    seed: 22,
    nodes: 3,
    bug: 'a snapshot image ran ahead of its metadata; the follower that installed it could not restart',
  },
  {
    seed: 30,
    nodes: 3,
    bug: "a crash kept a snapshot's WAL marker but not the hard state after it: raft refused the restart (also seed 46)",
  },
  {
    seed: 5000,
    nodes: 3,
    bug: 'a member paused across a member-add never caught up once the added member led: it could not answer a leader it did not know (with commit-index-only hard states no longer written by themselves)',
  },
];

describe('bugs the whole-node simulator found stay fixed', () => {
  for (const f of FOUND) {
    it(`seed ${f.seed} (${f.nodes} members): ${f.bug}`, async () => {
      const r = await runSimulation({ seed: f.seed, nodes: f.nodes, operations: 1_000 });
      expect(r.violations).toEqual([]);
      expect(r.linearizable).toBe('ok');
    });
  }
});
