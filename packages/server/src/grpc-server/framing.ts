/**
 * gRPC's message framing on an HTTP/2 stream (gRPC over HTTP/2, "Length-Prefixed-Message"): one
 * byte saying whether the message is compressed, four bytes of big-endian length, the message.
 * Messages may be split over DATA frames and DATA frames may carry several messages.
 */

/** The prefix before every message. */
export const PREFIX_BYTES = 5;

/** Why a stream's bytes cannot be read as gRPC messages. */
export class FramingError extends Error {
  override readonly name = 'FramingError';

  constructor(
    message: string,
    /** Whether the limit on message size was the reason (a RESOURCE_EXHAUSTED status). */
    readonly tooLarge: boolean,
  ) {
    super(message);
  }
}

/** `message` with its prefix, in one buffer (one DATA frame's worth for small messages). */
export function frameMessage(message: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(PREFIX_BYTES + message.length);
  out[0] = 0;
  out.writeUInt32BE(message.length, 1);
  out.set(message, PREFIX_BYTES);
  return out;
}

/**
 * Cuts a stream's DATA into messages. A message inside one chunk is handed out as a view of the
 * chunk (no copy); one spread over chunks is joined once.
 */
export class Deframer {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Length of the message being collected, once its prefix is complete. */
  private need = -1;

  constructor(
    /** Largest message accepted (etcd's --max-request-bytes plus gRPC's overhead). */
    private readonly maxBytes: number,
  ) {}

  /** Adds a chunk; returns the messages it completes, in order. Throws FramingError. */
  push(chunk: Buffer): Buffer[] {
    const out: Buffer[] = [];
    let buf = chunk;
    if (this.pendingBytes > 0) {
      this.pending.push(chunk);
      this.pendingBytes += chunk.length;
      // A large message arrives in many chunks: join them once, when it is complete.
      if (this.pendingBytes < (this.need >= 0 ? this.need : PREFIX_BYTES)) return out;
      buf = Buffer.concat(this.pending, this.pendingBytes);
      this.pending = [];
      this.pendingBytes = 0;
    }
    let at = 0;
    for (;;) {
      if (this.need < 0) {
        if (buf.length - at < PREFIX_BYTES) break;
        const flag = buf[at]!;
        if (flag !== 0) {
          throw new FramingError(
            flag === 1
              ? 'grpc: compressed message received but no grpc-encoding was negotiated'
              : `grpc: invalid message flag ${flag}`,
            false,
          );
        }
        const len = buf.readUInt32BE(at + 1);
        if (len > this.maxBytes) {
          throw new FramingError(
            `grpc: received message larger than max (${len} vs. ${this.maxBytes})`,
            true,
          );
        }
        this.need = len;
        at += PREFIX_BYTES;
      }
      if (buf.length - at < this.need) break;
      out.push(buf.subarray(at, at + this.need));
      at += this.need;
      this.need = -1;
    }
    if (at < buf.length) {
      const rest = buf.subarray(at);
      this.pending.push(rest);
      this.pendingBytes = rest.length;
    }
    return out;
  }

  /** Whether a message (or its prefix) was cut off: the stream ended mid-message. */
  get partial(): boolean {
    return this.pendingBytes > 0 || this.need >= 0;
  }
}
