/**
 * describe*: the deterministic text used by interaction scripts, simulator traces and logs.
 * Every field that matters is shown, empty ones are omitted, and the same input always gives
 * the same text.
 */

import { describe, expect, it } from 'vitest';
import {
  describeConfChange,
  describeConfState,
  describeData,
  describeEntry,
  describeHardState,
  describeMessage,
  describeReady,
  describeSnapshot,
} from './describe.js';
import type { Message } from './messages.js';
import type { Ready } from './ready.js';
import { EMPTY_CONF_STATE, type Entry, type Index, type Snapshot, type Term } from './types.js';

const ix = (n: number) => n as Index;
const tm = (n: number) => n as Term;
const bytes = (s: string) => new TextEncoder().encode(s);

const normal = (term: number, index: number, data: string): Entry => ({
  type: 'EntryNormal',
  term: tm(term),
  index: ix(index),
  data: bytes(data),
});

const snapshot: Snapshot = {
  metadata: {
    index: ix(11),
    term: tm(2),
    confState: { ...EMPTY_CONF_STATE, voters: [1n, 2n, 3n], learners: [4n] },
  },
  data: bytes('state'),
};

describe('describeData', () => {
  it('prints printable ASCII as a quoted string and anything else as hex', () => {
    expect(describeData(bytes('hello world'))).toBe('"hello world"');
    expect(describeData(new Uint8Array(0))).toBe('""');
    expect(describeData(bytes('say "hi"'))).toBe('"say \\"hi\\""');
    expect(describeData(new Uint8Array([0, 1, 0xff]))).toBe('0x0001ff');
    expect(describeData(bytes('tab\there'))).toBe('0x7461620968657265');
    expect(describeData(bytes('é'))).toBe('0xc3a9');
  });
});

describe('describeConfChange / describeConfState', () => {
  it('uses etcd’s compact change notation', () => {
    const changes = [
      { type: 'ConfChangeAddNode', nodeId: 2n },
      { type: 'ConfChangeAddLearnerNode', nodeId: 3n },
      { type: 'ConfChangeRemoveNode', nodeId: 1n },
      { type: 'ConfChangeUpdateNode', nodeId: 4n },
    ] as const;
    const context = new Uint8Array(0);
    expect(describeConfChange({ transition: 'auto', changes, context })).toBe('v2 l3 r1 u4');
    expect(describeConfChange({ transition: 'explicit', changes: changes.slice(0, 1), context })).toBe(
      'v2 (explicit)',
    );
    expect(describeConfChange({ transition: 'implicit', changes: changes.slice(0, 1), context })).toBe(
      'v2 (implicit)',
    );
    expect(describeConfChange({ transition: 'auto', changes: [], context })).toBe('leave-joint');
  });

  it('prints plain, learner, joint and auto-leave configurations', () => {
    expect(describeConfState(EMPTY_CONF_STATE)).toBe('voters=()');
    expect(describeConfState({ ...EMPTY_CONF_STATE, voters: [1n, 2n, 3n] })).toBe('voters=(1 2 3)');
    expect(
      describeConfState({
        voters: [1n, 2n],
        votersOutgoing: [1n, 2n, 3n],
        learners: [4n],
        learnersNext: [3n],
        autoLeave: true,
      }),
    ).toBe('voters=(1 2)&&(1 2 3) learners=(4) learners_next=(3) autoleave');
  });
});

describe('describeEntry / describeSnapshot / describeHardState', () => {
  it('prints term/index, type and payload', () => {
    expect(describeEntry(normal(2, 5, 'x'))).toBe('2/5 EntryNormal "x"');
    expect(describeEntry(normal(1, 1, ''))).toBe('1/1 EntryNormal ""');
    expect(
      describeEntry({
        type: 'EntryConfChange',
        term: tm(3),
        index: ix(7),
        change: {
          transition: 'implicit',
          changes: [{ type: 'ConfChangeAddNode', nodeId: 4n }],
          context: new Uint8Array(0),
        },
      }),
    ).toBe('3/7 EntryConfChange v4 (implicit)');
  });

  it('prints snapshot metadata and hard state', () => {
    expect(describeSnapshot(snapshot)).toBe('index=11 term=2 voters=(1 2 3) learners=(4)');
    expect(describeHardState({ term: tm(3), vote: 2n, commit: ix(9) })).toBe('Term:3 Vote:2 Commit:9');
  });
});

