/**
 * Transports as the node uses them: the base of decorators that act on outgoing messages, one that
 * fills outgoing MsgSnaps with the store's image before they leave (see snapshotter.ts), and the
 * empty transport of a member without peers.
 */

import type { Message, NodeId } from '@tsetcd/raft';
import type { Transport } from '@tsetcd/transport';

/**
 * A transport that hands everything to `inner` except what `send` does with messages: the base
 * of the decorators below and of RenewalAnsweringTransport. `closed` is set once close() is called.
 */
export abstract class DecoratingTransport implements Transport {
  protected closed = false;

  constructor(protected readonly inner: Transport) {}

  get id(): NodeId {
    return this.inner.id;
  }

  abstract send(messages: readonly Message[]): void;

  addPeer(peer: NodeId, url: string): void {
    this.inner.addPeer(peer, url);
  }

  removePeer(peer: NodeId): void {
    this.inner.removePeer(peer);
  }

  close(): Promise<void> {
    this.closed = true;
    return this.inner.close();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** Wraps a transport so every MsgSnap is filled with `fill` (async) before it is sent. */
export class SnapshotFillingTransport extends DecoratingTransport {
  constructor(
    inner: Transport,
    private readonly fill: (m: Message & { readonly type: 'MsgSnap' }) => Promise<Message>,
    /** Reports a MsgSnap that could not be built, as the transport reports one that failed. */
    private readonly onFillFailed: (peer: NodeId, err: unknown) => void,
  ) {
    super(inner);
  }

  send(messages: readonly Message[]): void {
    if (this.closed) return;
    if (!messages.some((m) => m.type === 'MsgSnap')) {
      this.inner.send(messages);
      return;
    }
    const plain: Message[] = [];
    for (const m of messages) {
      if (m.type !== 'MsgSnap') {
        plain.push(m);
        continue;
      }
      this.fill(m).then(
        (filled) => {
          if (!this.closed) this.inner.send([filled]);
        },
        (err) => this.onFillFailed(m.to, err),
      );
    }
    if (plain.length > 0) this.inner.send(plain);
  }
}

/** The transport of a single member: it has no peers, so nothing is ever sent. */
export class NoPeersTransport implements Transport {
  constructor(readonly id: NodeId) {}

  send(_messages: readonly Message[]): void {}

  addPeer(peer: NodeId, _url: string): void {
    throw new RangeError(
      `member ${peer.toString(16)} cannot be reached: this member was started without peers (give it \`peers\` or a transport)`,
    );
  }

  removePeer(_peer: NodeId): void {}

  close(): Promise<void> {
    return Promise.resolve();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
