/**
 * MembershipApplier: what a committed ConfChange does beyond raft — the member list, the
 * transport's peers, and the answer to the member that proposed it.
 *
 * The ConfChange's context carries the proposer's request ID and the member it adds or updates
 * (etcd puts the member in the context the same way). The initial members' entries, written by
 * raft's bootstrap, carry none: their details come from the initial cluster configuration.
 * An entry the store already holds (index <= consistent index, re-delivered after a restart)
 * changes nothing in the store, but still tells the transport where the peers are.
 *
 * A member that reaches us before we applied the ConfChange adding it is made reachable too
 * (admitUnknown), unless we applied its removal: if our log ends before that ConfChange and it
 * leads, only it can send us the entries that would introduce it, and it sends them only as we
 * answer its probes (seed 5000 of the simulator: a member paused across a member-add never
 * caught up with the added member once it led).
 */

import { Decoder, Encoder } from '@msgpack/msgpack';
import type { MvccStore } from '@tsetcd/mvcc';
import type { ConfChange, ConfState, Entry } from '@tsetcd/raft';
import { NODE_ID_EXTENSION_CODEC, type Transport } from '@tsetcd/transport';
import type { MemberId } from '../ids.js';
import type { Member, Membership } from './membership.js';
import { requestCounter, requestPrefix } from './request.js';
import type { ProposalWaits } from './wait.js';

/** The context of a ConfChange proposed by a node. */
export interface ConfChangeContext {
  /** Request ID of the proposer's waiter (0n: nobody waits). */
  readonly id: bigint;
  /** The member being added or updated. */
  readonly member?: Member;
  /** The cluster's ID, carried by the bootstrap entries of a new cluster. */
  readonly clusterId?: bigint;
}

const encoder = new Encoder({ extensionCodec: NODE_ID_EXTENSION_CODEC, ignoreUndefined: true });
const decoder = new Decoder({ extensionCodec: NODE_ID_EXTENSION_CODEC });

/** Encodes a ConfChange context. */
export function encodeConfChangeContext(ctx: ConfChangeContext): Uint8Array {
  return encoder.encode(ctx).slice();
}

function decodeContext(bytes: Uint8Array): ConfChangeContext | undefined {
  if (bytes.length === 0) return undefined;
  try {
    const v = decoder.decode(bytes) as ConfChangeContext;
    return typeof v?.id === 'bigint' ? v : undefined;
  } catch {
    return undefined;
  }
}

/** What applying one ConfChange did, for events. */
export interface MembershipOutcome {
  readonly added: Member[];
  readonly updated: Member[];
  readonly removed: MemberId[];
  /** This member itself was removed: it must stop. */
  readonly selfRemoved: boolean;
}

/** Applies ConfChanges to the member list and the transport; see the file comment. */
export class MembershipApplier {
  constructor(
    private readonly self: MemberId,
    private readonly store: MvccStore,
    private readonly membership: Membership,
    private readonly transport: Transport,
    private readonly waits: ProposalWaits,
    /** The initial cluster's members, for raft's bootstrap entries. */
    private readonly initial: ReadonlyMap<MemberId, Member>,
  ) {}

  /** Makes every known member reachable (at start-up, from the stored list). */
  connectAll(): void {
    for (const m of this.membership.list()) this.connect(m);
  }

  /** Applies one committed ConfChange entry. */
  apply(change: ConfChange, confState: ConfState, entry: Entry): MembershipOutcome {
    const out: MembershipOutcome = { added: [], updated: [], removed: [], selfRemoved: false };
    const ctx = decodeContext(change.context);
    const kv = this.store.kv;
    const replay = entry.index <= kv.consistentIndex;
    const learners = new Set(confState.learners);
    let selfRemoved = false;
    for (const c of change.changes) {
      const id = c.nodeId;
      const known = this.membership.get(id);
      const given = ctx?.member?.id === id ? ctx.member : this.initial.get(id);
      // (`initial` only serves logs written before bootstrap entries carried their member.)
      switch (c.type) {
        case 'ConfChangeAddNode':
        case 'ConfChangeAddLearnerNode': {
          const isLearner = c.type === 'ConfChangeAddLearnerNode' || learners.has(id);
          const base = known ?? given;
          if (base === undefined) break; // an add without details cannot come from a node
          const m: Member = { ...base, isLearner };
          if (!replay) this.membership.add(m);
          this.connect(m);
          (known === undefined ? out.added : out.updated).push(m);
          break;
        }
        case 'ConfChangeRemoveNode':
          if (!replay) this.membership.remove(id);
          if (id === this.self) selfRemoved = true;
          else this.transport.removePeer(id);
          out.removed.push(id);
          break;
        case 'ConfChangeUpdateNode':
          if (given !== undefined && known !== undefined) {
            if (!replay) this.membership.updatePeerUrls(id, given.peerUrls);
            const m = { ...known, peerUrls: [...given.peerUrls] };
            this.connect(m);
            out.updated.push(m);
          }
          break;
      }
    }
    if (!replay && ctx?.clusterId !== undefined && this.membership.clusterId === undefined) {
      this.membership.setClusterId(ctx.clusterId);
    }
    if (!replay) kv.setConsistentIndex(entry.index);
    if (ctx !== undefined && ctx.id !== 0n) {
      this.waits.trigger(requestPrefix(ctx.id), requestCounter(ctx.id), {
        ok: true,
        value: { members: this.membership.list() },
      });
    }
    return { ...out, selfRemoved };
  }

  /** A member we do not know reached us from `url` (Transport's onUnknownPeer): answer it, unless it was removed. */
  admitUnknown(id: MemberId, url: string): void {
    if (id === this.self || this.membership.isRemoved(id) || this.membership.get(id) !== undefined) return;
    this.connect({ id, peerUrls: [url] });
  }

  private connect(m: Pick<Member, 'id' | 'peerUrls'>): void {
    if (m.id === this.self) return;
    const url = m.peerUrls[0];
    if (url === undefined) return;
    try {
      this.transport.addPeer(m.id, url);
    } catch {
      // A URL this transport cannot dial (say, tcp:// on a TLS transport): the member stays
      // unreachable, which raft tolerates, and the operator sees it in the member list.
    }
  }
}
