/**
 * Scenario tests for what Raft grew beyond the paper (Ongaro's thesis and etcd-io/raft): pre-vote,
 * check-quorum, lease and ReadIndex reads, leader transfer, proposal limits, snapshots, membership
 * changes, bootstrap, the Ready contract and crash/restart. Each test is init / act / check on a
 * small test network (network.ts) whose hosts honour the Ready contract.
 */

import { describe, expect, it } from 'vitest';
import { describeConfState, describeEntry } from '../describe.js';
import { InvalidConfigError, ProposalDroppedError, ReadyProtocolError } from '../errors.js';
import { MemoryStorage } from '../memory-storage.js';
import type { Message } from '../messages.js';
import { seededRandom } from '../rand.js';
import { RawNode } from '../raw-node.js';
import {
  asIndex,
  asTerm,
  type ConfChange,
  type ConfChangeSingle,
  type ConfChangeTransition,
  NONE,
  type NodeId,
} from '../types.js';
import { bytes, createNetwork, type Network, ofType } from './network.js';

const ELECTION_TICK = 10;

function addVoter(nodeId: NodeId): ConfChangeSingle {
  return { type: 'ConfChangeAddNode', nodeId };
}

function addLearner(nodeId: NodeId): ConfChangeSingle {
  return { type: 'ConfChangeAddLearnerNode', nodeId };
}

function remove(nodeId: NodeId): ConfChangeSingle {
  return { type: 'ConfChangeRemoveNode', nodeId };
}

function cc(changes: readonly ConfChangeSingle[], transition: ConfChangeTransition = 'auto'): ConfChange {
  return { transition, changes, context: new Uint8Array(0) };
}

/** The error `fn` throws (failing the test if it throws nothing). */
function thrownBy(fn: () => void): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('expected an error, none was thrown');
}

function expectDropped(fn: () => void, reason: ProposalDroppedError['reason']): void {
  const err = thrownBy(fn);
  expect(err).toBeInstanceOf(ProposalDroppedError);
  expect(err).toMatchObject({
    reason,
    code: 'ErrProposalDropped',
    message: `raft proposal dropped: ${reason}`,
  });
}

/** The configuration `id` is in, in etcd's notation. */
function conf(n: Network, id: NodeId): string {
  return describeConfState(n.node(id).status().confState);
}

/** What leader `lead` knows about `id`'s replication. */
function progress(n: Network, lead: NodeId, id: NodeId) {
  const pr = n.node(lead).status().progress.get(id);
  if (pr === undefined) throw new Error(`${lead} tracks no progress for ${id}`);
  return pr;
}

function voteResp(from: NodeId, to: NodeId, term: number): Message {
  return { type: 'MsgVoteResp', from, to, term: asTerm(term), reject: false };
}

describe('pre-vote (thesis §9.6)', () => {
  it('a partitioned node that rejoins does not bump any term or disrupt the leader', () => {
    // init: the cluster moves on while 3 is cut off and keeps timing out.
    const n = createNetwork({ config: { preVote: true } });
    const term = n.elect(1n);
    n.isolate(3n);
    n.propose(1n, 'a');
    n.tick(3n, 10 * ELECTION_TICK);
    n.stabilize();
    expect(n.node(3n).term).toBe(term);
    // act
    n.recover();
    n.elapse(3 * ELECTION_TICK);
    // check
    expect(n.leaders()).toEqual([1n]);
    for (const id of [1n, 2n, 3n]) expect(n.node(id).term).toBe(term);
    expect(n.node(3n).lead).toBe(1n);
    expect(n.node(3n).applied).toEqual(['a']);
    // Reference: thesis §9.6
  });

  it('without pre-vote, the same rejoining node forces an election in a higher term', () => {
    // init
    const n = createNetwork({ config: { preVote: false } });
    const term = n.elect(1n);
    n.isolate(3n);
    n.propose(1n, 'a');
    n.tick(3n, 10 * ELECTION_TICK);
    n.stabilize();
    const partitionedTerm = n.node(3n).term;
    expect(partitionedTerm).toBeGreaterThan(term);
    // act
    n.recover();
    n.elapse(3 * ELECTION_TICK);
    // check: the cluster had to move past the term 3 reached on its own.
    for (const id of [1n, 2n, 3n]) expect(n.node(id).term).toBeGreaterThan(partitionedTerm);
    // Reference: thesis §9.6
  });

  it('a pre-vote round changes no term and no vote; only the real election that follows does', () => {
    // init
    const n = createNetwork({ config: { preVote: true } });
    // act: 1 asks for pre-votes; the answers are lost.
    n.raw(1n).campaign();
    const rd = n.retrieve(1n);
    // check: nothing to persist, and the pre-votes may go out at once.
    expect(rd.softState?.raftState).toBe('StatePreCandidate');
    expect(rd.hardState).toBeUndefined();
    expect(ofType(rd.messages, 'MsgPreVote')).toMatchObject([
      { to: 2n, term: 1 },
      { to: 3n, term: 1 },
    ]);
    n.persist(1n, rd);
    n.complete(1n, rd);
    n.drop('MsgPreVoteResp');
    n.stabilize();
    expect(ofType(n.dropped, 'MsgPreVoteResp')).toMatchObject([{ reject: false }, { reject: false }]);
    for (const id of [1n, 2n, 3n]) expect(n.persistedHardState(id)).toMatchObject({ term: 0, vote: NONE });
    // act: the next attempt wins; the real election is in term 1, not 2.
    n.recover();
    expect(n.elect(1n)).toBe(1);
    // Reference: thesis §9.6
  });
});

