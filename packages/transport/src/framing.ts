/**
 * Length-prefixed frames: a u32 big-endian payload length, then the payload. The TCP transport's
 * byte stream is cut into frames here, before anything looks at their contents.
 *
 * The decoder is incremental: it is fed whatever chunks the socket hands over (a frame may span
 * many chunks, a chunk may hold many frames) and refuses a frame whose announced length exceeds
 * its limit as soon as the 4-byte header is in, without buffering the body. It knows nothing of
 * what a payload means. Pure. No I/O.
 */

import { FrameTooLargeError } from './tcp-errors.js';

/** Bytes of the length prefix in front of every frame. */
export const FRAME_HEADER_BYTES = 4;

/** Largest payload accepted by default: bounds what one peer can make a member buffer. */
export const DEFAULT_MAX_FRAME_BYTES = 16 * 1024 * 1024;

/** The 4-byte prefix of a frame whose payload is `length` bytes (for writing a payload without copying it). */
export function frameHeader(length: number, maxFrameBytes = DEFAULT_MAX_FRAME_BYTES): Uint8Array {
  if (!Number.isSafeInteger(length) || length < 0) throw new RangeError(`bad frame length ${length}`);
  if (length > maxFrameBytes) throw new FrameTooLargeError(length, maxFrameBytes);
  // Bytes written one by one: a DataView over a small array's `.buffer` would move its bytes off
  // V8's heap (an ArrayBuffer allocation per frame).
  const header = new Uint8Array(FRAME_HEADER_BYTES);
  header[0] = length >>> 24;
  header[1] = (length >>> 16) & 0xff;
  header[2] = (length >>> 8) & 0xff;
  header[3] = length & 0xff;
  return header;
}

/** One frame (prefix and payload) in a single buffer. */
export function encodeFrame(payload: Uint8Array, maxFrameBytes = DEFAULT_MAX_FRAME_BYTES): Uint8Array {
  const out = new Uint8Array(FRAME_HEADER_BYTES + payload.length);
  out.set(frameHeader(payload.length, maxFrameBytes), 0);
  out.set(payload, FRAME_HEADER_BYTES);
  return out;
}

/**
 * Cuts a byte stream into frame payloads. Each returned payload is a fresh buffer the caller owns
 * (so a small frame never pins a large socket chunk). Chunks passed to `push` must not be mutated
 * afterwards: a partial frame keeps references to them until it completes.
 * Once `push` has thrown, the stream is out of sync and every later call throws too.
 */
export class FrameDecoder {
  private readonly header = new Uint8Array(FRAME_HEADER_BYTES);
  private headerFill = 0;
  /** Payload length of the frame being read, or -1 while its header is incomplete. */
  private need = -1;
  private parts: Uint8Array[] = [];
  private got = 0;
  private failed: FrameTooLargeError | null = null;
  private max = 0;

  constructor(maxFrameBytes = DEFAULT_MAX_FRAME_BYTES) {
    this.maxFrameBytes = maxFrameBytes;
  }

  /** Largest payload accepted. May change between pushes (a connection's limit grows after its handshake). */
  get maxFrameBytes(): number {
    return this.max;
  }

  set maxFrameBytes(n: number) {
    if (!Number.isSafeInteger(n) || n < 0 || n > 0xffff_ffff) {
      throw new RangeError(`maxFrameBytes must be an integer in [0, 2^32), got ${n}`);
    }
    this.max = n;
  }

  /** Bytes held for the frame in progress (its header included). */
  get buffered(): number {
    return this.need === -1 ? this.headerFill : FRAME_HEADER_BYTES + this.got;
  }

  /** Feeds the next chunk of the stream; returns the payloads it completed, in order. */
  push(chunk: Uint8Array): Uint8Array[] {
    if (this.failed) throw this.failed;
    const frames: Uint8Array[] = [];
    let at = 0;
    while (at < chunk.length) {
      if (this.need === -1) {
        const take = Math.min(FRAME_HEADER_BYTES - this.headerFill, chunk.length - at);
        this.header.set(chunk.subarray(at, at + take), this.headerFill);
        this.headerFill += take;
        at += take;
        if (this.headerFill < FRAME_HEADER_BYTES) break;
        const length = new DataView(this.header.buffer).getUint32(0);
        if (length > this.max) {
          this.failed = new FrameTooLargeError(length, this.max);
          throw this.failed;
        }
        this.headerFill = 0;
        this.need = length;
        this.got = 0;
      }
      // Runs even with no bytes left, so a zero-length frame completes with its header.
      const take = Math.min(this.need - this.got, chunk.length - at);
      if (take > 0) this.parts.push(chunk.subarray(at, at + take));
      this.got += take;
      at += take;
      if (this.got === this.need) frames.push(this.completeFrame());
    }
    return frames;
  }

  private completeFrame(): Uint8Array {
    const out = new Uint8Array(this.need);
    let at = 0;
    for (const p of this.parts) {
      out.set(p, at);
      at += p.length;
    }
    this.parts = [];
    this.need = -1;
    this.got = 0;
    return out;
  }
}
