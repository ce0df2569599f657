/**
 * Random raft messages of every type for property tests of the codec and the protocol, biased
 * towards the edges: node IDs 0, 1, 2^63 and 2^64-1, counters 0, 2^32 and 2^53-1, empty and large
 * payloads, conf change entries, snapshots with joint configurations. Each generated message has
 * exactly the fields of its type (what validateMessage returns). Test-only.
 */

import {
  type ConfChange,
  type ConfState,
  type Entry,
  type Index,
  MESSAGE_TYPES,
  type Message,
  type MessageType,
  type NodeId,
  type RandomSource,
  type Snapshot,
  type Term,
} from '@tsetcd/raft';

/** Largest uint64: the largest node ID. */
export const MAX_NODE_ID: NodeId = (1n << 64n) - 1n;

const EDGE_IDS: readonly NodeId[] = [0n, 1n, 2n, 1n << 63n, MAX_NODE_ID, 0xffff_ffffn, 1n << 32n];
const EDGE_COUNTERS: readonly number[] = [
  0,
  1,
  127,
  128,
  255,
  256,
  2 ** 32 - 1,
  2 ** 32,
  Number.MAX_SAFE_INTEGER,
];

/** Builds random messages from a seeded source. */
export class MessageGenerator {
  constructor(
    private readonly rand: RandomSource,
    /** Upper bound of a "large" payload. */
    private readonly largeBytes = 64 * 1024,
  ) {}

  /** Picks one element. */
  pick<T>(xs: readonly T[]): T {
    return xs[this.rand(xs.length)]!;
  }

  /** A node ID, often an edge value. */
  nodeId(): NodeId {
    if (this.rand(2) === 0) return this.pick(EDGE_IDS);
    let v = 0n;
    for (let i = 0; i < 4; i++) v = (v << 16n) | BigInt(this.rand(0x10000));
    return v;
  }

  /** A non-negative safe integer, often an edge value. */
  counter(): number {
    const k = this.rand(3);
    if (k === 0) return this.pick(EDGE_COUNTERS);
    if (k === 1) return this.rand(1000);
    return this.rand(2 ** 21) * 2 ** 32 + this.rand(2 ** 32);
  }

  /** Bytes: usually short, sometimes empty, sometimes large. */
  bytes(): Uint8Array {
    const k = this.rand(10);
    const n = k === 0 ? 0 : k === 1 ? this.rand(this.largeBytes) : this.rand(40);
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.rand(256);
    return out;
  }

  private list<T>(max: number, make: () => T): T[] {
    return Array.from({ length: this.rand(max + 1) }, make);
  }

  private confChange(): ConfChange {
    return {
      transition: this.pick(['auto', 'implicit', 'explicit'] as const),
      changes: this.list(3, () => ({
        type: this.pick([
          'ConfChangeAddNode',
          'ConfChangeRemoveNode',
          'ConfChangeAddLearnerNode',
          'ConfChangeUpdateNode',
        ] as const),
        nodeId: this.nodeId(),
      })),
      context: this.bytes(),
    };
  }

  /** A normal or conf change entry. */
  entry(): Entry {
    const term = this.counter() as Term;
    const index = this.counter() as Index;
    if (this.rand(4) === 0) return { type: 'EntryConfChange', term, index, change: this.confChange() };
    return { type: 'EntryNormal', term, index, data: this.bytes() };
  }

  private confState(): ConfState {
    const ids = () => this.list(5, () => this.nodeId());
    return {
      voters: ids(),
      learners: ids(),
      votersOutgoing: ids(),
      learnersNext: ids(),
      autoLeave: this.rand(2) === 0,
    };
  }

  /** A snapshot with random metadata and data. */
  snapshot(): Snapshot {
    return {
      metadata: { index: this.counter() as Index, term: this.counter() as Term, confState: this.confState() },
      data: this.bytes(),
    };
  }

  /** A message of `type` (random when omitted) with random fields. */
  message(type: MessageType = this.pick(MESSAGE_TYPES)): Message {
    const env = { from: this.nodeId(), to: this.nodeId(), term: this.counter() as Term };
    const index = () => this.counter() as Index;
    const bool = () => this.rand(2) === 0;
    switch (type) {
      case 'MsgApp':
        return {
          type,
          ...env,
          index: index(),
          logTerm: this.counter() as Term,
          entries: this.list(4, () => this.entry()),
          commit: index(),
        };
      case 'MsgAppResp':
        return {
          type,
          ...env,
          index: index(),
          reject: bool(),
          rejectHint: index(),
          logTerm: this.counter() as Term,
        };
      case 'MsgVote':
      case 'MsgPreVote':
        return { type, ...env, index: index(), logTerm: this.counter() as Term, transfer: bool() };
      case 'MsgVoteResp':
      case 'MsgPreVoteResp':
        return { type, ...env, reject: bool() };
      case 'MsgHeartbeat':
        return { type, ...env, commit: index(), context: this.bytes() };
      case 'MsgHeartbeatResp':
      case 'MsgReadIndex':
        return { type, ...env, context: this.bytes() };
      case 'MsgSnap':
        return { type, ...env, snapshot: this.snapshot() };
      case 'MsgTimeoutNow':
        return { type, ...env };
      case 'MsgProp':
        return { type, ...env, entries: this.list(4, () => this.entry()) };
      case 'MsgReadIndexResp':
        return { type, ...env, index: index(), context: this.bytes() };
      case 'MsgTransferLeader':
        return { type, ...env, transferee: this.nodeId() };
    }
  }
}