describe('check-quorum (thesis §6.2)', () => {
  it('a leader that stops hearing from a quorum steps down within two election timeouts', () => {
    // init
    const n = createNetwork({ config: { checkQuorum: true } });
    n.elect(1n);
    n.elapse(3 * ELECTION_TICK);
    expect(n.leaders()).toEqual([1n]);
    // act
    n.isolate(1n);
    n.tick(1n, 2 * ELECTION_TICK);
    n.stabilize();
    // check
    expect(n.node(1n).status().softState).toEqual({ lead: NONE, raftState: 'StateFollower' });
    expectDropped(() => n.raw(1n).propose(bytes('x')), 'no leader');
    // Reference: thesis §6.2
  });

  it('followers that heard from their leader within an election timeout ignore a disruptive candidate', () => {
    // init
    const n = createNetwork({ config: { checkQuorum: true } });
    const term = n.elect(1n);
    // act: 3 forces an election although the leader is alive.
    n.raw(3n).campaign();
    n.stabilize();
    // check: nobody answers, nobody changes term.
    expect(ofType(n.sent, 'MsgVote').filter((m) => m.from === 3n)).toHaveLength(2);
    expect(ofType(n.sent, 'MsgVoteResp').filter((m) => m.to === 3n)).toEqual([]);
    expect(n.leaders()).toEqual([1n]);
    expect([n.node(1n).term, n.node(2n).term, n.node(3n).term]).toEqual([term, term, term + 1]);
    // Reference: thesis §4.2.3
  });

  it('a stale leader cut off by a partition is told the new term by the first follower it reaches', () => {
    // init: 2 and 3 elect a new leader while 1 is cut off (and its clock stands still).
    const n = createNetwork({ config: { checkQuorum: true } });
    const term = n.elect(1n);
    n.isolate(1n);
    for (let i = 0; i < 3 * ELECTION_TICK && n.leaders().length < 2; i++) {
      n.tick(2n);
      n.tick(3n);
      n.stabilize();
    }
    const [newLeader] = n.leaders().filter((id) => id !== 1n);
    expect(newLeader).toBeDefined();
    expect(n.node(newLeader!).term).toBe(term + 1);
    // act: the partition heals and 1 sends a heartbeat of its old term.
    n.recover();
    n.tick(1n);
    n.stabilize();
    // check
    expect(
      ofType(n.sent, 'MsgAppResp').filter((m) => m.to === 1n && m.term === term + 1).length,
    ).toBeGreaterThan(0);
    expect(n.node(1n).state).toBe('StateFollower');
    expect(n.node(1n).term).toBe(term + 1);
    n.elapse(1);
    expect(n.leaders()).toEqual([newLeader]);
    expect(n.node(1n).lead).toBe(newLeader);
    // Reference: thesis §6.2
  });
});

