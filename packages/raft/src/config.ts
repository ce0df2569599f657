/**
 * Configuration of one Raft node, its defaults as named constants, and validation.
 * Pure. No I/O.
 */

import { InvalidConfigError } from './errors.js';
import { type RandomSource, seededRandom } from './rand.js';
import type { Storage } from './storage.js';
import { type Index, NONE, type NodeId } from './types.js';

/** Election timeout in ticks, as etcd's default (10 × 100 ms heartbeat = 1 s). */
export const DEFAULT_ELECTION_TICK = 10;
/** Heartbeat interval in ticks. */
export const DEFAULT_HEARTBEAT_TICK = 1;
/** Upper bound on the entry bytes of one MsgApp (etcd's server uses 1 MiB). */
export const DEFAULT_MAX_SIZE_PER_MSG = 1024 * 1024;
/** Upper bound on the committed entry bytes handed out by one Ready. */
export const DEFAULT_MAX_COMMITTED_SIZE_PER_READY = 64 * 1024 * 1024;
/** How many MsgApp may be in flight to one follower in replicate state. */
export const DEFAULT_MAX_INFLIGHT_MSGS = 256;

/** When ReadIndex may skip the heartbeat round. */
export type ReadOnlyOption = 'ReadOnlySafe' | 'ReadOnlyLeaseBased';

/** Everything a Raft node needs besides its storage contents. */
export interface Config {
  /** This node's ID; never `NONE`. */
  readonly id: NodeId;
  /** Ticks a follower waits without hearing from a leader before campaigning; jittered to [e, 2e). */
  readonly electionTick?: number;
  /** Ticks between leader heartbeats; must be less than electionTick. */
  readonly heartbeatTick?: number;
  /** The persisted log, read on start and whenever entries are not in memory. */
  readonly storage: Storage;
  /** The last index the host applied before a restart; committed entries after it are re-delivered. */
  readonly applied?: Index;
  /** Max entry bytes per MsgApp (at least one entry is always sent). */
  readonly maxSizePerMsg?: number;
  /** Max committed entry bytes per Ready (at least one entry is always returned). */
  readonly maxCommittedSizePerReady?: number;
  /** Max bytes of uncommitted entries the leader accepts before dropping proposals; 0 = unlimited. */
  readonly maxUncommittedEntriesSize?: number;
  /** Max MsgApp in flight per follower while replicating. */
  readonly maxInflightMsgs?: number;
  /** Max entry bytes in flight per follower; 0 = unlimited. */
  readonly maxInflightBytes?: number;
  /** A leader that hears from no quorum within an election timeout steps down (thesis §6.2). */
  readonly checkQuorum?: boolean;
  /** Candidates first ask whether they could win (thesis §9.6), so a rejoining node does not disrupt. */
  readonly preVote?: boolean;
  /** `ReadOnlyLeaseBased` answers ReadIndex from the leader lease; requires checkQuorum. */
  readonly readOnlyOption?: ReadOnlyOption;
  /** Followers drop proposals instead of forwarding them to the leader. */
  readonly disableProposalForwarding?: boolean;
  /**
   * A follower that forwards a ReadIndex request counts as acknowledging the leader's leadership
   * for it, so where the leader and that follower are a quorum (any three-voter cluster) the read
   * is answered without a heartbeat round. Safe under ReadOnlySafe's own assumptions (no clocks):
   * the follower sent the request after the client asked, while in a term no later than the
   * leader's, so no newer leader could have been chosen without one of the two; see handleReadIndex.
   */
  readonly forwarderAcksReadIndex?: boolean;
  /** Source of election jitter; defaults to a PRNG seeded with the node ID. */
  readonly rand?: RandomSource;
}

