/**
 * createNode: opens a member and starts it.
 *
 *   1. validate the config (ConfigError lists every bad field);
 *   2. derive member and cluster IDs from the initial cluster, as etcd does;
 *   3. open the mvcc store (`<dataDir>/member/kv`, or memory) and the member list it holds;
 *   4. open the raft log (`<dataDir>/member/{wal,snap}`, or memory) and check it belongs to this
 *      member; install a persisted snapshot the store had not caught up with;
 *   5. make the RawNode; a brand-new member of a new cluster bootstraps the initial members;
 *   6. connect the transport (TCP or TLS from the peer URLs, a caller-given one, or none for a
 *      lone member) and tell it where every known member is;
 *   7. start the raft loop and the ticker; a lone voter campaigns at once instead of waiting for
 *      an election timeout.
 * Anything opened is closed again if a later step fails.
 */

import { join } from 'node:path';
import { MvccStore } from '@tsetcd/mvcc';
import {
  type ConfState,
  EMPTY_CONF_STATE,
  type Index,
  MemoryStorage,
  type RandomSource,
  RawNode,
  type Snapshot,
  seededRandom,
} from '@tsetcd/raft';
import { TcpTransport, type Transport, type TransportHandler } from '@tsetcd/transport';
import { type Clock, systemClock } from '../clock.js';
import { decodeValue, encodeValue } from '../codec.js';
import { type NodeConfig, type NodeConfigInput, parseNodeConfig } from '../config.js';
import { CoreError, StorageMismatchError } from '../errors.js';
import type { StorageHooks } from '../fsutil.js';
import { clusterIdFor, type MemberId, memberIdFor } from '../ids.js';
import { IN_MEMORY_LOG, RaftLoop } from '../raft-loop.js';
import { memberDir, RaftStorage } from '../raft-storage.js';
import { AppliedRequests } from './applied-requests.js';
import { Applier } from './applier.js';
import { NodeAuth } from './auth-apply.js';
import { ForwardedRenewals, RENEWAL_NOT_PRIMARY } from './forwarded-renewals.js';
import { type Member, Membership } from './membership.js';
import { encodeConfChangeContext, MembershipApplier } from './membership-apply.js';
import { type NodeLogger, TsetcdNode } from './node.js';
import type { NodeStorage, OpenedRaftLog, RaftLogStore } from './node-storage.js';
import { NoPeersTransport, SnapshotFillingTransport } from './peer-transport.js';
import { Proposer } from './proposer.js';
import { ReadBarrier } from './read-barrier.js';
import { RenewalAnsweringTransport } from './renewal-answering-transport.js';
import { memberRequestPrefix, RequestIdGenerator } from './request.js';
import { Snapshotter } from './snapshotter.js';
import { AppliedIndexWaits, ProposalWaits } from './wait.js';

/** Makes the member's transport; the default is TCP/TLS from the peer URLs. */
export type TransportFactory = (self: MemberId, handler: TransportHandler) => Transport | Promise<Transport>;

/** What a node needs besides its config: time, network, logging, randomness. */
export interface NodeRuntime {
  /** Default: the system clock. Tests pass a ManualClock (or use vitest's fake timers). */
  readonly clock?: Clock;
  /** Default: TCP/TLS on the peer URLs, or no transport for a member without peers. */
  readonly transport?: TransportFactory;
  /** Default: warnings and errors to the console. */
  readonly logger?: NodeLogger;
  /** Seeds raft's election jitter and lease IDs, so a simulation replays exactly. */
  readonly seed?: number;
  /** Fault-injection points of the durable raft log. */
  readonly storageHooks?: StorageHooks;
  /** Keep the raft log and store here instead of in `dataDir` or memory (a simulated disk). */
  readonly storage?: NodeStorage;
}

/** The data dir belongs to another member or cluster. */
export class DataDirMismatchError extends CoreError {
  readonly code = 'ErrDataDirMismatch';
  constructor(detail: string) {
    super(`data dir: ${detail}`);
    this.name = 'DataDirMismatchError';
  }
}

const DEFAULT_LOGGER: NodeLogger = (level, message) => {
  if (level === 'warn' || level === 'error') console.warn(`tsetcd: ${message}`);
};

interface WalMetadata {
  readonly memberId: bigint;
  readonly clusterId: bigint;
}

