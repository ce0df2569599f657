/**
 * HTTP side of the JSON gateway's differential test (http/gateway-differential.integration.test.ts):
 * sends one request with fetch() and reads back what a server answered (status, content type and
 * the body as JSON, or as text when it is not JSON; a stream's body as lines), puts an answer in
 * the form the two servers' answers are compared in, and turns kv-ops.ts's grpc-js requests into
 * the JSON grpc-gateway reads (base64 bytes, int64 as strings — or, as jsonpb also accepts,
 * camelCase names, int64 as numbers and enums by number).
 *
 * Each server's own values are normalised here, and nothing else: the header's cluster_id,
 * member_id and raft_term (present or absent), lease IDs the server picked (by the order it
 * granted them: `lease#0`, `lease#1`, …), and Status's version, db sizes, leader and raft fields.
 *
 * Does not: compare answers or decide what is a difference — the test does.
 */

import type { KvOp, Rand } from './kv-ops.js';

/** One HTTP request of a case or a run. */
export interface HttpRequest {
  /** POST unless given. */
  readonly method?: string;
  readonly path: string;
  /** Sent as is, after `@lease<n>@` is replaced with the server's n-th picked lease ID. */
  readonly body?: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** Read the body as a stream of lines for `streamMs` ms (the gateway's /v3/watch). */
  readonly streamMs?: number;
}

/** What a server answered, as compared. */
export interface HttpAnswer {
  /** HTTP status; 0 when no response head came within the request's window. */
  readonly status: number;
  readonly contentType?: string | null;
  /** Where a redirect points. */
  readonly location?: string | null;
  /** The body, parsed when it is JSON. */
  readonly json?: unknown;
  /** The body when it is not JSON. */
  readonly text?: string;
  /** A stream's lines, each parsed when JSON; and whether the server ended it within the window. */
  readonly lines?: readonly unknown[];
  readonly ended?: boolean;
}

/** The lease IDs one server picked, in the order it granted them. */
export class LeaseNames {
  private readonly ids: string[] = [];
  private readonly names = new Map<string, string>();

  /** Remembers an ID the server picked; returns its name. */
  add(id: string): string {
    const known = this.names.get(id);
    if (known !== undefined) return known;
    const name = `lease#${this.ids.length}`;
    this.ids.push(id);
    this.names.set(id, name);
    return name;
  }

  /** `body` with each `@lease<n>@` replaced by this server's n-th ID (an unknown one by "1"). */
  fill(body: string): string {
    return body.replace(/@lease(\d+)@/g, (_, n: string) => this.ids[Number(n)] ?? '1');
  }

  /** The name of a picked ID, or the ID itself. */
  name(id: string): string {
    return this.names.get(id) ?? id;
  }
}

/** A whole response is waited for this long before the answer counts as none. */
export const REQUEST_TIMEOUT_MS = 15_000;

/** Sends `req` to the server at `endpoint` (host:port) and reads its answer. */
export async function send(endpoint: string, req: HttpRequest, leases: LeaseNames): Promise<HttpAnswer> {
  const method = req.method ?? 'POST';
  const ac = new AbortController();
  const window = req.streamMs ?? REQUEST_TIMEOUT_MS;
  const timer = setTimeout(() => ac.abort(), window);
  try {
    let r: Response;
    try {
      r = await fetch(`http://${endpoint}${req.path}`, {
        method,
        redirect: 'manual',
        signal: ac.signal,
        ...(req.body !== undefined ? { body: leases.fill(req.body) } : {}),
        ...(req.headers !== undefined ? { headers: req.headers } : {}),
      });
    } catch (err) {
      if (ac.signal.aborted) return { status: 0, text: `no response head within ${window} ms` };
      return { status: 0, text: `fetch failed: ${causeOf(err)}` };
    }
    const head = {
      status: r.status,
      contentType: r.headers.get('content-type'),
      ...(r.status >= 300 && r.status < 400 ? { location: r.headers.get('location') } : {}),
    };
    if (req.streamMs === undefined) {
      try {
        return { ...head, ...parseBody(await r.text()) };
      } catch (err) {
        return { ...head, text: `body failed: ${causeOf(err)}` };
      }
    }
    let text = '';
    let ended = false;
    const decoder = new TextDecoder();
    const reader = r.body!.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) {
          ended = true;
          break;
        }
        text += decoder.decode(value, { stream: true });
      }
    } catch {
      // The window closed: what came so far is the answer.
    }
    const lines = text
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => {
        const b = parseBody(l);
        return 'json' in b ? b.json : b.text;
      });
    return { ...head, lines, ended };
  } finally {
    clearTimeout(timer);
    ac.abort();
  }
}

/** A fetch error as compared: the socket error's code (ECONNRESET) when there is one. */
function causeOf(err: unknown): string {
  const cause = (err as { cause?: { code?: unknown; message?: unknown } }).cause;
  return String(cause?.code ?? cause?.message ?? (err as Error).message);
}

function parseBody(text: string): { json: unknown } | { text: string } {
  try {
    return { json: JSON.parse(text) };
  } catch {
    return { text };
  }
}

/** What is normalised in an answer besides the header and picked lease IDs. */
export interface NormaliseOptions {
  /** The answer is a maintenance Status. */
  readonly status?: boolean;
}