describe('reads (thesis §6.4)', () => {
  it('lease-based reads need check-quorum: the lease is only as good as the leader stepping down', () => {
    // init / act
    const err = thrownBy(
      () => new RawNode({ id: 1n, storage: new MemoryStorage(), readOnlyOption: 'ReadOnlyLeaseBased' }),
    );
    // check
    expect(err).toBeInstanceOf(InvalidConfigError);
    // Reference: thesis §6.4.1
  });

  it('with ReadOnlyLeaseBased and check-quorum, the leader answers at its commit index at once, without a heartbeat round', () => {
    // init
    const n = createNetwork({ config: { checkQuorum: true, readOnlyOption: 'ReadOnlyLeaseBased' } });
    n.elect(1n);
    n.propose(1n, 'a');
    const before = n.sent.length;
    // act
    n.raw(1n).readIndex(bytes('r1'));
    n.processReady(1n);
    // check
    expect(n.node(1n).readStates).toEqual([{ index: 2, requestCtx: bytes('r1') }]);
    expect(n.sent.slice(before)).toEqual([]);
    // act: a follower's read is answered by the leader in one round trip.
    n.raw(2n).readIndex(bytes('r2'));
    n.stabilize();
    // check
    expect(n.node(2n).readStates).toEqual([{ index: 2, requestCtx: bytes('r2') }]);
    expect(ofType(n.sent.slice(before), 'MsgHeartbeat')).toEqual([]);
    // Reference: thesis §6.4.1
  });

  it('with ReadOnlySafe, the read index is the commit index at request time, released only after a heartbeat round', () => {
    // init
    const n = createNetwork();
    n.elect(1n);
    n.propose(1n, 'a');
    n.drop('MsgHeartbeatResp');
    // act: a read at commit index 2; the heartbeat round cannot complete.
    n.raw(1n).readIndex(bytes('r1'));
    n.stabilize();
    // check
    expect(
      ofType(n.sent, 'MsgHeartbeat')
        .filter((m) => m.context.length > 0)
        .map((m) => m.to),
    ).toEqual([2n, 3n]);
    expect(n.node(1n).readStates).toEqual([]);
    // act: the log moves on, then the round completes.
    n.propose(1n, 'b');
    expect(n.node(1n).status().committed).toBe(3);
    n.recover();
    n.tick(1n);
    n.stabilize();
    // check
    expect(n.node(1n).readStates).toEqual([{ index: 2, requestCtx: bytes('r1') }]);
    // Reference: thesis §6.4
  });

  it('a new leader defers reads until it has committed an entry of its own term', () => {
    // init: 2 wins term 2 but its no-op is not acknowledged yet.
    const n = createNetwork();
    n.elect(1n);
    n.propose(1n, 'a');
    n.drop('MsgAppResp');
    n.elect(2n);
    expect(n.node(2n).status().committed).toBe(2);
    const before = n.sent.length;
    // act
    n.raw(2n).readIndex(bytes('r'));
    n.stabilize();
    // check: it does not even start a heartbeat round for it.
    expect(n.node(2n).readStates).toEqual([]);
    expect(ofType(n.sent.slice(before), 'MsgHeartbeat')).toEqual([]);
    // act: the no-op commits.
    n.recover();
    n.tick(2n);
    n.stabilize();
    // check
    expect(n.node(2n).status().committed).toBe(3);
    expect(n.node(2n).readStates).toEqual([{ index: 3, requestCtx: bytes('r') }]);
    // Reference: thesis §6.4
  });

  it('localReadIndex: only the leader of a single-voter cluster that committed in its term reads without a round', () => {
    // init
    const solo = createNetwork({ voters: [1n] });
    expect(solo.raw(1n).localReadIndex()).toBeUndefined(); // not leader yet
    solo.elect(1n);
    solo.propose(1n, 'a');
    // check: the same index raft's own ReadIndex would answer
    expect(solo.raw(1n).localReadIndex()).toBe(solo.node(1n).status().committed);
    solo.raw(1n).readIndex(bytes('r'));
    solo.stabilize();
    expect(solo.node(1n).readStates).toEqual([{ index: 2, requestCtx: bytes('r') }]);
    // check: with three voters a round is needed, even on the leader
    const trio = createNetwork();
    trio.elect(1n);
    expect(trio.raw(1n).localReadIndex()).toBeUndefined();
    expect(trio.raw(2n).localReadIndex()).toBeUndefined();
  });

  it("a follower's read is forwarded to the leader and answered with the leader's read index", () => {
    // init
    const n = createNetwork();
    n.elect(1n);
    n.propose(1n, 'a');
    // act
    n.raw(2n).readIndex(bytes('f'));
    n.stabilize();
    // check
    expect(ofType(n.sent, 'MsgReadIndex')).toMatchObject([{ from: 2n, to: 1n, context: bytes('f') }]);
    expect(ofType(n.sent, 'MsgReadIndexResp')).toMatchObject([{ from: 1n, to: 2n, index: 2 }]);
    expect(n.node(2n).readStates).toEqual([{ index: 2, requestCtx: bytes('f') }]);
    expect(n.node(1n).readStates).toEqual([]);
    // Reference: thesis §6.4
  });

  describe('forwarderAcksReadIndex: the forwarding follower counts as acknowledging leadership', () => {
    const acking = { config: { forwarderAcksReadIndex: true } } as const;

    /** A cluster led by 1 that has committed one entry of its term (index 2): reads answer at 2. */
    function ledWithOneEntry(opts: Parameters<typeof createNetwork>[0]): Network {
      const n = createNetwork(opts);
      n.elect(1n);
      n.propose(1n, 'a');
      return n;
    }

    /** `reader` asks for a read; the message types sent until the network settles, and its read states. */
    function readOn(opts: Parameters<typeof createNetwork>[0], reader: NodeId) {
      const n = ledWithOneEntry(opts);
      const from = n.sent.length;
      n.raw(reader).readIndex(bytes('r'));
      n.stabilize();
      const types = n.sent.slice(from).map((m) => m.type);
      return {
        types,
        heartbeats: types.filter((t) => t === 'MsgHeartbeat').length,
        states: n.node(reader).readStates,
      };
    }

    const answeredAt2 = [{ index: 2, requestCtx: bytes('r') }];

    it("with three voters, a follower's read is answered with one message each way, no heartbeat round", () => {
      const r = readOn(acking, 2n);
      expect(r.types).toEqual(['MsgReadIndex', 'MsgReadIndexResp']);
      expect(r.states).toEqual(answeredAt2);
    });

    it('without the option (the default) the same read waits for a heartbeat round', () => {
      const r = readOn({}, 2n);
      expect(r.heartbeats).toBe(2);
      expect(r.states).toEqual(answeredAt2);
    });

    it('with five voters the leader and the forwarder are no quorum: the round still happens', () => {
      const r = readOn({ ...acking, voters: [1n, 2n, 3n, 4n, 5n] }, 2n);
      expect(r.heartbeats).toBe(4);
      expect(r.states).toEqual(answeredAt2);
    });

    it("a learner's forwarded read is no acknowledgement: the round still happens", () => {
      const r = readOn({ ...acking, learners: [4n] }, 4n);
      expect(r.heartbeats).toBe(3);
      expect(r.states).toEqual(answeredAt2);
    });

    it('answers only the forwarded read: one the leader queued before it still needs its own round', () => {
      // init: the leader's own read is queued, and its heartbeat round is lost.
      const n = ledWithOneEntry(acking);
      n.drop('MsgHeartbeatResp');
      n.raw(1n).readIndex(bytes('mine'));
      n.stabilize();
      // act
      n.raw(2n).readIndex(bytes('f'));
      n.stabilize();
      // check: the follower's read is answered; the leader's is not, until a round confirms it.
      expect(n.node(2n).readStates).toEqual([{ index: 2, requestCtx: bytes('f') }]);
      expect(n.node(1n).readStates).toEqual([]);
      n.recover();
      n.elapse(1);
      expect(n.node(1n).readStates).toEqual([{ index: 2, requestCtx: bytes('mine') }]);
    });
  });

  it('a read on a node that knows no leader is dropped with "no leader"', () => {
    // init
    const n = createNetwork();
    // act / check
    expectDropped(() => n.raw(2n).readIndex(bytes('r')), 'no leader');
    // Reference: thesis §6.4
  });
});

