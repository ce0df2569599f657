/**
 * One test per claim of the Raft paper (Ongaro & Ousterhout, "In Search of an Understandable
 * Consensus Algorithm", §5), named as the claim, each laid out init / act / check and ending with
 * the section it checks. Nodes are driven only through RawNode and the Ready contract.
 */

import { describe, expect, it } from 'vitest';
import { MemoryStorage } from '../memory-storage.js';
import type { Message } from '../messages.js';
import { seededRandom } from '../rand.js';
import { RawNode } from '../raw-node.js';
import { asIndex, asTerm, type Entry, NONE, type NodeId, type StateType } from '../types.js';
import { bytes, createNetwork, type Network, ofType, storageWithLog } from './network.js';

const ELECTION_TICK = 10;

function newRawNode(id: NodeId, voters: readonly NodeId[], seed = Number(id)): RawNode {
  return new RawNode({
    id,
    storage: new MemoryStorage({ voters }),
    electionTick: ELECTION_TICK,
    heartbeatTick: 1,
    rand: seededRandom(seed),
  });
}

function entry(index: number, term: number, data = String(index)): Entry {
  return { type: 'EntryNormal', index: asIndex(index), term: asTerm(term), data: bytes(data) };
}

function msgApp(
  from: NodeId,
  to: NodeId,
  term: number,
  prev: { index: number; logTerm: number },
  entries: readonly Entry[],
  commit = 0,
): Message {
  return {
    type: 'MsgApp',
    from,
    to,
    term: asTerm(term),
    index: asIndex(prev.index),
    logTerm: asTerm(prev.logTerm),
    entries,
    commit: asIndex(commit),
  };
}

function msgVote(from: NodeId, to: NodeId, term: number, last: { index: number; logTerm: number }): Message {
  return {
    type: 'MsgVote',
    from,
    to,
    term: asTerm(term),
    index: asIndex(last.index),
    logTerm: asTerm(last.logTerm),
    transfer: false,
  };
}

function voteResp(from: NodeId, to: NodeId, term: number, reject = false): Message {
  return { type: 'MsgVoteResp', from, to, term: asTerm(term), reject };
}

function heartbeat(from: NodeId, to: NodeId, term: number): Message {
  return { type: 'MsgHeartbeat', from, to, term: asTerm(term), commit: asIndex(0), context: bytes('') };
}

/** Node 1 alone of voters 1, 2, 3 (the others are absent), put in `role` in term 1. */
function loneNodeIn(role: StateType): Network {
  const n = createNetwork({ nodes: [1n] });
  if (role === 'StateCandidate' || role === 'StateLeader') {
    n.raw(1n).campaign();
    n.stabilize();
  }
  if (role === 'StateLeader') n.send(voteResp(2n, 1n, 1));
  expect(n.node(1n).state).toBe(role);
  expect(n.node(1n).term).toBe(role === 'StateFollower' ? 0 : 1);
  return n;
}

/** Ticks a lone node until its term moves, returning how many ticks that took. */
function ticksUntilElection(raw: RawNode): number {
  const term = raw.status().hardState.term;
  for (let ticks = 1; ticks <= 10 * ELECTION_TICK; ticks++) {
    raw.tick();
    if (raw.status().hardState.term !== term) return ticks;
  }
  throw new Error('no election within 10 election timeouts');
}

