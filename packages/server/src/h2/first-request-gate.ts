/**
 * Holds a new HTTP/2 connection until its first request's headers have arrived, rewrites a URL
 * scheme out of that request's `:authority` (see authority.ts for why), and only then hands the
 * connection to Node's HTTP/2 with every byte read so far put back in front.
 *
 * A client may wait for the server's SETTINGS before sending a request (grpc-go does), and Node's
 * HTTP/2 sends its own only once it has the connection. So the gate sends an empty SETTINGS frame
 * (one that changes nothing) at once, and drops the client's acknowledgement of it — Node's HTTP/2
 * would treat an ACK for a SETTINGS it never sent as a protocol error. Every other frame passes
 * through untouched. A client that sends no request, or never acknowledges, is handed over as it
 * is after a short wait.
 */

import type { Socket } from 'node:net';
import { rewriteAuthorityScheme } from './authority.js';

/** The HTTP/2 client connection preface (RFC 9113 §3.4). */
export const H2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');

const FRAME_HEADER_BYTES = 9;
const TYPE_HEADERS = 0x1;
const TYPE_SETTINGS = 0x4;
const FLAG_ACK = 0x1;
const FLAG_PADDED = 0x8;
const FLAG_PRIORITY = 0x20;
/** An empty SETTINGS frame: length 0, type 4, no flags, stream 0. */
const EMPTY_SETTINGS = Buffer.from([0, 0, 0, TYPE_SETTINGS, 0, 0, 0, 0, 0]);
/** How long to wait for the first request (or the ACK) before handing over regardless. */
const GATE_WAIT_MS = 2000;

/**
 * Takes over `socket` (paused, its first bytes `head` — at least the preface — already read) and
 * calls `handOver` once, with the socket's pending bytes rewritten as described above.
 */
export function gateFirstRequest(socket: Socket, head: Buffer, handOver: (socket: Socket) => void): void {
  let buf = head;
  let at = H2_PREFACE.length; // the next frame's offset in buf
  let sawAck = false;
  let sawHeaders = false;
  let done = false;
  const finish = (): void => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    socket.off('data', onData);
    socket.pause();
    socket.unshift(buf);
    handOver(socket);
  };
  const scan = (): void => {
    for (;;) {
      if (buf.length - at < FRAME_HEADER_BYTES) break;
      const len = buf.readUIntBE(at, 3);
      const type = buf[at + 3]!;
      const flags = buf[at + 4]!;
      const end = at + FRAME_HEADER_BYTES + len;
      if (buf.length < end) break;
      if (type === TYPE_SETTINGS && (flags & FLAG_ACK) !== 0 && !sawAck) {
        sawAck = true;
        buf = Buffer.concat([buf.subarray(0, at), buf.subarray(end)]);
        continue;
      }
      if (type === TYPE_HEADERS && !sawHeaders) {
        sawHeaders = true;
        let from = at + FRAME_HEADER_BYTES;
        let to = end;
        if ((flags & FLAG_PADDED) !== 0) {
          to -= buf[from]!;
          from += 1;
        }
        if ((flags & FLAG_PRIORITY) !== 0) from += 5;
        if (from <= to) rewriteAuthorityScheme(buf.subarray(from, to));
      }
      at = end;
    }
    if (sawAck && sawHeaders) finish();
  };
  const onData = (chunk: Buffer): void => {
    buf = Buffer.concat([buf, chunk]);
    scan();
  };
  const timer = setTimeout(finish, GATE_WAIT_MS);
  timer.unref();
  socket.write(EMPTY_SETTINGS);
  scan();
  if (done) return;
  socket.on('data', onData);
  socket.resume();
}
