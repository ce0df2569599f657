/**
 * How grpc-gateway v1 (etcd 3.4) writes a gRPC status: the HTTP status for each gRPC code
 * (runtime.HTTPStatusFromCode), the body of a failed call (`{"error","message","code"}`), and the
 * last line of a failed stream (`{"error":{"grpc_code","http_code","message","http_status"}}`).
 *
 * Pure.
 */

import { STATUS_CODES } from 'node:http';
import type { WireError } from '../grpc/errors.js';
import { Status } from '../grpc-server/status.js';

/** grpc-gateway v1's HTTP status for each gRPC status code. */
const HTTP_STATUS: Readonly<Record<number, number>> = {
  [Status.OK]: 200,
  [Status.CANCELLED]: 408,
  [Status.UNKNOWN]: 500,
  [Status.INVALID_ARGUMENT]: 400,
  [Status.DEADLINE_EXCEEDED]: 504,
  [Status.NOT_FOUND]: 404,
  [Status.ALREADY_EXISTS]: 409,
  [Status.PERMISSION_DENIED]: 403,
  [Status.UNAUTHENTICATED]: 401,
  [Status.RESOURCE_EXHAUSTED]: 429,
  [Status.FAILED_PRECONDITION]: 412,
  [Status.ABORTED]: 409,
  [Status.OUT_OF_RANGE]: 400,
  [Status.UNIMPLEMENTED]: 501,
  [Status.INTERNAL]: 500,
  [Status.UNAVAILABLE]: 503,
  [Status.DATA_LOSS]: 500,
};

/** The HTTP status grpc-gateway answers a gRPC status code with. */
export function httpStatusOf(code: number): number {
  return HTTP_STATUS[code] ?? 500;
}

/** The body of a call that failed with `err`. */
export function errorBody(err: WireError): { error: string; message: string; code: number } {
  return { error: err.details, message: err.details, code: err.code };
}

/** The line a stream that failed with `err` ends with (no newline follows it). */
export function streamErrorChunk(err: WireError): { error: Record<string, unknown> } {
  const http = httpStatusOf(err.code);
  const out: Record<string, unknown> = { grpc_code: err.code, http_code: http };
  if (err.details !== '') out.message = err.details;
  out.http_status = STATUS_CODES[http];
  return { error: out };
}