/** Opens and starts a member; see the file comment. */
export async function createNode(
  input: NodeConfigInput = {},
  runtime: NodeRuntime = {},
): Promise<TsetcdNode> {
  // 1–2.
  const config = parseNodeConfig(input);
  const clock = runtime.clock ?? systemClock;
  const logger = runtime.logger ?? DEFAULT_LOGGER;
  const initial = initialMembers(config);
  const self = [...initial.values()].find((m) => m.name === config.name)!;
  const clusterId = clusterIdFor([...initial.keys()]);
  const cleanup: (() => Promise<unknown>)[] = [];
  try {
    // 3.
    const dir = config.dataDir === undefined ? undefined : join(memberDir(config.dataDir), 'kv');
    const rand = runtime.seed === undefined ? undefined : seededRandom(runtime.seed);
    const sim = runtime.storage;
    if (sim !== undefined && dir !== undefined) {
      throw new TypeError('createNode: runtime.storage and config.dataDir are mutually exclusive');
    }
    const store = await MvccStore.open({
      ...(dir !== undefined ? { dir } : {}),
      ...(sim !== undefined ? { backend: await sim.openBackend(), newBackend: () => sim.newBackend() } : {}),
      kv: { maxTxnOps: config.maxTxnOps },
      lease: { clock: () => clock.now(), ...(rand !== undefined ? { rand: leaseIds(rand) } : {}) },
    });
    cleanup.push(() => store.close());
    const membership = await Membership.load(() => store.kv.backend);
    const requests = new AppliedRequests(() => store.kv.backend);

    // 4.
    const log = await openRaftLog(config, self.id, clusterId, runtime);
    cleanup.push(log.close);
    const recoveredSnap = log.snapshot;
    let confState: ConfState = recoveredSnap?.metadata.confState ?? EMPTY_CONF_STATE;
    const waits = new ProposalWaits(memberRequestPrefix(self.id));
    let authRef: NodeAuth | undefined;
    const applied = new AppliedIndexWaits();
    let node: TsetcdNode | undefined;
    const snapshotter = new Snapshotter({
      store,
      memoryStorage: log.storage,
      raftStorage: log.raftStorage,
      confState: () => confState,
      snapshotCount: config.snapshotCount,
      catchUpEntries: config.snapshotCatchUpEntries,
      onInstalled: async () => {
        requests.reload();
        await membership.reload();
        await authRef?.reload();
        membershipApplier?.connectAll();
      },
      logger,
      storeLocation: dir ?? 'the store',
    });
    if (store.kv.consistentIndex > log.lastIndex) {
      throw new StorageMismatchError(
        log.where,
        `the raft log ends at index ${log.lastIndex} but the store has applied up to index ${store.kv.consistentIndex}: log records were lost (a truncated WAL)`,
      );
    }

    // 5.
    const raft = new RawNode({
      id: self.id,
      storage: log.storage,
      electionTick: Math.round(config.electionMs / config.heartbeatMs),
      heartbeatTick: 1,
      applied: (recoveredSnap?.metadata.index ?? 0) as Index,
      checkQuorum: true,
      preVote: true,
      // A read or keep-alive a follower forwards needs no heartbeat round on a 3-member cluster.
      forwarderAcksReadIndex: true,
      ...(rand !== undefined ? { rand } : {}),
    });
    const fresh =
      log.lastIndex === 0 && recoveredSnap === undefined && log.storage.initialState().hardState.term === 0;
    if (fresh && config.initialClusterState === 'new') {
      const ids = [...initial.keys()];
      raft.bootstrap(
        ids,
        ids.map((id) => encodeConfChangeContext({ id: 0n, member: initial.get(id)!, clusterId })),
      );
    }
    if (!fresh && membership.isRemoved(self.id))
      throw new DataDirMismatchError('this member was removed from the cluster');

    // 6.
    let loop: RaftLoop | undefined;
    let membershipApplier: MembershipApplier | undefined;
    const handler: TransportHandler = {
      onMessage: (m) => loop?.step(m),
      onUnknownPeer: (peer, url) => membershipApplier?.admitUnknown(peer, url),
      onUnreachable: (peer) => {
        raft.reportUnreachable(peer);
        void loop?.kick();
      },
      onSnapshotStatus: (peer, status) => {
        raft.reportSnapshot(peer, status);
        void loop?.kick();
      },
    };
    const inner = await openTransport(config, self.id, handler, runtime);
    cleanup.push(() => inner.close());
    const filling = new SnapshotFillingTransport(
      inner,
      (m) => snapshotter.fill(m),
      (peer, err) => {
        logger('warn', `could not build a snapshot for ${peer.toString(16)}: ${(err as Error).message}`);
        handler.onSnapshotStatus(peer, 'SnapshotFailure');
      },
    );
    // Keep-alives that followers forward through ReadIndex are renewed on their way back.
    const transport = new RenewalAnsweringTransport(filling, (ids, index) => {
      if (node === undefined) return Promise.resolve(ids.map(() => RENEWAL_NOT_PRIMARY));
      return node.renewForFollower(ids, index);
    });
    membershipApplier = new MembershipApplier(self.id, store, membership, transport, waits, initial);
    membershipApplier.connectAll();
    for (const m of initial.values())
      if (membership.get(m.id) === undefined && m.id !== self.id) inner.addPeer(m.id, m.peerUrls[0]!);

    // 7.
    await snapshotter.recover(recoveredSnap);
    const auth = await NodeAuth.open(store, clock);
    authRef = auth;
    const applier = new Applier(
      store,
      membership,
      waits,
      {
        onAlarm: (action, memberId, alarm) => node?.emit('alarm', { action, memberId, alarm }),
        onCompactionError: (err) => logger('warn', `compaction: ${(err as Error).message}`),
      },
      auth,
      requests,
    );
    const proposer = new Proposer(
      {
        propose: (data) => {
          raft.propose(data);
          void loop?.kick();
        },
        proposeConfChange: (cc) => {
          raft.proposeConfChange(cc);
          void loop?.kick();
        },
        leaderChanges: () => node?.leaderChanges ?? 0,
        hasLeader: () => raft.lead !== 0n,
        onFailed: (err) => {
          if (err instanceof CoreError && err.retryable) node?.metrics.proposalsFailed.inc();
        },
      },
      waits,
      new RequestIdGenerator(self.id, Date.now(), requests.last(memberRequestPrefix(self.id))),
      clock,
      { maxRequestBytes: config.maxRequestBytes, timeoutMs: config.requestTimeoutMs },
      config.heartbeatMs,
    );
    const reads = new ReadBarrier(
      {
        readIndex: (ctx) => {
          raft.readIndex(ctx);
          void loop?.kick();
        },
        waitApplied: (index) => applied.wait(index),
        readableNow: () => {
          const index = raft.localReadIndex();
          return index !== undefined && applied.applied >= index;
        },
        ticks: () => node?.tickCount() ?? 0,
        now: () => clock.now(),
      },
      Math.max(2, Math.round(config.electionMs / config.heartbeatMs)),
    );
    const forwarded = new ForwardedRenewals(
      {
        readIndex: (ctx) => {
          raft.readIndex(ctx);
          void loop?.kick();
        },
        ticks: () => node?.tickCount() ?? 0,
        now: () => clock.now(),
      },
      Math.max(2, Math.round(config.electionMs / config.heartbeatMs)),
    );
    loop = new RaftLoop(raft, log.storage, log.raftStorage ?? IN_MEMORY_LOG, transport, {
      apply: (entries) => node!.onApply(entries),
      applySnapshot: async (snap) => {
        confState = snap.metadata.confState;
        await snapshotter.install(snap);
        applied.advance(store.kv.consistentIndex);
      },
      onConfChange: (change, cs, entry) => {
        confState = cs;
        node!.onConfChange(change, cs, entry);
      },
      onReadStates: (states) => reads.onReadStates(forwarded.takeAnswers(states)),
      onSoftState: (s) => node!.onSoftState(s),
      onFatal: (err) => node!.onFatal(err),
      onSaved: (ms) => node?.onSaved(ms),
      onApplied: (ms) => node?.onApplied(ms),
    });
    node = new TsetcdNode({
      config,
      id: self.id,
      clusterId,
      clock,
      logger,
      raft,
      loop,
      transport,
      store,
      membership,
      membershipApplier,
      applier,
      proposer,
      reads,
      forwarded,
      waits,
      applied,
      snapshotter,
      auth,
      closeStorage: log.close,
    });
    applied.advance(Math.max(store.kv.consistentIndex, recoveredSnap?.metadata.index ?? 0));
    await loop.kick();
    node.start();
    if (confState.voters.length === 1 && confState.voters[0] === self.id) {
      raft.campaign();
      await loop.kick();
    }
    logger(
      'info',
      `member ${self.id.toString(16)} (${config.name}) started in cluster ${clusterId.toString(16)}`,
    );
    return node;
  } catch (err) {
    for (const c of cleanup.reverse()) await c().catch(() => undefined);
    throw err;
  }
}

