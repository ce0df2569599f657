/**
 * Differential test of the Cluster service and the Maintenance calls on one member against a real
 * etcd 3.4: the same requests go to a fresh etcd process and a fresh tsetcd member (both named
 * `real`, each on its own free loopback ports, peer transport listening) over gRPC, and every
 * answer must be the same — the response field for field, or the gRPC code name and message.
 * Fixed cases read as a spec; a seeded sequence (test/cluster-ops.ts) mixes the same calls.
 *
 * Normalised, because each server has its own (see test/cluster-ops.ts for how requests name
 * them): the header's cluster_id, member_id and raft_term (as set or zero); member IDs (SELF,
 * UNKNOWN, then LEARNERn / VOTERn in order of appearance); the server's own peer and client URLs
 * (SELF_PEER, SELF_CLIENT) and the shared free ones (U1…U4); Status's version, dbSize,
 * dbSizeInUse, raftIndex, raftAppliedIndex and raftTerm (as set or zero); Hash's hash (a
 * storage detail: as a number or not); Snapshot's bytes (its shape is compared: see
 * snapshotShape). Member lists are sorted by name then peer URLs (etcd sorts by ID, and IDs
 * differ), and alarm lists by member and alarm.
 *
 * etcd 3.4 derives an added member's ID from its peer URLs and the Unix second of the request: a
 * second add of the same URLs within the same second gets the same ID ("member ID already exist",
 * or an error about the removed ID), a later one a new ID. The runner waits for the next second
 * before re-adding URLs added in the current one, so etcd's answer is the later-second one ("Peer
 * URLs already exists", or a new member).
 *
 * A mismatch fails with the case or seed, the op's index and the op; replay a seed with
 * `DIFF_SEEDS=<seed> npx vitest run packages/server/src/cluster-differential.integration.test.ts`.
 * `DIFF_SEEDS=1..50` (or `3,7`), `DIFF_OPS=n` (default 40), `DIFF_CONTINUE=1` reports every
 * mismatch of a seed instead of stopping at the first, `DIFF_TRACE=1` prints each op and answers.
 * Skipped when no `etcd` binary is installed.
 */

import { createHash } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import {
  type Client,
  type ClientReadableStream,
  credentials,
  makeClientConstructor,
  type ServiceDefinition,
  status,
} from '@grpc/grpc-js';
import { createNode, type TsetcdNode } from '@tsetcd/core';
import { freePorts } from '@tsetcd/core/testing';
import { describe, expect, it } from 'vitest';
import { loadEtcdProtos } from './proto.js';
import { type RunningServer, startServer } from './server.js';
import {
  type ClusterOp,
  ClusterOpGenerator,
  type ClusterService,
  cluster,
  maintenance,
  SELF,
  SELF_CLIENT,
  SELF_PEER,
  SHARED_URLS,
  UNKNOWN,
  UNKNOWN_ID,
} from './test/cluster-ops.js';
import { diffSettings } from './test/diff-seeds.js';
import { hasEtcd, type RealEtcd, startRealEtcd } from './test/real-etcd.js';

/** The seeds CI runs; DIFF_SEEDS overrides. */
const CI_SEEDS: readonly number[] = [1, 2, 3];
const { seeds: SEEDS, ops: OPS, continueOnMismatch: CONTINUE, trace: TRACE } = diffSettings(CI_SEEDS, 40);
/** A call taking longer than this counts as a hang. */
const CALL_DEADLINE_MS = 10_000;
/** How long a fresh member may take to publish its client URLs. */
const PUBLISH_TIMEOUT_MS = 10_000;
/** etcd's Snapshot chunk size (32 KiB). */
const SNAPSHOT_CHUNK_BYTES = 32 * 1024;
/** Fields holding a member ID. */
const ID_FIELDS = new Set(['ID', 'memberID', 'leader', 'targetID']);

const protos = loadEtcdProtos();

type Res = Record<string, unknown>;
type GrpcError = Error & { code: number; details: string };
/** What a server answered: the response (or a stream's messages), or the error's code and message. */
type Answer =
  | { readonly ok: Res }
  | { readonly stream: readonly Res[] }
  | { readonly error: { readonly code: string; readonly details: string } };

const asError = (e: GrpcError): Answer => ({
  error: { code: status[e.code] ?? String(e.code), details: e.details },
});