describe('leader transfer (thesis §3.10)', () => {
  it('to an up-to-date follower: TimeoutNow, and it is elected at once, its transfer flag overriding leases', () => {
    // init: with check-quorum, 3 would ignore an ordinary candidate while 1 leads.
    const n = createNetwork({ config: { checkQuorum: true } });
    const term = n.elect(1n);
    // act
    n.raw(1n).transferLeader(2n);
    n.stabilize();
    // check
    expect(ofType(n.sent, 'MsgTimeoutNow')).toMatchObject([{ from: 1n, to: 2n }]);
    expect(ofType(n.sent, 'MsgVote').filter((m) => m.from === 2n)).toMatchObject([
      { to: 1n, term: term + 1, transfer: true },
      { to: 3n, term: term + 1, transfer: true },
    ]);
    expect(n.leaders()).toEqual([2n]);
    expect(n.node(3n).lead).toBe(2n);
    expect(n.node(2n).term).toBe(term + 1);
    // Reference: thesis §3.10
  });

  it('a transfer requested on a follower is forwarded to the leader', () => {
    // init
    const n = createNetwork();
    n.elect(1n);
    // act
    n.raw(3n).transferLeader(3n);
    n.stabilize();
    // check
    expect(ofType(n.sent, 'MsgTransferLeader')).toMatchObject([{ from: 3n, to: 1n, transferee: 3n }]);
    expect(n.leaders()).toEqual([3n]);
    // Reference: thesis §3.10
  });

  it('to a lagging follower: the leader first brings its log up to date, then sends TimeoutNow', () => {
    // init: 3 misses two entries.
    const n = createNetwork();
    n.elect(1n);
    n.isolate(3n);
    n.propose(1n, 'a');
    n.propose(1n, 'b');
    n.recover();
    const before = n.sent.length;
    // act
    n.raw(1n).transferLeader(3n);
    n.stabilize();
    // check
    const after = n.sent.slice(before);
    const caughtUp = after.findIndex(
      (m) => m.type === 'MsgAppResp' && m.from === 3n && !m.reject && m.index === 3,
    );
    const timeoutNow = after.findIndex((m) => m.type === 'MsgTimeoutNow');
    expect(caughtUp).toBeGreaterThanOrEqual(0);
    expect(timeoutNow).toBeGreaterThan(caughtUp);
    expect(n.leaders()).toEqual([3n]);
    expect(n.node(3n).applied).toEqual(['a', 'b']);
    // Reference: thesis §3.10
  });

  it('proposals are dropped with "leader transfer in progress" while a transfer is under way', () => {
    // init: the transferee is unreachable, so the transfer cannot finish.
    const n = createNetwork();
    n.elect(1n);
    n.isolate(3n);
    n.propose(1n, 'a');
    // act
    n.raw(1n).transferLeader(3n);
    n.stabilize();
    // check
    expect(n.node(1n).status().leadTransferee).toBe(3n);
    expectDropped(() => n.raw(1n).propose(bytes('x')), 'leader transfer in progress');
    // Reference: thesis §3.10
  });

  it('a transfer whose target is down is aborted after an election timeout, and proposals flow again', () => {
    // init
    const n = createNetwork();
    n.elect(1n);
    n.crash(3n);
    n.raw(1n).transferLeader(3n);
    n.stabilize();
    // act / check: still trying one tick before the timeout …
    n.tick(1n, ELECTION_TICK - 1);
    n.stabilize();
    expect(n.node(1n).status().leadTransferee).toBe(3n);
    // … and given up at it.
    n.tick(1n);
    n.stabilize();
    expect(n.node(1n).status().leadTransferee).toBe(NONE);
    expect(n.leaders()).toEqual([1n]);
    n.propose(1n, 'a');
    expect(n.node(2n).applied).toEqual(['a']);
    // Reference: thesis §3.10
  });

  it('a transfer to a learner is ignored', () => {
    // init
    const n = createNetwork({ learners: [4n] });
    n.elect(1n);
    // act
    n.raw(1n).transferLeader(4n);
    n.stabilize();
    // check
    expect(n.node(1n).status().leadTransferee).toBe(NONE);
    expect(ofType(n.sent, 'MsgTimeoutNow')).toEqual([]);
    expect(n.leaders()).toEqual([1n]);
    n.propose(1n, 'a');
    expect(n.node(4n).applied).toEqual(['a']);
    // Reference: thesis §3.10, §4.2.1
  });
});

describe('proposals', () => {
  it('a proposal on a node that knows no leader is dropped with "no leader", on a follower and on a candidate', () => {
    // init
    const n = createNetwork();
    // act / check
    expectDropped(() => n.raw(1n).propose(bytes('x')), 'no leader');
    n.isolate(1n);
    n.raw(1n).campaign();
    n.stabilize();
    expect(n.node(1n).state).toBe('StateCandidate');
    expectDropped(() => n.raw(1n).propose(bytes('x')), 'no leader');
    // Reference: etcd-io/raft ErrProposalDropped
  });

  it('a follower forwards proposals to the leader, unless forwarding is disabled', () => {
    // init
    const n = createNetwork({ configFor: (id) => ({ disableProposalForwarding: id === 3n }) });
    n.elect(1n);
    // act
    n.propose(2n, 'via 2');
    // check
    expect(ofType(n.sent, 'MsgProp')).toMatchObject([{ from: 2n, to: 1n }]);
    for (const id of [1n, 2n, 3n]) expect(n.node(id).applied).toEqual(['via 2']);
    expectDropped(() => n.raw(3n).propose(bytes('via 3')), 'proposal forwarding disabled');
    // Reference: etcd-io/raft Config.DisableProposalForwarding
  });

  it('a leader drops proposals once its uncommitted entries would exceed maxUncommittedEntriesSize, until they commit', () => {
    // init: nothing can commit.
    const n = createNetwork({ config: { maxUncommittedEntriesSize: 8 } });
    n.elect(1n);
    n.isolate(2n);
    n.isolate(3n);
    // act / check
    n.propose(1n, 'aaaa');
    n.propose(1n, 'bbbb');
    expectDropped(() => n.raw(1n).propose(bytes('c')), 'uncommitted log too large');
    // act / check: once they commit and apply, there is room again.
    n.recover();
    n.tick(1n);
    n.stabilize();
    expect(n.node(1n).applied).toEqual(['aaaa', 'bbbb']);
    n.propose(1n, 'cccc');
    expect(n.node(1n).applied).toEqual(['aaaa', 'bbbb', 'cccc']);
    // Reference: etcd-io/raft Config.MaxUncommittedEntriesSize
  });

  it('a single proposal larger than the limit is still accepted when nothing else is uncommitted', () => {
    // init
    const n = createNetwork({ config: { maxUncommittedEntriesSize: 8 } });
    n.elect(1n);
    // act
    n.propose(1n, 'x'.repeat(20));
    // check
    expect(n.node(1n).applied).toEqual(['x'.repeat(20)]);
    // Reference: etcd-io/raft Config.MaxUncommittedEntriesSize
  });
});

