/**
 * Raw HTTP/2 frames for the H2Connection tests: building the bytes a client would send, and
 * splitting what the server wrote back into frames.
 */

import { Flag, FRAME_HEADER_BYTES, FrameType, writeFrameHeader } from '../h2/frames.js';
import { encodeHeaderBlock } from '../h2/hpack.js';

/** One frame as it went over the wire. */
export interface RawFrame {
  readonly type: number;
  readonly flags: number;
  readonly streamId: number;
  readonly payload: Buffer;
}

/** The bytes of one frame. */
export function frame(type: number, flags: number, streamId: number, payload: Buffer): Buffer {
  const out = Buffer.alloc(FRAME_HEADER_BYTES + payload.length);
  writeFrameHeader(out, 0, payload.length, type, flags, streamId);
  payload.copy(out, FRAME_HEADER_BYTES);
  return out;
}

/** A whole request in one frame: HEADERS of a POST to `path` that ends the client's side. */
export function requestFrame(streamId: number, path: string): Buffer {
  const block = encodeHeaderBlock([
    [':method', 'POST'],
    [':path', path],
  ]);
  return frame(FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, streamId, block);
}

/**
 * Splits `bytes` into whole frames; returns them and the bytes of a trailing partial frame.
 */
export function splitFrames(bytes: Buffer): { frames: RawFrame[]; rest: Buffer } {
  const frames: RawFrame[] = [];
  let at = 0;
  while (bytes.length - at >= FRAME_HEADER_BYTES) {
    const length = bytes.readUIntBE(at, 3);
    if (bytes.length - at < FRAME_HEADER_BYTES + length) break;
    frames.push({
      type: bytes[at + 3]!,
      flags: bytes[at + 4]!,
      streamId: bytes.readUInt32BE(at + 5) & 0x7fffffff,
      payload: bytes.subarray(at + FRAME_HEADER_BYTES, at + FRAME_HEADER_BYTES + length),
    });
    at += FRAME_HEADER_BYTES + length;
  }
  return { frames, rest: bytes.subarray(at) };
}