describe('§5.1 terms', () => {
  it('a server starts as a follower in term 0 with no leader and no vote', () => {
    // init
    const raw = newRawNode(1n, [1n, 2n, 3n]);
    // act
    const status = raw.status();
    // check
    expect(status.softState).toEqual({ lead: NONE, raftState: 'StateFollower' });
    expect(status.hardState).toEqual({ term: 0, vote: NONE, commit: 0 });
    // Reference: §5.1 (Figure 2, "Rules for Servers")
  });

  describe.each(['StateFollower', 'StateCandidate', 'StateLeader'] as const)('a %s', (role) => {
    it('that sees a higher term in an AppendEntries becomes a follower of its sender in that term', () => {
      // init
      const n = loneNodeIn(role);
      // act
      n.send(msgApp(2n, 1n, 5, { index: 0, logTerm: 0 }, []));
      // check
      expect(n.node(1n).status().softState).toEqual({ lead: 2n, raftState: 'StateFollower' });
      expect(n.persistedHardState(1n)).toMatchObject({ term: 5, vote: NONE });
      // Reference: §5.1
    });

    it('that sees a higher term in a RequestVote becomes a follower in that term with no leader', () => {
      // init
      const n = loneNodeIn(role);
      // act
      n.send(msgVote(3n, 1n, 5, { index: 9, logTerm: 4 }));
      // check: it steps down first, then judges the request like any follower would.
      expect(n.node(1n).state).toBe('StateFollower');
      expect(n.node(1n).term).toBe(5);
      expect(ofType(n.sent, 'MsgVoteResp').filter((m) => m.from === 1n)).toMatchObject([
        { to: 3n, term: 5, reject: false },
      ]);
      // Reference: §5.1
    });
  });

  it('a request with a stale term is rejected: no entries appended, no vote granted', () => {
    // init: node 1 has lived through term 3.
    const n = createNetwork({
      nodes: [1n],
      storage: () => storageWithLog([1n, 2n, 3n], [1, 2], { term: 3 }),
    });
    const logBefore = n.node(1n).log();
    // act: a leader and a candidate of term 2 speak to it.
    n.send(msgApp(2n, 1n, 2, { index: 2, logTerm: 2 }, [entry(3, 2)], 3));
    n.send(msgVote(3n, 1n, 2, { index: 9, logTerm: 2 }));
    // check
    expect(n.node(1n).log()).toEqual(logBefore);
    expect(n.node(1n).status().hardState).toEqual({ term: 3, vote: NONE, commit: 0 });
    expect(ofType(n.sent, 'MsgAppResp').filter((m) => !m.reject)).toEqual([]);
    expect(ofType(n.sent, 'MsgVoteResp').filter((m) => !m.reject)).toEqual([]);
    // Reference: §5.1
  });
});

