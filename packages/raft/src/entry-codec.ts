/**
 * A compact binary form for lists of log entries — what the WAL writes and MsgApp carries, so it
 * is on the hot path of every write. Hand-rolled (no field names, no per-value type tags) and
 * decoded into views of the input (entry data is not copied). Pure.
 *
 *   list    := count:u32 entry*
 *   entry   := kind:u8 term:f64 index:f64 body
 *   normal  (kind 0) := len:u32 data[len]
 *   conf    (kind 1) := transition:u8 n:u16 (type:u8 nodeId:u64)×n len:u32 context[len]
 *
 * Numbers are big-endian; terms and indexes are stored as float64, which holds every safe
 * integer, and checked to be non-negative safe integers on decode.
 */

import type { ConfChange, ConfChangeTransition, ConfChangeType, Entry, Index, Term } from './types.js';
import { InvalidMessageError } from './validate.js';

const KIND_NORMAL = 0;
const KIND_CONF = 1;
const TRANSITIONS: readonly ConfChangeTransition[] = ['auto', 'implicit', 'explicit'];
const CC_TYPES: readonly ConfChangeType[] = [
  'ConfChangeAddNode',
  'ConfChangeRemoveNode',
  'ConfChangeAddLearnerNode',
  'ConfChangeUpdateNode',
];
const HEADER = 1 + 8 + 8;

function entrySize(e: Entry): number {
  if (e.type === 'EntryNormal') return HEADER + 4 + e.data.length;
  return HEADER + 1 + 2 + 9 * e.change.changes.length + 4 + e.change.context.length;
}

const newBytes = (n: number): Uint8Array => new Uint8Array(n);

/**
 * The binary form of `entries`; see the file comment. `alloc` makes the output, every byte of
 * which is written: a host may hand out pooled memory where an ArrayBuffer per call costs (the
 * transport and the WAL encode entries for every message and record, then copy them at once).
 */
export function encodeEntries(
  entries: readonly Entry[],
  alloc: (n: number) => Uint8Array = newBytes,
): Uint8Array {
  let size = 4;
  for (const e of entries) size += entrySize(e);
  const out = alloc(size);
  const dv = new DataView(out.buffer, out.byteOffset, out.byteLength);
  dv.setUint32(0, entries.length);
  let at = 4;
  for (const e of entries) {
    dv.setUint8(at, e.type === 'EntryNormal' ? KIND_NORMAL : KIND_CONF);
    dv.setFloat64(at + 1, e.term);
    dv.setFloat64(at + 9, e.index);
    at += HEADER;
    if (e.type === 'EntryNormal') {
      dv.setUint32(at, e.data.length);
      out.set(e.data, at + 4);
      at += 4 + e.data.length;
      continue;
    }
    const cc = e.change;
    dv.setUint8(at, TRANSITIONS.indexOf(cc.transition));
    dv.setUint16(at + 1, cc.changes.length);
    at += 3;
    for (const c of cc.changes) {
      dv.setUint8(at, CC_TYPES.indexOf(c.type));
      dv.setBigUint64(at + 1, c.nodeId);
      at += 9;
    }
    dv.setUint32(at, cc.context.length);
    out.set(cc.context, at + 4);
    at += 4 + cc.context.length;
  }
  return out;
}

/**
 * Decodes what encodeEntries made; throws InvalidMessageError (naming the entry) on anything else.
 * Error paths are built only when an error is thrown: this runs for every entry a member receives.
 */
export function decodeEntries(bytes: Uint8Array, path = 'entries'): Entry[] {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const fail = (i: number, what: string): never => {
    throw new InvalidMessageError(`${path}[${i}]${what}`);
  };
  if (bytes.length < 4) throw new InvalidMessageError(`${path}: truncated`);
  const count = dv.getUint32(0);
  const out: Entry[] = [];
  let at = 4;
  for (let i = 0; i < count; i++) {
    if (at + HEADER > bytes.length) fail(i, ': truncated');
    const kind = dv.getUint8(at);
    const term = dv.getFloat64(at + 1) as Term;
    const index = dv.getFloat64(at + 9) as Index;
    if (!isCounter(term)) fail(i, '.term must be a non-negative safe integer');
    if (!isCounter(index)) fail(i, '.index must be a non-negative safe integer');
    at += HEADER;
    if (kind === KIND_NORMAL) {
      if (at + 4 > bytes.length) fail(i, ': truncated');
      const len = dv.getUint32(at);
      if (at + 4 + len > bytes.length) fail(i, '.data: truncated');
      out.push({ type: 'EntryNormal', term, index, data: bytes.subarray(at + 4, at + 4 + len) });
      at += 4 + len;
      continue;
    }
    if (kind !== KIND_CONF) fail(i, `.type: unknown kind ${kind}`);
    if (at + 3 > bytes.length) fail(i, ': truncated');
    const transition = TRANSITIONS[dv.getUint8(at)];
    if (transition === undefined) fail(i, '.change.transition: unknown');
    const n = dv.getUint16(at + 1);
    at += 3;
    if (at + 9 * n + 4 > bytes.length) fail(i, '.change: truncated');
    const changes: ConfChange['changes'][number][] = [];
    for (let j = 0; j < n; j++) {
      const type = CC_TYPES[dv.getUint8(at)];
      if (type === undefined) fail(i, `.change.changes[${j}].type: unknown`);
      changes.push({ type: type!, nodeId: dv.getBigUint64(at + 1) });
      at += 9;
    }
    const len = dv.getUint32(at);
    if (at + 4 + len > bytes.length) fail(i, '.change.context: truncated');
    const context = bytes.subarray(at + 4, at + 4 + len);
    at += 4 + len;
    out.push({ type: 'EntryConfChange', term, index, change: { transition: transition!, changes, context } });
  }
  if (at !== bytes.length) throw new InvalidMessageError(`${path}: ${bytes.length - at} trailing bytes`);
  return out;
}

function isCounter(n: number): boolean {
  return Number.isSafeInteger(n) && n >= 0;
}