/** The initial cluster's members by ID (a lone member if no peers were given). */
function initialMembers(config: NodeConfig): Map<MemberId, Member> {
  const peers = config.peers ?? { [config.name]: `mem://${config.name}` };
  const out = new Map<MemberId, Member>();
  for (const [name, url] of Object.entries(peers)) {
    const id =
      name === config.name && config.memberId !== undefined
        ? config.memberId
        : memberIdFor([url], config.initialClusterToken);
    out.set(id, {
      id,
      name,
      peerUrls: [url],
      // Every founding member writes the same bootstrap entries: client URLs are published later.
      clientUrls: [],
      isLearner: false,
    });
  }
  return out;
}

interface OpenedLog {
  readonly storage: MemoryStorage;
  readonly raftStorage: RaftLogStore | undefined;
  readonly snapshot: Snapshot | undefined;
  readonly lastIndex: number;
  /** The log's last file (or a description), for errors. */
  readonly where: string;
  readonly close: () => Promise<void>;
}

async function openRaftLog(
  config: NodeConfig,
  memberId: MemberId,
  clusterId: bigint,
  runtime: NodeRuntime,
): Promise<OpenedLog> {
  const meta: WalMetadata = { memberId, clusterId };
  let r: OpenedRaftLog;
  if (runtime.storage !== undefined) r = await runtime.storage.openRaftLog(encodeValue(meta));
  else if (config.dataDir !== undefined) {
    r = await RaftStorage.open(config.dataDir, {
      metadata: encodeValue(meta),
      ...(runtime.storageHooks !== undefined ? { hooks: runtime.storageHooks } : {}),
    });
  } else {
    return {
      storage: new MemoryStorage(),
      raftStorage: undefined,
      snapshot: undefined,
      lastIndex: 0,
      where: 'the in-memory raft log',
      close: async () => {},
    };
  }
  if (r.metadata !== undefined && r.metadata.length > 0) {
    const stored = decodeValue(r.metadata) as Partial<WalMetadata>;
    if (stored.memberId !== undefined && stored.memberId !== memberId) {
      await r.raftStorage.close();
      throw new DataDirMismatchError(
        `${config.dataDir ?? 'the raft log'} belongs to member ${stored.memberId.toString(16)}, not ${memberId.toString(16)}`,
      );
    }
  }
  return {
    storage: r.storage,
    raftStorage: r.raftStorage,
    snapshot: r.snapshot,
    lastIndex: r.lastIndex,
    where:
      r.raftStorage instanceof RaftStorage && config.dataDir !== undefined
        ? join(memberDir(config.dataDir), 'wal', r.raftStorage.segmentNames().at(-1) ?? '')
        : 'the raft log',
    close: () => r.raftStorage.close(),
  };
}

