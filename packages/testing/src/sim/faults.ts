/**
 * The simulation's fault injector: until the workload is done, every few hundred (virtual)
 * milliseconds it picks a fault with the run's seed, holds it for a while and undoes it —
 * partitions (leader isolated, a random member isolated, a minority split, one-way cuts), lossy
 * links (drop, duplicate, delay, reorder), crashes with restarts (leader included, the WAL's
 * tail torn half the time, sometimes right after a compaction or a defrag was started), process
 * pauses, clock jumps, leader transfers, membership changes (a learner added, promoted, removed),
 * compaction and defrag under load.
 */

import { pick, type SimContext, sleep } from './sim-context.js';

/** Every kind of fault, for the report. */
export const FAULT_KINDS = [
  'isolate-leader',
  'isolate',
  'partition',
  'one-way',
  'lossy-links',
  'crash',
  'crash-leader',
  'torn-write',
  'pause',
  'clock-jump',
  'move-leader',
  'member-add',
  'member-promote',
  'member-remove',
  'compact',
  'defrag',
  'crash-during-compaction',
  'crash-during-defrag',
  'crash-during-snapshot-install',
] as const;

/** A kind of fault. */
export type FaultKind = (typeof FAULT_KINDS)[number];

/** Counts of faults injected, by kind. */
export type FaultCounts = Record<FaultKind, number>;

/** Zero counts. */
export function noFaults(): FaultCounts {
  return Object.fromEntries(FAULT_KINDS.map((k) => [k, 0])) as FaultCounts;
}

