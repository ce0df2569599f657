/**
 * Changer: computes the configuration that results from a ConfChange, without touching the live
 * tracker. Three ways to move (thesis §4.3):
 *
 *   1. simple     — at most one voter changes; the old and new majorities always overlap.
 *   2. enterJoint — incoming := changed copy of the current voters, outgoing := current voters;
 *                   decisions then need majorities of both.
 *   3. leaveJoint — drop the outgoing half; demoted voters become learners.
 *
 * Pure: returns new maps and sets, or throws ConfChangeError.
 */

import { ConfChangeError } from '../errors.js';
import { Inflights } from '../tracker/inflights.js';
import { Progress } from '../tracker/progress.js';
import type { TrackerConfig } from '../tracker/tracker.js';
import type { ConfChangeSingle, Index, NodeId } from '../types.js';

/** The outcome of a change: the configuration and the progress map to install together. */
export interface ChangeResult {
  readonly config: TrackerConfig;
  readonly progress: Map<NodeId, Progress>;
}

/** What a Changer needs to create Progress for new members. */
export interface ChangerContext {
  readonly config: TrackerConfig;
  readonly progress: ReadonlyMap<NodeId, Progress>;
  /** The leader's last index: new members are probed from there. */
  readonly lastIndex: Index;
  readonly maxInflight: number;
  readonly maxInflightBytes: number;
}

interface MutableConfig {
  incoming: Set<NodeId>;
  outgoing: Set<NodeId>;
  learners: Set<NodeId>;
  learnersNext: Set<NodeId>;
  autoLeave: boolean;
}

/** Computes configuration transitions from a starting point. */
export class Changer {
  constructor(private readonly ctx: ChangerContext) {}

  /** Enters a joint configuration applying `changes` to the incoming half. */
  enterJoint(autoLeave: boolean, changes: readonly ConfChangeSingle[]): ChangeResult {
    const { cfg, prs } = this.checkAndCopy();
    if (cfg.outgoing.size > 0) throw new ConfChangeError('config is already joint');
    if (cfg.incoming.size === 0) throw new ConfChangeError("can't make a zero-voter config joint");
    cfg.outgoing = new Set(cfg.incoming);
    this.apply(cfg, prs, changes);
    cfg.autoLeave = autoLeave;
    return this.finish(cfg, prs);
  }

  /** Leaves the joint configuration: outgoing voters not kept become learners or leave. */
  leaveJoint(): ChangeResult {
    const { cfg, prs } = this.checkAndCopy();
    if (cfg.outgoing.size === 0) throw new ConfChangeError("can't leave a non-joint config");
    for (const id of cfg.learnersNext) {
      cfg.learners.add(id);
      prs.get(id)!.isLearner = true;
    }
    cfg.learnersNext = new Set();
    for (const id of cfg.outgoing) {
      if (!cfg.incoming.has(id) && !cfg.learners.has(id)) prs.delete(id);
    }
    cfg.outgoing = new Set();
    cfg.autoLeave = false;
    return this.finish(cfg, prs);
  }

  /** Applies changes that alter at most one voter, without a joint phase. */
  simple(changes: readonly ConfChangeSingle[]): ChangeResult {
    const { cfg, prs } = this.checkAndCopy();
    if (cfg.outgoing.size > 0) throw new ConfChangeError("can't apply simple config change in joint config");
    const before = cfg.incoming;
    cfg.incoming = new Set(before);
    this.apply(cfg, prs, changes);
    let diff = 0;
    for (const id of before) if (!cfg.incoming.has(id)) diff++;
    for (const id of cfg.incoming) if (!before.has(id)) diff++;
    if (diff > 1) throw new ConfChangeError('more than one voter changed without entering joint config');
    return this.finish(cfg, prs);
  }

  private apply(cfg: MutableConfig, prs: Map<NodeId, Progress>, changes: readonly ConfChangeSingle[]): void {
    for (const cc of changes) {
      if (cc.nodeId === 0n) continue; // etcd ignores changes for node 0
      switch (cc.type) {
        case 'ConfChangeAddNode':
          this.makeVoter(cfg, prs, cc.nodeId);
          break;
        case 'ConfChangeAddLearnerNode':
          this.makeLearner(cfg, prs, cc.nodeId);
          break;
        case 'ConfChangeRemoveNode':
          this.remove(cfg, prs, cc.nodeId);
          break;
        case 'ConfChangeUpdateNode':
          break;
      }
    }
    if (cfg.incoming.size === 0) throw new ConfChangeError('removed all voters');
  }

