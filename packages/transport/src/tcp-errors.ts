/**
 * Named errors of the TCP transport, its framing and its codec. The member never sees them: a
 * connection that produces one is closed with the error's message as the logged reason. Only
 * configuration mistakes (a bad peer URL) are thrown to the caller. `RangeError` is kept for
 * nonsense arguments (a negative limit, a node ID that is not a uint64).
 */

/** Base class: every TCP transport error carries a stable `code` and a short `reason`. */
export abstract class TcpTransportError extends Error {
  abstract readonly code: string;
  /** The message without the package prefix: what a log line or a reject frame says. */
  readonly reason: string;
  constructor(reason: string, options?: { cause: unknown }) {
    super(`transport: ${reason}`, options);
    this.reason = reason;
  }
}

/** What a log line should say about `err`: a transport error's reason, else the error's message. */
export function reasonOf(err: unknown): string {
  if (err instanceof TcpTransportError) return err.reason;
  return err instanceof Error ? err.message : String(err);
}

/** A frame announced (or was given) more payload bytes than the limit; its connection must close. */
export class FrameTooLargeError extends TcpTransportError {
  readonly code = 'ErrFrameTooLarge';
  constructor(
    readonly length: number,
    readonly maxFrameBytes: number,
  ) {
    super(`frame of ${length} bytes exceeds the limit of ${maxFrameBytes} bytes`);
    this.name = 'FrameTooLargeError';
  }
}

/** Bytes were not a well-formed message (or value): the connection that carried them must close. */
export class CodecError extends TcpTransportError {
  readonly code = 'ErrCodec';
  constructor(detail: string, options?: { cause: unknown }) {
    super(`cannot decode: ${detail}`, options);
    this.name = 'CodecError';
  }
}

/** A frame that breaks the protocol (wrong type, order, sender, token…): its connection must close. */
export class ProtocolError extends TcpTransportError {
  readonly code = 'ErrProtocol';
  constructor(detail: string, options?: { cause: unknown }) {
    super(detail, options);
    this.name = 'ProtocolError';
  }
}

/** A peer or listen URL that is not `tcp://host:port` / `tls://host:port`, or of the wrong scheme. */
export class InvalidPeerUrlError extends TcpTransportError {
  readonly code = 'ErrInvalidPeerURL';
  constructor(
    readonly url: string,
    detail: string,
  ) {
    super(`invalid URL ${JSON.stringify(url)}: ${detail}`);
    this.name = 'InvalidPeerUrlError';
  }
}
