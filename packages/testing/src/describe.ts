/**
 * One-line text for inputs, outputs, key-values and operations. The text of an output is also
 * its canonical form: the checker compares outputs by comparing their descriptions, so every
 * field that matters is printed, in a fixed order. Pure.
 */

import type {
  CompareInput,
  Input,
  KvSnapshot,
  Operation,
  Output,
  TxnOpInput,
  TxnOpOutput,
} from './history.js';

/** `k="v"@c2/m5/v3` (and `/l<id>` when attached to a lease). */
export function describeKv(kv: KvSnapshot): string {
  const lease = kv.lease === 0n ? '' : `/l${kv.lease}`;
  return `${kv.key}=${JSON.stringify(kv.value)}@c${kv.createRevision}/m${kv.modRevision}/v${kv.version}${lease}`;
}

function describeCompare(c: CompareInput): string {
  const op = { EQUAL: '==', NOT_EQUAL: '!=', GREATER: '>', LESS: '<' }[c.result];
  switch (c.target) {
    case 'VALUE':
      return `value(${c.key}) ${op} ${JSON.stringify(c.value)}`;
    case 'LEASE':
      return `lease(${c.key}) ${op} ${c.lease}`;
    default:
      return `${c.target.toLowerCase()}(${c.key}) ${op} ${c.operand}`;
  }
}

function describeOpInput(i: TxnOpInput): string {
  switch (i.type) {
    case 'put': {
      const opts = `${i.lease !== undefined && i.lease !== 0n ? ` lease=${i.lease}` : ''}${i.prevKv ? ' prevKv' : ''}`;
      return `put ${i.key}=${JSON.stringify(i.value)}${opts}`;
    }
    case 'get':
      return `get ${i.key}${i.prefix ? '*' : ''}`;
    case 'delete':
      return `delete ${i.key}${i.prefix ? '*' : ''}${i.prevKv ? ' prevKv' : ''}`;
  }
}

/** A request as one line, e.g. `put a="1" prevKv` or `txn if value(a) == "1" then put a="2" else get a`. */
export function describeInput(i: Input): string {
  switch (i.type) {
    case 'txn': {
      const list = (ops: readonly TxnOpInput[]) =>
        ops.length === 0 ? '-' : ops.map(describeOpInput).join('; ');
      return `txn if ${i.compare.map(describeCompare).join(' && ') || 'true'} then ${list(i.success)} else ${list(i.failure)}`;
    }
    case 'leaseGrant':
      return `leaseGrant ${i.id} ttl=${i.ttl}`;
    case 'leaseRevoke':
      return `leaseRevoke ${i.id}`;
    default:
      return describeOpInput(i);
  }
}

function describeOpOutput(o: TxnOpOutput): string {
  switch (o.type) {
    case 'put':
      return `ok${o.prevKv === undefined ? '' : ` prev=${o.prevKv === null ? 'none' : describeKv(o.prevKv)}`}`;
    case 'get':
      return `[${o.kvs.map(describeKv).join(', ')}]`;
    case 'delete':
      return `deleted=${o.deleted}${o.prevKvs === undefined ? '' : ` prev=[${o.prevKvs.map(describeKv).join(', ')}]`}`;
  }
}

/** An answer as one line; equal text means equal answers (the checker relies on it). */
export function describeOutput(o: Output): string {
  switch (o.type) {
    case 'error':
      return `error ${o.code}`;
    case 'txn':
      return `rev ${o.revision} ${o.succeeded ? 'succeeded' : 'failed'} (${o.responses.map(describeOpOutput).join('; ')})`;
    case 'leaseGrant':
      return `rev ${o.revision} id=${o.id}`;
    case 'leaseRevoke':
      return `rev ${o.revision}`;
    default:
      return `rev ${o.revision} ${describeOpOutput(o)}`;
  }
}

/** `[call, return] client 3: put a="1" -> rev 5 ok`, or `… -> ? (ambiguous)`. */
export function describeOperation(op: Operation): string {
  const ret = op.return === undefined ? '…' : String(op.return);
  const out =
    op.output === undefined || op.return === undefined ? '? (ambiguous)' : describeOutput(op.output);
  return `[${op.call}, ${ret}] client ${op.client}: ${describeInput(op.input)} -> ${out}`;
}
