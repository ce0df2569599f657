/**
 * Requests for the Cluster and Maintenance differential test against a real etcd
 * (cluster-differential.integration.test.ts), written symbolically so that one request means the
 * same to both servers although each has its own member IDs and URLs:
 *
 *  - a member ID is a name — SELF (the server itself), UNKNOWN (an ID no member has), or the name
 *    the test gave a member when it first appeared in an answer (LEARNER1, VOTER2, …);
 *  - a peer URL is SELF_PEER (the server's own) or U1…U4 (free loopback ports nobody listens on,
 *    the same for both servers).
 *
 * The seeded generator draws from the calls whose answers are deterministic on a one-member
 * cluster: every Cluster call except adding a voter (etcd accepts it and the cluster loses
 * quorum), and the unary Maintenance calls plus Snapshot, with MoveLeader only to SELF and
 * UNKNOWN (once etcd 3.4 lists an updated learner as a voter, a transfer to it waits for the
 * client's deadline), and MemberUpdate only with well-formed URLs (see `urls`) and never of a
 * learner (etcd 3.4 then lists it as a voter: etcd#21694, a difference kept on purpose). It reads back
 * etcd's normalised answers
 * (`observe`) only to aim at members that exist or existed; the same seed gives the same requests
 * as long as etcd gives the same answers.
 *
 * Does not: talk to a server, or predict answers — the test compares two servers, not a model.
 */

import { intSource, type Rand } from './kv-ops.js';

/** The services a request goes to. */
export type ClusterService = 'Cluster' | 'Maintenance';

/** One request, IDs and peer URLs written symbolically (see the file comment). */
export interface ClusterOp {
  readonly service: ClusterService;
  readonly method: string;
  readonly req: Record<string, unknown>;
  /** A deadline for this call, ms, when the default (a hang) is not what is tested. */
  readonly deadlineMs?: number;
}

/** The server's own member ID in requests and normalised answers. */
export const SELF = 'SELF';
/** A member ID no member has, in requests and answers. */
export const UNKNOWN = 'UNKNOWN';
/** The value UNKNOWN stands for, the same on both servers. */
export const UNKNOWN_ID = '4919';
/** The server's own peer URL. */
export const SELF_PEER = 'SELF_PEER';
/** The server's own client URL, in normalised answers. */
export const SELF_CLIENT = 'SELF_CLIENT';
/** Peer URLs free on loopback, shared by both servers: resolved per case. */
export const SHARED_URLS = ['U1', 'U2', 'U3', 'U4'] as const;

/** A Cluster request. */
export const cluster = (method: string, req: Record<string, unknown> = {}, deadlineMs?: number): ClusterOp =>
  deadlineMs === undefined
    ? { service: 'Cluster', method, req }
    : { service: 'Cluster', method, req, deadlineMs };

/** A Maintenance request. */
export const maintenance = (
  method: string,
  req: Record<string, unknown> = {},
  deadlineMs?: number,
): ClusterOp =>
  deadlineMs === undefined
    ? { service: 'Maintenance', method, req }
    : { service: 'Maintenance', method, req, deadlineMs };

/** Seeded Cluster and Maintenance requests; see the file comment. */
export class ClusterOpGenerator {
  private readonly rand: Rand;
  /** Members in etcd's last member list, by name. */
  private members: readonly string[] = [SELF];
  /** Every member name seen, removed ones included. */
  private readonly seen = new Set<string>([SELF]);
  /** The members etcd's last member list shows as learners. */
  private learners = new Set<string>();

  constructor(seed: number) {
    this.rand = intSource(seed);
  }

  private pick<T>(xs: readonly T[]): T {
    return xs[this.rand(xs.length)]!;
  }

  /** A member to aim at: a current one, a removed one, or UNKNOWN; with `notLearner`, no learner. */
  private id(notLearner = false): string {
    const r = this.rand(10);
    const eligible = (xs: Iterable<string>) => [...xs].filter((m) => !(notLearner && this.learners.has(m)));
    if (r < 6) return this.pick(eligible(this.members));
    if (r < 8) return this.pick(eligible(this.seen));
    return UNKNOWN;
  }

  /**
   * Peer URLs: usually one, sometimes two; with `malformed`, rarely none or one without a port.
   * MemberUpdate never gets malformed ones: for a member other than itself they crash etcd 3.4.
   */
  private urls(malformed: boolean): string[] {
    const pool = [...SHARED_URLS, SELF_PEER];
    const r = this.rand(20);
    if (malformed && r === 0) return [];
    if (malformed && r === 1) return ['http://127.0.0.1'];
    if (r < 4) return [this.pick(pool), this.pick(pool)];
    return [this.pick(pool)];
  }

  next(): ClusterOp {
    const r = this.rand(100);
    if (r < 12) return cluster('MemberList');
    if (r < 32) return cluster('MemberAdd', { peerURLs: this.urls(true), isLearner: true });
    if (r < 44) return cluster('MemberUpdate', { ID: this.id(true), peerURLs: this.urls(false) });
    if (r < 52) return cluster('MemberPromote', { ID: this.id() });
    if (r < 66) return cluster('MemberRemove', { ID: this.id() });
    if (r < 72) return maintenance('Status');
    if (r < 77) return maintenance('Alarm', { action: 'GET' });
    if (r < 82) return maintenance('Hash');
    if (r < 87) return maintenance('HashKV', { revision: '0' });
    if (r < 90) return maintenance('Defragment');
    if (r < 96) return maintenance('MoveLeader', { targetID: this.pick([SELF, UNKNOWN]) });
    return maintenance('Snapshot');
  }

  /** Learns the members from etcd's normalised answer to `op`. */
  observe(_op: ClusterOp, answer: unknown): void {
    const ok = (answer as { ok?: { members?: { ID: string; isLearner?: boolean }[] } }).ok;
    if (ok?.members === undefined) return;
    this.members = ok.members.map((m) => m.ID);
    this.learners = new Set(ok.members.filter((m) => m.isLearner === true).map((m) => m.ID));
    for (const m of this.members) this.seen.add(m);
  }
}
