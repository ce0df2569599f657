/**
 * The knobs of one simulation run, all derived from the seed: cluster size, Raft settings, network
 * misbehaviour, fault and workload rates. Deriving them from the seed (instead of fixing them)
 * spreads the seeds over calm and hostile profiles; printing the seed is enough to replay one.
 */

import { deriveSeed, SimRandom } from './random.js';

/** Raft settings shared by every node of a run. */
export interface SimRaftOptions {
  readonly electionTick: number;
  readonly heartbeatTick: number;
  readonly checkQuorum: boolean;
  readonly preVote: boolean;
  readonly forwarderAcksReadIndex: boolean;
  readonly maxSizePerMsg: number;
  readonly maxInflightMsgs: number;
  readonly maxCommittedSizePerReady: number;
}

/** How badly the network behaves (per message). */
export interface SimNetOptions {
  /** Probability that a message is lost. */
  readonly dropRate: number;
  /** Probability that a message is delivered twice. */
  readonly dupRate: number;
  /** Delivery delay in steps, drawn uniformly from [minDelay, maxDelay]; different delays reorder. */
  readonly minDelay: number;
  readonly maxDelay: number;
}

/** Per-step probabilities of faults. */
export interface SimFaultOptions {
  readonly crashRate: number;
  /** Steps a crashed node stays down: [min, max]. */
  readonly downSteps: readonly [number, number];
  readonly partitionRate: number;
  /** Steps a partition lasts: [min, max]. */
  readonly partitionSteps: readonly [number, number];
  /** Probability that the host reports a peer unreachable when a message to it is lost. */
  readonly reportUnreachableRate: number;
}

/** Per-step probabilities of client and operator actions. */
export interface SimWorkloadOptions {
  readonly proposeRate: number;
  readonly readIndexRate: number;
  readonly transferRate: number;
  readonly campaignRate: number;
  readonly confChangeRate: number;
}

/** How each simulated host drives its node. */
export interface SimHostOptions {
  /** Per-step probability that a node's clock ticks (independent per node: clocks drift). */
  readonly tickRate: number;
  /** Per-step probability that a node's host loop advances one stage. */
  readonly hostRate: number;
  /** Take a snapshot once this many entries were applied since the last one. */
  readonly snapshotInterval: number;
  /** Entries kept behind the snapshot index when compacting. */
  readonly snapshotKeep: number;
}

/** A deliberate host bug, to prove the checkers catch what they claim to (see the test). */
export type HostMutant =
  | 'none'
  /** Persist the hard state without its vote, so a restarted node may vote twice in a term. */
  | 'forget-vote'
  /** Send persistedMessages together with messages, before persisting. */
  | 'ack-before-persist';

/** Everything one run needs. */
export interface SimOptions {
  readonly seed: number;
  /** Initial voters (IDs 1..nodes). */
  readonly nodes: number;
  /** Steps of the chaotic phase; the heal-and-converge phase comes after. */
  readonly steps: number;
  readonly raft: SimRaftOptions;
  readonly net: SimNetOptions;
  readonly faults: SimFaultOptions;
  readonly workload: SimWorkloadOptions;
  readonly host: SimHostOptions;
  readonly mutant: HostMutant;
}

/** What a caller may pin instead of deriving from the seed. */
export interface SimOverrides {
  readonly nodes?: number;
  readonly mutant?: HostMutant;
}

/** Default number of chaotic-phase steps per seed. */
export const DEFAULT_STEPS = 3000;

/** Picks every knob of a run from its seed; odd seeds get 3 nodes, even seeds 5. */
export function chooseOptions(seed: number, steps: number, overrides: SimOverrides = {}): SimOptions {
  const r = new SimRandom(deriveSeed(seed, 0x0b7105));
  const calm = r.chance(0.15);
  const maxDelay = calm ? 2 : r.pick([1, 3, 6, 10]);
  // A short election timeout only when messages are fast, or leaders would rarely survive.
  const electionTick = maxDelay <= 3 ? r.pick([5, 10]) : 10;
  const checkQuorum = r.chance(0.5);
  const options: SimOptions = {
    seed,
    nodes: overrides.nodes ?? (seed % 2 === 1 ? 3 : 5),
    steps,
    raft: {
      electionTick,
      heartbeatTick: r.pick([1, 1, 2]),
      checkQuorum,
      preVote: r.chance(0.5),
      // Drawn from a stream of its own, so adding it left every other knob of a seed as it was.
      forwarderAcksReadIndex: new SimRandom(deriveSeed(seed, 0xfa1d)).chance(0.5),
      maxSizePerMsg: r.pick([64, 256, 1024 * 1024]),
      maxInflightMsgs: r.pick([1, 4, 256]),
      maxCommittedSizePerReady: r.pick([48, 1024 * 1024]),
    },
    net: calm
      ? { dropRate: 0, dupRate: 0, minDelay: 1, maxDelay }
      : { dropRate: r.pick([0, 0.01, 0.05, 0.15]), dupRate: r.pick([0, 0.02, 0.1]), minDelay: 1, maxDelay },
    faults: {
      crashRate: calm ? 0 : r.pick([0, 0.002, 0.005, 0.01]),
      downSteps: [5, r.pick([50, 200, 600])],
      partitionRate: calm ? 0 : r.pick([0, 0.002, 0.005]),
      partitionSteps: [20, r.pick([100, 300, 800])],
      reportUnreachableRate: r.pick([0, 0.5]),
    },
    workload: {
      proposeRate: r.pick([0.05, 0.15, 0.3]),
      readIndexRate: r.pick([0, 0.02]),
      transferRate: r.pick([0, 0.002, 0.006]),
      campaignRate: r.pick([0, 0, 0.001]),
      confChangeRate: r.pick([0, 0.01, 0.03, 0.03]),
    },
    host: {
      tickRate: r.pick([0.15, 0.2, 0.25]),
      hostRate: r.pick([0.5, 0.8, 1]),
      snapshotInterval: r.pick([10, 30, 100]),
      snapshotKeep: r.pick([0, 0, 3]),
    },
    mutant: overrides.mutant ?? 'none',
  };
  return options.mutant === 'none' ? options : mutantProfile(options);
}

/**
 * A mutant host only misbehaves across crashes, and a forgotten vote only matters when a second
 * candidate's request arrives after the restart: mutant runs have slow, often duplicated
 * messages, no pre-vote or lease, and crash often for a few steps.
 */
function mutantProfile(o: SimOptions): SimOptions {
  return {
    ...o,
    raft: { ...o.raft, electionTick: 10, heartbeatTick: 1, checkQuorum: false, preVote: false },
    net: { dropRate: 0.05, dupRate: 0.3, minDelay: 1, maxDelay: 8 },
    faults: { ...o.faults, crashRate: 0.05, downSteps: [1, 3], partitionRate: 0 },
    host: { ...o.host, tickRate: 0.25 },
  };
}

/** A one-line summary of a run's knobs, printed at the top of a trace. */
export function describeOptions(o: SimOptions): string {
  const f = (x: object) =>
    Object.entries(x)
      .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join('..') : String(v)}`)
      .join(' ');
  return `seed=${o.seed} nodes=${o.nodes} steps=${o.steps} mutant=${o.mutant} | raft ${f(o.raft)} | net ${f(o.net)} | faults ${f(o.faults)} | workload ${f(o.workload)} | host ${f(o.host)}`;
}
