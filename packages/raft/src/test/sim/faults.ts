/**
 * The fault injector: crashes and restarts hosts, and cuts and heals network links. Crashes keep
 * at most a minority of the initial cluster down at once, so the cluster can usually make
 * progress; partitions (which may well cost the majority) last a bounded time and then heal.
 */

import type { NodeId } from '../../types.js';
import type { Cluster } from './cluster.js';

/** Kinds of partition, picked at random. */
const PARTITIONS = ['isolate', 'isolate-leader', 'split', 'mute', 'deafen', 'one-way'] as const;

/** Crashes, restarts, partitions and heals nodes of a cluster. */
export class Faults {
  private healAt = -1;
  /** Counters for the run's statistics. */
  readonly stats = { crashes: 0, restarts: 0, partitions: 0 };

  constructor(private readonly c: Cluster) {}

  /** One step of fault injection. */
  step(): void {
    const { c } = this;
    const f = c.options.faults;
    this.restartDue(false);
    if (this.healAt >= 0 && c.now >= this.healAt) this.heal();
    if (c.rng.chance(f.crashRate)) this.crashOne();
    if (this.healAt < 0 && c.rng.chance(f.partitionRate)) this.partition();
  }

  /** Heals every link and restarts every crashed node now (the final phase). */
  healAll(): void {
    this.heal();
    this.restartDue(true);
  }

  private restartDue(all: boolean): void {
    for (const n of this.c.nodes.values()) {
      if (n.up || n.decommissioned || n.restartAt < 0) continue;
      if (all || n.restartAt <= this.c.now) {
        n.restartAt = -1;
        n.start();
        this.stats.restarts++;
      }
    }
  }

  private crashOne(): void {
    const { c } = this;
    const alive = [...c.nodes.values()].filter((n) => !n.decommissioned);
    const down = alive.filter((n) => !n.up).length;
    if (down >= Math.floor((c.options.nodes - 1) / 2)) return;
    const up = alive.filter((n) => n.up);
    if (up.length === 0) return;
    const victim = c.rng.pick(up);
    const [lo, hi] = c.options.faults.downSteps;
    victim.crash();
    victim.restartAt = c.now + c.rng.between(lo, hi);
    this.stats.crashes++;
    const back = victim.restartAt;
    c.trace.add(() => `CRASH n${victim.id} (back at step ${back})`);
  }

  private partition(): void {
    const { c } = this;
    const ids = [...c.nodes.values()].filter((n) => !n.decommissioned).map((n) => n.id);
    if (ids.length < 2) return;
    const kind = c.rng.pick(PARTITIONS);
    let what: string;
    switch (kind) {
      case 'isolate':
      case 'isolate-leader': {
        const x = kind === 'isolate-leader' ? (c.leader()?.id ?? c.rng.pick(ids)) : c.rng.pick(ids);
        c.net.split([x], others(ids, x));
        what = `isolate n${x}`;
        break;
      }
      case 'split': {
        const shuffled = c.rng.shuffle([...ids]);
        const k = c.rng.between(1, Math.floor(ids.length / 2));
        const a = shuffled.slice(0, k);
        const b = shuffled.slice(k);
        c.net.split(a, b);
        what = `split [${a.join(',')}] | [${b.join(',')}]`;
        break;
      }
      case 'mute': {
        const x = c.rng.pick(ids);
        for (const y of others(ids, x)) c.net.block(x, y);
        what = `mute n${x} (it hears, nobody hears it)`;
        break;
      }
      case 'deafen': {
        const x = c.rng.pick(ids);
        for (const y of others(ids, x)) c.net.block(y, x);
        what = `deafen n${x} (it is heard, hears nobody)`;
        break;
      }
      case 'one-way': {
        const x = c.rng.pick(ids);
        const y = c.rng.pick(others(ids, x));
        c.net.block(x, y);
        what = `cut n${x} → n${y}`;
        break;
      }
    }
    const [lo, hi] = c.options.faults.partitionSteps;
    this.healAt = c.now + c.rng.between(lo, hi);
    this.stats.partitions++;
    const until = this.healAt;
    c.trace.add(() => `PARTITION ${what} until step ${until}`);
  }

  private heal(): void {
    if (!this.c.net.partitioned && this.healAt < 0) return;
    this.c.net.heal();
    this.healAt = -1;
    this.c.trace.add(() => 'HEAL all links');
  }
}

function others(ids: readonly NodeId[], x: NodeId): NodeId[] {
  return ids.filter((y) => y !== x);
}