describe('snapshots (§7)', () => {
  /** 3 misses "a", "b", "c", which the leader then compacts away (snapshot at index 4). */
  function laggingFollowerOfCompactedLeader(): Network {
    const n = createNetwork();
    n.elect(1n);
    n.isolate(3n);
    for (const data of ['a', 'b', 'c']) n.propose(1n, data);
    expect(n.compact(1n)).toBe(4);
    expect(n.node(1n).storage.firstIndex()).toBe(5);
    return n;
  }

  it("a follower whose entries were compacted away receives the leader's snapshot and catches up", () => {
    // init
    const n = laggingFollowerOfCompactedLeader();
    // act
    n.recover();
    n.tick(1n);
    n.stabilize();
    n.propose(1n, 'd');
    // check
    expect(ofType(n.sent, 'MsgSnap')).toMatchObject([{ to: 3n, snapshot: { metadata: { index: 4 } } }]);
    expect(n.node(3n).storage.snapshot().metadata.index).toBe(4);
    expect(n.node(3n).log()).toEqual(n.node(1n).log());
    expect(n.node(3n).applied).toEqual(['a', 'b', 'c', 'd']);
    expect(progress(n, 1n, 3n)).toMatchObject({ state: 'StateReplicate', match: 5 });
    // Reference: §7
  });

  it('a snapshot that is lost is sent again once the host reports the failure', () => {
    // init
    const n = laggingFollowerOfCompactedLeader();
    n.recover();
    n.drop('MsgSnap');
    n.tick(1n);
    n.stabilize();
    expect(ofType(n.dropped, 'MsgSnap')).toHaveLength(1);
    // check: unreported, the leader keeps waiting for it.
    n.tick(1n, 3);
    n.stabilize();
    expect(ofType(n.sent, 'MsgSnap')).toHaveLength(1);
    expect(progress(n, 1n, 3n).state).toBe('StateSnapshot');
    // act
    n.raw(1n).reportSnapshot(3n, 'SnapshotFailure');
    n.recover();
    n.tick(1n);
    n.stabilize();
    // check
    expect(ofType(n.sent, 'MsgSnap')).toHaveLength(2);
    expect(n.node(3n).applied).toEqual(['a', 'b', 'c']);
    expect(progress(n, 1n, 3n).match).toBe(4);
    // Reference: §7; etcd-io/raft RawNode.ReportSnapshot
  });

  it('a follower restarts from its persisted snapshot and re-applies the committed entries after it', () => {
    // init: 3 caught up through a snapshot at 4, then received "d" at 5.
    const n = laggingFollowerOfCompactedLeader();
    n.recover();
    n.tick(1n);
    n.stabilize();
    n.propose(1n, 'd');
    const hardState = n.node(3n).status().hardState;
    // act
    n.crash(3n);
    n.restart(3n);
    // check: it resumes from the snapshot, with its hard state; "d" is delivered again.
    expect(n.node(3n).status()).toMatchObject({ hardState, applied: 4, lastIndex: 5 });
    expect(n.node(3n).applied).toEqual(['a', 'b', 'c']);
    n.stabilize();
    expect(n.node(3n).applied).toEqual(['a', 'b', 'c', 'd']);
    n.propose(1n, 'e');
    expect(n.node(3n).applied).toEqual(['a', 'b', 'c', 'd', 'e']);
    // Reference: §7
  });
});

