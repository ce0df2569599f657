/**
 * @tsetcd/transport — how raft messages travel between members: a seeded, steppable in-memory
 * network with fault injection (for tests and single-process clusters) and TCP.
 */

export type { Transport, TransportHandler, TransportLogger } from './transport.js';
