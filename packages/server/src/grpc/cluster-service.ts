/**
 * etcd's Cluster service (MemberList, MemberAdd, MemberRemove, MemberUpdate, MemberPromote) on a
 * node.
 *
 * Peer URLs: our members speak raft over `tcp://` (or `tls://`, or `mem://` in tests) where etcd's
 * speak HTTP, while etcdctl and client libraries give and print `http://host:port`. So peer URLs
 * are mapped at this boundary: `http://` → `tcp://` and `https://` → `tls://` on the way in, and
 * back on the way out (`mem://` passes through both ways). Client URLs are HTTP already and pass
 * unchanged.
 *
 * Headers: etcd's cluster server fills cluster_id, member_id and raft_term but not the revision,
 * and neither do we, so `etcdctl member list -w json` prints the same header fields.
 */

import type { Member, NodeResponseHeader, TsetcdNode } from '@tsetcd/core';
import type { ServiceImplementation } from '../grpc-server/grpc-server.js';
import { callOptions, clientFor, unary } from './call.js';
import { big, headerOut, type Pb } from './convert.js';

/** Wire scheme → our peer transport scheme (see the file comment). */
const PEER_SCHEME_IN: Readonly<Record<string, string>> = { 'http:': 'tcp:', 'https:': 'tls:' };
/** Our peer transport scheme → the scheme etcd's clients expect. */
const PEER_SCHEME_OUT: Readonly<Record<string, string>> = { 'tcp:': 'http:', 'tls:': 'https:' };

function mapScheme(url: string, table: Readonly<Record<string, string>>): string {
  const colon = url.indexOf(':');
  if (colon < 0) return url;
  const to = table[url.slice(0, colon + 1).toLowerCase()];
  return to === undefined ? url : to + url.slice(colon + 1);
}

/** A peer URL as given by an etcd client, in our transport's scheme. */
export function peerUrlIn(url: string): string {
  return mapScheme(url, PEER_SCHEME_IN);
}

/** One of our peer URLs as etcd's clients expect it. */
export function peerUrlOut(url: string): string {
  return mapScheme(url, PEER_SCHEME_OUT);
}

/** etcd's etcdserverpb.Member, zero fields left out. */
export function memberOut(m: Member): Pb {
  const o: Pb = { ID: m.id.toString(), peerURLs: m.peerUrls.map(peerUrlOut), clientURLs: [...m.clientUrls] };
  if (m.name !== '') o.name = m.name;
  if (m.isLearner) o.isLearner = true;
  return o;
}

/** The header of etcd's cluster responses: no revision (see the file comment). */
function clusterHeader(h: NodeResponseHeader): Pb {
  const { revision: _revision, ...rest } = headerOut(h);
  return rest;
}

function urlsIn(v: unknown): string[] {
  return ((v as string[] | undefined) ?? []).map(peerUrlIn);
}

/** The Cluster service's handlers. */
export function clusterService(node: TsetcdNode): ServiceImplementation {
  const members = (r: { header: NodeResponseHeader; members: readonly Member[] }): Pb => ({
    header: clusterHeader(r.header),
    members: r.members.map(memberOut),
  });
  return {
    MemberList: unary<Pb, Pb>(async (_req, call) =>
      // etcd 3.4 answers from the member's own view, without a quorum.
      members(
        await clientFor(node, call.metadata).cluster.members({ ...callOptions(call), serializable: true }),
      ),
    ),
    MemberAdd: unary<Pb, Pb>(async (req, call) => {
      const r = await clientFor(node, call.metadata).cluster.add(urlsIn(req.peerURLs), {
        ...callOptions(call),
        isLearner: req.isLearner === true,
      });
      const o = members(r);
      if (r.member !== undefined) o.member = memberOut(r.member);
      return o;
    }),
    MemberRemove: unary<Pb, Pb>(async (req, call) =>
      members(await clientFor(node, call.metadata).cluster.remove(big(req.ID), callOptions(call))),
    ),
    MemberUpdate: unary<Pb, Pb>(async (req, call) =>
      members(
        await clientFor(node, call.metadata).cluster.update(
          big(req.ID),
          urlsIn(req.peerURLs),
          callOptions(call),
        ),
      ),
    ),
    MemberPromote: unary<Pb, Pb>(async (req, call) =>
      members(await clientFor(node, call.metadata).cluster.promote(big(req.ID), callOptions(call))),
    ),
  };
}
