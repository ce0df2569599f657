/**
 * The cluster's membership as etcd's membership.RaftCluster keeps it: members (ID, name, peer
 * URLs, client URLs, learner or voter) and the IDs removed for ever. Changed only while applying
 * committed entries, so every member holds the same list; stored in the mvcc backend's members
 * bucket and so flushed atomically with the applied index, carried in snapshots, and restored
 * on restart.
 */

import { Decoder, Encoder } from '@msgpack/msgpack';
import { type Backend, Bucket, bucketBounds, bucketKey } from '@tsetcd/mvcc';
import { NODE_ID_EXTENSION_CODEC } from '@tsetcd/transport';
import type { ClusterId, MemberId } from '../ids.js';

/** One member of the cluster. */
export interface Member {
  readonly id: MemberId;
  /** Empty until the member has started and published its attributes. */
  readonly name: string;
  readonly peerUrls: readonly string[];
  readonly clientUrls: readonly string[];
  readonly isLearner: boolean;
}

const encoder = new Encoder({ extensionCodec: NODE_ID_EXTENSION_CODEC, ignoreUndefined: true });
const decoder = new Decoder({ extensionCodec: NODE_ID_EXTENSION_CODEC });

const MEMBER = 0x6d; // 'm'
const REMOVED = 0x72; // 'r'
const CLUSTER_ID_KEY = bucketKey(Bucket.members, new Uint8Array([0x63])); // 'c'

function memberKey(kind: number, id: MemberId): Uint8Array {
  const body = new Uint8Array(9);
  body[0] = kind;
  new DataView(body.buffer).setBigUint64(1, id, false);
  return bucketKey(Bucket.members, body);
}

/** The replicated member list; see the file comment. */
export class Membership {
  private readonly byId = new Map<MemberId, Member>();
  private readonly removed = new Set<MemberId>();
  private cluster: ClusterId | undefined;

  /** `backend` is asked for each time: the store's backend changes when a snapshot is installed. */
  private constructor(private readonly backend: () => Backend) {}

  /** Reads the member list from the backend (empty for a new data dir). */
  static async load(backend: () => Backend): Promise<Membership> {
    const m = new Membership(backend);
    await m.reload();
    return m;
  }

  /** Re-reads the member list from the backend (after the store was replaced by a snapshot). */
  async reload(): Promise<void> {
    this.byId.clear();
    this.removed.clear();
    this.cluster = undefined;
    const { gte, lt } = bucketBounds(Bucket.members);
    for await (const [k, v] of this.backend().iterate(gte, lt)) {
      const id = k.length >= 10 ? new DataView(k.buffer, k.byteOffset, k.length).getBigUint64(2, false) : 0n;
      if (k.length === CLUSTER_ID_KEY.length) {
        this.cluster = new DataView(v.buffer, v.byteOffset, v.length).getBigUint64(0, false);
        continue;
      }
      if (k[1] === REMOVED) this.removed.add(id);
      else if (k[1] === MEMBER) this.byId.set(id, decoder.decode(v) as Member);
    }
  }

  /** The cluster's ID, once the bootstrap entries that carry it were applied. */
  get clusterId(): ClusterId | undefined {
    return this.cluster;
  }

  /** Records the cluster's ID (from a bootstrap entry). */
  setClusterId(id: ClusterId): void {
    this.cluster = id;
    const v = new Uint8Array(8);
    new DataView(v.buffer).setBigUint64(0, id, false);
    this.backend().put(CLUSTER_ID_KEY, v);
  }

  /** Every member, by ID ascending (etcd's MemberList order). */
  list(): Member[] {
    return [...this.byId.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  /** The member with `id`, if it is one. */
  get(id: MemberId): Member | undefined {
    return this.byId.get(id);
  }

  /** Whether `id` was removed (it can never come back). */
  isRemoved(id: MemberId): boolean {
    return this.removed.has(id);
  }

  /** The member using `url` as a peer URL, if any. */
  byPeerUrl(url: string): Member | undefined {
    for (const m of this.byId.values()) if (m.peerUrls.includes(url)) return m;
    return undefined;
  }

  /** Adds or replaces a member (applying an add, or re-applying one after a restart). */
  add(member: Member): void {
    this.removed.delete(member.id);
    this.write(member);
  }

  /** Removes a member for good. */
  remove(id: MemberId): void {
    this.byId.delete(id);
    this.removed.add(id);
    this.backend().del(memberKey(MEMBER, id));
    this.backend().put(memberKey(REMOVED, id), new Uint8Array(0));
  }

  /** Changes a member's peer URLs. */
  updatePeerUrls(id: MemberId, peerUrls: readonly string[]): void {
    const m = this.byId.get(id);
    if (m !== undefined) this.write({ ...m, peerUrls: [...peerUrls] });
  }

  /** Makes a learner a voter. */
  promote(id: MemberId): void {
    const m = this.byId.get(id);
    if (m !== undefined) this.write({ ...m, isLearner: false });
  }

  /** Records a member's name and client URLs (etcd's publish). */
  setAttributes(id: MemberId, name: string, clientUrls: readonly string[]): void {
    const m = this.byId.get(id);
    if (m !== undefined) this.write({ ...m, name, clientUrls: [...clientUrls] });
  }

  private write(m: Member): void {
    const copy: Member = {
      id: m.id,
      name: m.name,
      peerUrls: [...m.peerUrls],
      clientUrls: [...m.clientUrls],
      isLearner: m.isLearner,
    };
    this.byId.set(m.id, copy);
    this.backend().put(memberKey(MEMBER, m.id), encoder.encode(copy).slice());
  }
}
