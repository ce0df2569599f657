/**
 * HTTP/2 frames (RFC 9113 §4, §6) as the server writes them: the 9-byte frame header and the
 * small control frames. Pure: each function returns the bytes of one frame.
 */

/** Bytes of a frame header: length (24 bits), type, flags, stream ID (31 bits). */
export const FRAME_HEADER_BYTES = 9;

/** Frame types (RFC 9113 §6). */
export const FrameType = {
  DATA: 0x0,
  HEADERS: 0x1,
  PRIORITY: 0x2,
  RST_STREAM: 0x3,
  SETTINGS: 0x4,
  PUSH_PROMISE: 0x5,
  PING: 0x6,
  GOAWAY: 0x7,
  WINDOW_UPDATE: 0x8,
  CONTINUATION: 0x9,
} as const;

/** Frame flags (each meaningful on some frame types only). */
export const Flag = {
  END_STREAM: 0x1,
  ACK: 0x1,
  END_HEADERS: 0x4,
  PADDED: 0x8,
  PRIORITY: 0x20,
} as const;

/** SETTINGS parameters (RFC 9113 §6.5.2). */
export const Setting = {
  HEADER_TABLE_SIZE: 0x1,
  ENABLE_PUSH: 0x2,
  MAX_CONCURRENT_STREAMS: 0x3,
  INITIAL_WINDOW_SIZE: 0x4,
  MAX_FRAME_SIZE: 0x5,
  MAX_HEADER_LIST_SIZE: 0x6,
} as const;

/** Error codes of RST_STREAM and GOAWAY (RFC 9113 §7). */
export const H2Error = {
  NO_ERROR: 0x0,
  PROTOCOL_ERROR: 0x1,
  INTERNAL_ERROR: 0x2,
  FLOW_CONTROL_ERROR: 0x3,
  STREAM_CLOSED: 0x5,
  FRAME_SIZE_ERROR: 0x6,
  REFUSED_STREAM: 0x7,
  CANCEL: 0x8,
  COMPRESSION_ERROR: 0x9,
  ENHANCE_YOUR_CALM: 0xb,
} as const;

/** The smallest and largest frame payload a peer may allow (RFC 9113 §4.2). */
export const DEFAULT_MAX_FRAME_SIZE = 16_384;
export const MAX_ALLOWED_FRAME_SIZE = 16_777_215;
/** Every window starts at this size (RFC 9113 §6.9.2); the largest a window may grow to. */
export const DEFAULT_WINDOW_SIZE = 65_535;
export const MAX_WINDOW_SIZE = 2 ** 31 - 1;

/** Writes a frame header at out[at]. */
export function writeFrameHeader(
  out: Uint8Array,
  at: number,
  length: number,
  type: number,
  flags: number,
  streamId: number,
): void {
  out[at] = length >>> 16;
  out[at + 1] = (length >>> 8) & 0xff;
  out[at + 2] = length & 0xff;
  out[at + 3] = type;
  out[at + 4] = flags;
  out[at + 5] = (streamId >>> 24) & 0x7f;
  out[at + 6] = (streamId >>> 16) & 0xff;
  out[at + 7] = (streamId >>> 8) & 0xff;
  out[at + 8] = streamId & 0xff;
}

function frameWithU32s(type: number, flags: number, streamId: number, values: readonly number[]): Buffer {
  const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES + 4 * values.length);
  writeFrameHeader(out, 0, 4 * values.length, type, flags, streamId);
  for (let i = 0; i < values.length; i++) out.writeUInt32BE(values[i]! >>> 0, FRAME_HEADER_BYTES + 4 * i);
  return out;
}

/** A SETTINGS frame with these parameters (id, value). */
export function settingsFrame(params: readonly (readonly [number, number])[]): Buffer {
  const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES + 6 * params.length);
  writeFrameHeader(out, 0, 6 * params.length, FrameType.SETTINGS, 0, 0);
  params.forEach(([id, value], i) => {
    out.writeUInt16BE(id, FRAME_HEADER_BYTES + 6 * i);
    out.writeUInt32BE(value >>> 0, FRAME_HEADER_BYTES + 6 * i + 2);
  });
  return out;
}

/** The acknowledgement of the peer's SETTINGS. */
export const SETTINGS_ACK = (() => {
  const out = Buffer.alloc(FRAME_HEADER_BYTES);
  writeFrameHeader(out, 0, 0, FrameType.SETTINGS, Flag.ACK, 0);
  return out;
})();

/** The reply to a PING: its 8 bytes back, flagged ACK. */
export function pingAckFrame(payload: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES + 8);
  writeFrameHeader(out, 0, 8, FrameType.PING, Flag.ACK, 0);
  out.set(payload.subarray(0, 8), FRAME_HEADER_BYTES);
  return out;
}

/** Grants the peer `increment` more bytes on a stream (or the connection: stream 0). */
export function windowUpdateFrame(streamId: number, increment: number): Buffer {
  return frameWithU32s(FrameType.WINDOW_UPDATE, 0, streamId, [increment]);
}

/** Ends one stream with an error code. */
export function rstStreamFrame(streamId: number, code: number): Buffer {
  return frameWithU32s(FrameType.RST_STREAM, 0, streamId, [code]);
}

/** Tells the peer the connection is ending: streams above lastStreamId were not processed. */
export function goawayFrame(lastStreamId: number, code: number): Buffer {
  return frameWithU32s(FrameType.GOAWAY, 0, 0, [lastStreamId, code]);
}
