/**
 * etcd's Lease service (LeaseGrant, LeaseRevoke, LeaseKeepAlive, LeaseTimeToLive, LeaseLeases)
 * on a node, answering as etcd's LeaseServer (api/v3rpc/lease.go) does:
 *   - a grant with a negative TTL is raised to the minimum TTL like any short one; one above
 *     MAX_LEASE_TTL is OutOfRange "etcdserver: too large lease TTL";
 *   - the keep-alive stream renews one request at a time, in order; a lease that is unknown or
 *     expired is answered with TTL 0, not an error; the header is taken before the renewal, so
 *     its revision is never later than the renewal's; the client's half-close ends the stream;
 *   - time-to-live of an unknown lease answers TTL -1, not an error.
 *
 * Not here: lease semantics (core's Lease client and the lessor).
 */

import type { TsetcdNode } from '@tsetcd/core';
import { LeaseNotFoundError, LeaseTtlTooLargeError, MAX_LEASE_TTL } from '@tsetcd/mvcc';
import type { ServiceCall } from '../grpc-server/server-call.js';
import { callOptions, clientFor, unary } from './call.js';
import { big, headerOut, type Pb } from './convert.js';
import { toWireError } from './errors.js';

/** The Lease service's handlers. */
export function leaseService(node: TsetcdNode) {
  return {
    LeaseGrant: unary<Pb, Pb>(async (req, call) => {
      const ttl = big(req.TTL);
      if (ttl > BigInt(MAX_LEASE_TTL)) throw new LeaseTtlTooLargeError();
      const id = big(req.ID);
      const r = await clientFor(node, call.metadata).lease.grant(ttl < 0n ? 0 : Number(ttl), {
        ...callOptions(call),
        ...(id !== 0n ? { id } : {}),
      });
      return { header: headerOut(r.header), ID: r.id.toString(), TTL: String(r.ttl) };
    }),
    LeaseRevoke: unary<Pb, Pb>(async (req, call) => {
      const r = await clientFor(node, call.metadata).lease.revoke(big(req.ID), callOptions(call));
      return { header: headerOut(r.header) };
    }),
    LeaseKeepAlive: (call: ServiceCall) => keepAliveStream(node, call),
    LeaseTimeToLive: unary<Pb, Pb>(async (req, call) => {
      const id = big(req.ID);
      try {
        const r = await clientFor(node, call.metadata).lease.timeToLive(id, {
          ...callOptions(call),
          ...(req.keys === true ? { keys: true } : {}),
        });
        const o: Pb = { header: headerOut(r.header), ID: r.id.toString(), TTL: String(r.ttl) };
        if (r.grantedTtl !== 0) o.grantedTTL = String(r.grantedTtl);
        if (r.keys.length > 0) o.keys = r.keys;
        return o;
      } catch (err) {
        if (!(err instanceof LeaseNotFoundError)) throw err;
        const header = headerOut(node.header(node.parts.store.revision));
        return { header, ID: id.toString(), TTL: '-1' };
      }
    }),
    LeaseLeases: unary<Pb, Pb>(async (_req, call) => {
      const r = await clientFor(node, call.metadata).lease.leases(callOptions(call));
      return { header: headerOut(r.header), leases: r.leases.map((id) => ({ ID: id.toString() })) };
    }),
  };
}

/** One LeaseKeepAlive stream: each request {ID} renews that lease and answers {header, ID, TTL}. */
function keepAliveStream(node: TsetcdNode, call: ServiceCall): void {
  const client = clientFor(node, call.metadata);
  const queue: Pb[] = [];
  let running = false;
  let ended = false;
  let finished = false;

  const finish = (err?: unknown): void => {
    if (finished) return;
    finished = true;
    if (err === undefined) {
      call.end();
      return;
    }
    const w = toWireError(err);
    call.sendStatus(w);
  };

  const run = async (): Promise<void> => {
    running = true;
    while (queue.length > 0 && !finished) {
      const req = queue.shift()!;
      const id = big(req.ID);
      // Taken before the renewal: etcd's guard against a header later than the revoke it races.
      const header = headerOut(node.header(node.parts.store.revision));
      let ttl: number;
      try {
        // No AbortSignal per renewal (a listener each cost ~4% of a keep-alive): a renewal in
        // flight when the stream goes away finishes within the request timeout, unanswered.
        ttl = (await client.lease.keepAliveOnce(id)).ttl;
      } catch (err) {
        if (!(err instanceof LeaseNotFoundError)) {
          finish(err);
          break;
        }
        ttl = 0;
      }
      if (finished) break;
      const out: Pb = { header, ID: id };
      if (ttl !== 0) out.TTL = ttl;
      call.write(out);
    }
    running = false;
    if (ended) finish();
  };

  call.on('data', (req: Pb) => {
    if (finished) return;
    queue.push(req);
    if (!running) void run();
  });
  call.on('end', () => {
    ended = true;
    if (!running) finish();
  });
  const stop = (): void => {
    finished = true;
  };
  call.on('cancelled', stop);
  call.on('error', stop);
}