  private makeVoter(cfg: MutableConfig, prs: Map<NodeId, Progress>, id: NodeId): void {
    const pr = prs.get(id);
    if (pr === undefined) {
      prs.set(id, this.newProgress(false));
    } else {
      pr.isLearner = false;
    }
    cfg.learners.delete(id);
    cfg.learnersNext.delete(id);
    cfg.incoming.add(id);
  }

  /**
   * Makes `id` a learner. A voter of the outgoing half cannot become a learner yet (it still
   * votes there), so it is staged in learnersNext until the joint config is left.
   */
  private makeLearner(cfg: MutableConfig, prs: Map<NodeId, Progress>, id: NodeId): void {
    const pr = prs.get(id);
    if (pr === undefined) {
      prs.set(id, this.newProgress(true));
      cfg.learners.add(id);
      return;
    }
    if (pr.isLearner) return;
    this.remove(cfg, prs, id);
    prs.set(id, pr); // keep its progress: the node stays a member
    if (cfg.outgoing.has(id)) {
      cfg.learnersNext.add(id);
    } else {
      pr.isLearner = true;
      cfg.learners.add(id);
    }
  }

  private remove(cfg: MutableConfig, prs: Map<NodeId, Progress>, id: NodeId): void {
    if (!prs.has(id)) return;
    cfg.incoming.delete(id);
    cfg.learners.delete(id);
    cfg.learnersNext.delete(id);
    if (!cfg.outgoing.has(id)) prs.delete(id);
  }

  private newProgress(isLearner: boolean): Progress {
    const next = Math.max(this.ctx.lastIndex, 1) as Index;
    return new Progress(
      next,
      new Inflights(this.ctx.maxInflight, this.ctx.maxInflightBytes),
      isLearner,
      true,
    );
  }

  private checkAndCopy(): { cfg: MutableConfig; prs: Map<NodeId, Progress> } {
    const c = this.ctx.config;
    const cfg: MutableConfig = {
      incoming: new Set(c.voters.incoming),
      outgoing: new Set(c.voters.outgoing),
      learners: new Set(c.learners),
      learnersNext: new Set(c.learnersNext),
      autoLeave: c.autoLeave,
    };
    // Progress objects are shallow-copied: flags flipped here must not leak into the live tracker.
    const prs = new Map<NodeId, Progress>();
    for (const [id, pr] of this.ctx.progress) {
      const copy = Object.assign(Object.create(Object.getPrototypeOf(pr)) as Progress, pr);
      prs.set(id, copy);
    }
    checkInvariants(cfg, prs);
    return { cfg, prs };
  }

  private finish(cfg: MutableConfig, prs: Map<NodeId, Progress>): ChangeResult {
    checkInvariants(cfg, prs);
    return {
      config: {
        voters: { incoming: cfg.incoming, outgoing: cfg.outgoing },
        learners: cfg.learners,
        learnersNext: cfg.learnersNext,
        autoLeave: cfg.autoLeave,
      },
      progress: prs,
    };
  }
}

/**
 * Invariants of a configuration:
 * - every voter, learner and learnerNext has a Progress;
 * - learnersNext are outgoing voters that are not incoming voters;
 * - learners are in neither half of the voters, and their Progress says so;
 * - without a joint config there are no learnersNext and no autoLeave.
 */
function checkInvariants(cfg: MutableConfig, prs: ReadonlyMap<NodeId, Progress>): void {
  for (const ids of [cfg.incoming, cfg.outgoing, cfg.learners, cfg.learnersNext]) {
    for (const id of ids) if (!prs.has(id)) throw new ConfChangeError(`no progress for ${id}`);
  }
  for (const id of cfg.learnersNext) {
    if (!cfg.outgoing.has(id)) throw new ConfChangeError(`${id} is in learnersNext, but not outgoing`);
    if (prs.get(id)!.isLearner)
      throw new ConfChangeError(`${id} is in learnersNext, but is already a learner`);
  }
  for (const id of cfg.learners) {
    if (cfg.outgoing.has(id) || cfg.incoming.has(id)) {
      throw new ConfChangeError(`${id} is both a learner and a voter`);
    }
    if (!prs.get(id)!.isLearner)
      throw new ConfChangeError(`${id} is a learner, but its progress says otherwise`);
  }
  if (cfg.outgoing.size === 0) {
    if (cfg.learnersNext.size > 0) throw new ConfChangeError('learnersNext must be empty when not joint');
    if (cfg.autoLeave) throw new ConfChangeError('autoLeave must be false when not joint');
  }
}