/** A Config with every default filled in. */
export interface ResolvedConfig {
  readonly id: NodeId;
  readonly electionTick: number;
  readonly heartbeatTick: number;
  readonly storage: Storage;
  readonly applied: Index;
  readonly maxSizePerMsg: number;
  readonly maxCommittedSizePerReady: number;
  readonly maxUncommittedEntriesSize: number;
  readonly maxInflightMsgs: number;
  readonly maxInflightBytes: number;
  readonly checkQuorum: boolean;
  readonly preVote: boolean;
  readonly readOnlyOption: ReadOnlyOption;
  readonly forwarderAcksReadIndex: boolean;
  readonly disableProposalForwarding: boolean;
  readonly rand: RandomSource;
}

function positiveInt(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new InvalidConfigError(`${name} must be a positive integer, got ${value}`);
  }
  return value;
}

function nonNegativeInt(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new InvalidConfigError(`${name} must be a non-negative integer, got ${value}`);
  }
  return value;
}

/** Fills in defaults and rejects impossible settings with an InvalidConfigError naming the field. */
export function resolveConfig(c: Config): ResolvedConfig {
  if (typeof c.id !== 'bigint' || c.id === NONE || c.id < 0n || c.id >= 1n << 64n) {
    throw new InvalidConfigError('id must be a non-zero unsigned 64-bit bigint');
  }
  const electionTick = positiveInt(c.electionTick ?? DEFAULT_ELECTION_TICK, 'electionTick');
  const heartbeatTick = positiveInt(c.heartbeatTick ?? DEFAULT_HEARTBEAT_TICK, 'heartbeatTick');
  if (electionTick <= heartbeatTick) {
    throw new InvalidConfigError('electionTick must be greater than heartbeatTick');
  }
  if (typeof c.storage !== 'object' || c.storage === null || typeof c.storage.initialState !== 'function') {
    throw new InvalidConfigError('storage must be a Storage');
  }
  const readOnlyOption = c.readOnlyOption ?? 'ReadOnlySafe';
  if (readOnlyOption !== 'ReadOnlySafe' && readOnlyOption !== 'ReadOnlyLeaseBased') {
    throw new InvalidConfigError(
      `readOnlyOption must be ReadOnlySafe or ReadOnlyLeaseBased, got ${String(readOnlyOption)}`,
    );
  }
  const checkQuorum = c.checkQuorum ?? false;
  if (readOnlyOption === 'ReadOnlyLeaseBased' && !checkQuorum) {
    throw new InvalidConfigError('checkQuorum must be enabled when readOnlyOption is ReadOnlyLeaseBased');
  }
  const maxSizePerMsg = positiveInt(c.maxSizePerMsg ?? DEFAULT_MAX_SIZE_PER_MSG, 'maxSizePerMsg');
  const maxInflightBytes = nonNegativeInt(c.maxInflightBytes ?? 0, 'maxInflightBytes');
  if (maxInflightBytes !== 0 && maxInflightBytes < maxSizePerMsg) {
    // One full message must fit in the window, or a follower could never be sent anything.
    throw new InvalidConfigError('maxInflightBytes must be at least maxSizePerMsg');
  }
  return {
    id: c.id,
    electionTick,
    heartbeatTick,
    storage: c.storage,
    applied: nonNegativeInt(c.applied ?? 0, 'applied') as Index,
    maxSizePerMsg,
    maxCommittedSizePerReady: positiveInt(
      c.maxCommittedSizePerReady ?? DEFAULT_MAX_COMMITTED_SIZE_PER_READY,
      'maxCommittedSizePerReady',
    ),
    maxUncommittedEntriesSize: nonNegativeInt(c.maxUncommittedEntriesSize ?? 0, 'maxUncommittedEntriesSize'),
    maxInflightMsgs: positiveInt(c.maxInflightMsgs ?? DEFAULT_MAX_INFLIGHT_MSGS, 'maxInflightMsgs'),
    maxInflightBytes,
    checkQuorum,
    preVote: c.preVote ?? false,
    readOnlyOption,
    disableProposalForwarding: c.disableProposalForwarding ?? false,
    forwarderAcksReadIndex: c.forwarderAcksReadIndex ?? false,
    rand: c.rand ?? seededRandom(Number(c.id & 0xffffffffn)),
  };
}
