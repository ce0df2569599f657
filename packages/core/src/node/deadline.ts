/**
 * Deadline: one request's time limit and cancellation, from the node's clock and the caller's
 * AbortSignal — so every wait in the node (proposal, read index, applied index) ends the same way,
 * with RequestTimeoutError (or what `onTimeout` picks) or RequestCanceledError.
 */

import type { Clock } from '../clock.js';
import { RequestCanceledError, RequestTimeoutError } from '../node-errors.js';

/** Per-call options every client method takes. */
export interface CallOptions {
  /** Aborting it fails the call with RequestCanceledError (the request may still be applied). */
  readonly signal?: AbortSignal;
  /** Overrides the node's request timeout, ms. */
  readonly timeoutMs?: number;
}

/**
 * Races `work` against the deadline: rejects with `onTimeout()` after `ms`, or with
 * RequestCanceledError when `signal` aborts; `cleanup` runs however it ends.
 */
export function withDeadline<T>(
  clock: Clock,
  ms: number,
  signal: AbortSignal | undefined,
  work: Promise<T>,
  cleanup: () => void = () => undefined,
  onTimeout: () => Error = () => new RequestTimeoutError(),
): Promise<T> {
  if (signal?.aborted) {
    cleanup();
    return Promise.reject(new RequestCanceledError(signal.reason));
  }
  return new Promise<T>((resolve, reject) => {
    let done = false;
    const finish = () => {
      done = true;
      clock.clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      cleanup();
    };
    const onAbort = () => {
      if (done) return;
      finish();
      reject(new RequestCanceledError(signal?.reason));
    };
    const timer = clock.setTimeout(() => {
      if (done) return;
      finish();
      reject(onTimeout());
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
    work.then(
      (v) => {
        if (done) return;
        finish();
        resolve(v);
      },
      (e) => {
        if (done) return;
        finish();
        reject(e);
      },
    );
  });
}
