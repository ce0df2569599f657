/**
 * A streamed gateway response as grpc-gateway v1's ForwardResponseStream writes it: one
 * `{"result": msg}` per line; no response head until the first message (or the end), so a
 * stream that fails before answering gets the HTTP status of its gRPC code; a failure ends the
 * body with `{"error":{…}}` (gateway-errors.ts); a stream that ends without a message is an
 * empty 200.
 *
 * I/O: writes to the response given.
 */

import type { ServerResponse } from 'node:http';
import type { WireError } from '../grpc/errors.js';
import { httpStatusOf, streamErrorChunk } from './gateway-errors.js';

/** One streamed response; `toJson` turns a handler's message into its JSON object. */
export class StreamResponse {
  private ended = false;

  constructor(
    private readonly res: ServerResponse,
    private readonly toJson: (msg: object) => unknown,
  ) {}

  private head(status: number): void {
    if (this.res.headersSent) return;
    this.res.writeHead(status, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
  }

  /** Writes one message (the head first, if it has not gone yet). */
  readonly write = (msg: object): void => {
    if (this.ended || this.res.destroyed) return;
    this.head(200);
    this.res.write(`${JSON.stringify({ result: this.toJson(msg) })}\n`);
  };

  /** Ends the stream, with `err` when it failed. */
  readonly end = (err?: WireError): void => {
    if (this.ended) return;
    this.ended = true;
    if (this.res.destroyed) return;
    if (err === undefined) {
      this.head(200);
      this.res.end();
      return;
    }
    this.head(httpStatusOf(err.code));
    this.res.end(JSON.stringify(streamErrorChunk(err)));
  };
}