describe('§5.2 leader election', () => {
  it('a leader sends heartbeats to all followers every heartbeat interval to keep its authority', () => {
    // init
    const n = loneNodeIn('StateLeader');
    const before = n.sent.length;
    // act
    n.tick(1n);
    n.stabilize();
    // check
    const beats = ofType(n.sent.slice(before), 'MsgHeartbeat');
    expect(beats.map((m) => [m.from, m.to, m.term])).toEqual([
      [1n, 2n, 1],
      [1n, 3n, 1],
    ]);
    // Reference: §5.2
  });

  it('followers that keep hearing heartbeats from a leader never start an election', () => {
    // init
    const n = createNetwork();
    const term = n.elect(1n);
    // act: fifty election timeouts pass.
    n.elapse(50 * ELECTION_TICK);
    // check
    expect(n.leaders()).toEqual([1n]);
    for (const id of [1n, 2n, 3n]) expect(n.node(id).term).toBe(term);
    expect(ofType(n.sent, 'MsgVote').filter((m) => m.term > term)).toEqual([]);
    // Reference: §5.2
  });

  it('a follower that hears nothing for an election timeout becomes a candidate and asks every peer for its vote', () => {
    // init
    const n = createNetwork({ nodes: [1n] });
    // act / check: nothing happens before the (randomized) timeout, which is at least electionTick.
    n.tick(1n, ELECTION_TICK - 1);
    n.stabilize();
    expect(n.node(1n).state).toBe('StateFollower');
    n.tick(1n, ELECTION_TICK);
    n.stabilize();
    // check
    expect(n.node(1n).state).toBe('StateCandidate');
    expect(n.persistedHardState(1n)).toEqual({ term: 1, vote: 1n, commit: 0 });
    expect(ofType(n.sent, 'MsgVote')).toMatchObject([
      { from: 1n, to: 2n, term: 1, index: 0, logTerm: 0 },
      { from: 1n, to: 3n, term: 1, index: 0, logTerm: 0 },
    ]);
    // Reference: §5.2
  });

  it('a candidate votes for itself and persists that vote before its vote requests leave', () => {
    // init
    const raw = newRawNode(1n, [1n, 2n, 3n]);
    // act
    raw.campaign();
    const rd = raw.ready();
    // check
    expect(rd.hardState).toEqual({ term: 1, vote: 1n, commit: 0 });
    expect(rd.mustSync).toBe(true);
    expect(ofType(rd.messages, 'MsgVote')).toEqual([]);
    expect(ofType(rd.persistedMessages, 'MsgVote').map((m) => m.to)).toEqual([2n, 3n]);
    // Reference: §5.2
  });

  it('a candidate that neither wins nor loses starts a new election, in a new term, on its next timeout', () => {
    // init
    const n = loneNodeIn('StateCandidate');
    // act
    n.tick(1n, 2 * ELECTION_TICK);
    n.stabilize();
    // check
    expect(n.node(1n).state).toBe('StateCandidate');
    expect(n.persistedHardState(1n)).toEqual({ term: 2, vote: 1n, commit: 0 });
    expect(
      ofType(n.sent, 'MsgVote')
        .filter((m) => m.term === 2)
        .map((m) => m.to),
    ).toEqual([2n, 3n]);
    // Reference: §5.2
  });

  it.each([
    { size: 1, granted: [], rejected: [], state: 'StateLeader' },
    { size: 3, granted: [2n], rejected: [], state: 'StateLeader' },
    { size: 3, granted: [], rejected: [2n], state: 'StateCandidate' },
    { size: 3, granted: [], rejected: [2n, 3n], state: 'StateFollower' },
    { size: 5, granted: [2n], rejected: [], state: 'StateCandidate' },
    { size: 5, granted: [2n, 3n], rejected: [], state: 'StateLeader' },
    { size: 5, granted: [2n], rejected: [3n, 4n], state: 'StateCandidate' },
    { size: 5, granted: [2n], rejected: [3n, 4n, 5n], state: 'StateFollower' },
  ] as const)(
    'a candidate wins once it has votes from a majority of the full cluster: $size voters, granted by $granted, rejected by $rejected → $state',
    ({ size, granted, rejected, state }) => {
      // init
      const voters = [1n, 2n, 3n, 4n, 5n].slice(0, size);
      const n = createNetwork({ voters, nodes: [1n] });
      // act
      n.raw(1n).campaign();
      n.stabilize();
      n.send(...granted.map((id) => voteResp(id, 1n, 1)), ...rejected.map((id) => voteResp(id, 1n, 1, true)));
      // check
      expect(n.node(1n).state).toBe(state);
      expect(n.node(1n).term).toBe(1);
      // Reference: §5.2
    },
  );

  it('a server votes for at most one candidate per term, first come first served', () => {
    // init
    const n = createNetwork({ nodes: [2n] });
    // act
    n.send(msgVote(1n, 2n, 1, { index: 0, logTerm: 0 }));
    n.send(msgVote(3n, 2n, 1, { index: 0, logTerm: 0 }));
    n.send(msgVote(1n, 2n, 1, { index: 0, logTerm: 0 })); // a retransmission gets the same answer
    // check
    expect(ofType(n.sent, 'MsgVoteResp').map((m) => [m.to, m.reject])).toEqual([
      [1n, false],
      [3n, true],
      [1n, false],
    ]);
    expect(n.persistedHardState(2n)).toEqual({ term: 1, vote: 1n, commit: 0 });
    // Reference: §5.2
  });

  it.each([
    { what: 'an AppendEntries of its own term', m: msgApp(2n, 1n, 1, { index: 0, logTerm: 0 }, []), term: 1 },
    {
      what: 'an AppendEntries of a higher term',
      m: msgApp(2n, 1n, 2, { index: 0, logTerm: 0 }, []),
      term: 2,
    },
    { what: 'a heartbeat of its own term', m: heartbeat(2n, 1n, 1), term: 1 },
  ])(
    'a candidate that receives $what from another server recognizes it as leader and returns to follower',
    ({ m, term }) => {
      // init
      const n = loneNodeIn('StateCandidate');
      // act
      n.send(m);
      // check
      expect(n.node(1n).status().softState).toEqual({ lead: 2n, raftState: 'StateFollower' });
      expect(n.node(1n).term).toBe(term);
      // Reference: §5.2
    },
  );

  it('a candidate rejects an AppendEntries of a lower term and stays a candidate', () => {
    // init: a candidate of term 2.
    const n = loneNodeIn('StateCandidate');
    n.raw(1n).campaign();
    n.stabilize();
    // act
    n.send(msgApp(2n, 1n, 1, { index: 0, logTerm: 0 }, []));
    // check
    expect(n.node(1n).state).toBe('StateCandidate');
    expect(n.node(1n).term).toBe(2);
    // Reference: §5.2
  });

  it('election timeouts are chosen at random from [electionTimeout, 2 × electionTimeout), anew for each election', () => {
    // init
    const raw = newRawNode(1n, [1n, 2n, 3n]);
    // act: a lone candidate keeps timing out; each timeout starts a new election.
    const timeouts = Array.from({ length: 30 }, () => ticksUntilElection(raw));
    // check
    for (const t of timeouts) {
      expect(t).toBeGreaterThanOrEqual(ELECTION_TICK);
      expect(t).toBeLessThan(2 * ELECTION_TICK);
    }
    expect(new Set(timeouts).size).toBeGreaterThanOrEqual(5);
    // Reference: §5.2
  });

  it('randomized timeouts differ across servers, so that usually a single server times out first', () => {
    // init / act: 200 fresh five-node clusters; who times out first in each?
    let conflicts = 0;
    const rounds = 200;
    for (let round = 0; round < rounds; round++) {
      const timeouts = [1n, 2n, 3n, 4n, 5n].map((id) =>
        ticksUntilElection(newRawNode(id, [1n, 2n, 3n, 4n, 5n], round * 5 + Number(id))),
      );
      const first = Math.min(...timeouts);
      if (timeouts.filter((t) => t === first).length > 1) conflicts++;
    }
    // check: the expected rate for five servers and ten possible timeouts is about 0.23.
    expect(conflicts / rounds).toBeLessThanOrEqual(0.3);
    // Reference: §5.2
  });
});

