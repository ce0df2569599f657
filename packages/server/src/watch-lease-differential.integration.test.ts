/**
 * Differential test of Watch and Lease: the same seeded random sequence of requests goes to a
 * fresh real etcd 3.4 and a fresh tsetcd member over gRPC, and every observable answer must be
 * the same — unary responses and errors, each watch's created response, its events (prev_kv
 * included), its cancellation, progress responses, keep-alive answers.
 *
 * A run has two phases. Phase A interleaves writes (puts, deletes, txns, lease revokes),
 * compactions, watch creates (live, and replaying from the past), cancels and progress requests,
 * and lease operations. Phase B, after the last write, opens watches from any revision (compacted
 * ones included) and replays history with nothing in flight. An all-keys watch opened first
 * gives each server's history, from which the number of events every watch owes is derived; the
 * runner waits on those (never on sleeps) before anything whose outcome depends on delivery —
 * a compaction, a cancel, a progress request — and at the end.
 *
 * Grouping: a watch that was live from its creation gets one response per revision from etcd,
 * so its responses are compared exactly; a replaying one may get several revisions per response
 * (etcd batches what its sync loop finds), so only its flattened events are compared, and each
 * server must still never split a revision over two responses.
 *
 * Seeds: a few fixed ones; `DIFF_SEEDS=1..50` (or `3,7,9`) runs others, `DIFF_OPS=n` changes the
 * length, `DIFF_CONTINUE=1` reports every mismatch of a run instead of stopping at the first,
 * `DIFF_FULL_LOG=1` prints the whole operation log with a mismatch, `DIFF_TRACE=1` every operation
 * and both answers as they come.
 * Skipped when no `etcd` binary is installed.
 */

import { isDeepStrictEqual } from 'node:util';
import { describe, expect, it } from 'vitest';
import { diffSettings } from './test/diff-seeds.js';
import { type Served, serve } from './test/harness.js';
import { hasEtcd, type RealEtcd, startRealEtcd } from './test/real-etcd.js';
import { Generator, type GenState, initialState, needsBarrier, type Op } from './test/watch-lease-gen.js';
import { DELIVERY_TIMEOUT_MS, Target } from './test/watch-lease-target.js';

/**
 * Seeds run in CI. Each but 1 and 2 first met one of the differences this test found against
 * etcd 3.4.23, all matched since: 3, a negative lease ID (etcd grants it); 10, a create with the
 * ID of a watch a compaction canceled (etcd keeps that ID taken: duplicate); 22, a create with a
 * taken ID and an empty range (etcd reports the empty range first); 29, the next server-picked
 * ID after such a cancel (etcd skips the taken one); 50, a cancel of a watch a compaction
 * canceled (etcd answers it); 21, once a replay from the compaction revision. There etcd 3.4.23
 * sends no DELETE of that revision (its compaction dropped the tombstones: etcd#18089, fixed by
 * #18274 in later patch releases) and tsetcd sends it, as the fix does; the generator no longer
 * starts a replay at the compaction revision.
 */
const CI_SEEDS: readonly number[] = [1, 2, 3, 10, 21, 22, 29, 50];
/** DIFF_OPS: operations in phase A. */
const { seeds: SEEDS, ops: OPS, continueOnMismatch: CONTINUE, trace: TRACE } = diffSettings(CI_SEEDS, 80);
/** Watches opened in phase B. */
const HISTORICAL_WATCHES = 6;
/** Print every operation before a mismatch, not only the last few. */
const FULL_LOG = process.env.DIFF_FULL_LOG === '1';

/** Lease names whose TTL was below etcd's minimum: they expire on their own, so lists leave them out. */
type Ephemeral = Set<string>;

/** One seed's run against both servers. */
class Run {
  private readonly gen: Generator;
  private readonly state: GenState = initialState();
  private readonly log: string[] = [];
  private readonly ephemeral: Ephemeral = new Set();
  readonly mismatches: string[] = [];
  /** After a delivery timeout (only with DIFF_CONTINUE), later waits are short. */
  private waitMs = DELIVERY_TIMEOUT_MS;

  constructor(
    readonly seed: number,
    private readonly etcd: Target,
    private readonly ts: Target,
  ) {
    this.gen = new Generator(seed);
  }