describe('membership changes (thesis §4)', () => {
  it('a voter is added with a simple change; the new node catches up from the log and counts toward the quorum', () => {
    // init
    const n = createNetwork({ bootstrap: true });
    n.elect(1n);
    n.propose(1n, 'a');
    n.add(4n);
    // act
    n.raw(1n).proposeConfChange(cc([addVoter(4n)]));
    n.stabilize();
    // check
    for (const id of [1n, 2n, 3n, 4n]) expect(conf(n, id)).toBe('voters=(1 2 3 4)');
    expect(n.node(4n).applied).toEqual(['a']);
    // four voters: 1, 3, 4 are a quorum …
    n.isolate(2n);
    n.propose(1n, 'b');
    expect(n.node(1n).applied).toEqual(['a', 'b']);
    // … 1 and 4 are not.
    n.isolate(3n);
    n.propose(1n, 'c');
    expect(n.node(1n).applied).toEqual(['a', 'b']);
    // Reference: thesis §4.1
  });

  it('a voter is removed with a simple change; the quorum shrinks with the configuration', () => {
    // init: four voters; with 3 and 4 cut off, 1 and 2 cannot commit.
    const n = createNetwork({ voters: [1n, 2n, 3n, 4n] });
    n.elect(1n);
    n.isolate(3n);
    n.isolate(4n);
    n.propose(1n, 'a');
    expect(n.node(1n).applied).toEqual([]);
    n.recover();
    n.tick(1n);
    n.stabilize();
    // act
    n.raw(1n).proposeConfChange(cc([remove(4n)]));
    n.stabilize();
    const before = n.sent.length;
    n.isolate(3n);
    n.isolate(4n);
    n.propose(1n, 'b');
    // check: 1 and 2 are a majority of 1, 2, 3; nothing is sent to 4 any more.
    for (const id of [1n, 2n]) expect(conf(n, id)).toBe('voters=(1 2 3)');
    expect(n.node(1n).applied).toEqual(['a', 'b']);
    expect(n.sent.slice(before).filter((m) => m.to === 4n)).toEqual([]);
    // Reference: thesis §4.1
  });

  it('a learner receives the log, but its acknowledgements never count toward commit', () => {
    // init
    const n = createNetwork({ bootstrap: true });
    n.elect(1n);
    n.add(4n);
    // act
    n.raw(1n).proposeConfChange(cc([addLearner(4n)]));
    n.stabilize();
    n.propose(1n, 'a');
    // check
    for (const id of [1n, 4n]) expect(conf(n, id)).toBe('voters=(1 2 3) learners=(4)');
    expect(n.node(4n).applied).toEqual(['a']);
    // act: with 2 and 3 cut off, only the learner acknowledges.
    n.isolate(2n);
    n.isolate(3n);
    n.propose(1n, 'b');
    // check
    expect(n.node(4n).storage.lastIndex()).toBe(n.node(1n).storage.lastIndex());
    expect(progress(n, 1n, 4n)).toMatchObject({ isLearner: true, match: n.node(1n).storage.lastIndex() });
    expect(n.node(1n).applied).toEqual(['a']);
    // Reference: thesis §4.2.1
  });

  it('a learner is promoted to voter by a simple change', () => {
    // init
    const n = createNetwork({ bootstrap: true });
    n.elect(1n);
    n.add(4n);
    n.raw(1n).proposeConfChange(cc([addLearner(4n)]));
    n.stabilize();
    // act
    n.raw(1n).proposeConfChange(cc([addVoter(4n)]));
    n.stabilize();
    // check
    for (const id of [1n, 2n, 3n, 4n]) expect(conf(n, id)).toBe('voters=(1 2 3 4)');
    expect(progress(n, 1n, 4n).isLearner).toBe(false);
    // Reference: thesis §4.2.1
  });

  it('learners never campaign, and their votes never count', () => {
    // init
    const n = createNetwork({ learners: [4n] });
    // act / check: a learner's timeouts and campaign requests do nothing.
    n.tick(4n, 10 * ELECTION_TICK);
    n.raw(4n).campaign();
    n.stabilize();
    expect(n.node(4n).status().softState.raftState).toBe('StateFollower');
    expect(n.node(4n).term).toBe(0);
    expect(n.sent.filter((m) => m.from === 4n)).toEqual([]);
    // act / check: a candidate is not asked for the learner's vote, nor counts it.
    n.isolate(2n);
    n.isolate(3n);
    n.raw(1n).campaign();
    n.stabilize();
    expect(ofType(n.sent, 'MsgVote').map((m) => m.to)).toEqual([2n, 3n]);
    n.recover();
    n.send(voteResp(4n, 1n, 1));
    expect(n.node(1n).state).toBe('StateCandidate');
    n.send(voteResp(2n, 1n, 1));
    expect(n.node(1n).state).toBe('StateLeader');
    // Reference: thesis §4.2.1
  });

  it("several changes with transition 'auto' go through a joint configuration that the leader leaves on its own", () => {
    // init
    const n = createNetwork({ bootstrap: true });
    n.elect(1n);
    n.add(4n);
    n.add(5n);
    const applied = n.node(1n).confStates.length;
    // act: replace 3 with 4 and 5.
    n.raw(1n).proposeConfChange(cc([addVoter(4n), addVoter(5n), remove(3n)]));
    n.stabilize();
    // check
    expect(n.node(1n).confStates.slice(applied).map(describeConfState)).toEqual([
      'voters=(1 2 4 5)&&(1 2 3) autoleave',
      'voters=(1 2 4 5)',
    ]);
    for (const id of [1n, 2n, 4n, 5n]) expect(conf(n, id)).toBe('voters=(1 2 4 5)');
    n.propose(1n, 'a');
    for (const id of [1n, 2n, 4n, 5n]) expect(n.node(id).applied).toEqual(['a']);
    // Reference: thesis §4.3
  });

  it("with transition 'explicit' the configuration stays joint, needing both majorities, until an empty ConfChange", () => {
    // init
    const n = createNetwork({ bootstrap: true });
    n.elect(1n);
    n.add(4n);
    n.add(5n);
    // act
    n.raw(1n).proposeConfChange(cc([addVoter(4n), addVoter(5n), remove(3n)], 'explicit'));
    n.stabilize();
    n.elapse(2 * ELECTION_TICK);
    // check: still joint.
    expect(conf(n, 1n)).toBe('voters=(1 2 4 5)&&(1 2 3)');
    // a majority of the incoming voters (1, 4, 5) is not enough without one of the outgoing (1, 2, 3) …
    n.isolate(2n);
    n.isolate(3n);
    n.propose(1n, 'a');
    expect(n.node(1n).applied).toEqual([]);
    // … and with 3 back, both majorities hold.
    n.recover();
    n.isolate(2n);
    n.tick(1n);
    n.stabilize();
    expect(n.node(1n).applied).toEqual(['a']);
    // no other change may be made while joint.
    expectDropped(() => n.raw(1n).proposeConfChange(cc([addVoter(6n)])), 'invalid conf change');
    // act: leave explicitly.
    n.recover();
    n.raw(1n).proposeConfChange(cc([]));
    n.stabilize();
    // check
    for (const id of [1n, 2n, 4n, 5n]) expect(conf(n, id)).toBe('voters=(1 2 4 5)');
    // Reference: thesis §4.3
  });

  it('a new leader leaves an automatic joint configuration that its predecessor entered but could not leave', () => {
    // init: 1 enters a joint configuration, but its leave-joint entry reaches nobody before it crashes.
    const n = createNetwork({ voters: [1n, 2n, 3n, 4n, 5n], bootstrap: true });
    n.elect(1n);
    n.dropIf = (m) =>
      m.type === 'MsgApp' &&
      m.entries.some((e) => e.type === 'EntryConfChange' && e.change.changes.length === 0);
    n.raw(1n).proposeConfChange(cc([remove(5n)], 'implicit'));
    n.stabilize();
    for (const id of [2n, 3n, 4n]) expect(conf(n, id)).toBe('voters=(1 2 3 4)&&(1 2 3 4 5) autoleave');
    n.crash(1n);
    n.recover();
    // act: 2, 3, 4 are majorities of both halves.
    n.elect(2n);
    // check
    for (const id of [2n, 3n, 4n]) expect(conf(n, id)).toBe('voters=(1 2 3 4)');
    // Reference: thesis §4.3
  });

  it('a second conf change is refused while one is pending (not yet applied)', () => {
    // init
    const n = createNetwork();
    n.elect(1n);
    // act
    n.raw(1n).proposeConfChange(cc([addVoter(4n)]));
    // check
    expectDropped(() => n.raw(1n).proposeConfChange(cc([addVoter(5n)])), 'conf change pending');
    n.stabilize();
    n.raw(1n).proposeConfChange(cc([addVoter(5n)]));
    n.stabilize();
    expect(conf(n, 1n)).toBe('voters=(1 2 3 4 5)');
    // Reference: thesis §4.1
  });

  it('a leader that removes itself steps down, never campaigns again, and the remaining voters elect a leader', () => {
    // init
    const n = createNetwork();
    const term = n.elect(1n);
    const before = n.sent.length;
    // act
    n.raw(1n).proposeConfChange(cc([remove(1n)]));
    n.stabilize();
    // check
    expect(n.node(1n).state).toBe('StateFollower');
    for (const id of [2n, 3n]) expect(conf(n, id)).toBe('voters=(2 3)');
    n.elapse(3 * ELECTION_TICK);
    const leaders = n.leaders();
    expect(leaders).toHaveLength(1);
    expect([2n, 3n]).toContain(leaders[0]);
    expect(n.node(leaders[0]!).term).toBeGreaterThan(term);
    expect(n.sent.slice(before).filter((m) => m.from === 1n && m.type === 'MsgVote')).toEqual([]);
    // Reference: thesis §4.2.2
  });
});

