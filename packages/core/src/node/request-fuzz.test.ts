/**
 * Fuzzing the request codec of log entries (request.ts) where it matters: at apply time, on bytes
 * raft committed. decodeRequest must answer random and mutated bytes with a MalformedRequestError
 * or a request, never another exception; and a member that applies committed entries it cannot
 * decode must skip them without changing its store and go on serving.
 *
 * Not here: entries whose envelope decodes but whose body is nonsense. By design the envelope is
 * all that is checked at apply time (requests are validated before they are proposed); the last
 * test only checks that such entries cannot stop the member.
 */

import { Encoder } from '@msgpack/msgpack';
import { hashKV } from '@tsetcd/mvcc';
import { seededRandom } from '@tsetcd/raft';
import { NODE_ID_EXTENSION_CODEC } from '@tsetcd/transport';
import { afterEach, describe, expect, it } from 'vitest';
import { MalformedRequestError } from '../node-errors.js';
import { createNode } from './create-node.js';
import type { TsetcdNode } from './node.js';
import { decodeRequest, encodeRequest, type RequestEnvelope } from './request.js';

const b = (s: string) => new TextEncoder().encode(s);
const SEED = 20_240_601;

/** A valid envelope of every kind the log holds, puts in all their optional forms. */
const VALID: readonly RequestEnvelope[] = [
  { proposer: 2, counter: 1, req: { op: 'put', put: { key: b('k'), value: b('v') } } },
  {
    proposer: 2,
    counter: 2,
    req: { op: 'put', put: { key: b('key'), value: b('x'.repeat(40)), lease: 7n, prevKv: true } },
  },
  {
    proposer: 2,
    counter: 3,
    user: 'alice',
    authRevision: 4,
    req: { op: 'put', put: { key: b('k'), ignoreValue: true } },
  },
  {
    proposer: 2,
    counter: 4,
    req: { op: 'deleteRange', deleteRange: { key: b('a'), rangeEnd: b('z'), prevKv: true } },
  },
  {
    proposer: 2,
    counter: 5,
    req: {
      op: 'txn',
      txn: {
        compare: [{ key: b('k'), target: 'VERSION', result: 'EQUAL', version: 1 }],
        success: [{ type: 'put', request: { key: b('k'), value: b('v2') } }],
        failure: [{ type: 'range', request: { key: b('k') } }],
      },
    },
  },
  { proposer: 2, counter: 6, req: { op: 'compaction', compaction: { revision: 3 } } },
  { proposer: 2, counter: 7, req: { op: 'leaseGrant', id: 99n, ttl: 10 } },
  { proposer: 2, counter: 8, req: { op: 'leaseRevoke', id: 99n } },
  { proposer: 2, counter: 9, req: { op: 'alarm', action: 'ACTIVATE', memberId: 1n, alarm: 'NOSPACE' } },
  {
    proposer: 2,
    counter: 10,
    req: { op: 'memberAttrs', memberId: 1n, attrs: { name: 'a', clientUrls: ['http://x'] } },
  },
  { proposer: 2, counter: 11, req: { op: 'auth', auth: { kind: 'userAdd', name: 'bob', password: 'pw' } } },
];

/** Random bytes, a mutated valid encoding (flips, truncation, extension), or a spliced one. */
function fuzzInput(rand: (n: number) => number): Uint8Array {
  const kind = rand(4);
  if (kind === 0) return Uint8Array.from({ length: rand(64) }, () => rand(256));
  const bytes = encodeRequest(VALID[rand(VALID.length)]!).slice();
  if (kind === 1) {
    for (let flips = 1 + rand(4); flips > 0; flips--) bytes[rand(bytes.length)] = rand(256);
    return bytes;
  }
  if (kind === 2) return bytes.subarray(0, rand(bytes.length));
  const tail = Uint8Array.from({ length: 1 + rand(8) }, () => rand(256));
  return Uint8Array.from([...bytes, ...tail]);
}

describe('decodeRequest on random and mutated bytes (fuzz)', () => {
  it('throws only MalformedRequestError, with a message, never another exception (5000 cases)', () => {
    const rand = seededRandom(SEED);
    let refused = 0;
    for (let i = 0; i < 5000; i++) {
      const input = fuzzInput(rand);
      try {
        const env = decodeRequest(input);
        expect(Number.isSafeInteger(env.counter) && env.proposer >= 0 && env.proposer <= 0xffff).toBe(true);
      } catch (err) {
        expect(err).toBeInstanceOf(MalformedRequestError);
        expect((err as MalformedRequestError).code).toBe('ErrMalformedRequest');
        expect((err as Error).message).toMatch(/^etcdserver: malformed request: ./);
        refused++;
      }
    }
    // The fuzzer reaches the error paths (and the decoder does not refuse everything).
    expect(refused).toBeGreaterThan(1000);
    expect(refused).toBeLessThan(5000);
  });

  it('still round-trips every valid envelope (the fuzz corpus is sound)', () => {
    for (const env of VALID) expect(decodeRequest(encodeRequest(env))).toEqual(env);
  });
});

