/**
 * Helpers for the TCP integration tests: a handler that records what it hears and lets a test
 * await a condition (re-checked on every callback and log line, never by polling a clock), raw
 * sockets speaking the frame protocol by hand, and small message builders. Loopback only.
 * Test-only.
 */

import net from 'node:net';
import type { Index, Message, MsgSnap, NodeId, Term } from '@tsetcd/raft';
import type { EventEmitter } from 'eventemitter3';
import { FrameDecoder, frameHeader } from '../framing.js';
import type { TcpTransportOptions } from '../tcp-options.js';
import { decodeFrame, type Frame } from '../tcp-protocol.js';
import { TcpTransport, type TcpTransportEvents } from '../tcp-transport.js';
import type { TransportHandler, TransportLogger } from '../transport.js';

/** How long an integration test waits for a socket event before failing. */
export const WAIT_MS = 10_000;

/** Resolves when `check` holds, re-testing it whenever `onChange` fires; rejects after WAIT_MS. */
function waitFor(
  subscribe: (wake: () => void) => () => void,
  check: () => boolean,
  what: string,
  detail: () => string,
) {
  return new Promise<void>((resolve, reject) => {
    if (check()) return resolve();
    const timer = setTimeout(() => {
      unsubscribe();
      reject(new Error(`timed out waiting for ${what}\n${detail()}`));
    }, WAIT_MS);
    const unsubscribe = subscribe(() => {
      if (!check()) return;
      clearTimeout(timer);
      unsubscribe();
      resolve();
    });
  });
}

/** A TransportHandler and TransportLogger that records everything. */
export class Recorder implements TransportHandler {
  readonly messages: Message[] = [];
  readonly unreachable: NodeId[] = [];
  readonly snapshotStatus: [NodeId, 'SnapshotFinish' | 'SnapshotFailure'][] = [];
  readonly logs: string[] = [];
  private readonly wakers = new Set<() => void>();

  readonly logger: TransportLogger = (level, message) => {
    this.logs.push(`${level}: ${message}`);
    this.changed();
  };

  onMessage(m: Message): void {
    this.messages.push(m);
    this.changed();
  }

  onUnreachable(peer: NodeId): void {
    this.unreachable.push(peer);
    this.changed();
  }

  onSnapshotStatus(peer: NodeId, status: 'SnapshotFinish' | 'SnapshotFailure'): void {
    this.snapshotStatus.push([peer, status]);
    this.changed();
  }

  /** Resolves once `check` holds. */
  until(check: () => boolean, what: string): Promise<void> {
    const subscribe = (wake: () => void) => {
      this.wakers.add(wake);
      return () => this.wakers.delete(wake);
    };
    return waitFor(subscribe, check, what, () => this.logs.join('\n'));
  }

  /** Resolves once a log line contains `text`. */
  untilLogged(text: string): Promise<void> {
    return this.until(() => this.logs.some((l) => l.includes(text)), `a log line containing "${text}"`);
  }

  private changed(): void {
    for (const w of [...this.wakers]) w();
  }
}

/** Resolves on the next `event` whose arguments satisfy `match` (listen BEFORE causing it). */
export function nextEvent<E extends keyof TcpTransportEvents>(
  events: EventEmitter<TcpTransportEvents>,
  event: E,
  match: (...args: Parameters<TcpTransportEvents[E]>) => boolean = () => true,
): Promise<void> {
  type Listener = (...args: Parameters<TcpTransportEvents[E]>) => void;
  const on = events.on.bind(events) as (e: E, f: Listener) => void;
  const off = events.off.bind(events) as (e: E, f: Listener) => void;
  let fired = false;
  const subscribe = (wake: () => void) => {
    const listener: Listener = (...args) => {
      if (fired || !match(...args)) return;
      fired = true;
      wake();
    };
    on(event, listener);
    return () => off(event, listener);
  };
  return waitFor(
    subscribe,
    () => fired,
    `event ${event}`,
    () => '',
  );
}

/** A member under test: its transport and recorder. */
export interface Member {
  readonly id: NodeId;
  readonly transport: TcpTransport;
  readonly rec: Recorder;
}

/** Every transport opened through `member`, for afterEach to close. */
export const opened: TcpTransport[] = [];

/** Listens on an ephemeral loopback port (or `port`) with a fresh recorder. */
export async function member(
  id: NodeId,
  extra: Partial<Omit<TcpTransportOptions, 'id' | 'handler'>> = {},
): Promise<Member> {
  const rec = new Recorder();
  const transport = await TcpTransport.listen({
    listen: 'tcp://127.0.0.1:0',
    clusterToken: 'test-cluster',
    logger: rec.logger,
    ...extra,
    id,
    handler: rec,
  });
  opened.push(transport);
  return { id, transport, rec };
}

