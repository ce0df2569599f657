/**
 * The request messages of a streamed gateway call, as grpc-gateway reads them with one
 * json.Decoder over the body: each message is the next JSON value, whatever separates them;
 * a body that ends between values ends the stream, one that ends inside a value is
 * `unexpected EOF`.
 *
 * Pure: the body's chunks are pushed in and the values taken out; nothing here reads a socket.
 */

import { type Span, scanNext } from './go-json.js';

/** The next message of the stream: a value (its bytes and where it lies in them), the end, or not yet. */
export type NextMessage =
  | { readonly type: 'value'; readonly buf: Uint8Array; readonly span: Span }
  | { readonly type: 'eof' }
  | { readonly type: 'more' };

/** Splits a streamed body into JSON values. */
export class JsonMessageStream {
  private buf: Buffer = Buffer.alloc(0);
  private pos = 0;
  private ended = false;

  /** Adds a chunk of the body. */
  push(chunk: Buffer): void {
    // Drop what earlier values used, so the buffer holds only what is still to be read.
    this.buf = Buffer.concat([this.buf.subarray(this.pos), chunk]);
    this.pos = 0;
  }

  /** Bytes pushed and not yet taken as values (a value still arriving, and what follows it). */
  get buffered(): number {
    return this.buf.length - this.pos;
  }

  /** The body has ended. */
  end(): void {
    this.ended = true;
  }

  /** The next value, if the body holds one yet; throws go-json.ts's syntax errors. */
  next(): NextMessage {
    const r = scanNext(this.buf, this.pos, this.ended);
    if (r.type !== 'value') return r;
    this.pos = r.span.end;
    return { type: 'value', buf: this.buf, span: r.span };
  }
}
