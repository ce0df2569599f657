/**
 * Options, tunables and addresses of the TCP transport, and the pure helpers around them: URL
 * parsing and the reconnect backoff. No I/O (loading TLS material parses PEM, nothing more).
 *
 * Addresses are URLs: `tcp://host:port` for plain TCP, `tls://host:port` for TLS. A transport is
 * one or the other (it has `tls` options or not) and refuses peer URLs of the other scheme, so a
 * cluster cannot silently fall back to plaintext. IPv6 hosts are bracketed: `tcp://[::1]:2380`.
 */

import { createSecureContext, type SecureContext } from 'node:tls';
import type { NodeId, RandomSource } from '@tsetcd/raft';
import { DEFAULT_MAX_FRAME_BYTES, FRAME_HEADER_BYTES } from './framing.js';
import { InvalidPeerUrlError } from './tcp-errors.js';
import { FRAME_TYPE_BYTES } from './tcp-protocol.js';
import type { TransportHandler, TransportLogger } from './transport.js';

/** Messages a peer's send queue holds before sends to it are dropped (etcd's streamBufSize). */
export const DEFAULT_SEND_QUEUE_SIZE = 4096;
/** Snapshot bytes per snapChunk frame: small enough to keep frames far below the frame limit. */
export const DEFAULT_SNAPSHOT_CHUNK_BYTES = 1024 * 1024;
/** Largest snapshot a receiver reassembles by default (etcd's default backend quota, 2 GiB). */
export const DEFAULT_MAX_SNAPSHOT_BYTES = 2 * 1024 * 1024 * 1024;
/** Time to connect, finish TLS and be accepted before the attempt counts as failed (etcd: 1 s). */
export const DEFAULT_DIAL_TIMEOUT_MS = 1000;
/** Time an accepted socket has to send a valid hello before it is closed. */
export const DEFAULT_HELLO_TIMEOUT_MS = 5000;
/** First reconnect delay after a connection to a peer fails. */
export const DEFAULT_BACKOFF_INITIAL_MS = 50;
/** Reconnect delays double up to this. */
export const DEFAULT_BACKOFF_MAX_MS = 2000;
/**
 * Time a connection may hold unwritten data (bytes buffered behind socket backpressure, or a
 * snapshot written but not yet acknowledged) without any write progress before it is recycled
 * (etcd's 5 s ConnWriteTimeout).
 */
export const DEFAULT_WRITE_TIMEOUT_MS = 5000;
/** TCP keepalive probe delay, so a dead peer is noticed on an idle connection (etcd: 30 s). */
export const KEEPALIVE_INITIAL_DELAY_MS = 30_000;

/** Oldest TLS version either side accepts. */
export const TLS_MIN_VERSION = 'TLSv1.2';

/** TLS material. The same CA verifies both sides; each member presents `cert` in both roles. */
export interface TcpTlsOptions {
  /** PEM certificate(s) of the CA that signed the peers' certificates. */
  readonly ca: string | Buffer | readonly (string | Buffer)[];
  /** PEM certificate this member presents (as server and as client). */
  readonly cert: string | Buffer;
  /** PEM private key of `cert`. */
  readonly key: string | Buffer;
  /**
   * Require a client certificate signed by `ca` from every dialing peer (mutual TLS). Default true.
   * Dialers always verify the acceptor's certificate, including that it names the URL's host.
   */
  readonly requestCert?: boolean;
}

/** Where to listen: a `tcp://` / `tls://` URL or a host and port (port 0 picks a free one). */
export type ListenAddress = string | { readonly host: string; readonly port: number };

