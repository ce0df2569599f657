/**
 * etcd's v3lock service (Lock, Unlock): a thin wrapper over the Mutex recipe, as etcd's
 * server/etcdserver/api/v3lock/lock.go over clientv3/concurrency. The lock is held through the
 * caller's lease: the server never keeps it alive nor revokes it (the session is orphaned once
 * the lock is taken), so the lock ends when the caller's lease does, or on Unlock.
 *
 * Does not: remember locks between calls — Unlock deletes whatever key it is given, as etcd does.
 */

import { type Client, Mutex, Session, SessionExpiredError, type TsetcdNode } from '@tsetcd/core';
import { LeaseNotFoundError } from '@tsetcd/mvcc';
import type { ServiceImplementation } from '../grpc-server/grpc-server.js';
import type { ServiceCall } from '../grpc-server/server-call.js';
import { type CallStatus, Status } from '../grpc-server/status.js';
import { callOptions, clientFor } from './call.js';
import { big, bytes, headerOut, type Pb } from './convert.js';
import { toWireError } from './errors.js';

/** The Lock service's handlers. */
export function lockService(node: TsetcdNode): ServiceImplementation {
  return {
    Lock: recipeUnary(async (req, call) => {
      const signal = callSignal(call);
      const session = await sessionFor(clientFor(node, call.metadata), big(req.lease), signal);
      try {
        const guard = await new Mutex(session, str(req.name)).lock({ signal });
        return { header: headerOut(guard.header), key: Buffer.from(guard.key) };
      } finally {
        // etcd orphans the session: the lock lives as long as the caller's lease.
        session.orphan();
      }
    }),
    Unlock: recipeUnary(async (req, call) => {
      const r = await clientFor(node, call.metadata).kv.delete(bytes(req.key), callOptions(call));
      return { header: headerOut(r.header) };
    }),
  };
}

/**
 * A session on the caller's lease (etcd's NewSession(WithLease)); lease 0 grants a new one with
 * the default TTL, as etcd's NoLease does. A lease that does not exist fails as etcd's first write
 * with it fails: "etcdserver: requested lease not found".
 */
export async function sessionFor(client: Client, lease: bigint, signal: AbortSignal): Promise<Session> {
  try {
    return await Session.create(client, lease === 0n ? { signal } : { leaseId: lease, signal });
  } catch (err) {
    if (err instanceof SessionExpiredError && err.cause instanceof LeaseNotFoundError) throw err.cause;
    throw err;
  }
}

/** The call's cancellation (callOptions always gives one). */
export function callSignal(call: ServiceCall): AbortSignal {
  return callOptions(call).signal ?? new AbortController().signal;
}

/** Bytes as a string (etcd's Go `string(b)`); the recipes write keys as UTF-8. */
export function str(v: unknown): string {
  return Buffer.from(bytes(v)).toString('utf8');
}

/**
 * A unary handler of the lock and election services. etcd serves them through an in-process
 * client, whose errors reach the wire as plain errors: etcd's message with status Unknown (a
 * missing lease is "etcdserver: requested lease not found", code 2 — not NotFound as on the Lease
 * service). Cancellation stays Cancelled.
 */
export function recipeUnary(fn: (req: Pb, call: ServiceCall) => Promise<Pb>) {
  return (call: ServiceCall, callback: (err: CallStatus | null, value?: unknown) => void): void => {
    fn(call.request as Pb, call).then(
      (res) => callback(null, res),
      (err: unknown) => {
        const w = toWireError(err);
        callback({ code: w.code === Status.CANCELLED ? w.code : Status.UNKNOWN, details: w.details });
      },
    );
  };
}
