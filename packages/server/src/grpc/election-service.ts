/**
 * etcd's v3election service (Campaign, Proclaim, Leader, Observe, Resign), as etcd's
 * server/etcdserver/api/v3election/election.go over clientv3/concurrency's Election:
 * - Campaign runs the Election recipe on the caller's lease (a session that is orphaned once
 *   elected: the server never keeps the lease alive nor revokes it) and answers with the
 *   LeaderKey {name, key, rev, lease} that Proclaim and Resign take back.
 * - Campaign answers with the header of the candidate's own write, not of the moment it won
 *   (etcd's Election.Header).
 * - Proclaim and Resign act on a LeaderKey alone (etcd's ResumeElection): a txn guarded by
 *   "the key still has create revision `rev`". A stale Proclaim fails with "election: not
 *   leader"; a stale Resign succeeds and does nothing, as in etcd. A LeaderKey with lease 0
 *   gets what etcd's session on lease 0 gives it: a new lease (orphaned, default TTL), which a
 *   Proclaim attaches the key to.
 * - Leader and Observe read the key created first under `name/`; Observe follows etcd's observe
 *   loop: wait for a leader, stream each of its values, start over when its key is deleted.
 *
 * Errors reach the wire as etcd's do: plain errors, status Unknown (see recipeUnary).
 */

import {
  type Client,
  Election,
  ElectionNotLeaderError,
  type NodeResponseHeader,
  NoLeaderElectedError,
  type TsetcdNode,
} from '@tsetcd/core';
import type { KeyValue } from '@tsetcd/mvcc';
import type { ServiceImplementation } from '../grpc-server/grpc-server.js';
import type { ServiceCall } from '../grpc-server/server-call.js';
import { callOptions, clientFor } from './call.js';
import { big, bytes, headerOut, kvOut, num, type Pb } from './convert.js';
import { toWireError } from './errors.js';
import { callSignal, recipeUnary, sessionFor, str } from './lock-service.js';

/** etcd's ErrMissingLeaderKey, for a Proclaim or Resign without its LeaderKey. */
export class MissingLeaderKeyError extends Error {
  readonly code = 'ErrMissingLeaderKey';
  constructor() {
    super('"leader" field must be provided');
    this.name = 'MissingLeaderKeyError';
  }
}

/** Range options that pick the key created first under a prefix (etcd's WithFirstCreate). */
const FIRST_CREATED = { prefix: true, sortTarget: 'CREATE', sortOrder: 'ASCEND', limit: 1 } as const;

/** The Election service's handlers. */
export function electionService(node: TsetcdNode): ServiceImplementation {
  return {
    Campaign: recipeUnary(async (req, call) => {
      const signal = callSignal(call);
      const session = await sessionFor(clientFor(node, call.metadata), big(req.lease), signal);
      try {
        const l = await new Election(session, str(req.name)).campaign(bytes(req.value), { signal });
        return {
          header: headerOut(l.campaignHeader),
          leader: {
            name: bytes(req.name),
            key: Buffer.from(l.key),
            rev: String(l.fencingToken),
            lease: BigInt.asIntN(64, session.lease).toString(),
          },
        };
      } finally {
        session.orphan();
      }
    }),
    Proclaim: recipeUnary(async (req, call) => {
      const leader = leaderKeyIn(req.leader);
      const client = clientFor(node, call.metadata);
      const lease = await sessionLease(client, leader.lease, callSignal(call));
      const r = await client.kv.txn(
        {
          compare: [ownerIs(leader)],
          success: [{ type: 'put', request: { key: leader.key, value: bytes(req.value), lease } }],
          failure: [],
        },
        callOptions(call),
      );
      if (!r.succeeded) throw new ElectionNotLeaderError();
      return { header: headerOut(r.header) };
    }),
    Resign: recipeUnary(async (req, call) => {
      const leader = leaderKeyIn(req.leader);
      const client = clientFor(node, call.metadata);
      await sessionLease(client, leader.lease, callSignal(call));
      const r = await client.kv.txn(
        {
          compare: [ownerIs(leader)],
          success: [{ type: 'deleteRange', request: { key: leader.key } }],
          failure: [],
        },
        callOptions(call),
      );
      return { header: headerOut(r.header) };
    }),
    Leader: recipeUnary(async (req, call) => {
      const r = await clientFor(node, call.metadata).kv.get(prefixOf(req.name), {
        ...FIRST_CREATED,
        ...callOptions(call),
      });
      const kv = r.kvs[0];
      if (kv === undefined) throw new NoLeaderElectedError();
      return { header: headerOut(r.header), kv: kvOut(kv) };
    }),
    Observe: (call: ServiceCall) => {
      const signal = callSignal(call);
      const client = clientFor(node, call.metadata);
      observe(node, client, prefixOf((call.request as Pb).name), signal, (header, kv) =>
        call.write({ header: headerOut(header), kv: kvOut(kv) }),
      ).then(
        () => call.end(),
        (err: unknown) => {
          if (signal.aborted) return;
          const w = toWireError(err);
          call.sendStatus(w);
        },
      );
    },
  };
}

