/**
 * Rebuilds the tracker configuration from a ConfState (from storage or a snapshot). Pure.
 */

import { ConfChangeError } from '../errors.js';
import { Inflights } from '../tracker/inflights.js';
import { Progress } from '../tracker/progress.js';
import type { TrackerConfig } from '../tracker/tracker.js';
import type { ConfState, Index, NodeId } from '../types.js';
import type { ChangeResult } from './changer.js';

/** The configuration and fresh Progress (probing from `lastIndex`) that a ConfState describes. */
export function restoreConfig(
  cs: ConfState,
  lastIndex: Index,
  maxInflight: number,
  maxInflightBytes: number,
): ChangeResult {
  const config: TrackerConfig = {
    voters: { incoming: new Set(cs.voters), outgoing: new Set(cs.votersOutgoing) },
    learners: new Set(cs.learners),
    learnersNext: new Set(cs.learnersNext),
    autoLeave: cs.autoLeave,
  };
  if (cs.votersOutgoing.length === 0 && (cs.learnersNext.length > 0 || cs.autoLeave)) {
    throw new ConfChangeError('learnersNext and autoLeave require a joint config');
  }
  const progress = new Map<NodeId, Progress>();
  const next = (lastIndex + 1) as Index;
  const add = (id: NodeId, isLearner: boolean): void => {
    if (progress.has(id)) {
      if (isLearner) throw new ConfChangeError(`${id} is both a learner and a voter`);
      return;
    }
    progress.set(id, new Progress(next, new Inflights(maxInflight, maxInflightBytes), isLearner, true));
  };
  for (const id of cs.voters) add(id, false);
  for (const id of cs.votersOutgoing) add(id, false);
  for (const id of cs.learners) add(id, true);
  for (const id of cs.learnersNext) {
    if (!config.voters.outgoing.has(id))
      throw new ConfChangeError(`${id} is in learnersNext, but not outgoing`);
  }
  return { config, progress };
}
