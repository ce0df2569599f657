/**
 * Tenure: what a Mutex or an Election holds while it holds its key — the holder's object, and a
 * signal that ends the tenure when the session ends, when anyone deletes the key, or when a newer
 * tenure of the same owner replaces it. One place for the bookkeeping both recipes need.
 */

import type { Client } from '../node/client.js';
import type { Session } from './session.js';

interface Held<T> {
  readonly value: T;
  readonly controller: AbortController;
  readonly detach: () => void;
}

/** The current tenure of one owner (a Mutex, an Election) of one key; see the file comment. */
export class Tenure<T> {
  private held: Held<T> | undefined;

  constructor(
    private readonly session: Session,
    private readonly key: string,
    /** Told when a tenure ends because the session was lost (not closed). */
    private readonly onLost: (reason: Error) => void,
  ) {}

  /** The holder's object while a tenure lasts. */
  get value(): T | undefined {
    return this.held?.value;
  }

  /**
   * Starts a tenure of `make(signal)` over the key as seen at `revision`: a previous tenure ends
   * with `superseded()`, and this one ends with `keyDeleted()` if the key goes after `revision`.
   */
  begin(
    make: (signal: AbortSignal) => T,
    revision: number,
    superseded: () => Error,
    keyDeleted: () => Error,
  ): T {
    const controller = new AbortController();
    const value = make(controller.signal);
    const onEnd = () => {
      if (this.held?.value !== value) return;
      const reason = this.session.signal.reason as Error;
      this.end(reason);
      if (this.session.isLost) this.onLost(reason);
    };
    this.session.signal.addEventListener('abort', onEnd, { once: true });
    this.held?.controller.abort(superseded());
    this.held = { value, controller, detach: () => this.session.signal.removeEventListener('abort', onEnd) };
    onKeyDeleted(this.session.client, this.key, revision + 1, controller.signal, () => {
      if (this.held?.value === value) this.end(keyDeleted());
    });
    return value;
  }

  /** Ends the current tenure, if any, aborting its signal with `reason`. */
  end(reason: Error): void {
    const h = this.held;
    if (h === undefined) return;
    this.held = undefined;
    h.detach();
    h.controller.abort(reason);
  }
}

/**
 * Calls `onDeleted` when `key` is deleted at or after `fromRev` (by anyone: an unlock through
 * another object, an operator) until `signal` aborts — so a holder stops believing in a key that
 * is gone. A watch that ends otherwise (compaction, the member stopping) is left to the session,
 * which ends too when the member is lost.
 */
export function onKeyDeleted(
  client: Client,
  key: string,
  fromRev: number,
  signal: AbortSignal,
  onDeleted: () => void,
): void {
  if (signal.aborted) return;
  let w: ReturnType<Client['watch']>;
  try {
    w = client.watch(key, { startRevision: fromRev, filters: ['NOPUT'], signal });
  } catch {
    return; // the member has stopped: the session is lost with it
  }
  w.on('response', (resp) => {
    if (resp.events.some((e) => e.type === 'DELETE')) {
      w.cancel();
      onDeleted();
    }
  });
}
