/**
 * @tsetcd/core/testing — run real members in one process for tests: createTestCluster (N members
 * on the in-memory network, deterministic virtual time by default) and the clocks it runs on.
 */

export { type Clock, ManualClock, systemClock } from './clock.js';
export { type RandomFaultsOptions, randomFaults } from './testing/faults.js';
export { freePort, freePorts } from './testing/free-ports.js';
export { MemberClock } from './testing/member-clock.js';
export { type CrashReport, SimDisk, type SimDiskOptions, SimulatedCrashError } from './testing/sim-disk.js';
export {
  createTestCluster,
  TEST_ELECTION_MS,
  TEST_HEARTBEAT_MS,
  TestCluster,
  type TestClusterOptions,
} from './testing/test-cluster.js';
