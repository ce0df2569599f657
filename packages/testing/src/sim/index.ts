/**
 * @tsetcd/testing/sim — the whole-node deterministic simulator: seeded runs of real tsetcd members
 * on simulated network, clock and disks, under faults, checked for linearizability, watch and
 * lease guarantees, durability and convergence.
 */

export { FAULT_KINDS, type FaultCounts, type FaultKind } from './faults.js';
export { runSimulation, type SimulationOptions, type SimulationReport } from './run.js';
export {
  checkWatches,
  type ObservedEvent,
  type ObservedKv,
  type SegmentEnd,
  type WatchCheckResult,
  type WatchSegment,
} from './watch-check.js';
