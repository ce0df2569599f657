/**
 * resolveConfig: defaults are filled in, and every impossible setting is refused with an
 * InvalidConfigError that names the offending field.
 */

import { describe, expect, it } from 'vitest';
import {
  type Config,
  DEFAULT_ELECTION_TICK,
  DEFAULT_HEARTBEAT_TICK,
  DEFAULT_MAX_COMMITTED_SIZE_PER_READY,
  DEFAULT_MAX_INFLIGHT_MSGS,
  DEFAULT_MAX_SIZE_PER_MSG,
  type ReadOnlyOption,
  resolveConfig,
} from './config.js';
import { InvalidConfigError } from './errors.js';
import { MemoryStorage } from './memory-storage.js';
import type { Index } from './types.js';

const base = (): Config => ({ id: 1n, storage: new MemoryStorage() });

function expectInvalid(c: Config, field: string): void {
  let err: unknown;
  try {
    resolveConfig(c);
  } catch (e) {
    err = e;
  }
  expect(err, `expected ${field} to be rejected`).toBeInstanceOf(InvalidConfigError);
  expect((err as InvalidConfigError).code).toBe('ErrInvalidConfig');
  expect((err as InvalidConfigError).message).toContain(field);
}

describe('resolveConfig defaults', () => {
  it('fills in every default', () => {
    const c = base();
    const r = resolveConfig(c);
    expect(r).toMatchObject({
      id: 1n,
      storage: c.storage,
      electionTick: DEFAULT_ELECTION_TICK,
      heartbeatTick: DEFAULT_HEARTBEAT_TICK,
      applied: 0,
      maxSizePerMsg: DEFAULT_MAX_SIZE_PER_MSG,
      maxCommittedSizePerReady: DEFAULT_MAX_COMMITTED_SIZE_PER_READY,
      maxUncommittedEntriesSize: 0,
      maxInflightMsgs: DEFAULT_MAX_INFLIGHT_MSGS,
      maxInflightBytes: 0,
      checkQuorum: false,
      preVote: false,
      readOnlyOption: 'ReadOnlySafe',
      disableProposalForwarding: false,
    });
  });

  it('keeps explicit settings', () => {
    const rand = () => 0;
    const r = resolveConfig({
      ...base(),
      electionTick: 5,
      heartbeatTick: 2,
      applied: 7 as Index,
      maxSizePerMsg: 10,
      maxInflightMsgs: 3,
      maxInflightBytes: 100,
      checkQuorum: true,
      preVote: true,
      readOnlyOption: 'ReadOnlyLeaseBased',
      disableProposalForwarding: true,
      rand,
    });
    expect(r).toMatchObject({ electionTick: 5, heartbeatTick: 2, applied: 7, maxInflightMsgs: 3 });
    expect(r.rand).toBe(rand);
  });

  it('the default jitter source is deterministic per node ID', () => {
    const a = resolveConfig(base()).rand;
    const b = resolveConfig(base()).rand;
    const c = resolveConfig({ ...base(), id: 2n }).rand;
    const seqA = Array.from({ length: 20 }, () => a(1000));
    expect(Array.from({ length: 20 }, () => b(1000))).toEqual(seqA);
    expect(Array.from({ length: 20 }, () => c(1000))).not.toEqual(seqA);
  });
});

describe('resolveConfig rejects', () => {
  it('id 0 (NONE), negative, or wider than 64 bits', () => {
    expectInvalid({ ...base(), id: 0n }, 'id');
    expectInvalid({ ...base(), id: -1n }, 'id');
    expectInvalid({ ...base(), id: 1n << 64n }, 'id');
    expect(resolveConfig({ ...base(), id: (1n << 64n) - 1n }).id).toBe((1n << 64n) - 1n);
  });

  it('an id that is not a bigint', () => {
    expectInvalid({ ...base(), id: 1 as unknown as bigint }, 'id');
  });

  it('a missing storage', () => {
    expectInvalid({ id: 1n } as Config, 'storage');
  });

  it('electionTick that is not a positive integer', () => {
    expectInvalid({ ...base(), electionTick: 0 }, 'electionTick');
    expectInvalid({ ...base(), electionTick: -3 }, 'electionTick');
    expectInvalid({ ...base(), electionTick: 2.5 }, 'electionTick');
    expectInvalid({ ...base(), electionTick: Number.NaN }, 'electionTick');
  });

  it('heartbeatTick that is not a positive integer', () => {
    expectInvalid({ ...base(), heartbeatTick: 0 }, 'heartbeatTick');
    expectInvalid({ ...base(), heartbeatTick: 1.5 }, 'heartbeatTick');
  });

  it('electionTick not greater than heartbeatTick', () => {
    expectInvalid({ ...base(), electionTick: 2, heartbeatTick: 2 }, 'electionTick');
    expectInvalid({ ...base(), electionTick: 2, heartbeatTick: 3 }, 'heartbeatTick');
  });

  it('a negative or fractional applied index', () => {
    expectInvalid({ ...base(), applied: -1 as Index }, 'applied');
    expectInvalid({ ...base(), applied: 0.5 as Index }, 'applied');
  });

  it('size limits that are not positive', () => {
    expectInvalid({ ...base(), maxSizePerMsg: 0 }, 'maxSizePerMsg');
    expectInvalid({ ...base(), maxCommittedSizePerReady: 0 }, 'maxCommittedSizePerReady');
    expectInvalid({ ...base(), maxUncommittedEntriesSize: -1 }, 'maxUncommittedEntriesSize');
  });

  it('flow-control limits out of range', () => {
    expectInvalid({ ...base(), maxInflightMsgs: 0 }, 'maxInflightMsgs');
    expectInvalid({ ...base(), maxInflightMsgs: 1.5 }, 'maxInflightMsgs');
    expectInvalid({ ...base(), maxInflightBytes: -1 }, 'maxInflightBytes');
  });

  it('maxInflightBytes smaller than maxSizePerMsg (as etcd: one message must fit the window)', () => {
    expectInvalid({ ...base(), maxSizePerMsg: 1024, maxInflightBytes: 100 }, 'maxInflightBytes');
    expect(resolveConfig({ ...base(), maxSizePerMsg: 1024, maxInflightBytes: 1024 }).maxInflightBytes).toBe(
      1024,
    );
  });

  it('lease-based reads without checkQuorum', () => {
    expectInvalid({ ...base(), readOnlyOption: 'ReadOnlyLeaseBased' }, 'checkQuorum');
    expectInvalid({ ...base(), readOnlyOption: 'ReadOnlyLeaseBased', checkQuorum: false }, 'readOnlyOption');
  });

  it('an unknown readOnlyOption (reads would otherwise never be answered)', () => {
    expectInvalid({ ...base(), readOnlyOption: 'ReadOnlyBogus' as ReadOnlyOption }, 'readOnlyOption');
  });
});