/** Closes every transport opened by `member` (call from afterEach). */
export async function closeAll(): Promise<void> {
  await Promise.all(opened.splice(0).map((t) => t.close()));
}

/** Makes every member a peer of every other and waits until all connections are accepted. */
export async function connectAll(members: readonly Member[]): Promise<void> {
  const ready: Promise<void>[] = [];
  for (const a of members) {
    for (const b of members) {
      if (a === b) continue;
      ready.push(nextEvent(a.transport.events, 'peerActive', (p) => p === b.id));
      a.transport.addPeer(b.id, b.transport.url);
    }
  }
  await Promise.all(ready);
}

/** A heartbeat whose `commit` numbers it, so tests can check order. */
export function heartbeat(from: NodeId, to: NodeId, n = 0): Message {
  return { type: 'MsgHeartbeat', from, to, term: 1 as Term, commit: n as Index, context: new Uint8Array() };
}

/** A MsgSnap carrying `data`. */
export function snapMessage(from: NodeId, to: NodeId, data: Uint8Array): MsgSnap {
  return {
    type: 'MsgSnap',
    from,
    to,
    term: 2 as Term,
    snapshot: {
      metadata: {
        index: 100 as Index,
        term: 2 as Term,
        confState: {
          voters: [from, to],
          learners: [],
          votersOutgoing: [],
          learnersNext: [],
          autoLeave: false,
        },
      },
      data,
    },
  };
}

/** Deterministic filler bytes. */
export function pattern(n: number, seed = 1): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * 31 + seed) & 0xff;
  return out;
}

/** A raw loopback socket that speaks frames by hand and records the frames it receives. */
export class RawSocket {
  readonly frames: Frame[] = [];
  readonly closed: Promise<void>;
  private readonly decoder = new FrameDecoder(2 ** 32 - 1);
  private readonly wakers = new Set<() => void>();

  constructor(readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      for (const p of this.decoder.push(chunk)) this.frames.push(decodeFrame(p));
      for (const w of [...this.wakers]) w();
    });
    socket.on('error', () => {});
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
  }

  /** Connects to a loopback port. */
  static async connect(port: number): Promise<RawSocket> {
    const socket = net.connect({ host: '127.0.0.1', port });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return new RawSocket(socket);
  }

  /** Writes raw bytes. */
  write(bytes: Uint8Array): void {
    this.socket.write(bytes);
  }

  /** Writes one frame around `payload`. */
  writeFrame(payload: Uint8Array): void {
    this.socket.write(frameHeader(payload.length, 2 ** 32 - 1));
    this.socket.write(payload);
  }

  /** Resolves once `check` holds over the frames received. */
  until(check: (frames: readonly Frame[]) => boolean, what: string): Promise<void> {
    const subscribe = (wake: () => void) => {
      this.wakers.add(wake);
      return () => this.wakers.delete(wake);
    };
    return waitFor(
      subscribe,
      () => check(this.frames),
      what,
      () => JSON.stringify(this.frames.map((f) => f.type)),
    );
  }
}

/** A loopback server whose accepted sockets are RawSockets (to play a peer by hand). */
export class RawServer {
  readonly sockets: RawSocket[] = [];
  private readonly wakers = new Set<() => void>();

  private constructor(readonly server: net.Server) {
    server.on('connection', (s) => {
      this.sockets.push(new RawSocket(s));
      for (const w of [...this.wakers]) w();
    });
  }

  /** Listens on an ephemeral loopback port. */
  static async listen(): Promise<RawServer> {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
    return new RawServer(server);
  }

  /** The URL a transport dials to reach this server. */
  get url(): string {
    return `tcp://127.0.0.1:${(this.server.address() as net.AddressInfo).port}`;
  }

  /** Resolves with the n-th accepted socket (0-based) once it exists. */
  async accepted(n = 0): Promise<RawSocket> {
    const subscribe = (wake: () => void) => {
      this.wakers.add(wake);
      return () => this.wakers.delete(wake);
    };
    await waitFor(
      subscribe,
      () => this.sockets.length > n,
      `connection ${n}`,
      () => '',
    );
    return this.sockets[n]!;
  }

  /** Closes the server and every accepted socket. */
  async close(): Promise<void> {
    for (const s of this.sockets) s.socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