/** The peer URLs behind U1…U4 in one case: free loopback ports, the same for both servers. */
async function sharedUrls(): Promise<ReadonlyMap<string, string>> {
  const ports = await freePorts(SHARED_URLS.length);
  return new Map(SHARED_URLS.map((u, i) => [u, `http://127.0.0.1:${ports[i]}`]));
}

/** One server: its clients, and the names given to its member IDs and URLs. */
class Target {
  private readonly clients = new Map<ClusterService | 'KV', Client>();
  /** Member ID → name, and back. */
  private readonly names = new Map<string, string>([[UNKNOWN_ID, UNKNOWN]]);
  private readonly ids = new Map<string, string>([[UNKNOWN, UNKNOWN_ID]]);
  private added = 0;
  /** Symbolic URL → URL, and back (client URLs apart: a peer URL may not stand for one). */
  private readonly urls = new Map<string, string>();
  private readonly peerNames = new Map<string, string>();
  private readonly clientNames = new Map<string, string>();
  /** When each URL was last added (Unix second, as the client saw the answer). */
  private readonly addedAt = new Map<string, number>();

  constructor(
    readonly name: string,
    private readonly endpoint: string,
    shared: ReadonlyMap<string, string>,
  ) {
    for (const [sym, url] of shared) this.nameUrl(sym, url);
  }

  private nameUrl(sym: string, url: string): void {
    this.urls.set(sym, url);
    this.peerNames.set(url, sym);
  }

  private client(service: ClusterService | 'KV'): Client {
    let c = this.clients.get(service);
    if (c === undefined) {
      const Ctor = makeClientConstructor(protos[service] as ServiceDefinition, service);
      c = new Ctor(this.endpoint, credentials.createInsecure());
      this.clients.set(service, c);
    }
    return c;
  }

