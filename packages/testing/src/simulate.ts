/**
 * simulateHistory: a history from a simulated *correct* store — concurrent clients whose
 * operations overlap at random, each taking effect atomically at a random instant inside its
 * interval (applied to the KV model in that order), some ambiguous (the client gave up; the
 * operation took effect or not, at random). Such a history is linearizable by construction: use
 * it to benchmark the checker, or as a baseline to mutate into a broken one. Pure and seeded.
 */

import type { CompareInput, Input, Operation, TxnOpInput } from './history.js';
import { type KvState, kvState, step } from './kv-model.js';
import { mulberry32 } from './prng.js';

/** Options of simulateHistory. */
export interface SimulationOptions {
  readonly operations: number;
  readonly clients: number;
  /** Keys `k0` … `k<keys-1>`. */
  readonly keys: number;
  readonly seed?: number;
  /** Fraction of operations left ambiguous (default 0.02). */
  readonly ambiguous?: number;
}

/** Builds the history; see the file comment. */
export function simulateHistory(opts: SimulationOptions): Operation[] {
  const rand = mulberry32(opts.seed ?? 1);
  const int = (n: number) => Math.floor(rand() * n);
  const key = () => `k${int(opts.keys)}`;
  const value = () => String(int(10));
  const leases: bigint[] = [];
  let nextLease = 1n;
  const clientTime = new Array<number>(opts.clients).fill(0);
  const planned: {
    client: number;
    input: Input;
    call: number;
    at: number;
    ret: number;
    ambiguous: boolean;
  }[] = [];

  const input = (): Input => {
    const r = rand();
    const lease = leases.length > 0 && rand() < 0.1 ? { lease: leases[int(leases.length)]! } : {};
    if (r < 0.3)
      return { type: 'put', key: key(), value: value(), ...lease, ...(rand() < 0.2 ? { prevKv: true } : {}) };
    if (r < 0.6) return rand() < 0.1 ? { type: 'get', key: 'k', prefix: true } : { type: 'get', key: key() };
    if (r < 0.7) return { type: 'delete', key: key(), ...(rand() < 0.3 ? { prevKv: true } : {}) };
    if (r < 0.95) {
      const k = key();
      const compare: CompareInput[] = [
        rand() < 0.5
          ? { key: k, target: 'VALUE', result: 'EQUAL', value: value() }
          : {
              key: k,
              target: rand() < 0.5 ? 'VERSION' : 'MOD',
              result: rand() < 0.5 ? 'GREATER' : 'LESS',
              operand: int(20),
            },
      ];
      const success: TxnOpInput[] = [{ type: 'put', key: k, value: value() }];
      const failure: TxnOpInput[] = rand() < 0.5 ? [{ type: 'get', key: k }] : [];
      return { type: 'txn', compare, success, failure };
    }
    if (leases.length > 0 && rand() < 0.4) return { type: 'leaseRevoke', id: leases[int(leases.length)]! };
    const id = nextLease++;
    leases.push(id);
    return { type: 'leaseGrant', id, ttl: 60 };
  };

  for (let n = 0; n < opts.operations; n++) {
    let client = 0;
    for (let c = 1; c < opts.clients; c++) if (clientTime[c]! < clientTime[client]!) client = c;
    const call = clientTime[client]! + int(4);
    const ret = call + 1 + int(20);
    const at = call + rand() * (ret - call);
    clientTime[client] = ret;
    planned.push({ client, input: input(), call, at, ret, ambiguous: rand() < (opts.ambiguous ?? 0.02) });
  }

  let state: KvState = kvState();
  const ops: Operation[] = [];
  for (const p of [...planned].sort((a, b) => a.at - b.at)) {
    if (p.ambiguous) {
      if (rand() < 0.5) state = step(state, p.input).state;
      ops.push({ client: p.client, input: p.input, call: p.call });
      continue;
    }
    const r = step(state, p.input);
    state = r.state;
    ops.push({ client: p.client, input: p.input, call: p.call, return: p.ret, output: r.output });
  }
  return ops.sort((a, b) => a.call - b.call);
}
