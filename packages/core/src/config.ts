/**
 * NodeConfig: what createNode accepts, validated with zod at the boundary so a mistake is reported
 * field by field (ConfigError lists every bad field with its path) before anything is opened.
 * Names and defaults follow etcd's flags: `heartbeatMs` is --heartbeat-interval, `electionMs`
 * --election-timeout, `snapshotCount` --snapshot-count, and so on.
 *
 * Things that are not data (a clock, a transport, a logger) are `NodeRuntime`, passed beside it.
 */

import { DEFAULT_MAX_TXN_OPS, DEFAULT_QUOTA_BACKEND_BYTES } from '@tsetcd/mvcc';
import { z } from 'zod';
import { parseAutoCompaction } from './compactor.js';
import { CoreError } from './errors.js';

/** etcd's --max-request-bytes default: 1.5 MiB. */
export const DEFAULT_MAX_REQUEST_BYTES = 1.5 * 1024 * 1024;
/** etcd's --snapshot-count default. */
export const DEFAULT_SNAPSHOT_COUNT = 100_000;
/** Entries kept in the raft log behind a snapshot so slow followers catch up without one (etcd's). */
export const DEFAULT_SNAPSHOT_CATCH_UP_ENTRIES = 5_000;
/** etcd's --heartbeat-interval default, ms. */
export const DEFAULT_HEARTBEAT_MS = 100;
/** etcd's --election-timeout default, ms. */
export const DEFAULT_ELECTION_MS = 1000;
/** etcd's upper bound on --election-timeout, ms. */
export const MAX_ELECTION_MS = 50_000;
/** etcd's --initial-cluster-token default. */
export const DEFAULT_CLUSTER_TOKEN = 'etcd-cluster';
/** etcd's --max-learners default. */
export const DEFAULT_MAX_LEARNERS = 1;
/** How often applied state is flushed to the mvcc backend (etcd's backend batch interval). */
export const DEFAULT_BACKEND_COMMIT_MS = 100;

const peerUrl = z
  .string()
  .regex(/^(tcp|tls|mem):\/\/\S+$/, { message: 'must be a tcp://, tls:// or mem:// URL' });

const pem = z.union([z.string().min(1), z.instanceof(Uint8Array)]);

