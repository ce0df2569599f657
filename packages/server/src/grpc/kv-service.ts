/** etcd's KV service (Range, Put, DeleteRange, Txn, Compact) on a node. */

import type { TsetcdNode } from '@tsetcd/core';
import type { ServiceImplementation } from '../grpc-server/grpc-server.js';
import { callOptions, clientFor, deadlineOptions, unary } from './call.js';
import {
  deleteRangeIn,
  deleteRangeOut,
  headerOut,
  num,
  type Pb,
  putIn,
  putOut,
  rangeIn,
  rangeOut,
  txnOut,
} from './convert.js';
import { type DecodedTxn, refuseEmptyOps } from './txn-request.js';

/** The KV service's handlers. */
export function kvService(node: TsetcdNode): ServiceImplementation {
  return {
    Range: unary<Pb, Pb>(async (req, call) => {
      const r = await clientFor(node, call.metadata).kv.range(rangeIn(req), deadlineOptions(call));
      return rangeOut(headerOut(r.header), r);
    }),
    Put: unary<Pb, Pb>(async (req, call) => {
      const p = putIn(req);
      const r = await clientFor(node, call.metadata).kv.put(p.key, p.value ?? new Uint8Array(0), {
        ...deadlineOptions(call),
        ...(p.lease !== undefined ? { lease: p.lease } : {}),
        ...(p.prevKv ? { prevKv: true } : {}),
        ...(p.ignoreValue ? { ignoreValue: true } : {}),
        ...(p.ignoreLease ? { ignoreLease: true } : {}),
      });
      return putOut(headerOut(r.header), r);
    }),
    DeleteRange: unary<Pb, Pb>(async (req, call) => {
      const d = deleteRangeIn(req);
      const r = await clientFor(node, call.metadata).kv.delete(d.key, {
        ...deadlineOptions(call),
        ...(d.rangeEnd !== undefined ? { rangeEnd: d.rangeEnd } : {}),
        ...(d.prevKv ? { prevKv: true } : {}),
      });
      return deleteRangeOut(headerOut(r.header), r);
    }),
    Txn: unary<DecodedTxn, Pb>(async (req, call) => {
      if (req.invalid !== undefined) throw req.invalid;
      if (req.emptyOps !== undefined) refuseEmptyOps(req.txn, req.emptyOps, node.parts.config.maxTxnOps);
      const r = await clientFor(node, call.metadata).kv.txn(req.txn, deadlineOptions(call));
      return txnOut(headerOut(r.header), r);
    }),
    Compact: unary<Pb, Pb>(async (req, call) => {
      const r = await clientFor(node, call.metadata).kv.compact(num(req.revision), {
        ...callOptions(call),
        ...(req.physical === true ? { physical: true } : {}),
      });
      return { header: headerOut(r.header) };
    }),
  };
}
