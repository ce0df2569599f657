/**
 * What every handler shares: the client a call acts as (the node's own, or the user of the
 * `token` metadata, as etcd's simple-token auth), a deadline and cancellation from the gRPC call,
 * and the error reply.
 */

import type { Deadline, Metadata, sendUnaryData } from '@grpc/grpc-js';
import type { CallOptions, Client, TsetcdNode } from '@tsetcd/core';
import { toWireError } from './errors.js';

/** What every kind of server call has (grpc-js does not export its common base). */
export interface ServerSurfaceCall {
  readonly metadata: Metadata;
  getDeadline(): Deadline;
  once(event: 'cancelled', listener: () => void): unknown;
  removeListener(event: 'cancelled', listener: () => void): unknown;
}

/** How to detach callOptions' cancel listener from a call, once its reply is sent. */
const detachers = new WeakMap<object, () => void>();

/** The client a call acts as: the token's user if the call carries one. */
export function clientFor(node: TsetcdNode, metadata: Metadata): Client {
  const token = metadata.get('token')[0] ?? metadata.get('authorization')[0];
  return typeof token === 'string' && token !== '' ? node.withToken(token) : node.client;
}

/** A call's deadline and cancellation as the node's CallOptions. */
export function callOptions(call: ServerSurfaceCall): CallOptions {
  const ac = new AbortController();
  const onCancel = () => ac.abort();
  call.once('cancelled', onCancel);
  // grpc-js reports 'cancelled' also once a finished call's stream closes: unary() detaches the
  // listener when the reply is sent, so a finished call aborts nothing.
  detachers.set(call, () => call.removeListener('cancelled', onCancel));
  const deadline = call.getDeadline();
  // grpc-js gives the deadline as a Date or as an absolute time in ms (Infinity for none).
  const ms = (deadline instanceof Date ? deadline.getTime() : Number(deadline)) - Date.now();
  return Number.isFinite(ms) && ms > 0
    ? { signal: ac.signal, timeoutMs: Math.max(1, ms) }
    : { signal: ac.signal };
}

/** Runs a unary handler: its result is the reply, a thrown error etcd's status and message. */
export function unary<Req, Res>(
  fn: (req: Req, call: ServerSurfaceCall & { readonly request: Req }) => Promise<Res>,
) {
  return (call: ServerSurfaceCall & { readonly request: Req }, callback: sendUnaryData<Res>): void => {
    fn(call.request, call).then(
      (res) => {
        detachers.get(call)?.();
        callback(null, res);
      },
      (err: unknown) => {
        detachers.get(call)?.();
        const w = toWireError(err);
        callback({ code: w.code, details: w.details });
      },
    );
  };
}
