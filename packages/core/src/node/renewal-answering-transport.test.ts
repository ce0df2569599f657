import type { Index, Message, NodeId, Term } from '@tsetcd/raft';
import type { Transport } from '@tsetcd/transport';
import { describe, expect, it } from 'vitest';
import { encodeRenewalRequest, parseRenewalContext } from './forwarded-renewals.js';
import { RenewalAnsweringTransport } from './renewal-answering-transport.js';

function recorder(): Transport & { sent: Message[] } {
  const sent: Message[] = [];
  return {
    id: 1n as NodeId,
    sent,
    send: (ms) => void sent.push(...ms),
    addPeer: () => undefined,
    removePeer: () => undefined,
    close: async () => undefined,
    [Symbol.asyncDispose]: async () => undefined,
  };
}

const env = { from: 1n as NodeId, to: 2n as NodeId, term: 3 as Term };

describe('RenewalAnsweringTransport', () => {
  it('renews the leases a MsgReadIndexResp asks for and sends it on with the outcomes; the rest go through', async () => {
    const inner = recorder();
    const calls: [readonly bigint[], number][] = [];
    const t = new RenewalAnsweringTransport(inner, async (ids, index) => {
      calls.push([ids, index]);
      return ids.map((id) => (id === 77n ? 30 : 0));
    });
    const renewal: Message = {
      ...env,
      type: 'MsgReadIndexResp',
      index: 9 as Index,
      context: encodeRenewalRequest(1n, [77n, 78n]),
    };
    const read: Message = { ...env, type: 'MsgReadIndexResp', index: 9 as Index, context: new Uint8Array(8) };
    const beat: Message = { ...env, type: 'MsgHeartbeat', commit: 9 as Index, context: new Uint8Array(0) };
    t.send([read, renewal, beat]);
    expect(inner.sent).toEqual([read, beat]); // at once, in order
    await Promise.resolve();
    expect(calls).toEqual([[[77n, 78n], 9]]);
    const answered = inner.sent[2] as Message & { type: 'MsgReadIndexResp' };
    expect(answered.index).toBe(9);
    expect(parseRenewalContext(answered.context)).toEqual({ nonce: 1n, ids: [77n, 78n], outcomes: [30, 0] });
  });
});
