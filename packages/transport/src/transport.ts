/**
 * Transport: how a member's raft messages reach its peers and theirs reach it. The contract every
 * implementation (the in-memory network, TCP) keeps, and the only thing packages/core knows of
 * the network.
 *
 * What a transport promises:
 * - `send` never throws and never blocks: a message to an unknown or unreachable peer is dropped
 *   and reported through `onUnreachable`, at most once per `send` call per peer (raft then probes
 *   that follower instead of pipelining). Callbacks may run synchronously inside `send`,
 *   `removePeer` or `close` (in-memory network) or later (TCP): hosts must accept both, and an
 *   exception thrown by the host's own callback is the host's.
 * - Messages between two members arrive in the order they were sent, or not at all (TCP keeps
 *   order; the in-memory network may reorder only when a test asks it to). Raft tolerates loss,
 *   duplication and reordering; the ordering promise is about throughput, not safety.
 * - A MsgSnap's outcome is reported exactly once through `onSnapshotStatus` (raft keeps the
 *   follower in snapshot state until it hears); one still queued to a removed peer is a failure.
 * - After `close()` no callback runs.
 * - Every message handed to `onMessage` has passed raft's `validateMessage` and is addressed to
 *   this member; malformed or foreign input is dropped (and, for TCP, its connection closed) with
 *   a logged reason, never thrown into the member.
 * - A member not added with `addPeer` that reaches us (and says where it listens) is offered to
 *   `onUnknownPeer` BEFORE its message is handed over, so the host can add it and answer. A
 *   member whose log ends before the ConfChange that added a newer member knows nothing of it,
 *   yet may have to answer it as leader: only that leader can send it the missing entries (etcd's
 *   rafthttp adds such senders as "remotes" for the same reason).
 */

import type { Message, NodeId } from '@tsetcd/raft';

/** What a transport calls back into its member with. Must not throw: a transport logs and swallows it. */
export interface TransportHandler {
  /** A validated message addressed to this member. */
  onMessage(m: Message): void;
  /** A message to `peer` could not be delivered (no connection, peer unknown, queue full). */
  onUnreachable(peer: NodeId): void;
  /** A MsgSnap to `peer` was delivered, or failed. */
  onSnapshotStatus(peer: NodeId, status: 'SnapshotFinish' | 'SnapshotFailure'): void;
  /**
   * `peer`, not added with addPeer, reached us and listens at `url`. The host may `addPeer` it
   * (synchronously) to answer it; if it does not, TCP refuses the connection and the in-memory
   * network still delivers (its replies are reported unreachable).
   */
  onUnknownPeer?(peer: NodeId, url: string): void;
}

/** A member's endpoint on some network. */
export interface Transport extends AsyncDisposable {
  /** This member's ID. */
  readonly id: NodeId;
  /** Queues messages for delivery to their `to` peers. Never throws, never blocks. */
  send(messages: readonly Message[]): void;
  /**
   * Makes `peer` reachable at `url` (its form depends on the transport), or updates its URL.
   * Throws if `url` is not a URL this transport can use (e.g. `tcp://` on a TLS transport).
   */
  addPeer(peer: NodeId, url: string): void;
  /** Forgets `peer`: drops its queue and connection; later sends to it are reported unreachable. */
  removePeer(peer: NodeId): void;
  /** Stops sending and receiving and releases every resource. */
  close(): Promise<void>;
}

/** Something a transport logs: why a connection was closed, a frame refused, a peer unreachable. */
export type TransportLogger = (level: 'info' | 'warn' | 'error', message: string) => void;
