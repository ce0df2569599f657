/**
 * Changer: simple changes, entering and leaving joint configurations, learnersNext staging of
 * demoted voters, and every refusal (ConfChangeError). Configurations are written and compared
 * as ConfStates (etcd's `voters=(1 2)&&(1 2 3) learners_next=(3)` notation).
 */

import { describe, expect, it } from 'vitest';
import { describeConfState } from '../describe.js';
import { ConfChangeError } from '../errors.js';
import type { Progress } from '../tracker/progress.js';
import { toConfState } from '../tracker/tracker.js';
import type { ConfChangeSingle, ConfChangeType, ConfState, Index, NodeId } from '../types.js';
import { type ChangeResult, Changer } from './changer.js';
import { restoreConfig } from './restore.js';

const LAST_INDEX = 10 as Index;

function cs(o: Partial<{ [K in keyof ConfState]: ConfState[K] }>): ConfState {
  return { voters: [], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false, ...o };
}

/** A Changer starting from `start` (or from a previous result). */
function changer(start: ConfState | ChangeResult): Changer {
  const from = 'config' in start ? start : restoreConfig(start, LAST_INDEX, 16, 0);
  return new Changer({
    config: from.config,
    progress: from.progress,
    lastIndex: LAST_INDEX,
    maxInflight: 16,
    maxInflightBytes: 0,
  });
}

const SHORT: Record<string, ConfChangeType> = {
  v: 'ConfChangeAddNode',
  l: 'ConfChangeAddLearnerNode',
  r: 'ConfChangeRemoveNode',
  u: 'ConfChangeUpdateNode',
};

/** `"v2 l3 r1"` → changes, in etcd's compact notation. */
function ccs(s: string): ConfChangeSingle[] {
  return s
    .split(' ')
    .filter((t) => t !== '')
    .map((t) => ({ type: SHORT[t[0]!]!, nodeId: BigInt(t.slice(1)) }));
}

/** `fn` throws a ConfChangeError whose message matches `msg`. */
function expectRefused(fn: () => unknown, msg: RegExp): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(ConfChangeError);
  expect((err as ConfChangeError).code).toBe('ErrConfChange');
  expect((err as ConfChangeError).message).toMatch(msg);
}

function show(r: ChangeResult): string {
  return describeConfState(toConfState(r.config));
}

/** The progress map agrees with the configuration: same members, learner flags right. */
function expectProgressMatches(r: ChangeResult): void {
  const c = r.config;
  const members = new Set<NodeId>([...c.voters.incoming, ...c.voters.outgoing, ...c.learners]);
  expect([...r.progress.keys()].sort()).toEqual([...members].sort());
  for (const [id, pr] of r.progress) expect(pr.isLearner, `isLearner of ${id}`).toBe(c.learners.has(id));
}

