/**
 * @tsetcd/transport — how raft messages travel between members: a seeded, steppable in-memory
 * network with fault injection (for tests and single-process clusters) and TCP.
 */

export {
  DEFAULT_AUTO_BATCH,
  DEFAULT_DELIVER_ALL_LIMIT,
  DEFAULT_MAX_DELIVERIES_PER_ADVANCE,
  type DeliveryRecord,
  MemoryNetwork,
  type MemoryNetworkOptions,
  type MemoryTransport,
  type NetworkMode,
} from './memory-network.js';
export {
  MemberExistsError,
  MemoryNetworkError,
  NetworkClosedError,
  NetworkLivelockError,
} from './memory-network-errors.js';
export { type LinkEnd, type LinkFaults, PERFECT_LINK } from './memory-network-faults.js';
export type { InFlightMessage } from './memory-network-queue.js';
export {
  type CountsByType,
  type DropReason,
  describeNetworkEvent,
  type NetworkEvent,
  type NetworkStats,
  sumCounts,
} from './memory-network-stats.js';
export type { Transport, TransportHandler, TransportLogger } from './transport.js';
