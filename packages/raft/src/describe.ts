/**
 * Deterministic one-line descriptions of entries, messages and Ready, for interaction tests,
 * simulator traces and logs. The same input always gives the same text. Pure.
 */

import type { Message } from './messages.js';
import type { Ready } from './ready.js';
import type { ConfChange, ConfState, Entry, HardState, NodeId, Snapshot } from './types.js';

const CC_SHORT = {
  ConfChangeAddNode: 'v',
  ConfChangeAddLearnerNode: 'l',
  ConfChangeRemoveNode: 'r',
  ConfChangeUpdateNode: 'u',
} as const;

const text = new TextDecoder('utf-8', { fatal: false });

/** Payload bytes as text when printable, else as hex. */
export function describeData(data: Uint8Array): string {
  const s = text.decode(data);
  if (/^[\x20-\x7e]*$/.test(s)) return JSON.stringify(s);
  return `0x${Array.from(data, (b) => b.toString(16).padStart(2, '0')).join('')}`;
}

/** `v2 l3 r1`, etcd's compact ConfChange notation; `leave-joint` for an empty change. */
export function describeConfChange(cc: ConfChange): string {
  if (cc.changes.length === 0) return 'leave-joint';
  const body = cc.changes.map((c) => `${CC_SHORT[c.type]}${c.nodeId}`).join(' ');
  return cc.transition === 'auto' ? body : `${body} (${cc.transition})`;
}

/** `1/5 EntryNormal "data"`: term/index, type and payload. */
export function describeEntry(e: Entry): string {
  const payload = e.type === 'EntryNormal' ? describeData(e.data) : describeConfChange(e.change);
  return `${e.term}/${e.index} ${e.type} ${payload}`;
}

/** `voters=(1 2 3)&&(1 2) learners=(4)`, etcd's ConfState notation. */
export function describeConfState(cs: ConfState): string {
  const ids = (xs: readonly NodeId[]) => xs.join(' ');
  let s = `voters=(${ids(cs.voters)})`;
  if (cs.votersOutgoing.length > 0) s += `&&(${ids(cs.votersOutgoing)})`;
  if (cs.learners.length > 0) s += ` learners=(${ids(cs.learners)})`;
  if (cs.learnersNext.length > 0) s += ` learners_next=(${ids(cs.learnersNext)})`;
  if (cs.autoLeave) s += ' autoleave';
  return s;
}

/** `index=5 term=2 voters=(1 2 3)`. */
export function describeSnapshot(s: Snapshot): string {
  return `index=${s.metadata.index} term=${s.metadata.term} ${describeConfState(s.metadata.confState)}`;
}

/** `Term:2 Vote:1 Commit:5`. */
export function describeHardState(hs: HardState): string {
  return `Term:${hs.term} Vote:${hs.vote} Commit:${hs.commit}`;
}

/** `1->2 MsgApp Term:2 Log:1/4 Commit:3 Entries:[2/5 EntryNormal "x"]`, one line per message. */
export function describeMessage(m: Message): string {
  const head = `${m.from}->${m.to} ${m.type} Term:${m.term}`;
  switch (m.type) {
    case 'MsgApp':
      return `${head} Log:${m.logTerm}/${m.index} Commit:${m.commit}${describeEntries(m.entries)}`;
    case 'MsgAppResp':
      return m.reject
        ? `${head} Log:0/${m.index} Rejected (Hint: ${m.rejectHint}/${m.logTerm})`
        : `${head} Log:0/${m.index}`;
    case 'MsgVote':
    case 'MsgPreVote':
      return `${head} Log:${m.logTerm}/${m.index}${m.transfer ? ' Transfer' : ''}`;
    case 'MsgVoteResp':
    case 'MsgPreVoteResp':
      return m.reject ? `${head} Rejected` : head;
    case 'MsgHeartbeat':
      return `${head} Commit:${m.commit}${m.context.length > 0 ? ` Context:${describeData(m.context)}` : ''}`;
    case 'MsgHeartbeatResp':
      return m.context.length > 0 ? `${head} Context:${describeData(m.context)}` : head;
    case 'MsgSnap':
      return `${head} Snapshot: ${describeSnapshot(m.snapshot)}`;
    case 'MsgTimeoutNow':
      return head;
    case 'MsgProp':
      return `${head}${describeEntries(m.entries)}`;
    case 'MsgReadIndex':
      return `${head} Context:${describeData(m.context)}`;
    case 'MsgReadIndexResp':
      return `${head} Index:${m.index} Context:${describeData(m.context)}`;
    case 'MsgTransferLeader':
      return `${head} Transferee:${m.transferee}`;
  }
}

function describeEntries(es: readonly Entry[]): string {
  return es.length === 0 ? '' : ` Entries:[${es.map(describeEntry).join(', ')}]`;
}

/** A multi-line description of a Ready, one field per block, omitting empty fields. */
export function describeReady(rd: Ready): string {
  const lines: string[] = [];
  if (rd.softState) lines.push(`Lead:${rd.softState.lead} State:${rd.softState.raftState}`);
  if (rd.hardState) lines.push(`HardState ${describeHardState(rd.hardState)}`);
  if (rd.snapshot) lines.push(`Snapshot ${describeSnapshot(rd.snapshot)}`);
  const block = (title: string, items: readonly string[]) => {
    if (items.length === 0) return;
    lines.push(`${title}:`);
    for (const it of items) lines.push(`  ${it}`);
  };
  block('Entries', rd.entries.map(describeEntry));
  block('CommittedEntries', rd.committedEntries.map(describeEntry));
  block('Messages', rd.messages.map(describeMessage));
  block('PersistedMessages', rd.persistedMessages.map(describeMessage));
  block(
    'ReadStates',
    rd.readStates.map((rs) => `Index:${rs.index} Context:${describeData(rs.requestCtx)}`),
  );
  return lines.join('\n');
}
