/**
 * Short, deterministic one-line renderings of entries, messages, conf changes and Ready, for the
 * simulator's trace. Pure; the same value always renders to the same text.
 */

import type { Message } from '../../messages.js';
import type { Ready } from '../../ready.js';
import type { ConfChange, ConfState, Entry, NodeId } from '../../types.js';

const LATIN1 = new TextDecoder('latin1');
const MAX_LISTED_ENTRIES = 4;

/** The payload of a normal entry as text (payloads the simulator proposes are ASCII). */
export function payloadText(data: Uint8Array): string {
  return LATIN1.decode(data);
}

const CHANGE_ABBREV = {
  ConfChangeAddNode: '+V',
  ConfChangeRemoveNode: '-',
  ConfChangeAddLearnerNode: '+L',
  ConfChangeUpdateNode: '~',
} as const;

/** A conf change as `auto[+L4,-2]`. */
export function describeConfChange(cc: ConfChange): string {
  const parts = cc.changes.map((c) => `${CHANGE_ABBREV[c.type]}${c.nodeId}`);
  return `${cc.transition}[${parts.join(',')}]`;
}

function ids(xs: readonly NodeId[]): string {
  return xs.join(',');
}

/** A membership as `v[1,2,3] l[4]`, plus the outgoing half when joint. */
export function describeConfState(cs: ConfState): string {
  let s = `v[${ids(cs.voters)}]`;
  if (cs.learners.length > 0) s += ` l[${ids(cs.learners)}]`;
  if (cs.votersOutgoing.length > 0) s += ` out[${ids(cs.votersOutgoing)}]`;
  if (cs.learnersNext.length > 0) s += ` lnext[${ids(cs.learnersNext)}]`;
  if (cs.autoLeave) s += ' autoLeave';
  return s;
}

/** An entry as `index/term payload`, `∅` for the empty leader no-op, `cc…` for a conf change. */
export function describeEntry(e: Entry): string {
  if (e.type === 'EntryConfChange') return `${e.index}/${e.term} cc${describeConfChange(e.change)}`;
  return `${e.index}/${e.term} ${e.data.length === 0 ? '∅' : payloadText(e.data)}`;
}

/** A list of entries, eliding the middle of long ones. */
export function describeEntries(ents: readonly Entry[]): string {
  if (ents.length <= MAX_LISTED_ENTRIES) return `[${ents.map(describeEntry).join(' ')}]`;
  const first = describeEntry(ents[0]!);
  const last = describeEntry(ents[ents.length - 1]!);
  return `[${first} … ${last} (${ents.length})]`;
}

/** A message as `MsgApp 1→2 t3 …` with the fields that matter for its type. */
export function describeMessage(m: Message): string {
  const head = `${m.type} ${m.from}→${m.to} t${m.term}`;
  switch (m.type) {
    case 'MsgApp':
      return `${head} prev ${m.index}/${m.logTerm} c${m.commit} ${describeEntries(m.entries)}`;
    case 'MsgAppResp':
      return m.reject
        ? `${head} REJECT ${m.index} hint ${m.rejectHint}/${m.logTerm}`
        : `${head} ok ${m.index}`;
    case 'MsgVote':
    case 'MsgPreVote':
      return `${head} last ${m.index}/${m.logTerm}${m.transfer ? ' transfer' : ''}`;
    case 'MsgVoteResp':
    case 'MsgPreVoteResp':
      return `${head} ${m.reject ? 'REJECT' : 'grant'}`;
    case 'MsgHeartbeat':
      return `${head} c${m.commit}${m.context.length > 0 ? ` ctx ${payloadText(m.context)}` : ''}`;
    case 'MsgHeartbeatResp':
      return `${head}${m.context.length > 0 ? ` ctx ${payloadText(m.context)}` : ''}`;
    case 'MsgSnap': {
      const md = m.snapshot.metadata;
      return `${head} snap ${md.index}/${md.term} ${describeConfState(md.confState)}`;
    }
    case 'MsgTimeoutNow':
      return head;
    case 'MsgProp':
      return `${head} ${describeEntries(m.entries)}`;
    case 'MsgReadIndex':
      return `${head} ctx ${payloadText(m.context)}`;
    case 'MsgReadIndexResp':
      return `${head} ctx ${payloadText(m.context)} index ${m.index}`;
    case 'MsgTransferLeader':
      return `${head} transferee ${m.transferee}`;
  }
}

/** The durable and apply parts of a Ready, without its messages (those are traced as sent). */
export function describeReady(rd: Ready): string {
  const parts: string[] = [];
  if (rd.softState !== undefined) parts.push(`soft ${rd.softState.raftState} lead ${rd.softState.lead}`);
  if (rd.hardState !== undefined) {
    const hs = rd.hardState;
    parts.push(`hs t${hs.term} vote ${hs.vote} c${hs.commit}`);
  }
  if (rd.snapshot !== undefined) {
    parts.push(`snap ${rd.snapshot.metadata.index}/${rd.snapshot.metadata.term}`);
  }
  if (rd.entries.length > 0) parts.push(`ents ${describeEntries(rd.entries)}`);
  if (rd.committedEntries.length > 0) parts.push(`commit ${describeEntries(rd.committedEntries)}`);
  const msgs = rd.messages.length + rd.persistedMessages.length;
  if (msgs > 0) parts.push(`msgs ${rd.messages.length}+${rd.persistedMessages.length}`);
  if (rd.readStates.length > 0) parts.push(`reads ${rd.readStates.length}`);
  return parts.join('; ');
}