/** `answer` with each server's own values replaced by their names or by `<set>`. */
export function normalise(answer: HttpAnswer, leases: LeaseNames, opts: NormaliseOptions = {}): HttpAnswer {
  const walk = (x: unknown, top: boolean): unknown => {
    if (Array.isArray(x)) return x.map((v) => walk(v, false));
    if (x === null || typeof x !== 'object') return x;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(x)) {
      if (k === 'header' && v !== null && typeof v === 'object')
        out[k] = header(v as Record<string, unknown>);
      else if ((k === 'ID' || k === 'lease') && typeof v === 'string') out[k] = leases.name(v);
      else if (top && opts.status === true && STATUS_OWN.has(k))
        out[k] = k === 'version' ? semver(v) : '<set>';
      // A TimeToLive's keys: etcd lists them from a Go map (random order), compared as a set.
      else if (top && k === 'keys' && Array.isArray(v)) out[k] = [...(v as string[])].sort();
      else out[k] = walk(v, false);
    }
    return out;
  };
  const { json, lines, ...rest } = answer;
  return {
    ...rest,
    ...('json' in answer ? { json: walk(json, true) } : {}),
    ...(lines !== undefined ? { lines: lines.map((l) => walk(l, false)) } : {}),
  };
}

/** Status fields that are each server's own. */
const STATUS_OWN = new Set([
  'version',
  'dbSize',
  'dbSizeInUse',
  'leader',
  'raftIndex',
  'raftTerm',
  'raftAppliedIndex',
]);

/** The cluster ID, member ID and term are each server's own: compared as present or absent. */
function header(h: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...h };
  for (const k of ['cluster_id', 'member_id', 'raft_term']) if (k in out) out[k] = '<set>';
  return out;
}

/** A version number's shape: `<x.y.z>` for a semantic version, else the value itself. */
export function semver(v: unknown): unknown {
  return typeof v === 'string' && /^\d+\.\d+\.\d+$/.test(v) ? '<x.y.z>' : v;
}

/** grpc-js enum names by number, for the request fields kv-ops.ts sets by name. */
const ENUMS: Readonly<Record<string, readonly string[]>> = {
  sortOrder: ['NONE', 'ASCEND', 'DESCEND'],
  sortTarget: ['KEY', 'VERSION', 'CREATE', 'MOD', 'VALUE'],
  result: ['EQUAL', 'GREATER', 'LESS', 'NOT_EQUAL'],
  target: ['VERSION', 'CREATE', 'MOD', 'VALUE', 'LEASE'],
};

/** A grpc-js field name as the .proto spells it (`prevKv` → `prev_kv`; `ID`, `TTL` as they are). */
export function protoName(camel: string): string {
  return camel.replace(/([a-z])([A-Z])/g, (_, a: string, b: string) => `${a}_${b.toLowerCase()}`);
}

/**
 * A grpc-js request as grpc-gateway JSON: bytes in base64; mostly the .proto's names, int64 as
 * strings and enums by name, and one time in four (each field on its own) the camelCase name,
 * a number or the enum's number, which jsonpb reads alike.
 */
export function toGatewayJson(x: unknown, rand: Rand): unknown {
  if (Buffer.isBuffer(x)) return x.toString('base64');
  if (Array.isArray(x)) return x.map((v) => toGatewayJson(v, rand));
  if (x === null || typeof x !== 'object') return x;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(x)) {
    const name = rand(4) === 0 ? k : protoName(k);
    const names = ENUMS[k];
    if (names !== undefined && typeof v === 'string') out[name] = rand(4) === 0 ? names.indexOf(v) : v;
    else if (typeof v === 'number' || (typeof v === 'string' && /^-?\d+$/.test(v)))
      out[name] = rand(4) === 0 ? Number(v) : String(v);
    else out[name] = toGatewayJson(v, rand);
  }
  return out;
}

/**
 * The gateway path of a kv-ops.ts op, under `prefix` (/v3 or /v3beta); `leaseAlias` puts a revoke
 * under etcd 3.4's older `/kv/lease/` (which has no grant).
 */
export function gatewayPath(op: KvOp, prefix: string, leaseAlias: boolean): string {
  const lease = leaseAlias && op.method === 'LeaseRevoke' ? `${prefix}/kv/lease` : `${prefix}/lease`;
  switch (op.method) {
    case 'Put':
      return `${prefix}/kv/put`;
    case 'Range':
      return `${prefix}/kv/range`;
    case 'DeleteRange':
      return `${prefix}/kv/deleterange`;
    case 'Txn':
      return `${prefix}/kv/txn`;
    case 'Compact':
      return `${prefix}/kv/compaction`;
    case 'LeaseGrant':
      return `${lease}/grant`;
    case 'LeaseRevoke':
      return `${lease}/revoke`;
  }
}

/** A request as printed in a failure: bodies over 300 characters cut short. */
export function describeRequest(req: HttpRequest): string {
  const body = req.body ?? '';
  const shown = body.length > 300 ? `${body.slice(0, 300)}… (${body.length} chars)` : body;
  return `${req.method ?? 'POST'} ${req.path} ${shown}`;
}
