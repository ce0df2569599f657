/**
 * Regression record: every bug a test, the simulator or a review found, pinned as a scenario that
 * reproduced it, kept forever. Each test names what went wrong and how it was found.
 */

import { describe, expect, it } from 'vitest';
import { MemoryStorage } from '../memory-storage.js';
import type { Message } from '../messages.js';
import { RawNode } from '../raw-node.js';
import type { ConfChange, ConfState, Entry, Index, Term } from '../types.js';

const t = (n: number) => n as Term;
const i = (n: number) => n as Index;

function persist(s: MemoryStorage, node: RawNode) {
  const rd = node.ready();
  if (rd.snapshot) s.applySnapshot(rd.snapshot);
  s.append(rd.entries);
  if (rd.hardState) s.setHardState(rd.hardState);
  return rd;
}

describe('regressions', () => {
  it('a snapshot arriving while handed-out committed entries are being applied is not restored under them', () => {
    // Found by the cluster simulator (seed batches 301–375, 526–600): a follower's Ready carried a
    // committed enter-joint ConfChange; before the host applied it, a MsgSnap whose ConfState already
    // contained that change arrived and was restored, switching the tracker to the joint config.
    // The host then applied the entry as the Ready contract says, and enterJoint threw
    // "config is already joint" on a committed entry.
    const storage = new MemoryStorage({ voters: [1n, 2n, 3n] });
    const follower = new RawNode({ id: 2n, storage });
    const joint: ConfChange = {
      transition: 'implicit',
      changes: [{ type: 'ConfChangeAddNode', nodeId: 4n }],
      context: new Uint8Array(),
    };
    const ents: Entry[] = [
      { type: 'EntryNormal', term: t(1), index: i(1), data: new Uint8Array() },
      { type: 'EntryConfChange', term: t(1), index: i(2), change: joint },
    ];
    const app: Message = {
      type: 'MsgApp',
      from: 1n,
      to: 2n,
      term: t(1),
      index: i(0),
      logTerm: t(0),
      entries: ents,
      commit: i(2),
    };
    follower.step(app);
    persist(storage, follower);
    follower.advance();

    const rd = persist(storage, follower);
    expect(rd.committedEntries.map((e) => e.index)).toEqual([1, 2]);

    // The leader compacted and sends a snapshot that already includes the joint configuration.
    const cs: ConfState = {
      voters: [1n, 2n, 3n, 4n],
      learners: [],
      votersOutgoing: [1n, 2n, 3n],
      learnersNext: [],
      autoLeave: true,
    };
    const snap: Message = {
      type: 'MsgSnap',
      from: 1n,
      to: 2n,
      term: t(1),
      snapshot: { metadata: { index: i(5), term: t(1), confState: cs }, data: new Uint8Array() },
    };
    follower.step(snap);
    // The host applies what it was handed: this must not throw.
    expect(() => follower.applyConfChange(joint)).not.toThrow();
    follower.advance();
    expect(follower.status().confState.votersOutgoing).toEqual([1n, 2n, 3n]);
    expect(follower.status().applied).toBe(2);

    // Once nothing is being applied, the same snapshot is accepted.
    follower.step(snap);
    const rd2 = persist(storage, follower);
    expect(rd2.snapshot?.metadata.index).toBe(5);
    follower.advance();
    expect(follower.status().applied).toBe(5);
  });

  it('a leader of an older term is told the newer term even without checkQuorum or preVote', () => {
    // Found by the cluster simulator (seed 3020 of a 12,000-seed scan, both options off): node 3,
    // cut off while the others replaced members, campaigned up to a high term with an outdated
    // membership, so its MsgVote never reached the real members. It ignored the lower-term leader's
    // heartbeats without answering (as etcd does when neither option is on), so that leader never
    // learned the newer term, never stepped down, and node 3 never caught up: no progress, forever.
    // Raft §5.1: a node receiving a request with a stale term rejects it and replies with its term.
    const storage = new MemoryStorage({ voters: [1n, 2n, 3n] });
    storage.setHardState({ term: t(9), vote: 3n, commit: i(0) });
    const stuck = new RawNode({ id: 3n, storage });
    stuck.step({
      type: 'MsgHeartbeat',
      from: 1n,
      to: 3n,
      term: t(2),
      commit: i(0),
      context: new Uint8Array(),
    });
    const rd = stuck.ready();
    const replies = [...rd.messages, ...rd.persistedMessages];
    expect(replies).toHaveLength(1);
    expect(replies[0]).toMatchObject({ type: 'MsgAppResp', from: 3n, to: 1n, term: 9, reject: true });
  });
});