  /** Fails (or, with DIFF_CONTINUE, records) when the two servers' values differ. */
  private check(label: string, fromEtcd: unknown, fromTs: unknown): void {
    if (isDeepStrictEqual(fromEtcd, fromTs)) return;
    const tail = (FULL_LOG ? this.log : this.log.slice(-6)).join('\n');
    const msg = `seed ${this.seed}, ${label} (replay: DIFF_SEEDS=${this.seed} DIFF_OPS=${OPS})\nlast operations:\n${tail}\n`;
    if (!CONTINUE) expect(fromTs, `${msg}tsetcd (received) vs etcd (expected)`).toEqual(fromEtcd);
    this.mismatches.push(`${msg}etcd:   ${JSON.stringify(fromEtcd)}\ntsetcd: ${JSON.stringify(fromTs)}`);
  }

  /** etcd did something this test does not expect of it: the test is wrong, not tsetcd. */
  private harnessError(what: string): void {
    const msg = `seed ${this.seed}, ${what} (replay: DIFF_SEEDS=${this.seed} DIFF_OPS=${OPS})`;
    if (!CONTINUE) throw new Error(msg);
    this.mismatches.push(msg);
  }

  async run(): Promise<void> {
    this.check('opening the all-keys watch', await this.etcd.openOracle(), await this.ts.openOracle());
    for (let i = 0; i < OPS; i++) {
      const kind = this.gen.kind();
      if (needsBarrier(kind)) await this.barrier(`before op #${i}`);
      const op = this.gen.fill(kind, this.state);
      this.log.push(`#${i} ${JSON.stringify(op)}`);
      const [e, t] = await Promise.all([this.apply(this.etcd, op), this.apply(this.ts, op)]);
      if (TRACE)
        console.log(
          `#${i} ${JSON.stringify(op)}\n  etcd:   ${JSON.stringify(e)}\n  tsetcd: ${JSON.stringify(t)}`,
        );
      this.check(`op #${i} ${op.kind}`, e, t);
      this.update(op, e);
    }
    await this.barrier('after phase A');
    for (let i = 0; i < HISTORICAL_WATCHES; i++) {
      const op = this.gen.historical(this.state, this.state.watches.length);
      if (op.kind !== 'watch') throw new TypeError('historical() makes watches');
      this.log.push(`B${i} ${JSON.stringify(op)}`);
      const [e, t] = await Promise.all([
        this.etcd.watch(op, true, this.state.compactRev),
        this.ts.watch(op, true, this.state.compactRev),
      ]);
      this.check(`phase B watch ${op.watch}`, e, t);
      this.update(op, e);
    }
    await this.barrier('after phase B');
    await this.finalState();
  }

  private async apply(t: Target, op: Op): Promise<unknown> {
    if (op.kind === 'watch') return t.watch(op, false, this.state.compactRev);
    const out = await t.apply(op);
    return op.kind === 'leases' ? this.withoutEphemeral(out) : out;
  }

  /** A Leases answer without the leases that expire on their own (when is up to the clock). */
  private withoutEphemeral(out: unknown): unknown {
    const ok = (out as { ok?: { leases: { ID: string }[] } }).ok;
    if (ok !== undefined) ok.leases = ok.leases.filter((l) => !this.ephemeral.has(l.ID));
    return out;
  }