/** What `TcpTransport.listen` needs. Only the first four are required. */
export interface TcpTransportOptions {
  /** This member's ID: hellos must be addressed to it, and it signs its own hellos. */
  readonly id: NodeId;
  readonly listen: ListenAddress;
  /** Shared by every member of a cluster; a hello with another token is refused. */
  readonly clusterToken: string;
  readonly handler: TransportHandler;
  /**
   * The URL peers dial for this member, announced in every hello so that a member that does not
   * know us yet can add us and answer (TransportHandler.onUnknownPeer). Default: announce nothing.
   */
  readonly advertiseUrl?: string;
  /** TLS for both directions; without it the transport speaks plain TCP. */
  readonly tls?: TcpTlsOptions;
  /** Where connection closes, refused frames and drops are reported. Default: silent. */
  readonly logger?: TransportLogger;
  /** Largest frame payload sent or accepted; must be the same on every member. */
  readonly maxFrameBytes?: number;
  /** Largest snapshot reassembled from a peer (DEFAULT_MAX_SNAPSHOT_BYTES). */
  readonly maxSnapshotBytes?: number;
  /** Snapshot bytes per snapChunk frame sent (DEFAULT_SNAPSHOT_CHUNK_BYTES, capped by the frame limit). */
  readonly snapshotChunkBytes?: number;
  /** Messages queued per peer before sends to it are dropped (DEFAULT_SEND_QUEUE_SIZE). */
  readonly sendQueueSize?: number;
  /** Time to connect, handshake and be accepted (DEFAULT_DIAL_TIMEOUT_MS). */
  readonly dialTimeoutMs?: number;
  /** Time an accepted socket has to finish TLS and send its hello (DEFAULT_HELLO_TIMEOUT_MS). */
  readonly helloTimeoutMs?: number;
  /** Time unwritten data may make no write progress before the connection is recycled (DEFAULT_WRITE_TIMEOUT_MS). */
  readonly writeTimeoutMs?: number;
  /** First reconnect delay (DEFAULT_BACKOFF_INITIAL_MS). */
  readonly backoffInitialMs?: number;
  /** Largest reconnect delay (DEFAULT_BACKOFF_MAX_MS). */
  readonly backoffMaxMs?: number;
  /** Jitter for reconnect delays. Default: Math.random. */
  readonly rand?: RandomSource;
}

/** TcpTransportOptions with every default filled in. */
export interface ResolvedTcpOptions {
  readonly id: NodeId;
  readonly clusterToken: string;
  readonly handler: TransportHandler;
  readonly advertiseUrl: string | undefined;
  readonly tls: TcpTlsOptions | undefined;
  /** The dialer's TLS context, loaded once from `tls` (so bad PEM fails listen(), not a redial). */
  readonly clientContext: SecureContext | undefined;
  readonly logger: TransportLogger;
  readonly maxFrameBytes: number;
  readonly maxSnapshotBytes: number;
  readonly snapshotChunkBytes: number;
  readonly sendQueueSize: number;
  readonly dialTimeoutMs: number;
  readonly helloTimeoutMs: number;
  readonly writeTimeoutMs: number;
  readonly backoffInitialMs: number;
  readonly backoffMaxMs: number;
  readonly rand: RandomSource;
}

/** A parsed `tcp://` or `tls://` URL. */
export interface TcpAddress {
  readonly secure: boolean;
  readonly host: string;
  readonly port: number;
}

const silent: TransportLogger = () => {};
const mathRandom: RandomSource = (n) => Math.floor(Math.random() * n);

function positiveInt(v: number, name: string): number {
  if (!Number.isSafeInteger(v) || v <= 0)
    throw new RangeError(`${name} must be a positive integer, got ${v}`);
  return v;
}

/**
 * Fills defaults and checks the tunables (RangeError: a configuration mistake); loads the TLS
 * material, throwing node's error if it is not valid PEM.
 */