describe('bootstrap', () => {
  it('bootstrap() puts the initial voters in the log as committed conf changes, handed out once persisted', () => {
    // init
    const storage = new MemoryStorage();
    const raw = new RawNode({ id: 1n, storage, electionTick: ELECTION_TICK, rand: seededRandom(1) });
    // act
    raw.bootstrap([1n, 2n]);
    const rd1 = raw.ready();
    // check
    expect(rd1.entries.map(describeEntry)).toEqual(['1/1 EntryConfChange v1', '1/2 EntryConfChange v2']);
    expect(rd1.hardState).toEqual({ term: 1, vote: NONE, commit: 2 });
    expect(rd1.committedEntries).toEqual([]);
    storage.append(rd1.entries);
    storage.setHardState(rd1.hardState!);
    raw.advance();
    const rd2 = raw.ready();
    expect(rd2.committedEntries.map(describeEntry)).toEqual(rd1.entries.map(describeEntry));
    for (const e of rd2.committedEntries) if (e.type === 'EntryConfChange') raw.applyConfChange(e.change);
    raw.advance();
    expect(describeConfState(raw.status().confState)).toBe('voters=(1 2)');
    // Reference: etcd-io/raft RawNode.Bootstrap
  });

  it('a bootstrapped single node elects itself and commits', () => {
    // init
    const n = createNetwork({ voters: [1n], bootstrap: true });
    // act
    n.elect(1n);
    n.propose(1n, 'a');
    // check
    expect(n.node(1n).applied).toEqual(['a']);
    expect(n.node(1n).confStates.map(describeConfState)).toEqual(['voters=(1)']);
    // Reference: etcd-io/raft RawNode.Bootstrap
  });

  it("bootstrap() puts each peer's context in its entry, and wants one per peer", () => {
    // init
    const raw = new RawNode({ id: 1n, storage: new MemoryStorage(), rand: seededRandom(1) });
    const ctx = (s: string) => new TextEncoder().encode(s);
    // act
    raw.bootstrap([1n, 2n], [ctx('one'), ctx('two')]);
    // check
    const contexts = raw
      .ready()
      .entries.map((e) => (e.type === 'EntryConfChange' ? new TextDecoder().decode(e.change.context) : ''));
    expect(contexts).toEqual(['one', 'two']);
    const other = new RawNode({ id: 1n, storage: new MemoryStorage() });
    expect(thrownBy(() => other.bootstrap([1n, 2n], [ctx('one')]))).toBeInstanceOf(RangeError);
    // Reference: etcd-io/raft RawNode.Bootstrap (etcd's server puts the member in the context)
  });

  it('bootstrap() refuses a node that is not empty, and an empty peer list', () => {
    // init
    const n = createNetwork();
    n.elect(1n);
    // act / check
    expect(thrownBy(() => n.raw(1n).bootstrap([1n, 2n, 3n]))).toBeInstanceOf(ReadyProtocolError);
    const fresh = new RawNode({ id: 1n, storage: new MemoryStorage() });
    expect(thrownBy(() => fresh.bootstrap([]))).toBeInstanceOf(RangeError);
    // Reference: etcd-io/raft RawNode.Bootstrap
  });
});

describe('the Ready contract', () => {
  it("a leader's MsgApp may be sent at once; a follower's MsgAppResp only after its entries are persisted", () => {
    // init
    const n = createNetwork();
    n.elect(1n);
    n.crash(3n);
    n.hold(2n);
    // act
    n.raw(1n).propose(bytes('x'));
    const lead = n.retrieve(1n);
    n.persist(1n, lead);
    n.complete(1n, lead);
    n.stabilize();
    const follower = n.retrieve(2n);
    // check
    expect(ofType(lead.messages, 'MsgApp').map((m) => m.to)).toEqual([2n, 3n]);
    expect(lead.persistedMessages).toEqual([]);
    expect(follower.entries).toMatchObject([{ index: 2, data: bytes('x') }]);
    expect(follower.mustSync).toBe(true);
    expect(ofType(follower.messages, 'MsgAppResp')).toEqual([]);
    expect(ofType(follower.persistedMessages, 'MsgAppResp')).toMatchObject([
      { to: 1n, index: 2, reject: false },
    ]);
    // Reference: ready.ts; thesis §10.2.1
  });

  it('a vote is sent only after it is persisted: MsgVoteResp is in persistedMessages, the vote in the same hardState', () => {
    // init
    const n = createNetwork();
    n.hold(2n);
    // act
    n.raw(1n).campaign();
    n.stabilize();
    const rd = n.retrieve(2n);
    // check
    expect(rd.hardState).toMatchObject({ term: 1, vote: 1n });
    expect(rd.mustSync).toBe(true);
    expect(ofType(rd.messages, 'MsgVoteResp')).toEqual([]);
    expect(ofType(rd.persistedMessages, 'MsgVoteResp')).toMatchObject([{ to: 1n, reject: false }]);
    // Reference: ready.ts; §5.2
  });

  it('committedEntries never contain an entry that is not yet persisted, even when it arrives already committed', () => {
    // init: a lone follower.
    const storage = new MemoryStorage({ voters: [1n, 2n, 3n] });
    const raw = new RawNode({ id: 2n, storage });
    const entries = ['a', 'b'].map((d, i) => ({
      type: 'EntryNormal' as const,
      term: asTerm(1),
      index: asIndex(i + 1),
      data: bytes(d),
    }));
    // act: the leader sends two entries that are already committed.
    raw.step({
      type: 'MsgApp',
      from: 1n,
      to: 2n,
      term: asTerm(1),
      index: asIndex(0),
      logTerm: asTerm(0),
      entries,
      commit: asIndex(2),
    });
    const rd1 = raw.ready();
    // check: they are to be persisted, and known committed, but not handed out for applying.
    expect(rd1.entries).toHaveLength(2);
    expect(rd1.hardState?.commit).toBe(2);
    expect(rd1.committedEntries).toEqual([]);
    storage.append(rd1.entries);
    storage.setHardState(rd1.hardState!);
    raw.advance();
    const rd2 = raw.ready();
    expect(rd2.committedEntries.map((e) => e.index)).toEqual([1, 2]);
    // Reference: ready.ts
  });

  it("with one follower down, an entry the leader has not persisted is not committed on the other follower's ack; it commits when the leader's write completes", () => {
    // init
    const n = createNetwork();
    const term = n.elect(1n);
    n.crash(3n);
    n.hold(1n);
    // act: the leader sends the entry before writing it; 2 persists and acknowledges it.
    n.raw(1n).propose(bytes('x'));
    const rd = n.retrieve(1n);
    n.stabilize();
    // check: on disk at 2 only, so on one of three disks.
    expect(n.node(2n).hasEntry(2, term)).toBe(true);
    expect(progress(n, 1n, 2n).match).toBe(2);
    expect(n.node(1n).status().committed).toBe(1);
    // act: the leader's own write completes.
    n.persist(1n, rd);
    n.complete(1n, rd);
    // check
    expect(n.node(1n).status().committed).toBe(2);
    n.release(1n);
    n.stabilize();
    expect(n.node(1n).applied).toEqual(['x']);
    expect(n.node(2n).applied).toEqual(['x']);
    // Reference: ready.ts; thesis §10.2.1
  });

  it("with both followers up, an entry commits on their acks before the leader's own write completes, but the leader applies it only after", () => {
    // init
    const n = createNetwork();
    n.elect(1n);
    n.hold(1n);
    // act
    n.raw(1n).propose(bytes('x'));
    const rd = n.retrieve(1n);
    n.stabilize();
    // check: durable on 2 and 3, a majority: committed, though not yet on the leader's disk.
    expect(n.node(1n).status().committed).toBe(2);
    expect(n.node(1n).storage.lastIndex()).toBe(1);
    expect(rd.committedEntries).toEqual([]);
    // act / check
    n.persist(1n, rd);
    n.complete(1n, rd);
    const next = n.retrieve(1n);
    expect(next.committedEntries).toMatchObject([{ index: 2, data: bytes('x') }]);
    // Reference: ready.ts; thesis §10.2.1
  });

  it('a Ready that only advances the commit index does not need an fsync; one with new entries does', () => {
    // init
    const n = createNetwork();
    n.elect(1n);
    const before = n.readies.length;
    // act
    n.propose(1n, 'x');
    // check: follower 2 first persists the entry, then learns that it is committed.
    const readies = n.readies
      .slice(before)
      .filter((r) => r.id === 2n)
      .map((r) => r.rd);
    expect(
      readies.map((rd) => [rd.entries.length, rd.committedEntries.length, rd.hardState?.commit, rd.mustSync]),
    ).toEqual([
      [1, 0, undefined, true],
      [0, 1, 2, false],
    ]);
    // Reference: ready.ts
  });

  it('calling ready() twice without advance(), or advance() without ready(), throws ReadyProtocolError', () => {
    // init
    const n = createNetwork();
    n.raw(1n).campaign();
    // act / check
    n.raw(1n).ready();
    expect(thrownBy(() => n.raw(1n).ready())).toBeInstanceOf(ReadyProtocolError);
    n.raw(1n).advance();
    expect(thrownBy(() => n.raw(1n).advance())).toBeInstanceOf(ReadyProtocolError);
    // Reference: ready.ts
  });
});

