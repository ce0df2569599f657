/**
 * A lease revocation for expiry that a renewal overtook is void on every replica, across restarts
 * — found by the whole-node simulator (seed 5658): a follower acknowledged a keep-alive whose
 * renewal was in the log, unapplied, when the leader decided the lease had expired; the lease was
 * revoked a second later.
 */

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createNode } from './create-node.js';
import type { TsetcdNode } from './node.js';
import { encodeRequest, type ReplicatedRequest } from './request.js';

let counter = 1;
const raw = (req: ReplicatedRequest) => encodeRequest({ proposer: 9, counter: counter++, req });

/** Commits `req` as its own entry and returns that entry's index. */
async function commit(n: TsetcdNode, req: ReplicatedRequest): Promise<number> {
  n.parts.raft.propose(raw(req));
  await n.parts.loop.kick();
  const index = n.parts.raft.status().lastIndex;
  await n.parts.applied.wait(index);
  return index;
}

const LEASE = 42n;

async function leaseExists(n: TsetcdNode): Promise<boolean> {
  return (await n.lease.leases()).leases.includes(LEASE);
}

describe('an expiry revocation and a renewal it did not see', () => {
  it('is void when the renewal was applied after the index the leader decided at', async () => {
    const n = await createNode({ name: 'solo' });
    try {
      await commit(n, { op: 'leaseGrant', id: LEASE, ttl: 5 });
      const decidedAt = n.parts.applied.applied;
      await commit(n, { op: 'leaseRenew', id: LEASE }); // in the log when the leader decided
      const term = n.parts.raft.term;
      await commit(n, { op: 'leaseRevoke', id: LEASE, expiredInTerm: term, decidedAt });
      expect(await leaseExists(n)).toBe(true);
    } finally {
      await n.close();
    }
  });

  it('applies when no renewal came after the decision, and a plain revoke always applies', async () => {
    const n = await createNode({ name: 'solo' });
    try {
      await commit(n, { op: 'leaseGrant', id: LEASE, ttl: 5 });
      await commit(n, { op: 'leaseRenew', id: LEASE });
      const term = n.parts.raft.term;
      await commit(n, {
        op: 'leaseRevoke',
        id: LEASE,
        expiredInTerm: term,
        decidedAt: n.parts.applied.applied,
      });
      expect(await leaseExists(n)).toBe(false);

      await commit(n, { op: 'leaseGrant', id: LEASE, ttl: 5 });
      const before = n.parts.applied.applied;
      await commit(n, { op: 'leaseRenew', id: LEASE });
      await commit(n, { op: 'leaseRevoke', id: LEASE, decidedAt: before }); // a client's revoke
      expect(await leaseExists(n)).toBe(false);
    } finally {
      await n.close();
    }
  });

  it('decides the same after a restart: the renewal index is kept with the store', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tsetcd-renewals-'));
    try {
      let n = await createNode({ name: 'solo', dataDir: dir });
      await commit(n, { op: 'leaseGrant', id: LEASE, ttl: 60 });
      const decidedAt = n.parts.applied.applied;
      await commit(n, { op: 'leaseRenew', id: LEASE });
      await n.close();
      n = await createNode({ name: 'solo', dataDir: dir });
      try {
        await n.parts.applied.wait(decidedAt + 1);
        const term = n.parts.raft.term;
        await commit(n, { op: 'leaseRevoke', id: LEASE, expiredInTerm: term, decidedAt });
        expect(await leaseExists(n)).toBe(true);
      } finally {
        await n.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
