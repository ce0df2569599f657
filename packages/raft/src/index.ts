/**
 * @tsetcd/raft — Raft as a pure, deterministic state machine, in the style of etcd-io/raft.
 *
 * The host drives a RawNode: tick() on its clock, step() for received messages, propose() and
 * friends for local requests, and ready() / advance() to persist, send and apply. Nothing in this
 * package does I/O, reads a clock or uses global randomness.
 */

export {
  type Config,
  DEFAULT_ELECTION_TICK,
  DEFAULT_HEARTBEAT_TICK,
  DEFAULT_MAX_COMMITTED_SIZE_PER_READY,
  DEFAULT_MAX_INFLIGHT_MSGS,
  DEFAULT_MAX_SIZE_PER_MSG,
  type ReadOnlyOption,
} from './config.js';
export {
  describeConfChange,
  describeConfState,
  describeData,
  describeEntry,
  describeHardState,
  describeMessage,
  describeReady,
  describeSnapshot,
} from './describe.js';
export { decodeEntries, encodeEntries } from './entry-codec.js';
export {
  CompactedError,
  ConfChangeError,
  InvalidConfigError,
  ProposalDroppedError,
  type ProposalDropReason,
  RaftError,
  ReadyProtocolError,
  SnapOutOfDateError,
  SnapshotTemporarilyUnavailableError,
  UnavailableError,
} from './errors.js';
export { MemoryStorage } from './memory-storage.js';
export type * from './messages.js';
export { isResponse, MESSAGE_TYPES, type Message, type MessageType } from './messages.js';
export { type RandomSource, seededRandom } from './rand.js';
export { type ProgressStatus, RawNode, type SnapshotStatus, type Status } from './raw-node.js';
export type { Ready } from './ready.js';
export type { InitialState, Storage } from './storage.js';
export type { ProgressStateType } from './tracker/progress.js';
export {
  asIndex,
  asTerm,
  type ConfChange,
  type ConfChangeEntry,
  type ConfChangeSingle,
  type ConfChangeTransition,
  type ConfChangeType,
  type ConfState,
  EMPTY_CONF_STATE,
  EMPTY_HARD_STATE,
  EMPTY_SNAPSHOT,
  type Entry,
  entrySize,
  type HardState,
  hardStateEqual,
  type Index,
  isEmptyHardState,
  isEmptySnapshot,
  NONE,
  type NodeId,
  type NormalEntry,
  type ReadState,
  type Snapshot,
  type SnapshotMetadata,
  type SoftState,
  type StateType,
  type Term,
} from './types.js';
export { InvalidMessageError, validateEntry, validateMessage, validateSnapshot } from './validate.js';