describe('§5.3 log replication', () => {
  it('a leader appends a proposal to its log and sends it to every follower in AppendEntries', () => {
    // init
    const n = createNetwork();
    const term = n.elect(1n);
    // act
    n.raw(1n).propose(bytes('x'));
    const rd = n.retrieve(1n);
    // check: the new entry follows the no-op (index 1) in the leader's term.
    expect(rd.entries).toMatchObject([{ index: 2, term, data: bytes('x') }]);
    expect(ofType(rd.messages, 'MsgApp')).toMatchObject([
      { to: 2n, term, index: 1, logTerm: term, entries: [{ index: 2, term }], commit: 1 },
      { to: 3n, term, index: 1, logTerm: term, entries: [{ index: 2, term }], commit: 1 },
    ]);
    n.persist(1n, rd);
    n.complete(1n, rd);
    n.stabilize();
    for (const id of [2n, 3n]) expect(n.node(id).log()).toEqual(n.node(1n).log());
    // Reference: §5.3
  });

  it('a leader commits an entry once it is replicated on a majority, and not before', () => {
    // init
    const n = createNetwork({ voters: [1n, 2n, 3n, 4n, 5n] });
    n.elect(1n);
    n.isolate(4n);
    n.isolate(5n);
    // act / check: 1, 2, 3 are a majority of five.
    n.propose(1n, 'x');
    expect(n.node(1n).status().committed).toBe(2);
    expect(n.node(1n).applied).toEqual(['x']);
    // act / check: 1, 2 are not.
    n.isolate(3n);
    n.propose(1n, 'y');
    expect(n.node(1n).status().lastIndex).toBe(3);
    expect(n.node(1n).status().committed).toBe(2);
    expect(n.node(1n).applied).toEqual(['x']);
    // Reference: §5.3
  });

  it("committing an entry also commits every preceding entry in the leader's log", () => {
    // init: two entries of the leader's term are stuck on the leader alone.
    const n = createNetwork();
    n.elect(1n);
    n.isolate(2n);
    n.isolate(3n);
    n.propose(1n, 'a');
    n.propose(1n, 'b');
    expect(n.node(1n).status().committed).toBe(1);
    // act: one follower comes back and a third entry is replicated.
    n.recover();
    n.isolate(3n);
    n.propose(1n, 'c');
    // check
    expect(n.node(1n).status().committed).toBe(4);
    expect(n.node(1n).applied).toEqual(['a', 'b', 'c']);
    // Reference: §5.3
  });

  it('followers learn the commit index from later AppendEntries and apply committed entries in log order', () => {
    // init
    const n = createNetwork();
    n.elect(1n);
    // act
    for (const data of ['a', 'b', 'c']) n.propose(1n, data);
    // check
    for (const id of [1n, 2n, 3n]) {
      expect(n.node(id).status().committed).toBe(4);
      expect(n.node(id).applied).toEqual(['a', 'b', 'c']);
    }
    // Reference: §5.3
  });

  const followerCases = [
    {
      what: 'appends new entries after a matching entry',
      prev: { index: 2, logTerm: 2 },
      ents: [entry(3, 2)],
      reject: false,
      index: 3,
      terms: [1, 2, 2],
    },
    {
      what: 'accepts entries it already has, changing nothing',
      prev: { index: 1, logTerm: 1 },
      ents: [entry(2, 2)],
      reject: false,
      index: 2,
      terms: [1, 2],
    },
    {
      what: 'accepts an empty append after a matching entry',
      prev: { index: 2, logTerm: 2 },
      ents: [],
      reject: false,
      index: 2,
      terms: [1, 2],
    },
    {
      what: 'rejects an append whose previous entry has another term',
      prev: { index: 2, logTerm: 1 },
      ents: [entry(3, 2)],
      reject: true,
      index: 2,
      terms: [1, 2],
    },
    {
      what: 'rejects an append whose previous entry it lacks',
      prev: { index: 3, logTerm: 2 },
      ents: [entry(4, 2)],
      reject: true,
      index: 3,
      terms: [1, 2],
    },
  ];
  for (const { what, prev, ents, reject, index, terms } of followerCases) {
    it(`a follower ${what} (consistency check on prevLogIndex/prevLogTerm)`, () => {
      // init: a follower with log [1:1 2:2] in term 2.
      const n = createNetwork({
        nodes: [1n],
        storage: () => storageWithLog([1n, 2n, 3n], [1, 2], { term: 2 }),
      });
      // act
      n.send(msgApp(2n, 1n, 2, prev, ents));
      // check
      expect(ofType(n.sent, 'MsgAppResp')).toMatchObject([{ from: 1n, to: 2n, term: 2, index, reject }]);
      expect(n.node(1n).terms()).toEqual(terms);
      // Reference: §5.3
    });
  }

  it('a follower deletes a conflicting entry and all that follow it, then appends the leader’s', () => {
    // init: a follower with log [1:1 2:1 3:2 4:2] in term 2.
    const n = createNetwork({
      nodes: [1n],
      storage: () => storageWithLog([1n, 2n, 3n], [1, 1, 2, 2], { term: 2 }),
    });
    // act: a term-3 leader's entry 3 conflicts with the follower's.
    n.send(msgApp(2n, 1n, 3, { index: 2, logTerm: 1 }, [entry(3, 3, 'new')]));
    // check
    expect(n.node(1n).log()).toEqual(['1/1 EntryNormal "1"', '1/2 EntryNormal "2"', '3/3 EntryNormal "new"']);
    expect(ofType(n.sent, 'MsgAppResp')).toMatchObject([{ index: 3, reject: false }]);
    // Reference: §5.3
  });

  it('a follower never truncates its log for an append it already contains (a delayed, shorter AppendEntries)', () => {
    // init: a follower with log [1:1 2:1 3:1].
    const n = createNetwork({
      nodes: [1n],
      storage: () => storageWithLog([1n, 2n, 3n], [1, 1, 1], { term: 1 }),
    });
    const before = n.node(1n).log();
    // act: an old append that carried only entry 2 arrives late.
    n.send(msgApp(2n, 1n, 1, { index: 1, logTerm: 1 }, [entry(2, 1)]));
    // check
    expect(n.node(1n).log()).toEqual(before);
    // Reference: §5.3
  });

  // Figure 7: the leader of term 8 and six possible follower logs (terms of entries 1, 2, …).
  const LEADER_LOG = [1, 1, 1, 4, 4, 5, 5, 6, 6, 6];
  it.each([
    { fig: '(a) missing entries', log: [1, 1, 1, 4, 4, 5, 5, 6, 6] },
    { fig: '(b) missing many entries', log: [1, 1, 1, 4] },
    { fig: '(c) an extra uncommitted entry', log: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6] },
    { fig: '(d) extra entries of a later term', log: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7] },
    { fig: '(e) missing entries and extra ones of an old term', log: [1, 1, 1, 4, 4, 4, 4] },
    { fig: '(f) many extra entries of old terms', log: [1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3] },
  ])('a new leader brings a follower with Figure 7 $fig into agreement with its own log', ({ log }) => {
    // init: leader 1 at term 7 (it will campaign in term 8), follower 2, node 3 absent.
    const n = createNetwork({
      nodes: [1n, 2n],
      storage: (id) =>
        id === 1n
          ? storageWithLog([1n, 2n, 3n], LEADER_LOG, { term: 7, commit: 3 })
          : storageWithLog([1n, 2n, 3n], log, { term: 7 }),
    });
    // act: 1 campaigns; whatever 2 answers, the absent 3 grants its vote.
    n.raw(1n).campaign();
    n.stabilize();
    n.send(voteResp(3n, 1n, 8));
    n.tick(1n); // a heartbeat round tells 2 the final commit index
    n.stabilize();
    // check
    expect(n.node(1n).state).toBe('StateLeader');
    expect(n.node(1n).terms()).toEqual([...LEADER_LOG, 8]);
    expect(n.node(2n).log()).toEqual(n.node(1n).log());
    expect(n.node(2n).status().committed).toBe(11);
    // Reference: §5.3, Figure 7
  });
});

