/**
 * A follower forwards the proposals made between two Readies as one MsgProp (forward-proposals.ts):
 * fewer messages, the same log.
 */

import { describe, expect, it } from 'vitest';
import type { MsgProp } from './messages.js';
import { bytes, createNetwork, type Network, ofType, storedEntries } from './test/network.js';
import type { ConfChange } from './types.js';

/** A three-member cluster led by 1. */
function ledBy1(config = {}): Network {
  const n = createNetwork({ config });
  n.elect(1n);
  return n;
}

const decode = (d: Uint8Array) => new TextDecoder().decode(d);

/** The data of each entry of each MsgProp sent from `from`, as strings. */
function forwarded(n: Network, from: bigint): string[][] {
  return ofType(n.sent, 'MsgProp')
    .filter((m) => m.from === from)
    .map((m: MsgProp) => m.entries.map((e) => (e.type === 'EntryNormal' ? decode(e.data) : 'conf change')));
}

/** The data of the normal entries with data in `id`'s log, as strings. */
function appended(n: Network, id: bigint): string[] {
  return storedEntries(n.node(id).storage).flatMap((e) =>
    e.type === 'EntryNormal' && e.data.length > 0 ? [decode(e.data)] : [],
  );
}

describe('a follower forwards the proposals of one Ready as one MsgProp', () => {
  it('three proposals before a Ready: one message, and the leader appends all three in order', () => {
    const n = ledBy1();
    for (const s of ['a', 'b', 'c']) n.raw(2n).propose(bytes(s));
    n.stabilize();
    expect(forwarded(n, 2n)).toEqual([['a', 'b', 'c']]);
    for (const id of [1n, 2n, 3n]) expect(appended(n, id)).toEqual(['a', 'b', 'c']);
  });

  it('a proposal after the Ready that took the message starts a new one', () => {
    const n = ledBy1();
    n.raw(2n).propose(bytes('a'));
    n.processReady(2n);
    n.raw(2n).propose(bytes('b'));
    n.stabilize();
    expect(forwarded(n, 2n)).toEqual([['a'], ['b']]);
  });

  it('a message queued in between ends the merge, so nothing overtakes it', () => {
    const n = ledBy1();
    const before = n.sent.length;
    n.raw(2n).propose(bytes('a'));
    n.raw(2n).readIndex(bytes('r'));
    n.raw(2n).propose(bytes('b'));
    n.stabilize();
    expect(forwarded(n, 2n)).toEqual([['a'], ['b']]);
    const fromTwo = n.sent
      .slice(before)
      .filter((m) => m.from === 2n)
      .map((m) => m.type);
    expect(fromTwo.filter((t) => t !== 'MsgAppResp' && t !== 'MsgHeartbeatResp')).toEqual([
      'MsgProp',
      'MsgReadIndex',
      'MsgProp',
    ]);
  });

  it('a conf change travels alone: nothing joins it and it joins nothing', () => {
    const n = ledBy1();
    const cc: ConfChange = {
      transition: 'auto',
      changes: [{ type: 'ConfChangeAddLearnerNode', nodeId: 4n }],
      context: bytes(''),
    };
    n.raw(2n).propose(bytes('a'));
    n.raw(2n).proposeConfChange(cc);
    n.raw(2n).propose(bytes('b'));
    n.stabilize();
    expect(forwarded(n, 2n)).toEqual([['a'], ['conf change'], ['b']]);
  });

  it('stops at maxSizePerMsg bytes of data', () => {
    const n = ledBy1({ maxSizePerMsg: 2, maxInflightBytes: 0 });
    for (const s of ['a', 'b', 'c', 'd', 'e']) n.raw(2n).propose(bytes(s));
    n.stabilize();
    expect(forwarded(n, 2n)).toEqual([['a', 'b'], ['c', 'd'], ['e']]);
    expect(appended(n, 1n)).toEqual(['a', 'b', 'c', 'd', 'e']);
  });
});
