/**
 * What every handler shares: the client a call acts as (the node's own, or the user of the
 * `token` metadata, as etcd's simple-token auth), a deadline and cancellation from the gRPC call,
 * and the error reply.
 */

import type { CallOptions, Client, TsetcdNode } from '@tsetcd/core';
import type { ServiceCall } from '../grpc-server/server-call.js';
import type { CallStatus } from '../grpc-server/status.js';
import { toWireError } from './errors.js';

/**
 * The client a call acts as: the token's user if the call carries one. A token that is not valid
 * — an empty one too, and whether or not auth is enabled — fails the call with "invalid auth
 * token", as etcd 3.4 checks every token it is given.
 */
export function clientFor(node: TsetcdNode, metadata: ServiceCall['metadata']): Client {
  const token = metadata.get('token')[0] ?? metadata.get('authorization')[0];
  return typeof token === 'string' ? node.withToken(token) : node.client;
}

/**
 * A call's deadline and cancellation as the node's CallOptions. The call emits 'cancelled' only
 * if the client gives up before the reply, so a finished call aborts nothing.
 */
export function callOptions(call: ServiceCall): CallOptions {
  const ac = new AbortController();
  call.once('cancelled', () => ac.abort());
  return { ...deadlineOptions(call), signal: ac.signal };
}

/**
 * Just the call's deadline, for the KV calls: their work is short, and a cancelled put is applied
 * all the same (as in etcd), so tracking the client's cancellation — an AbortController and two
 * listeners per call — buys nothing on the hottest path.
 */
export function deadlineOptions(call: ServiceCall): CallOptions {
  const ms = call.getDeadline() - Date.now();
  return Number.isFinite(ms) && ms > 0 ? { timeoutMs: Math.max(1, ms) } : {};
}

/** Runs a unary handler: its result is the reply, a thrown error etcd's status and message. */
export function unary<Req, Res>(fn: (req: Req, call: ServiceCall) => Promise<Res>) {
  return (call: ServiceCall, callback: (err: CallStatus | null, value?: unknown) => void): void => {
    fn(call.request as Req, call).then(
      (res) => callback(null, res),
      (err: unknown) => callback(toWireError(err)),
    );
  };
}