  /** Brings every watch up to date on both servers, then compares all of them. */
  private async barrier(label: string): Promise<void> {
    const [pe, pt] = await Promise.all([
      this.etcd.settle(this.state.rev, this.waitMs),
      this.ts.settle(this.state.rev, this.waitMs),
    ]);
    if (pe.length > 0 || pt.length > 0) this.waitMs = 500;
    // Our expectation of etcd was wrong: a bug of this test, not of tsetcd.
    if (pe.length > 0)
      this.harnessError(`${label}: etcd did not deliver what the test expects: ${pe.join('; ')}`);
    this.check(`${label}: deliveries`, pe, pt);
    this.check(
      `${label}: stream errors / unclaimed responses`,
      this.etcd.streamProblems(),
      this.ts.streamProblems(),
    );
    for (const [i, we] of this.etcd.watches.entries()) {
      const wt = this.ts.watches[i];
      if (wt === undefined) continue;
      const replay =
        we.op.startRevision !== 0 && we.op.startRevision <= Number(we.created?.header.revision ?? 0);
      const exact = !replay || we.phaseB;
      this.check(
        `${label}: watch ${i} ${JSON.stringify(we.op)}`,
        this.etcd.summary(we, exact),
        this.ts.summary(wt, exact),
      );
      // Whatever either server batches, a revision stays whole and in order (etcd: a test bug if not).
      const etcdGrouping = this.etcd.groupingProblems(we);
      if (etcdGrouping.length > 0)
        this.harnessError(`${label}: etcd's grouping of watch ${i}: ${etcdGrouping}`);
      this.check(`${label}: grouping of watch ${i}`, [], this.ts.groupingProblems(wt));
    }
    this.check(
      `${label}: all-keys watch`,
      this.etcd.summary(this.etcd.oracle!, true),
      this.ts.summary(this.ts.oracle!, true),
    );
    this.state.history = this.etcd.history();
    for (const [i, w] of this.etcd.watches.entries()) {
      const m = this.state.watches[i];
      if (m !== undefined)
        m.open = w.created?.canceled === false && w.canceled === undefined && !w.cancelRequested;
    }
  }

  /** Reads what the generator needs from etcd's outcome of `op`. */
  private update(op: Op, outcome: unknown): void {
    const ok = (outcome as { ok?: { header?: { revision?: string }; canceled?: boolean; watchId?: string } })
      .ok;
    const rev = Number(ok?.header?.revision ?? 0);
    if (rev > this.state.rev) this.state.rev = rev;
    switch (op.kind) {
      case 'grant':
        if (ok !== undefined) {
          const short = Number(op.ttl) < 60;
          if (short) this.ephemeral.add(op.lease);
          this.state.leases.push({ name: op.lease, explicitId: op.id, state: short ? 'ephemeral' : 'live' });
        }
        return;
      case 'regrant':
        if (ok !== undefined) this.state.leases.find((l) => l.name === op.lease)!.state = 'live';
        return;
      case 'revoke': {
        const l = this.state.leases.find((x) => x.name === op.lease);
        if (ok !== undefined && l !== undefined) l.state = 'revoked';
        return;
      }
      case 'compact':
        if (ok !== undefined) this.state.compactRev = op.revision;
        return;
      case 'watch': {
        const created = ok !== undefined && ok.canceled === false;
        this.state.watches.push({
          index: op.watch,
          stream: op.stream,
          watchId: created ? Number(ok.watchId) : undefined,
          open: created,
        });
        return;
      }
      case 'cancel':
        if (op.watch !== undefined) this.state.watches[op.watch]!.open = false;
        return;
      default:
        return;
    }
  }

  /** Leases, each lease's time-to-live with keys, and every key, on both servers. */
  private async finalState(): Promise<void> {
    const leases: Op = { kind: 'leases' };
    this.check('final Leases', await this.apply(this.etcd, leases), await this.apply(this.ts, leases));
    for (const l of this.state.leases) {
      if (l.state === 'ephemeral') continue;
      const op: Op = { kind: 'timeToLive', lease: l.name, keys: true };
      this.check(`final TimeToLive ${l.name}`, await this.etcd.apply(op), await this.ts.apply(op));
    }
    this.check('final Range of every key', await this.etcd.rangeAll(), await this.ts.rangeAll());
  }
}

describe.skipIf(!hasEtcd)('Watch and Lease: tsetcd against a real etcd 3.4 (seeded differential)', () => {
  for (const seed of SEEDS) {
    it(`seed ${seed}`, { timeout: 120_000 }, async () => {
      let real: RealEtcd | undefined;
      let served: Served | undefined;
      let etcd: Target | undefined;
      let ts: Target | undefined;
      try {
        [real, served] = await Promise.all([startRealEtcd(), serve()]);
        etcd = new Target('etcd', real.endpoint);
        ts = new Target('tsetcd', served.endpoint);
        const run = new Run(seed, etcd, ts);
        await run.run();
        if (run.mismatches.length > 0) {
          console.log(`seed ${seed}: ${run.mismatches.length} mismatches\n\n${run.mismatches.join('\n\n')}`);
        }
        expect(run.mismatches).toEqual([]);
      } finally {
        etcd?.close();
        ts?.close();
        real?.stop();
        await served?.close();
      }
    });
  }
});
