/**
 * @tsetcd/testing — prove it: record client histories against tsetcd (or any etcd-like store) and
 * check them for linearizability against a sequential model of etcd's KV and leases, with a time
 * budget and a small readable counterexample on a violation.
 */

export { type Counterexample, MAX_SHRINK_WINDOW, MAX_WINDOW_BACK } from './counterexample.js';
export { describeInput, describeKv, describeOperation, describeOutput } from './describe.js';
export {
  type CompareInput,
  type CompareResult,
  type DeleteInput,
  type DeleteOutput,
  type ErrorOutput,
  type GetInput,
  type GetOutput,
  type History,
  type Input,
  isAmbiguous,
  type KvSnapshot,
  type LeaseGrantInput,
  type LeaseGrantOutput,
  type LeaseRevokeInput,
  type LeaseRevokeOutput,
  type Operation,
  type Output,
  type PutInput,
  type PutOutput,
  type TxnInput,
  type TxnOpInput,
  type TxnOpOutput,
  type TxnOutput,
} from './history.js';
export { type KvState, kvState, mayWrite, type StepResult, step } from './kv-model.js';
export {
  type CheckOptions,
  type CheckResult,
  type CheckStats,
  checkLinearizability,
  DEFAULT_CHECK_TIMEOUT_MS,
} from './linearizability.js';
export { mulberry32 } from './prng.js';
export {
  DEFINITE_ERROR_CODES,
  type RecordableClient,
  Recorder,
  type RecorderOptions,
  RecordingClient,
  snapshot,
} from './recorder.js';
export { type SimulationOptions, simulateHistory } from './simulate.js';