async function openTransport(
  config: NodeConfig,
  self: MemberId,
  handler: TransportHandler,
  runtime: NodeRuntime,
): Promise<Transport> {
  if (runtime.transport !== undefined) return runtime.transport(self, handler);
  const listen = config.listenPeerUrl ?? config.peers?.[config.name];
  if (listen === undefined || listen.startsWith('mem://')) return new NoPeersTransport(self);
  const tls = config.peerTls;
  // Announced in hellos, so a member that has not applied our addition yet can answer us.
  const advertised = config.peers?.[config.name];
  const announce = advertised?.startsWith(tls !== undefined ? 'tls://' : 'tcp://') ? advertised : undefined;
  return TcpTransport.listen({
    id: self,
    listen,
    clusterToken: config.initialClusterToken,
    handler,
    ...(announce !== undefined ? { advertiseUrl: announce } : {}),
    logger: (level, message) => (runtime.logger ?? DEFAULT_LOGGER)(level, `peer transport: ${message}`),
    ...(tls !== undefined ? { tls: { ca: toPem(tls.ca), cert: toPem(tls.cert), key: toPem(tls.key) } } : {}),
  });
}

function toPem(v: string | Uint8Array): string | Buffer {
  return typeof v === 'string' ? v : Buffer.from(v);
}

/** Lease IDs from the seeded source: two 32-bit draws make one 63-bit ID. */
function leaseIds(rand: RandomSource): () => bigint {
  return () => (BigInt(rand(0x80000000)) << 32n) | BigInt(rand(0x100000000));
}