describe('§5.4 safety', () => {
  // The voter's log is [1:1 2:2]: last term 2, last index 2.
  it.each([
    { last: { index: 1, logTerm: 1 }, granted: false },
    { last: { index: 2, logTerm: 1 }, granted: false },
    { last: { index: 3, logTerm: 1 }, granted: false },
    { last: { index: 1, logTerm: 2 }, granted: false },
    { last: { index: 2, logTerm: 2 }, granted: true },
    { last: { index: 3, logTerm: 2 }, granted: true },
    { last: { index: 1, logTerm: 3 }, granted: true },
  ])(
    '§5.4.1 a voter grants its vote only to a candidate whose log is at least as up-to-date as its own: candidate last entry $last.logTerm/$last.index → granted=$granted',
    ({ last, granted }) => {
      // init
      const n = createNetwork({
        nodes: [1n],
        storage: () => storageWithLog([1n, 2n, 3n], [1, 2], { term: 2 }),
      });
      // act
      n.send(msgVote(2n, 1n, 3, last));
      // check
      expect(ofType(n.sent, 'MsgVoteResp')).toMatchObject([{ to: 2n, reject: !granted }]);
      expect(n.persistedHardState(1n).vote).toBe(granted ? 2n : NONE);
      // Reference: §5.4.1
    },
  );

  /**
   * Figure 8 (a)–(c), with five servers and one entry per AppendEntries:
   *   (a) S1 leads term 1 and replicates entry 2 ("a") to S2 only;
   *   (b) S1 crashes; S5 is elected in term 2 by S3, S4, S5 and appends entry 2 of term 2 (its
   *       no-op), which reaches nobody;
   *   (c) S5 crashes; S1 restarts, is elected in term 3 and replicates entry 2 to S3 and S4, but
   *       its term-3 entry reaches only S2. Entry 2 is now on S1–S4, a majority.
   */
  function figure8UpToC(): Network {
    const n = createNetwork({ voters: [1n, 2n, 3n, 4n, 5n], config: { maxSizePerMsg: 1 } });
    // (a)
    n.elect(1n);
    n.cut(1n, 3n);
    n.cut(1n, 4n);
    n.cut(1n, 5n);
    n.propose(1n, 'a');
    expect(n.node(2n).hasEntry(2, 1)).toBe(true);
    // (b)
    n.crash(1n);
    n.dropIf = (m) => m.type === 'MsgApp' && m.from === 5n;
    expect(n.elect(5n)).toBe(2);
    expect(n.node(5n).hasEntry(2, 2)).toBe(true);
    // (c): S3 and S4 voted for S5 in term 2, so S1 needs a second election.
    n.crash(5n);
    n.recover();
    n.restart(1n);
    // S3 and S4 may reject probes they cannot match, but never receive a term-3 entry they would accept.
    n.dropIf = (m) =>
      m.type === 'MsgApp' &&
      (m.to === 3n || m.to === 4n) &&
      m.entries.some((e) => e.term === 3) &&
      n.node(m.to).hasEntry(m.index, m.logTerm);
    n.raw(1n).campaign();
    n.stabilize();
    expect(n.elect(1n)).toBe(3);
    return n;
  }

  it('§5.4.2 Figure 8: a leader does not commit an entry from an earlier term by counting its replicas', () => {
    // init / act: Figure 8 (a)–(c).
    const n = figure8UpToC();
    // check: entry 2 of term 1 is on S1, S2, S3, S4 …
    for (const id of [1n, 2n, 3n, 4n]) expect(n.node(id).hasEntry(2, 1)).toBe(true);
    const progress = n.node(1n).status().progress;
    expect([2n, 3n, 4n].map((id) => progress.get(id)?.match)).toEqual([3, 2, 2]);
    // … and yet it is not committed.
    expect(n.node(1n).status().committed).toBe(1);
    expect(n.node(1n).applied).toEqual([]);
    // Why that is right, (d): S1 crashes, and S5 can be elected by S3 and S4 and overwrite entry 2.
    n.crash(1n);
    n.recover();
    n.restart(5n);
    n.raw(5n).campaign();
    n.stabilize();
    n.elect(5n);
    for (const id of [2n, 3n, 4n]) expect(n.node(id).hasEntry(2, 2)).toBe(true);
    expect(n.node(5n).status().committed).toBeGreaterThanOrEqual(2);
    // Reference: §5.4.2, Figure 8
  });

  it('§5.4.2 Figure 8: entries from earlier terms commit once an entry of the current term is committed', () => {
    // init: Figure 8 (a)–(c).
    const n = figure8UpToC();
    // act, (e): S1's term-3 entry reaches S3 and S4 too.
    n.recover();
    n.tick(1n);
    n.stabilize();
    // check: entry 2 is committed with entry 3 …
    expect(n.node(1n).status().committed).toBe(3);
    expect(n.node(1n).applied).toEqual(['a']);
    // … and S5 can no longer be elected to overwrite it.
    n.crash(1n);
    n.restart(5n);
    for (let i = 0; i < 3; i++) {
      n.raw(5n).campaign();
      n.stabilize();
      expect(n.node(5n).state).not.toBe('StateLeader');
    }
    for (const id of [2n, 3n, 4n]) expect(n.node(id).hasEntry(2, 1)).toBe(true);
    // Reference: §5.4.2, Figure 8
  });

  it('§5.4.3 leader completeness: a server missing committed entries cannot be elected; the winner has them all', () => {
    // init: "a" and "b" are committed by 1 and 2 while 3 is cut off; then 1 crashes.
    const n = createNetwork();
    n.elect(1n);
    n.isolate(3n);
    n.propose(1n, 'a');
    n.propose(1n, 'b');
    expect(n.node(1n).status().committed).toBe(3);
    n.crash(1n);
    n.recover();
    // act / check: 3 campaigns and is refused by 2.
    n.raw(3n).campaign();
    n.stabilize();
    expect(n.node(3n).state).not.toBe('StateLeader');
    expect(ofType(n.sent, 'MsgVoteResp').filter((m) => m.from === 2n && m.to === 3n)).toMatchObject([
      { reject: true },
    ]);
    // act / check: 2 is elected, and brings 3 the committed entries.
    n.elect(2n);
    expect(n.node(2n).applied).toEqual(['a', 'b']);
    expect(n.node(3n).applied).toEqual(['a', 'b']);
    // Reference: §5.4.3
  });
});