let node: TsetcdNode | undefined;
afterEach(async () => {
  await node?.close();
  node = undefined;
});

/** Everything a stray entry could change: revision, keys and history, leases, alarms. */
async function observe(n: TsetcdNode) {
  await n.kv.get('sync'); // linearizable: applied up to the commit index
  const store = n.parts.store;
  return {
    revision: store.revision,
    hash: (await hashKV(store.kv)).hash,
    leases: (await n.lease.leases()).leases,
    alarms: store.alarms.list().length,
  };
}

/** Proposes raw entry bytes through raft, as if another member had, and waits until they are applied. */
async function commitRaw(n: TsetcdNode, entries: readonly Uint8Array[]): Promise<void> {
  for (const data of entries) n.parts.raft.propose(data);
  await n.parts.loop.kick();
  await n.parts.applied.wait(n.parts.raft.status().lastIndex);
}

async function memberWithData(): Promise<TsetcdNode> {
  const n = await createNode({ name: 'solo' });
  for (let i = 0; i < 10; i++) await n.kv.put(`k${i}`, `v${i}`);
  await n.lease.grant(600);
  return n;
}

describe('applying committed entries that do not decode', () => {
  it('skips each one on apply: revision, keys, leases and alarms unchanged; the member serves on', async () => {
    node = await memberWithData();
    const before = await observe(node);
    const rand = seededRandom(SEED + 1);
    const garbage: Uint8Array[] = [];
    while (garbage.length < 300) {
      const input = fuzzInput(rand);
      if (input.length === 0) continue; // an empty entry is a leader's no-op, not a request
      try {
        decodeRequest(input);
      } catch {
        garbage.push(input.slice());
      }
    }
    const appliedBefore = node.parts.applier.appliedRequests;
    await commitRaw(node, garbage);
    expect(node.parts.applier.appliedRequests).toBe(appliedBefore);
    expect(await observe(node)).toEqual(before);
    const put = await node.kv.put('after', 'garbage');
    expect(put.header.revision).toBe(before.revision + 1);
  });

  it('a mutated entry carrying a waiter request ID wakes nobody and changes nothing', async () => {
    node = await memberWithData();
    const before = await observe(node);
    const counter = 0xabcd;
    let woken = false;
    void node.parts.waits.register(counter).then(() => {
      woken = true;
    });
    const proposer = node.parts.waits.prefix;
    const good = encodeRequest({
      proposer,
      counter,
      req: { op: 'put', put: { key: b('k0'), value: b('x') } },
    });
    await commitRaw(node, [good.subarray(0, good.length - 1), Uint8Array.from([...good, 0])]);
    expect(await observe(node)).toEqual(before);
    expect(woken).toBe(false);
    node.parts.waits.cancel(counter);
  });

  it('entries whose envelope decodes but whose body is ill-typed do not stop the member', async () => {
    node = await memberWithData();
    const before = await observe(node);
    const enc = new Encoder({ extensionCodec: NODE_ID_EXTENSION_CODEC });
    const bodies: unknown[] = [
      { op: 'put', put: 'x' },
      { op: 'put', put: { key: 5 } },
      { op: 'put' },
      { op: 'deleteRange', deleteRange: { key: 'k1' } },
      { op: 'txn', txn: { compare: 5 } },
      { op: 'txn', txn: null },
      { op: 'compaction', compaction: { revision: 'a' } },
      { op: 'leaseGrant', id: 'x', ttl: 'y' },
      { op: 'leaseRevoke', id: 'zz' },
      { op: 'memberAttrs', memberId: 5n, attrs: 7 },
      { op: 'auth', auth: null },
      { op: 'auth', auth: { kind: 'nonsense' } },
    ];
    await commitRaw(
      node,
      bodies.map((req) => enc.encode({ proposer: 2, counter: 0, req })),
    );
    // Each one failed as a request (nothing changed), and the member still applies writes.
    expect(await observe(node)).toEqual(before);
    const put = await node.kv.put('after', 'ill-typed');
    expect(put.header.revision).toBe(before.revision + 1);
  });
});