interface LeaderKey {
  readonly key: Uint8Array;
  readonly rev: number;
  readonly lease: bigint;
}

function leaderKeyIn(v: unknown): LeaderKey {
  if (v === undefined || v === null) throw new MissingLeaderKeyError();
  const l = v as Pb;
  return { key: bytes(l.key), rev: num(l.rev), lease: big(l.lease) };
}

/**
 * The lease of etcd's session on a LeaderKey's lease: that lease, or for lease 0 a new one
 * granted as etcd's session grants it (and orphaned: nobody keeps it alive).
 */
async function sessionLease(client: Client, lease: bigint, signal: AbortSignal): Promise<bigint> {
  if (lease !== 0n) return lease;
  const session = await sessionFor(client, 0n, signal);
  session.orphan();
  return session.lease;
}

function ownerIs(l: LeaderKey) {
  return { target: 'CREATE', key: l.key, result: 'EQUAL', createRevision: l.rev } as const;
}

/** An election's key prefix, `name/` (etcd's NewElection). */
function prefixOf(name: unknown): string {
  return `${str(name)}/`;
}

/**
 * etcd's Election.observe:
 * 1. Read the key created first under the prefix; if there is none, watch the prefix from that
 *    read's revision and take the first key put (as etcd, not necessarily the first created).
 * 2. Send it, then watch that key from the next revision and send each put on it.
 * 3. When it is deleted, start over at 1.
 * Ends when `signal` aborts or a watch ends (the member stopped).
 */
async function observe(
  node: TsetcdNode,
  client: Client,
  pfx: string,
  signal: AbortSignal,
  send: (header: NodeResponseHeader, kv: KeyValue) => void,
): Promise<void> {
  while (!signal.aborted) {
    // 1.
    const r = await client.kv.get(pfx, { ...FIRST_CREATED, signal });
    let kv = r.kvs[0];
    let header = r.header;
    if (kv === undefined) {
      const w = client.watch(pfx, { prefix: true, startRevision: r.header.revision, signal });
      try {
        for await (const wr of w) {
          if (wr.canceled) return;
          const put = wr.events.find((e) => e.type === 'PUT');
          if (put !== undefined) {
            kv = put.kv;
            header = node.header(put.kv.modRevision);
            break;
          }
        }
      } finally {
        w.cancel();
      }
      if (kv === undefined) return;
    }
    // 2.
    send(header, kv);
    const w = client.watch(kv.key, { startRevision: header.revision + 1, signal });
    let deleted = false;
    try {
      for await (const wr of w) {
        if (wr.canceled) return;
        for (const e of wr.events) {
          if (e.type === 'DELETE') {
            deleted = true;
            break;
          }
          send(node.header(wr.header.revision), e.kv);
        }
        if (deleted) break;
      }
    } finally {
      w.cancel();
    }
    // 3.
    if (!deleted) return;
  }
}