describe('crash and restart', () => {
  it('a node rebuilt from its MemoryStorage keeps its term, vote, commit index and log, and rejoins', () => {
    // init
    const n = createNetwork();
    n.elect(1n);
    n.propose(1n, 'a');
    n.propose(1n, 'b');
    const { hardState, lastIndex } = n.node(2n).status();
    const log = n.node(2n).log();
    // act
    n.crash(2n);
    n.restart(2n, { applied: n.node(2n).appliedIndex });
    // check
    expect(n.node(2n).status()).toMatchObject({ hardState, lastIndex, softState: { lead: NONE } });
    expect(n.node(2n).log()).toEqual(log);
    n.elapse(1);
    n.propose(1n, 'c');
    expect(n.node(2n).lead).toBe(1n);
    expect(n.node(2n).applied).toEqual(['a', 'b', 'c']);
    // Reference: §5.1 (Figure 2: persistent state on all servers)
  });

  it('a restarted node remembers its vote and does not vote for another candidate in the same term', () => {
    // init: 2 votes for 1 in term 1, then crashes.
    const n = createNetwork({ nodes: [2n] });
    n.send({
      type: 'MsgVote',
      from: 1n,
      to: 2n,
      term: asTerm(1),
      index: asIndex(0),
      logTerm: asTerm(0),
      transfer: false,
    });
    n.crash(2n);
    n.restart(2n);
    // act
    n.send({
      type: 'MsgVote',
      from: 3n,
      to: 2n,
      term: asTerm(1),
      index: asIndex(5),
      logTerm: asTerm(0),
      transfer: false,
    });
    // check
    expect(ofType(n.sent, 'MsgVoteResp').map((m) => [m.to, m.reject])).toEqual([
      [1n, false],
      [3n, true],
    ]);
    // Reference: §5.2
  });

  it('given the applied index, a restarted node re-delivers exactly the committed entries it had not applied', () => {
    // init: 2 persists "b" and the commit index covering it, then crashes before applying it.
    const n = createNetwork();
    const term = n.elect(1n);
    n.propose(1n, 'a');
    n.hold(2n);
    n.propose(1n, 'b');
    const rd = n.retrieve(2n);
    n.persist(2n, rd);
    expect(n.persistedHardState(2n).commit).toBe(3);
    expect(n.node(2n).appliedIndex).toBe(2);
    n.crash(2n);
    // act
    n.restart(2n, { applied: asIndex(2) });
    n.release(2n);
    const first = n.retrieve(2n);
    // check
    expect(first.committedEntries.map(describeEntry)).toEqual([`${term}/3 EntryNormal "b"`]);
    n.persist(2n, first);
    n.complete(2n, first);
    expect(n.node(2n).applied).toEqual(['a', 'b']);
    // Reference: etcd-io/raft Config.Applied
  });

  it('without the applied index, a restarted node re-delivers every committed entry after its snapshot', () => {
    // init
    const n = createNetwork();
    n.elect(1n);
    n.propose(1n, 'a');
    n.propose(1n, 'b');
    // act
    n.crash(2n);
    n.restart(2n);
    const first = n.retrieve(2n);
    // check
    expect(first.committedEntries.map((e) => e.index)).toEqual([1, 2, 3]);
    // Reference: etcd-io/raft Config.Applied
  });
});