  /** Learns its own ID and URLs once it has published its client URLs (etcd does so on start). */
  async init(): Promise<void> {
    const deadline = Date.now() + PUBLISH_TIMEOUT_MS;
    for (;;) {
      const st = await this.unary('Maintenance', 'Status', {}, CALL_DEADLINE_MS);
      const list = await this.unary('Cluster', 'MemberList', {}, CALL_DEADLINE_MS);
      if ('ok' in st && 'ok' in list) {
        const id = (st.ok.header as Res).memberId as string;
        const self = (list.ok.members as Res[]).find((m) => m.ID === id);
        const clientUrls = (self?.clientURLs as string[] | undefined) ?? [];
        if (self !== undefined && clientUrls.length > 0) {
          this.names.set(id, SELF);
          this.ids.set(SELF, id);
          this.nameUrl(SELF_PEER, (self.peerURLs as string[])[0]!);
          for (const u of clientUrls) this.clientNames.set(u, SELF_CLIENT);
          return;
        }
      }
      if (Date.now() > deadline) throw new Error(`${this.name}: never listed itself with client URLs`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** The request with this server's IDs and URLs in place of the symbols. */
  resolve(op: ClusterOp): Res {
    const req: Res = { ...op.req };
    for (const k of Object.keys(req)) {
      if (ID_FIELDS.has(k) && typeof req[k] === 'string') req[k] = this.ids.get(req[k]) ?? UNKNOWN_ID;
    }
    if (Array.isArray(req.peerURLs))
      req.peerURLs = (req.peerURLs as string[]).map((u) => this.urls.get(u) ?? u);
    return req;
  }

  /**
   * Sends `op`. Before an add of URLs that were added in the current second, waits for the next
   * one (see the file comment).
   */
  async call(op: ClusterOp): Promise<Answer> {
    const req = this.resolve(op);
    const deadlineMs = op.deadlineMs ?? CALL_DEADLINE_MS;
    if (op.method === 'Snapshot') return this.snapshot(deadlineMs);
    const urls = (req.peerURLs as string[] | undefined) ?? [];
    if (op.method === 'MemberAdd') {
      const last = Math.max(-1, ...urls.map((u) => this.addedAt.get(u) ?? -1));
      const wait = (last + 1) * 1000 - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait + 20));
    }
    const answer = await this.unary(op.service, op.method, req, deadlineMs);
    if (op.method === 'MemberAdd' && 'ok' in answer) {
      for (const u of urls) this.addedAt.set(u, Math.floor(Date.now() / 1000));
    }
    // etcd 3.4 answers a membership change once it applied it, but its raft may not count it as
    // applied yet, and then drops the next change proposed (the call hangs to its deadline). A
    // linearizable read takes a raft round, after which it does; tsetcd retries instead. Not
    // after adding a voter here: the one-member cluster has then lost its quorum.
    const votersAdded = op.method === 'MemberAdd' && req.isLearner !== true;
    if (op.service === 'Cluster' && op.method !== 'MemberList' && !votersAdded && 'ok' in answer) {
      await this.unary('KV', 'Range', { key: Buffer.from('barrier') }, CALL_DEADLINE_MS);
    }
    return answer;
  }

  unary(service: ClusterService | 'KV', method: string, req: Res, deadlineMs: number): Promise<Answer> {
    const client = this.client(service) as unknown as Record<
      string,
      (r: Res, o: object, cb: (e: GrpcError | null, r: Res) => void) => void
    >;
    return new Promise((resolve) =>
      client[method]!.call(client, req, { deadline: Date.now() + deadlineMs }, (e, r) =>
        resolve(e ? asError(e) : { ok: r }),
      ),
    );
  }

  private snapshot(deadlineMs: number): Promise<Answer> {
    const client = this.client('Maintenance') as unknown as {
      Snapshot(r: Res, o: object): ClientReadableStream<Res>;
    };
    const stream = client.Snapshot({}, { deadline: Date.now() + deadlineMs });
    const messages: Res[] = [];
    return new Promise((resolve) => {
      stream.on('data', (m: Res) => messages.push(m));
      stream.on('error', (e: GrpcError) => resolve(asError(e)));
      stream.on('end', () => resolve({ stream: messages }));
    });
  }

  /** An answer as compared and printed (see the file comment). */
  normalise(op: ClusterOp, answer: Answer): unknown {
    if ('error' in answer) return answer;
    if ('stream' in answer) return { stream: snapshotShape(answer.stream) };
    const res = this.readable(answer.ok) as Res;
    if (op.method === 'Status') {
      res.version = res.version === '' ? '' : '<set>';
      for (const k of ['dbSize', 'dbSizeInUse', 'raftIndex', 'raftAppliedIndex', 'raftTerm'])
        res[k] = own(res[k]);
    }
    if (op.method === 'Hash') res.hash = typeof res.hash === 'number' ? '<number>' : res.hash;
    if (Array.isArray(res.alarms))
      res.alarms = sortBy(res.alarms as Res[], (a) => `${a.memberID}/${a.alarm}`);
    return { ok: res };
  }

  private readable(x: unknown, key = ''): unknown {
    if (Buffer.isBuffer(x)) return `<${x.length} bytes>`;
    if (Array.isArray(x)) {
      const items = x.map((v) => this.readable(v, key));
      if (key === 'members') return sortBy(items as Res[], (m) => `${m.name}\0${String(m.peerURLs)}`);
      // Both keep a member's URLs sorted, but each server's own URL has its own port, so where it
      // sorts among the shared ones differs: lists holding it are compared as sets.
      if (key === 'peerURLs' && items.includes(SELF_PEER)) return [...items].sort();
      return items;
    }
    if (typeof x === 'string') {
      if (ID_FIELDS.has(key)) return x === '0' ? '0' : this.memberName(x);
      if (key === 'peerURLs') return this.peerNames.get(x) ?? x;
      if (key === 'clientURLs') return this.clientNames.get(x) ?? x;
      return x;
    }
    if (x === null || typeof x !== 'object') return x;
    const out: Res = {};
    const obj = x as Res;
    // A member is named by what it is when first seen, so its ID is read after isLearner.
    for (const [k, v] of Object.entries(obj)) {
      if (k === 'header' && v !== null && typeof v === 'object') out[k] = header(v as Res);
      else if (k === 'ID' && typeof v === 'string' && !this.names.has(v))
        out[k] = this.memberName(v, obj.isLearner === true ? 'LEARNER' : 'VOTER');
      else out[k] = this.readable(v, k);
    }
    return out;
  }

  /** The name of member ID `id`, a new one (`kind` and a count) the first time it is seen. */
  private memberName(id: string, kind = 'MEMBER'): string {
    let name = this.names.get(id);
    if (name === undefined) {
      name = `${kind}${++this.added}`;
      this.names.set(id, name);
      this.ids.set(name, id);
    }
    return name;
  }

  close(): void {
    for (const c of this.clients.values()) c.close();
  }
}

/** The cluster ID, member ID and term are each server's own: compared only as set or zero. */
function header(h: Res): unknown {
  return { ...h, clusterId: own(h.clusterId), memberId: own(h.memberId), raftTerm: own(h.raftTerm) };
}

/** A number that is each server's own: set or zero. */
const own = (v: unknown): unknown => (v === '0' || v === 0 ? '0' : v === undefined ? v : '<set>');

function sortBy<T>(xs: readonly T[], key: (x: T) => string): T[] {
  return [...xs].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

/**
 * A Snapshot stream as compared: its bytes are a storage detail, its shape is not — the db in
 * chunks of at most 32 KiB, each carrying the bytes still to come, then the SHA-256 of the db as
 * a last message with remaining_bytes 0 — and each message's header.
 */
function snapshotShape(messages: readonly Res[]): unknown {
  const blobs = messages.map((m) => m.blob as Buffer);
  const db = blobs.slice(0, -1);
  const remaining = messages.map((m) => Number(m.remainingBytes));
  const sha = blobs.at(-1);
  return {
    atLeastTwoMessages: messages.length >= 2,
    headers: [
      ...new Set(messages.map((m) => JSON.stringify(m.header === null ? null : header(m.header as Res)))),
    ],
    chunksNonEmptyAndAtMost32KiB: db.every((b) => b.length > 0 && b.length <= SNAPSHOT_CHUNK_BYTES),
    remainingBytesCountsDown: db.every(
      (_, i) => remaining[i] === db.slice(i + 1).reduce((n, b) => n + b.length, 0),
    ),
    lastRemainingBytes: remaining.at(-1),
    lastIsSha256OfTheRest:
      sha !== undefined && createHash('sha256').update(Buffer.concat(db)).digest().equals(sha),
  };
}

/** A tsetcd member as etcd is started: named `real`, peer transport on, its client URL published. */
interface OurMember {
  readonly node: TsetcdNode;
  readonly server: RunningServer;
  readonly endpoint: string;
}

async function startOurs(): Promise<OurMember> {
  const [clientPort, peerPort] = await freePorts(2);
  const endpoint = `127.0.0.1:${clientPort}`;
  const node = await createNode(
    {
      name: 'real',
      peers: { real: `tcp://127.0.0.1:${peerPort}` },
      clientUrls: [`http://${endpoint}`],
    },
    // Dialling the learners' URLs, which nobody serves, fails by design: not worth a warning.
    { logger: (level, message) => TRACE && console.log(`tsetcd ${level}: ${message}`) },
  );
  try {
    const server = await startServer(node, { listenClientUrls: [`http://${endpoint}`] });
    return { node, server, endpoint };
  } catch (err) {
    await node.close();
    throw err;
  }
}

interface Pair {
  readonly etcd: Target;
  readonly ts: Target;
  close(): Promise<void>;
}

async function startPair(): Promise<Pair> {
  const [realR, oursR, sharedR] = await Promise.allSettled([startRealEtcd(), startOurs(), sharedUrls()]);
  if (realR.status === 'rejected' || oursR.status === 'rejected' || sharedR.status === 'rejected') {
    if (realR.status === 'fulfilled') realR.value.stop();
    if (oursR.status === 'fulfilled') await oursR.value.server.close().then(() => oursR.value.node.close());
    throw [realR, oursR, sharedR].find((r) => r.status === 'rejected')?.reason;
  }
  const [real, ours, shared]: [RealEtcd, OurMember, ReadonlyMap<string, string>] = [
    realR.value,
    oursR.value,
    sharedR.value,
  ];
  const etcd = new Target('etcd', real.endpoint, shared);
  const ts = new Target('tsetcd', ours.endpoint, shared);
  const close = async () => {
    etcd.close();
    ts.close();
    real.stop();
    await ours.server.close();
    await ours.node.close();
  };
  try {
    await Promise.all([etcd.init(), ts.init()]);
  } catch (err) {
    await close();
    throw err;
  }
  return { etcd, ts, close };
}

function describeOp(op: ClusterOp): string {
  const deadline = op.deadlineMs === undefined ? '' : ` (deadline ${op.deadlineMs} ms)`;
  return `${op.service}.${op.method} ${JSON.stringify(op.req)}${deadline}`;
}

/** Sends `op` to both at once (each waits for its own next second before a re-add: Target.call). */
async function both(pair: Pair, op: ClusterOp): Promise<{ want: unknown; got: unknown }> {
  const [e, t] = await Promise.all([pair.etcd.call(op), pair.ts.call(op)]);
  return { want: pair.etcd.normalise(op, e), got: pair.ts.normalise(op, t) };
}

/** Runs `ops` on a fresh pair and returns every mismatch. */
async function runCase(name: string, ops: readonly ClusterOp[]): Promise<string[]> {
  const pair = await startPair();
  const mismatches: string[] = [];
  try {
    for (const [i, op] of ops.entries()) {
      const { want, got } = await both(pair, op);
      if (TRACE)
        console.log(
          `#${i} ${describeOp(op)}\n  etcd:   ${JSON.stringify(want)}\n  tsetcd: ${JSON.stringify(got)}`,
        );
      if (!isDeepStrictEqual(want, got))
        mismatches.push(
          `${name}, op #${i}: ${describeOp(op)}\netcd:   ${JSON.stringify(want)}\ntsetcd: ${JSON.stringify(got)}`,
        );
    }
  } finally {
    await pair.close();
  }
  return mismatches;
}

async function runSeed(seed: number): Promise<void> {
  const pair = await startPair();
  const mismatches: string[] = [];
  const log: string[] = [];
  try {
    const gen = new ClusterOpGenerator(seed);
    for (let i = 0; i < OPS; i++) {
      const op = gen.next();
      log.push(`#${i} ${describeOp(op)}`);
      const { want, got } = await both(pair, op);
      if (TRACE)
        console.log(`${log.at(-1)}\n  etcd:   ${JSON.stringify(want)}\n  tsetcd: ${JSON.stringify(got)}`);
      if (!isDeepStrictEqual(want, got)) {
        const msg = `seed ${seed}, op #${i}: ${describeOp(op)} (replay: DIFF_SEEDS=${seed})\nlast operations:\n${log.slice(-8).join('\n')}\n`;
        if (!CONTINUE) expect(got, `${msg}tsetcd (received) vs etcd (expected)`).toEqual(want);
        mismatches.push(`${msg}etcd:   ${JSON.stringify(want)}\ntsetcd: ${JSON.stringify(got)}`);
      }
      gen.observe(op, want);
    }
    if (mismatches.length > 0)
      console.log(`seed ${seed}: ${mismatches.length} mismatches\n\n${mismatches.join('\n\n')}`);
    expect(mismatches).toEqual([]);
  } finally {
    await pair.close();
  }
}

const addLearner = (...peerURLs: string[]): ClusterOp => cluster('MemberAdd', { peerURLs, isLearner: true });
const addVoter = (...peerURLs: string[]): ClusterOp => cluster('MemberAdd', { peerURLs });
const update = (ID: string, ...peerURLs: string[]): ClusterOp => cluster('MemberUpdate', { ID, peerURLs });
const promote = (ID: string): ClusterOp => cluster('MemberPromote', { ID });
const remove = (ID: string): ClusterOp => cluster('MemberRemove', { ID });
const memberList = cluster('MemberList');
const statusOp = maintenance('Status');
const alarms = maintenance('Alarm', { action: 'GET' });
const moveLeader = (targetID: string): ClusterOp => maintenance('MoveLeader', { targetID });

/** The fixed cases: a name that reads as a spec, and its requests, every answer compared. */
const FIXED: Record<string, readonly ClusterOp[]> = {
  'MemberList on a fresh member lists only itself: a started voter with its URLs': [memberList],
  'a learner is added, listed, refused promotion while not started, and removed once': [
    addLearner('U1'),
    memberList,
    promote('LEARNER1'),
    remove('LEARNER1'),
    remove('LEARNER1'),
    memberList,
  ],
  'MemberAdd refuses a peer URL in use (by self, by the learner) and a second learner': [
    addLearner(SELF_PEER),
    addVoter(SELF_PEER),
    addLearner('U1'),
    addLearner('U1'),
    addLearner('U2', 'U1'),
    addLearner('U2'),
    memberList,
  ],
  // Each malformed add on a cluster without a learner, so that an accepted one shows as such.
  'MemberAdd refuses no URLs and malformed URLs: not a URL, another scheme, no port': [
    addLearner(),
    addVoter(),
    addLearner('not a url'),
    addLearner('ftp://127.0.0.1:2380'),
    addLearner('http://127.0.0.1'),
    memberList,
  ],
  'MemberAdd refuses a peer URL with a path': [addLearner('http://127.0.0.1:2380/path'), memberList],
  'a removed learner’s URL can be added again, as a new member': [
    addLearner('U1'),
    remove('LEARNER1'),
    addLearner('U1'),
    memberList,
  ],
  'MemberUpdate: self to its own URL and to a free one; an unknown ID and a URL in use are refused': [
    addLearner('U1'),
    update(SELF, SELF_PEER),
    update(UNKNOWN, 'U3'),
    update('LEARNER1', SELF_PEER),
    update(SELF, 'U1'),
    update(SELF, 'U3'),
    memberList,
  ],
  // etcd 3.4 keeps the member's raft attributes but rewrites them without isLearner.
  // Not here, a difference kept on purpose: MemberUpdate of a learner. etcd 3.4 lists it as a
  // voter from then on, which raft never made it (etcd#21694, fixed upstream); tsetcd keeps it a
  // learner (cluster.integration.test.ts).
  // Not here: the same URLs for another member, which crashes etcd 3.4 (its peer transport
  // panics: "newURLs [not a url] should never fail: …").
  'MemberUpdate of self takes URLs unchecked: malformed, no port, none': [
    update(SELF, 'not a url'),
    update(SELF, 'http://127.0.0.1'),
    update(SELF),
    memberList,
  ],
  'MemberPromote refuses a voter (self) and an unknown ID': [promote(SELF), promote(UNKNOWN)],
  'MemberRemove refuses an unknown ID, and self: the only voter': [
    remove(UNKNOWN),
    remove(SELF),
    addLearner('U1'),
    remove(SELF),
    memberList,
  ],
  // etcd 3.4 allows it as the way to grow a restored one-member cluster; the new voter never
  // starts, so the cluster has lost quorum (MemberList still answers: etcd 3.4 serves it locally).
  'MemberAdd of a voter to a one-member cluster is accepted (so, the last request)': [
    addVoter('U1'),
    cluster('MemberList', {}, 3_000),
    // The strict check comes before the URL check: one started member of three.
    addVoter(SELF_PEER),
    addVoter('U2'),
  ],
  'MemberAdd of a voter beside a learner is accepted too (learners do not count)': [
    addLearner('U1'),
    addVoter('U2'),
    cluster('MemberList', {}, 3_000),
  ],
  'Maintenance on one member: Status, Defragment, Hash, HashKV at 0, Alarm GET': [
    statusOp,
    maintenance('Defragment'),
    statusOp,
    maintenance('Hash'),
    maintenance('HashKV', { revision: '0' }),
    alarms,
  ],
  'MoveLeader: to self it succeeds, to an unknown ID or a learner it does not': [
    moveLeader(SELF),
    moveLeader(UNKNOWN),
    addLearner('U1'),
    moveLeader('LEARNER1'),
    statusOp,
    alarms,
    moveLeader(SELF),
  ],
  'Snapshot streams the db in chunks counting down remaining_bytes, then its SHA-256': [
    maintenance('Snapshot'),
    addLearner('U1'),
    maintenance('Snapshot'),
  ],
  'Maintenance after membership changes: Status, Alarm, Hash, HashKV': [
    addLearner('U1'),
    statusOp,
    alarms,
    maintenance('Hash'),
    maintenance('HashKV', { revision: '0' }),
    remove('LEARNER1'),
    maintenance('Defragment'),
    statusOp,
    alarms,
  ],
};

describe.skipIf(!hasEtcd)('Cluster and Maintenance against a real etcd 3.4 (fixed cases)', () => {
  for (const [name, ops] of Object.entries(FIXED)) {
    it(name, { timeout: 60_000 }, async () => {
      const mismatches = await runCase(name, ops);
      if (mismatches.length > 0) console.log(mismatches.join('\n\n'));
      expect(mismatches).toEqual([]);
    });
  }
});

describe.skipIf(!hasEtcd)('Cluster and Maintenance against a real etcd 3.4 (seeded differential)', () => {
  for (const seed of SEEDS) {
    it(`seed ${seed}`, { timeout: 120_000 }, () => runSeed(seed));
  }
});