/** Injects faults until `ctx.done`; see the file comment. */
export async function injectFaults(ctx: SimContext, counts: FaultCounts): Promise<void> {
  const c = ctx.cluster;
  const restarts: Promise<void>[] = [];
  let learner: number | undefined;
  const count = (k: FaultKind, detail = '') => {
    counts[k]++;
    ctx.trace(
      `${c.clock.now().toFixed(1)} ms: ${k}${detail} (leader ${c.leader()?.parts.config.name ?? 'none'})`,
    );
  };
  const running = () => ctx.initial.filter((i) => c.members[i] !== undefined);
  const crashAndRestart = async (i: number, downMs: number) => {
    const tear = ctx.rand(2) === 0;
    if (tear) count('torn-write', ` n${i + 1}`);
    await c.crash(i, { tear });
    restarts.push(
      (async () => {
        await sleep(ctx, downMs);
        if (c.members[i] === undefined && !ctx.removed.has(i)) {
          ctx.incarnation[i] = (ctx.incarnation[i] ?? 0) + 1;
          await c.restart(i).catch((err: unknown) => {
            ctx.violations.push(`member ${i} failed to restart: ${(err as Error).message}`);
            ctx.trace(`member n${i + 1} failed to restart: ${(err as Error).stack}`);
          });
        }
      })(),
    );
  };
  while (!ctx.done) {
    await sleep(ctx, 100 + ctx.rand(500));
    if (ctx.done) break;
    const leader = c.leader();
    const li = leader === undefined ? undefined : c.indexOf(leader);
    const up = running();
    const hold = 100 + ctx.rand(1_500);
    const kind = pick(ctx, [
      'isolate-leader',
      'isolate',
      'partition',
      'one-way',
      'lossy-links',
      'crash',
      'crash',
      'crash-leader',
      'pause',
      'clock-jump',
      'move-leader',
      'membership',
      'compact',
      'defrag',
      'crash-during-compaction',
      'crash-during-defrag',
      'crash-during-snapshot-install',
    ] as const);
    try {
      switch (kind) {
        case 'isolate-leader':
          if (li === undefined) break;
          count(kind, ` n${li + 1}`);
          c.isolate(li);
          await sleep(ctx, hold);
          c.heal();
          break;
        case 'isolate':
          if (up.length === 0) break;
          count(kind);
          c.isolate(pick(ctx, up));
          await sleep(ctx, hold);
          c.heal();
          break;
        case 'partition': {
          if (up.length < 3) break;
          count(kind);
          const lone = pick(ctx, up);
          c.partition(
            [lone],
            up.filter((x) => x !== lone),
          );
          await sleep(ctx, hold);
          c.heal();
          break;
        }
        case 'one-way': {
          if (up.length < 2) break;
          count(kind);
          const from = pick(ctx, up);
          const to = pick(
            ctx,
            up.filter((x) => x !== from),
          );
          c.network.cut(c.node(from).id, c.node(to).id);
          await sleep(ctx, hold);
          c.heal();
          break;
        }
        case 'lossy-links':
          count(kind);
          c.network.setLinkFaults('*', '*', {
            drop: ctx.rand(30) / 100,
            duplicate: ctx.rand(20) / 100,
            delay: [0, 5 + ctx.rand(40)],
            reorder: ctx.rand(2) === 0,
          });
          await sleep(ctx, hold);
          c.network.clearLinkFaults();
          break;
        case 'crash': {
          if (up.length === 0) break;
          const v = pick(ctx, up);
          count(kind, ` n${v + 1}`);
          await crashAndRestart(v, 50 + ctx.rand(2_000));
          break;
        }
        case 'crash-leader':
          if (li === undefined || !ctx.initial.includes(li)) break;
          count(kind, ` n${li + 1}`);
          await crashAndRestart(li, 50 + ctx.rand(1_500));
          break;
        case 'pause': {
          if (up.length === 0) break;
          const p = pick(ctx, up);
          const ms = 100 + ctx.rand(2_000);
          count(kind, ` n${p + 1} for ${ms} ms`);
          c.pause(p, ms);
          break;
        }
        case 'clock-jump': {
          if (up.length === 0) break;
          const ms = 100 + ctx.rand(900);
          const j = pick(ctx, up);
          count(kind, ` n${j + 1} +${ms} ms`);
          ctx.clockJumps.push({ at: c.clock.now(), ms });
          c.memberClock(j).jump(ms);
          break;
        }
        case 'crash-during-snapshot-install': {
          // Cut a follower off long enough that the leader compacts its log past it, heal, and
          // crash the follower a few milliseconds later: most often while it installs the
          // snapshot the leader sends.
          const followers = up.filter((x) => x !== li);
          if (followers.length === 0) break;
          const f = pick(ctx, followers);
          count(kind, ` n${f + 1}`);
          c.isolate(f);
          await sleep(ctx, 1_000 + ctx.rand(1_000));
          c.heal();
          await sleep(ctx, ctx.rand(25));
          if (c.members[f] !== undefined) await crashAndRestart(f, 50 + ctx.rand(500));
          break;
        }
        case 'move-leader': {
          if (leader === undefined || li === undefined || up.length < 2) break;
          count(kind);
          const to = pick(
            ctx,
            up.filter((x) => x !== li),
          );
          await leader.maintenance.moveLeader(c.node(to).id).catch(() => undefined);
          break;
        }
        case 'membership':
          if (leader === undefined) break;
          if (learner === undefined && c.members.length === ctx.initial.length) {
            // Add a learner, then promote it once it has caught up (promotion is refused before).
            count('member-add');
            learner = await c.addMember({ isLearner: true });
            for (let tries = 0; tries < 10 && !ctx.done; tries++) {
              await sleep(ctx, 200);
              const m = c.members[learner];
              const l = c.leader();
              if (m === undefined || l === undefined) continue;
              const ok = await l.cluster.promote(m.id).then(
                () => true,
                () => false,
              );
              if (ok) {
                count('member-promote');
                break;
              }
            }
          } else if (learner !== undefined && !ctx.removed.has(learner)) {
            const m = c.members[learner];
            if (m === undefined) break;
            const ok = await leader.cluster.remove(m.id).then(
              () => true,
              () => false,
            );
            if (ok) {
              count('member-remove');
              ctx.removed.add(learner);
              await c.crash(learner);
            }
          }
          break;
        case 'compact':
        case 'crash-during-compaction': {
          if (leader === undefined) break;
          const rev = (await leader.kv.get('\0', { serializable: true, countOnly: true })).header.revision;
          const to = Math.max(1, rev - ctx.rand(40));
          count(kind);
          const compaction = leader.kv.compact(to).catch(() => undefined);
          if (kind === 'crash-during-compaction') {
            await sleep(ctx, ctx.rand(3));
            if (li !== undefined && c.members[li] !== undefined && ctx.initial.includes(li)) {
              await crashAndRestart(li, 50 + ctx.rand(1_000));
            }
          }
          await compaction;
          break;
        }
        case 'defrag':
        case 'crash-during-defrag': {
          if (up.length === 0) break;
          const i = pick(ctx, up);
          count(kind);
          const defrag = c
            .node(i)
            .maintenance.defragment()
            .catch(() => undefined);
          if (kind === 'crash-during-defrag') {
            await sleep(ctx, ctx.rand(3));
            if (c.members[i] !== undefined) await crashAndRestart(i, 50 + ctx.rand(1_000));
          }
          await defrag;
          break;
        }
      }
    } catch {
      // A fault can fail to take (no leader, a member crashed under the injector's feet, a
      // membership change refused): the cluster is under attack, that is not a finding.
    }
  }
  c.heal();
  c.network.clearLinkFaults();
  await Promise.all(restarts);
}
