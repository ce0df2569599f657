/**
 * Member and cluster IDs, derived as etcd derives them so that every member of a new cluster
 * computes the same IDs from the same flags: a member's ID is the first 8 bytes (big-endian) of
 * SHA-1 over its sorted peer URLs, the cluster token and, for a member added later, the time it
 * was added; the cluster's ID is the same over the sorted member IDs.
 */

import { createHash } from 'node:crypto';

/** A 64-bit member ID (etcd's types.ID). */
export type MemberId = bigint;

/** A 64-bit cluster ID. */
export type ClusterId = bigint;

function first8(bytes: Uint8Array): bigint {
  return new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, false);
}

/** The ID of a member with `peerUrls` in the cluster named by `clusterToken` (etcd's NewMember). */
export function memberIdFor(peerUrls: readonly string[], clusterToken: string, addedAtMs?: number): MemberId {
  const h = createHash('sha1');
  h.update([...peerUrls].sort().join(''));
  h.update(clusterToken);
  if (addedAtMs !== undefined) h.update(String(Math.floor(addedAtMs)));
  return first8(h.digest());
}

/** The cluster ID of a new cluster with these initial members (etcd's genID). */
export function clusterIdFor(members: readonly MemberId[]): ClusterId {
  const sorted = [...members].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const buf = new Uint8Array(8 * sorted.length);
  const view = new DataView(buf.buffer);
  sorted.forEach((id, i) => {
    view.setBigUint64(8 * i, id, false);
  });
  return first8(createHash('sha1').update(buf).digest());
}

/** etcd's text form of an ID: lower-case hex without leading zeros. */
export function idToString(id: bigint): string {
  return id.toString(16);
}
