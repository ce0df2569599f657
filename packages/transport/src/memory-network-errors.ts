/**
 * Named errors of the in-memory network. Only the test or host driving the network sees them:
 * a member's `send` never throws. `RangeError` is kept for nonsense arguments.
 */

import type { NodeId } from '@tsetcd/raft';

/** Base class: every in-memory network error carries a stable `code`. */
export abstract class MemoryNetworkError extends Error {
  abstract readonly code: string;
}

/** join() was called with the ID of a member that is still open on the network. */
export class MemberExistsError extends MemoryNetworkError {
  readonly code = 'ErrMemberExists';
  constructor(id: NodeId) {
    super(`memory network: member ${id} has already joined`);
    this.name = 'MemberExistsError';
  }
}

/** The network was closed; nothing can join it any more. */
export class NetworkClosedError extends MemoryNetworkError {
  readonly code = 'ErrNetworkClosed';
  constructor() {
    super('memory network: closed');
    this.name = 'NetworkClosedError';
  }
}

/** advance() delivered its limit of messages and more were still due: members ping-pong at zero delay. */
export class NetworkLivelockError extends MemoryNetworkError {
  readonly code = 'ErrNetworkLivelock';
  constructor(limit: number) {
    super(`memory network: still delivering after ${limit} messages in one advance`);
    this.name = 'NetworkLivelockError';
  }
}