export function resolveOptions(o: TcpTransportOptions): ResolvedTcpOptions {
  const maxFrameBytes = positiveInt(o.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES, 'maxFrameBytes');
  if (maxFrameBytes > 0xffff_ffff - FRAME_HEADER_BYTES) throw new RangeError('maxFrameBytes must be < 2^32');
  const snapshotChunkBytes = positiveInt(
    o.snapshotChunkBytes ?? Math.min(DEFAULT_SNAPSHOT_CHUNK_BYTES, maxFrameBytes - FRAME_TYPE_BYTES),
    'snapshotChunkBytes',
  );
  if (snapshotChunkBytes > maxFrameBytes - FRAME_TYPE_BYTES) {
    throw new RangeError('snapshotChunkBytes must leave room for the frame type within maxFrameBytes');
  }
  const backoffInitialMs = positiveInt(o.backoffInitialMs ?? DEFAULT_BACKOFF_INITIAL_MS, 'backoffInitialMs');
  const backoffMaxMs = positiveInt(o.backoffMaxMs ?? DEFAULT_BACKOFF_MAX_MS, 'backoffMaxMs');
  if (backoffMaxMs < backoffInitialMs) throw new RangeError('backoffMaxMs must be >= backoffInitialMs');
  if (o.clusterToken.length > 1024) throw new RangeError('clusterToken must be at most 1024 characters');
  if (o.advertiseUrl !== undefined) {
    if (o.advertiseUrl.length > 1024) throw new RangeError('advertiseUrl must be at most 1024 characters');
    if (parseTcpUrl(o.advertiseUrl).secure !== (o.tls !== undefined)) {
      throw new InvalidPeerUrlError(
        o.advertiseUrl,
        'its scheme does not match the transport (tls options or not)',
      );
    }
  }
  return {
    id: o.id,
    clusterToken: o.clusterToken,
    handler: o.handler,
    advertiseUrl: o.advertiseUrl,
    tls: o.tls,
    clientContext: o.tls
      ? createSecureContext({
          ca: tlsCa(o.tls),
          cert: o.tls.cert,
          key: o.tls.key,
          minVersion: TLS_MIN_VERSION,
        })
      : undefined,
    logger: o.logger ?? silent,
    maxFrameBytes,
    maxSnapshotBytes: positiveInt(o.maxSnapshotBytes ?? DEFAULT_MAX_SNAPSHOT_BYTES, 'maxSnapshotBytes'),
    snapshotChunkBytes,
    sendQueueSize: positiveInt(o.sendQueueSize ?? DEFAULT_SEND_QUEUE_SIZE, 'sendQueueSize'),
    dialTimeoutMs: positiveInt(o.dialTimeoutMs ?? DEFAULT_DIAL_TIMEOUT_MS, 'dialTimeoutMs'),
    helloTimeoutMs: positiveInt(o.helloTimeoutMs ?? DEFAULT_HELLO_TIMEOUT_MS, 'helloTimeoutMs'),
    writeTimeoutMs: positiveInt(o.writeTimeoutMs ?? DEFAULT_WRITE_TIMEOUT_MS, 'writeTimeoutMs'),
    backoffInitialMs,
    backoffMaxMs,
    rand: o.rand ?? mathRandom,
  };
}

/** Parses `tcp://host:port` or `tls://host:port`; `port` 0 only where `allowPortZero`. */
export function parseTcpUrl(url: string, allowPortZero = false): TcpAddress {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new InvalidPeerUrlError(url, 'not a URL');
  }
  if (u.protocol !== 'tcp:' && u.protocol !== 'tls:') {
    throw new InvalidPeerUrlError(url, 'scheme must be tcp or tls');
  }
  if (u.username || u.password || (u.pathname !== '' && u.pathname !== '/') || u.search || u.hash) {
    throw new InvalidPeerUrlError(url, 'only host and port are allowed');
  }
  const host = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname;
  const port = Number(u.port);
  if (host === '' || u.port === '' || !Number.isInteger(port) || (port === 0 && !allowPortZero)) {
    throw new InvalidPeerUrlError(
      url,
      allowPortZero ? 'host and port required' : 'host and port (1-65535) required',
    );
  }
  return { secure: u.protocol === 'tls:', host, port };
}

/** The URL of an address: the inverse of parseTcpUrl. */
export function formatTcpUrl(a: TcpAddress): string {
  const host = a.host.includes(':') ? `[${a.host}]` : a.host;
  return `${a.secure ? 'tls' : 'tcp'}://${host}:${a.port}`;
}

/**
 * Delay before reconnect attempt `attempt` (0 for the first retry): exponential from `initialMs`,
 * capped at `maxMs`, with "equal jitter" (a uniform draw in [base/2, base]) so peers that lost a
 * member at the same moment do not all redial it in lockstep.
 */
export function backoffDelay(attempt: number, rand: RandomSource, initialMs: number, maxMs: number): number {
  const base = Math.min(maxMs, initialMs * 2 ** Math.min(attempt, 52));
  const half = Math.floor(base / 2);
  return base - half + rand(half + 1);
}

/** The CA list in the shape node:tls takes. */
export function tlsCa(t: TcpTlsOptions): string | Buffer | (string | Buffer)[] {
  return typeof t.ca === 'string' || Buffer.isBuffer(t.ca)
    ? t.ca
    : [...(t.ca as readonly (string | Buffer)[])];
}

/** How members print node IDs in logs: hex, as etcd does. */
export function formatId(id: NodeId): string {
  return id.toString(16);
}