/** The schema of NodeConfig; exported so the server can derive its flag parsing from it. */
export const NodeConfigSchema = z
  .strictObject({
    /** This member's name (etcd's --name). */
    name: z.string().min(1).max(255).default('default'),
    /** Where the member keeps its data; omitted = in memory, nothing survives the process. */
    dataDir: z.string().min(1).optional(),
    /** The initial cluster: member name → peer URL (etcd's --initial-cluster). Must name this member. */
    peers: z.record(z.string().min(1), peerUrl).optional(),
    /** Where to listen for peers; defaults to this member's URL in `peers`. */
    listenPeerUrl: peerUrl.optional(),
    /** Client URLs this member advertises (etcd's --advertise-client-urls). */
    clientUrls: z.array(z.string().min(1)).default([]),
    /** 'new' bootstraps a cluster; 'existing' joins one that already added this member. */
    initialClusterState: z.enum(['new', 'existing']).default('new'),
    /** Distinguishes clusters: peers with another token are refused (etcd's --initial-cluster-token). */
    initialClusterToken: z.string().min(1).default(DEFAULT_CLUSTER_TOKEN),
    /** This member's ID when it cannot be derived from its peer URL (a re-added URL). */
    memberId: z.bigint().positive().optional(),
    heartbeatMs: z.number().int().min(1).default(DEFAULT_HEARTBEAT_MS),
    electionMs: z.number().int().min(1).default(DEFAULT_ELECTION_MS),
    /** Applied entries between raft snapshots. */
    snapshotCount: z.number().int().min(1).default(DEFAULT_SNAPSHOT_COUNT),
    snapshotCatchUpEntries: z.number().int().min(1).default(DEFAULT_SNAPSHOT_CATCH_UP_ENTRIES),
    /** Backend size quota in bytes: 0 = etcd's default (2 GiB), negative = none. */
    quotaBackendBytes: z.number().int().default(0),
    maxTxnOps: z.number().int().min(1).default(DEFAULT_MAX_TXN_OPS),
    maxRequestBytes: z.number().int().min(1).default(DEFAULT_MAX_REQUEST_BYTES),
    /** Per-request timeout; default etcd's 5 s plus two election timeouts. */
    requestTimeoutMs: z.number().int().min(1).optional(),
    autoCompactionMode: z.enum(['periodic', 'revision']).default('periodic'),
    /** etcd's --auto-compaction-retention: '0' = off; periodic takes '1h', '30m' or hours. */
    autoCompactionRetention: z.string().default('0'),
    maxLearners: z.number().int().min(1).default(DEFAULT_MAX_LEARNERS),
    /** Refuse membership changes that would lose quorum (etcd's --strict-reconfig-check). */
    strictReconfigCheck: z.boolean().default(true),
    /** How often applied state is flushed to the backend, ms. */
    backendCommitMs: z.number().int().min(1).default(DEFAULT_BACKEND_COMMIT_MS),
    /** Peer TLS: PEM CA, certificate and key (mutual auth); needs tls:// peer URLs. */
    peerTls: z.strictObject({ ca: pem, cert: pem, key: pem }).optional(),
  })
  .superRefine((c, ctx) => {
    if (c.electionMs > MAX_ELECTION_MS) {
      ctx.addIssue({
        code: 'custom',
        path: ['electionMs'],
        message: `--election-timeout[${c.electionMs}ms] is too long, and should be set less than ${MAX_ELECTION_MS}ms`,
      });
    }
    if (c.electionMs < 5 * c.heartbeatMs) {
      ctx.addIssue({
        code: 'custom',
        path: ['electionMs'],
        message: `--election-timeout[${c.electionMs}ms] should be at least as 5 times as --heartbeat-interval[${c.heartbeatMs}ms]`,
      });
    }
    if (c.peers !== undefined && !Object.hasOwn(c.peers, c.name)) {
      ctx.addIssue({
        code: 'custom',
        path: ['peers'],
        message: `couldn't find local name "${c.name}" in the initial cluster configuration`,
      });
    }
    if (c.peers !== undefined) {
      const seen = new Map<string, string>();
      for (const [name, url] of Object.entries(c.peers)) {
        const other = seen.get(url);
        if (other !== undefined) {
          ctx.addIssue({
            code: 'custom',
            path: ['peers', name],
            message: `peer URL ${url} is also ${other}'s`,
          });
        }
        seen.set(url, name);
      }
    }
    try {
      parseAutoCompaction(c.autoCompactionMode, c.autoCompactionRetention);
    } catch (err) {
      ctx.addIssue({ code: 'custom', path: ['autoCompactionRetention'], message: (err as Error).message });
    }
    const urls = [
      ...Object.values(c.peers ?? {}),
      ...(c.listenPeerUrl !== undefined ? [c.listenPeerUrl] : []),
    ];
    if (c.peerTls === undefined && urls.some((u) => u.startsWith('tls://'))) {
      ctx.addIssue({ code: 'custom', path: ['peerTls'], message: 'tls:// peer URLs need peerTls' });
    }
  });

/** What a caller writes (defaults optional). */
export type NodeConfigInput = z.input<typeof NodeConfigSchema>;

/** A validated config with every default filled in. */
export type NodeConfig = z.output<typeof NodeConfigSchema> & { readonly requestTimeoutMs: number };

/** One invalid field. */
export interface ConfigIssue {
  /** Dotted path of the field, e.g. `peers.b`. */
  readonly path: string;
  readonly message: string;
}

/** The config given to createNode is invalid; `issues` lists every bad field. */
export class ConfigError extends CoreError {
  readonly code = 'ErrInvalidConfig';
  constructor(readonly issues: readonly ConfigIssue[]) {
    super(`invalid node config: ${issues.map((i) => `${i.path || '(root)'}: ${i.message}`).join('; ')}`);
    this.name = 'ConfigError';
  }
}

/** Validates `input` and fills in defaults; throws ConfigError listing every problem. */
export function parseNodeConfig(input: unknown): NodeConfig {
  const r = NodeConfigSchema.safeParse(input ?? {});
  if (!r.success) {
    throw new ConfigError(
      r.error.issues.flatMap((i) => {
        const path = i.path.map(String);
        // zod reports unknown fields once, at the object, naming them in `keys`.
        if (i.code === 'unrecognized_keys') {
          return i.keys.map((k) => ({
            path: [...path, k].join('.'),
            message: `unknown field ${JSON.stringify(k)}`,
          }));
        }
        return [{ path: path.join('.'), message: i.message }];
      }),
    );
  }
  const c = r.data;
  return { ...c, requestTimeoutMs: c.requestTimeoutMs ?? 5000 + 2 * c.electionMs };
}

/** The quota in bytes a config means (0 → etcd's default, negative → none). */
export function quotaBytes(c: NodeConfig): number {
  if (c.quotaBackendBytes < 0) return Number.POSITIVE_INFINITY;
  return c.quotaBackendBytes === 0 ? DEFAULT_QUOTA_BACKEND_BYTES : c.quotaBackendBytes;
}