describe('Changer.simple', () => {
  it('adds a voter, probing it from the last index', () => {
    const r = changer(cs({ voters: [1n] })).simple(ccs('v2'));
    expect(show(r)).toBe('voters=(1 2)');
    expectProgressMatches(r);
    const pr = r.progress.get(2n)!;
    expect(pr.next).toBe(LAST_INDEX);
    expect(pr.match).toBe(0);
    expect(pr.state).toBe('StateProbe');
    expect(pr.recentActive).toBe(true);
  });

  it('adds a learner', () => {
    const r = changer(cs({ voters: [1n] })).simple(ccs('l2'));
    expect(show(r)).toBe('voters=(1) learners=(2)');
    expectProgressMatches(r);
  });

  it('promotes a learner and keeps its progress', () => {
    const start = restoreConfig(cs({ voters: [1n], learners: [2n] }), LAST_INDEX, 16, 0);
    start.progress.get(2n)!.match = 7 as Index;
    const r = changer(start).simple(ccs('v2'));
    expect(show(r)).toBe('voters=(1 2)');
    expectProgressMatches(r);
    expect(r.progress.get(2n)!.match).toBe(7);
    // The input is not modified: the live tracker changes only when the result is installed.
    expect(start.progress.get(2n)!.isLearner).toBe(true);
    expect(start.config.learners.has(2n)).toBe(true);
  });

  it('demotes a voter to learner and keeps its progress', () => {
    const start = restoreConfig(cs({ voters: [1n, 2n, 3n] }), LAST_INDEX, 16, 0);
    start.progress.get(3n)!.match = 4 as Index;
    const r = changer(start).simple(ccs('l3'));
    expect(show(r)).toBe('voters=(1 2) learners=(3)');
    expectProgressMatches(r);
    expect(r.progress.get(3n)!.match).toBe(4);
    expect(start.progress.get(3n)!.isLearner).toBe(false);
  });

  it('removes a voter, a learner, and ignores unknown nodes', () => {
    const c = changer(cs({ voters: [1n, 2n, 3n], learners: [4n] }));
    expect(show(c.simple(ccs('r3')))).toBe('voters=(1 2) learners=(4)');
    expect(show(c.simple(ccs('r4')))).toBe('voters=(1 2 3)');
    expect(show(c.simple(ccs('r9')))).toBe('voters=(1 2 3) learners=(4)');
    const r = c.simple(ccs('r3'));
    expect(r.progress.has(3n)).toBe(false);
    expectProgressMatches(r);
  });

  it('allows several changes as long as at most one voter changes', () => {
    const r = changer(cs({ voters: [1n, 2n] })).simple(ccs('v3 l4 l5 u1'));
    expect(show(r)).toBe('voters=(1 2 3) learners=(4 5)');
    // Adding and removing the same voter in one change is no net change.
    expect(show(changer(cs({ voters: [1n] })).simple(ccs('v2 r2 v3')))).toBe('voters=(1 3)');
  });

  it('is idempotent for re-adding a voter or learner', () => {
    const r = changer(cs({ voters: [1n, 2n], learners: [3n] })).simple(ccs('v2 l3'));
    expect(show(r)).toBe('voters=(1 2) learners=(3)');
  });

  it('ignores node 0 and treats UpdateNode as no change', () => {
    expect(show(changer(cs({ voters: [1n] })).simple(ccs('v0 u1')))).toBe('voters=(1)');
  });

  it('refuses to change more than one voter', () => {
    const c = changer(cs({ voters: [1n] }));
    expectRefused(() => c.simple(ccs('v2 v3')), /more than one voter changed/);
    expectRefused(() => changer(cs({ voters: [1n, 2n, 3n] })).simple(ccs('r1 v4')), /more than one voter/);
    // Demoting two voters changes two voters too.
    expectRefused(() => changer(cs({ voters: [1n, 2n, 3n] })).simple(ccs('l2 l3')), /more than one voter/);
  });

  it('refuses to remove all voters', () => {
    expectRefused(() => changer(cs({ voters: [1n] })).simple(ccs('r1')), /removed all voters/);
    expectRefused(
      () => changer(cs({ voters: [1n], learners: [2n] })).simple(ccs('l1')),
      /removed all voters/,
    );
  });

  it('refuses a simple change in a joint config', () => {
    const joint = changer(cs({ voters: [1n, 2n, 3n] })).enterJoint(false, ccs('v4'));
    expectRefused(() => changer(joint).simple(ccs('v5')), /can't apply simple config change in joint config/);
  });
});

describe('Changer.enterJoint / leaveJoint', () => {
  it('replaces several voters through a joint config, left automatically', () => {
    const joint = changer(cs({ voters: [1n, 2n, 3n] })).enterJoint(true, ccs('v4 v5 r1 r2'));
    expect(show(joint)).toBe('voters=(3 4 5)&&(1 2 3) autoleave');
    expectProgressMatches(joint);
    // The outgoing voters still vote: their progress stays until the joint config is left.
    expect(joint.progress.has(1n)).toBe(true);
    const left = changer(joint).leaveJoint();
    expect(show(left)).toBe('voters=(3 4 5)');
    expectProgressMatches(left);
    expect(left.progress.has(1n)).toBe(false);
  });

  it('explicit transitions do not set autoLeave', () => {
    const joint = changer(cs({ voters: [1n] })).enterJoint(false, ccs('v2'));
    expect(show(joint)).toBe('voters=(1 2)&&(1)');
    expect(joint.config.autoLeave).toBe(false);
  });

  it('stages a demoted voter in learnersNext until the joint config is left', () => {
    const joint = changer(cs({ voters: [1n, 2n, 3n] })).enterJoint(true, ccs('l3'));
    expect(show(joint)).toBe('voters=(1 2)&&(1 2 3) learners_next=(3) autoleave');
    // Still a voter of the outgoing half, so not yet a learner.
    expect(joint.progress.get(3n)!.isLearner).toBe(false);
    expect(joint.config.learners.has(3n)).toBe(false);
    const left = changer(joint).leaveJoint();
    expect(show(left)).toBe('voters=(1 2) learners=(3)');
    expectProgressMatches(left);
    // The joint result's progress objects are untouched by leaving.
    expect(joint.progress.get(3n)!.isLearner).toBe(false);
  });

  it('a voter added as a learner in the same joint change goes straight to learners', () => {
    const joint = changer(cs({ voters: [1n, 2n, 3n] })).enterJoint(false, ccs('v4 l4 l5'));
    expect(show(joint)).toBe('voters=(1 2 3)&&(1 2 3) learners=(4 5)');
    expectProgressMatches(joint);
  });

  it('re-promoting a staged learner in the same change cancels the demotion', () => {
    const joint = changer(cs({ voters: [1n, 2n, 3n] })).enterJoint(false, ccs('l3 v3'));
    expect(show(joint)).toBe('voters=(1 2 3)&&(1 2 3)');
    expect(show(changer(joint).leaveJoint())).toBe('voters=(1 2 3)');
  });

  it('promotes a learner through a joint config', () => {
    const joint = changer(cs({ voters: [1n, 2n], learners: [3n] })).enterJoint(true, ccs('v3 r1'));
    expect(show(joint)).toBe('voters=(2 3)&&(1 2) autoleave');
    expectProgressMatches(joint);
    expect(show(changer(joint).leaveJoint())).toBe('voters=(2 3)');
  });

  it('removing a node that is only a learner during a joint change drops its progress', () => {
    const joint = changer(cs({ voters: [1n, 2n], learners: [3n] })).enterJoint(false, ccs('r3 v4'));
    expect(show(joint)).toBe('voters=(1 2 4)&&(1 2)');
    expect(joint.progress.has(3n)).toBe(false);
  });

  it('refuses to enter a joint config twice', () => {
    const joint = changer(cs({ voters: [1n, 2n, 3n] })).enterJoint(false, ccs('v4'));
    expectRefused(() => changer(joint).enterJoint(false, ccs('v5')), /config is already joint/);
  });

  it('refuses to leave a config that is not joint', () => {
    expectRefused(() => changer(cs({ voters: [1n] })).leaveJoint(), /can't leave a non-joint config/);
  });

  it('refuses to make a zero-voter config joint', () => {
    expectRefused(() => changer(cs({})).enterJoint(false, ccs('v1')), /zero-voter config joint/);
    expectRefused(
      () => changer(cs({ learners: [1n] })).enterJoint(false, ccs('v1')),
      /zero-voter config joint/,
    );
  });

  it('refuses a joint config whose incoming half has no voters', () => {
    expectRefused(
      () => changer(cs({ voters: [1n, 2n] })).enterJoint(true, ccs('r1 r2')),
      /removed all voters/,
    );
    expectRefused(
      () => changer(cs({ voters: [1n, 2n] })).enterJoint(true, ccs('l1 l2 v0')),
      /removed all voters/,
    );
  });

  it('leaves an existing joint config restored from a ConfState', () => {
    const start = cs({
      voters: [1n, 2n],
      votersOutgoing: [1n, 2n, 3n],
      learnersNext: [3n],
      learners: [4n],
      autoLeave: true,
    });
    const left = changer(start).leaveJoint();
    expect(show(left)).toBe('voters=(1 2) learners=(3 4)');
    expectProgressMatches(left);
  });

  it('rejects an inconsistent starting point instead of building on it', () => {
    const bad = restoreConfig(cs({ voters: [1n, 2n], learners: [3n] }), LAST_INDEX, 16, 0);
    (bad.progress.get(3n) as Progress).isLearner = false; // progress disagrees with the config
    expectRefused(() => changer(bad).simple(ccs('v4')), /is a learner, but its progress says otherwise/);
    const missing = restoreConfig(cs({ voters: [1n, 2n] }), LAST_INDEX, 16, 0);
    missing.progress.delete(2n);
    expectRefused(() => changer(missing).simple(ccs('v4')), /no progress for 2/);
  });
});