describe('describeMessage', () => {
  const env = { from: 1n, to: 2n, term: tm(3) };
  const cases: [Message, string][] = [
    [
      { ...env, type: 'MsgApp', index: ix(4), logTerm: tm(2), commit: ix(3), entries: [normal(3, 5, 'a')] },
      '1->2 MsgApp Term:3 Log:2/4 Commit:3 Entries:[3/5 EntryNormal "a"]',
    ],
    [
      { ...env, type: 'MsgApp', index: ix(4), logTerm: tm(2), commit: ix(3), entries: [] },
      '1->2 MsgApp Term:3 Log:2/4 Commit:3',
    ],
    [
      { ...env, type: 'MsgAppResp', index: ix(5), reject: false, rejectHint: ix(0), logTerm: tm(0) },
      '1->2 MsgAppResp Term:3 Log:0/5',
    ],
    [
      { ...env, type: 'MsgAppResp', index: ix(5), reject: true, rejectHint: ix(3), logTerm: tm(1) },
      '1->2 MsgAppResp Term:3 Log:0/5 Rejected (Hint: 3/1)',
    ],
    [
      { ...env, type: 'MsgVote', index: ix(5), logTerm: tm(2), transfer: false },
      '1->2 MsgVote Term:3 Log:2/5',
    ],
    [
      { ...env, type: 'MsgVote', index: ix(5), logTerm: tm(2), transfer: true },
      '1->2 MsgVote Term:3 Log:2/5 Transfer',
    ],
    [
      { ...env, type: 'MsgPreVote', index: ix(5), logTerm: tm(2), transfer: false },
      '1->2 MsgPreVote Term:3 Log:2/5',
    ],
    [{ ...env, type: 'MsgVoteResp', reject: false }, '1->2 MsgVoteResp Term:3'],
    [{ ...env, type: 'MsgPreVoteResp', reject: true }, '1->2 MsgPreVoteResp Term:3 Rejected'],
    [
      { ...env, type: 'MsgHeartbeat', commit: ix(4), context: new Uint8Array(0) },
      '1->2 MsgHeartbeat Term:3 Commit:4',
    ],
    [
      { ...env, type: 'MsgHeartbeat', commit: ix(4), context: bytes('r1') },
      '1->2 MsgHeartbeat Term:3 Commit:4 Context:"r1"',
    ],
    [{ ...env, type: 'MsgHeartbeatResp', context: new Uint8Array(0) }, '1->2 MsgHeartbeatResp Term:3'],
    [{ ...env, type: 'MsgHeartbeatResp', context: bytes('r1') }, '1->2 MsgHeartbeatResp Term:3 Context:"r1"'],
    [
      { ...env, type: 'MsgSnap', snapshot },
      '1->2 MsgSnap Term:3 Snapshot: index=11 term=2 voters=(1 2 3) learners=(4)',
    ],
    [{ ...env, type: 'MsgTimeoutNow' }, '1->2 MsgTimeoutNow Term:3'],
    [
      { ...env, term: tm(0), type: 'MsgProp', entries: [normal(0, 0, 'p')] },
      '1->2 MsgProp Term:0 Entries:[0/0 EntryNormal "p"]',
    ],
    [
      { ...env, term: tm(0), type: 'MsgReadIndex', context: bytes('c') },
      '1->2 MsgReadIndex Term:0 Context:"c"',
    ],
    [
      { ...env, type: 'MsgReadIndexResp', index: ix(9), context: bytes('c') },
      '1->2 MsgReadIndexResp Term:3 Index:9 Context:"c"',
    ],
    [{ ...env, type: 'MsgTransferLeader', transferee: 3n }, '1->2 MsgTransferLeader Term:3 Transferee:3'],
  ];
  for (const [m, want] of cases) {
    it(want, () => expect(describeMessage(m)).toBe(want));
  }
});

describe('describeReady', () => {
  const empty: Ready = {
    entries: [],
    committedEntries: [],
    messages: [],
    persistedMessages: [],
    readStates: [],
    mustSync: false,
  };

  it('prints nothing for an empty Ready', () => {
    expect(describeReady(empty)).toBe('');
  });

  it('prints every non-empty field, in a fixed order, one item per line', () => {
    const rd: Ready = {
      softState: { lead: 1n, raftState: 'StateLeader' },
      hardState: { term: tm(2), vote: 1n, commit: ix(3) },
      snapshot,
      entries: [normal(2, 12, 'e')],
      committedEntries: [normal(2, 11, 'c'), normal(2, 12, 'd')],
      messages: [
        { from: 1n, to: 2n, term: tm(2), type: 'MsgHeartbeat', commit: ix(3), context: new Uint8Array(0) },
      ],
      persistedMessages: [{ from: 1n, to: 3n, term: tm(2), type: 'MsgVoteResp', reject: false }],
      readStates: [{ index: ix(3), requestCtx: bytes('ctx') }],
      mustSync: true,
    };
    const want = [
      'Lead:1 State:StateLeader',
      'HardState Term:2 Vote:1 Commit:3',
      'Snapshot index=11 term=2 voters=(1 2 3) learners=(4)',
      'Entries:',
      '  2/12 EntryNormal "e"',
      'CommittedEntries:',
      '  2/11 EntryNormal "c"',
      '  2/12 EntryNormal "d"',
      'Messages:',
      '  1->2 MsgHeartbeat Term:2 Commit:3',
      'PersistedMessages:',
      '  1->3 MsgVoteResp Term:2',
      'ReadStates:',
      '  Index:3 Context:"ctx"',
    ].join('\n');
    expect(describeReady(rd)).toBe(want);
    // Deterministic: the same Ready describes the same way twice.
    expect(describeReady(rd)).toBe(want);
  });

  it('omits empty lists but keeps the others', () => {
    expect(describeReady({ ...empty, entries: [normal(1, 1, '')] })).toBe('Entries:\n  1/1 EntryNormal ""');
  });
});
