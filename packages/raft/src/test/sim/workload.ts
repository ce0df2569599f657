/**
 * The clients: they propose unique payloads at random running nodes (followers forward them),
 * issue ReadIndex requests, ask for leader transfers to random voters, and now and then force an
 * election. A dropped proposal is simply not retried: what matters is that whatever was
 * acknowledged (applied somewhere) is never lost, which History tracks.
 */

import { ProposalDroppedError } from '../../errors.js';
import type { Cluster } from './cluster.js';

/** Generates client traffic for one cluster. */
export class Workload {
  private seq = 0;
  /** Counters for the run's statistics. */
  readonly stats = { proposed: 0, dropped: 0, reads: 0, transfers: 0, campaigns: 0 };

  constructor(private readonly c: Cluster) {}

  /** One step of client activity. */
  step(): void {
    const { c } = this;
    const w = c.options.workload;
    if (c.rng.chance(w.proposeRate)) this.propose();
    if (c.rng.chance(w.readIndexRate)) this.read();
    if (c.rng.chance(w.transferRate)) this.transfer();
    if (c.rng.chance(w.campaignRate)) this.campaign();
  }

  /** A fresh, never-used payload. */
  nextPayload(): string {
    this.seq++;
    return `p${this.seq}`;
  }

  private propose(): void {
    const up = this.c.upNodes();
    if (up.length === 0) return;
    const n = this.c.rng.pick(up);
    this.stats.proposed++;
    if (!this.c.propose(n, this.nextPayload())) this.stats.dropped++;
  }

  private read(): void {
    const { c } = this;
    const up = c.upNodes();
    if (up.length === 0) return;
    const n = c.rng.pick(up);
    this.seq++;
    const ctx = `r${this.seq}`;
    c.history.requestRead(ctx);
    this.stats.reads++;
    c.trace.add(() => `client readIndex ${ctx} at n${n.id}`);
    dropOk(() => n.node.readIndex(new TextEncoder().encode(ctx)));
  }

  private transfer(): void {
    const { c } = this;
    const up = c.upNodes();
    if (up.length === 0) return;
    const n = c.rng.pick(up);
    const voters = n.confState.voters;
    if (voters.length === 0) return;
    const to = c.rng.pick(voters);
    this.stats.transfers++;
    c.trace.add(() => `client transferLeader → n${to} at n${n.id}`);
    dropOk(() => n.node.transferLeader(to));
  }

  private campaign(): void {
    const { c } = this;
    const up = c.upNodes();
    if (up.length === 0) return;
    const n = c.rng.pick(up);
    this.stats.campaigns++;
    c.trace.add(() => `client campaign at n${n.id}`);
    dropOk(() => n.node.campaign());
  }
}

/** Runs a RawNode call for which a ProposalDroppedError is an acceptable answer. */
function dropOk(f: () => void): void {
  try {
    f();
  } catch (err) {
    if (!(err instanceof ProposalDroppedError)) throw err;
  }
}
