/**
 * @tsetcd/transport — how raft messages travel between members: a seeded, steppable in-memory
 * network with fault injection (for tests and single-process clusters) and TCP.
 */

export { NODE_ID_BYTES, NODE_ID_EXT_TYPE, NODE_ID_EXTENSION_CODEC, pooledBytes } from './codec.js';
export { DEFAULT_MAX_FRAME_BYTES } from './framing.js';
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
export {
  CodecError,
  FrameTooLargeError,
  InvalidPeerUrlError,
  ProtocolError,
  TcpTransportError,
} from './tcp-errors.js';
export {
  DEFAULT_BACKOFF_INITIAL_MS,
  DEFAULT_BACKOFF_MAX_MS,
  DEFAULT_DIAL_TIMEOUT_MS,
  DEFAULT_HELLO_TIMEOUT_MS,
  DEFAULT_MAX_SNAPSHOT_BYTES,
  DEFAULT_SEND_QUEUE_SIZE,
  DEFAULT_SNAPSHOT_CHUNK_BYTES,
  DEFAULT_WRITE_TIMEOUT_MS,
  formatTcpUrl,
  type ListenAddress,
  parseTcpUrl,
  type TcpAddress,
  type TcpTlsOptions,
  type TcpTransportOptions,
} from './tcp-options.js';
export type { PeerState } from './tcp-peer.js';
export { PROTOCOL_VERSION } from './tcp-protocol.js';
export { TcpTransport, type TcpTransportEvents } from './tcp-transport.js';
export type { Transport, TransportHandler, TransportLogger } from './transport.js';
