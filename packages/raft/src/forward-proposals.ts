/**
 * A follower forwards proposals to its leader merged: the proposals it forwards between two
 * Readies travel as one MsgProp. That is one message to encode, send, decode and validate
 * instead of one per client request, and with many clients on a follower, forwarded proposals
 * are most of its traffic to the leader.
 *
 * A leader appends a MsgProp all or nothing, as it appended each of the merged ones, and a
 * dropped forward is retried by its proposers either way. Only normal entries merge (a conf
 * change travels alone, so it cannot make a leader refuse the proposals around it), up to
 * maxSizePerMsg bytes of data per message, and only into the message queued last, so no message
 * overtakes another.
 */

import type { MsgProp } from './messages.js';
import type { Raft } from './raft.js';
import type { Entry, Term } from './types.js';

/** The MsgProp a follower queued last, whose entries array later forwards may still extend. */
export interface ForwardBatch {
  readonly msg: MsgProp;
  /** The message's own entries array (a copy made when it was queued). */
  readonly entries: Entry[];
  /** Bytes of entry data in it. */
  bytes: number;
}

/** Bytes of data of normal entries; -1 if any entry is a conf change. */
function normalBytes(entries: readonly Entry[]): number {
  let n = 0;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    if (e.type !== 'EntryNormal') return -1;
    n += e.data.length;
  }
  return n;
}

/** Queues `entries` for the leader (r.lead must be known), merged as the file comment says. */
export function forwardProposal(r: Raft, entries: readonly Entry[]): void {
  const bytes = normalBytes(entries);
  const fb = r.forwardBatch;
  if (
    fb !== undefined &&
    bytes >= 0 &&
    fb.msg.to === r.lead &&
    r.msgs[r.msgs.length - 1] === fb.msg &&
    fb.bytes + bytes <= r.cfg.maxSizePerMsg
  ) {
    for (let i = 0; i < entries.length; i++) fb.entries.push(entries[i]!);
    fb.bytes += bytes;
    return;
  }
  const own = entries.slice();
  const msg: MsgProp = { type: 'MsgProp', from: r.id, to: r.lead, term: 0 as Term, entries: own };
  r.send(msg);
  r.forwardBatch = bytes >= 0 ? { msg, entries: own, bytes } : undefined;
}
