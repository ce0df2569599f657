/**
 * The demo's script: a 3-member cluster in this process (createTestCluster on the in-memory
 * network, on the system clock — real time, so leases really expire) and a shared resource
 * guarded two ways by the lock's fencing token:
 *   - in etcd: the write is a txn whose compare is the holder's `isOwner()`, so it lands only
 *     while the holder's lock key still has the holder's create revision;
 *   - outside etcd: a storage service (FencedStorage) that refuses any token smaller than the
 *     largest it has seen — what a file server or database would do with the token.
 *
 *   1. contention: three workers, each with its own Session on its own member, take the Mutex in
 *      turn and do a read-modify-write of a counter; the counter ends exact, no two inside at once,
 *      and the tokens grow from holder to holder;
 *   2. a stale holder: worker "slow" holds the lock and stalls while its member is cut off; its
 *      session cannot renew its lease and is lost; the leader expires the lease and worker "fresh"
 *      gets the lock with a larger token and writes;
 *   3. the network heals and "slow" wakes up believing nothing happened: its write is refused by
 *      the txn compare and by the storage service.
 */

import { type LockGuard, Mutex, Session, systemClock, type TsetcdNode } from '@tsetcd/core';
import { createTestCluster } from '@tsetcd/core/testing';

/** Session TTL of every worker, seconds (the cluster's minimum): how long a lost holder blocks. */
const TTL_SECONDS = 2;
const LOCK = '/locks/resource';
const COUNTER = '/resource/counter';
const WORKERS = 3;
const ROUNDS = 2;
/** Any single step of the script may take this long before the demo declares itself failed. */
const STEP_DEADLINE_MS = 15_000;

/** Where the demo's narrative goes. */
export type Logger = (line: string) => void;

/** What happened, for main.ts's exit code and for the test. */
export interface DemoResult {
  readonly ok: boolean;
  /** Fencing tokens in the order the lock was granted in phase 1. */
  readonly tokens: readonly number[];
  readonly counter: number;
  /** Times two workers were inside the critical section at once (must be 0). */
  readonly overlaps: number;
  readonly staleToken: number;
  readonly freshToken: number;
  /** Whether the stale holder's txn / storage write were refused (both must be). */
  readonly staleTxnRefused: boolean;
  readonly staleStorageRefused: boolean;
}

/** A storage service outside etcd that honours fencing tokens: never accept an older one. */
export class FencedStorage {
  private highest = 0;
  value = '';

  /** Writes `value` if `token` is not older than any seen; returns whether it was accepted. */
  write(token: number, value: string): boolean {
    if (token < this.highest) return false;
    this.highest = token;
    this.value = value;
    return true;
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const enc = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array | undefined) => (b === undefined ? '' : new TextDecoder().decode(b));

/** Resolves `p`, or fails after STEP_DEADLINE_MS. */
function withDeadline<T>(what: string, p: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), STEP_DEADLINE_MS);
  });
  return Promise.race([p, deadline]).finally(() => clearTimeout(timer));
}

/** Writes COUNTER = `value` through `node` only while `guard` holds the lock; true if it landed. */
async function guardedPut(node: TsetcdNode, guard: LockGuard, value: string): Promise<boolean> {
  const r = await node.kv.txn({
    compare: [guard.isOwner()],
    success: [{ type: 'put', request: { key: enc(COUNTER), value: enc(value) } }],
    failure: [],
  });
  return r.succeeded;
}

/** Runs the script of the file comment; always stops the cluster. */
export async function runDemo(log: Logger): Promise<DemoResult> {
  const cluster = await createTestCluster({ nodes: 3, clock: systemClock });
  const sessions: Session[] = [];
  const storage = new FencedStorage();
  try {
    const leader = await cluster.waitForLeader();
    const leaderIndex = cluster.indexOf(leader);
    log(`3 members in one process (${cluster.names.join(', ')}); ${cluster.names[leaderIndex]} leads`);

    // 1.
    let inside: string | undefined;
    let overlaps = 0;
    const tokens: number[] = [];
    const worker = async (w: number) => {
      const name = `w${w + 1}`;
      const node = cluster.node(w % 3);
      const session = await Session.create(node.client, { ttl: TTL_SECONDS });
      sessions.push(session);
      const mutex = new Mutex(session, LOCK);
      for (let round = 0; round < ROUNDS; round++) {
        const guard = await mutex.lock();
        if (inside !== undefined) overlaps++;
        inside = name;
        tokens.push(guard.fencingToken);
        const before = Number(text((await node.kv.get(COUNTER)).kvs[0]?.value) || '0');
        await sleep(20); // the work a holder does between its read and its write
        const landed = await guardedPut(node, guard, String(before + 1));
        storage.write(guard.fencingToken, `${name} round ${round + 1}`);
        log(
          `${name} (on ${cluster.names[w % 3]}) holds the lock, token ${guard.fencingToken}: ` +
            `counter ${before} → ${before + 1}${landed ? '' : ' REFUSED'}`,
        );
        inside = undefined;
        await guard.unlock();
      }
    };
    await withDeadline('the workers', Promise.all(Array.from({ length: WORKERS }, (_, w) => worker(w))));
    const counter = Number(text((await leader.kv.get(COUNTER)).kvs[0]?.value));
    const increasing = tokens.every((t, i) => i === 0 || t > tokens[i - 1]!);
    log(`counter = ${counter} after ${WORKERS}×${ROUNDS} locked increments; tokens ${tokens.join(' < ')}`);

    // 2.
    const f = (leaderIndex + 1) % 3; // a follower: cutting it off leaves the leader in the majority
    const slowNode = cluster.node(f);
    const slowSession = await Session.create(slowNode.client, { ttl: TTL_SECONDS });
    sessions.push(slowSession);
    const slowMutex = new Mutex(slowSession, LOCK);
    const stale = await slowMutex.lock();
    log(`slow (on ${cluster.names[f]}) holds the lock, token ${stale.fencingToken}, and stalls`);
    const lost = new Promise<void>((resolve) => slowMutex.once('lost', () => resolve()));
    cluster.isolate(f);
    log(`${cluster.names[f]} is cut off from the cluster: slow's session cannot renew its lease`);

    const freshSession = await Session.create(leader.client, { ttl: TTL_SECONDS });
    sessions.push(freshSession);
    const freshGuard = withDeadline('fresh to get the lock', new Mutex(freshSession, LOCK).lock());
    await withDeadline("slow's session to be lost", lost);
    log(`slow's session is lost (the Mutex tells it: lock released); slow is stalled and does not notice`);
    const fresh = await freshGuard;
    const freshLanded = await guardedPut(leader, fresh, 'fresh');
    const freshStored = storage.write(fresh.fencingToken, 'fresh');
    log(
      `fresh (on ${cluster.names[leaderIndex]}) gets the lock after slow's lease expired, token ` +
        `${fresh.fencingToken}; its writes ${freshLanded && freshStored ? 'land' : 'FAIL'}`,
    );

    // 3.
    cluster.heal();
    await withDeadline(`${cluster.names[f]} to rejoin`, slowNode.kv.get(COUNTER));
    log(`the network heals; slow wakes up and writes with its old token ${stale.fencingToken}`);
    const staleTxnRefused = !(await guardedPut(slowNode, stale, 'slow (stale)'));
    log(`  txn with slow's isOwner() compare: ${staleTxnRefused ? 'refused' : 'ACCEPTED'}`);
    const staleStorageRefused = !storage.write(stale.fencingToken, 'slow (stale)');
    log(
      `  storage write with token ${stale.fencingToken}: ` +
        `${staleStorageRefused ? `refused (it has seen ${fresh.fencingToken})` : 'ACCEPTED'}`,
    );
    const final = text((await leader.kv.get(COUNTER)).kvs[0]?.value);
    await fresh.unlock();

    const ok =
      counter === WORKERS * ROUNDS &&
      overlaps === 0 &&
      increasing &&
      fresh.fencingToken > stale.fencingToken &&
      freshLanded &&
      freshStored &&
      staleTxnRefused &&
      staleStorageRefused &&
      final === 'fresh' &&
      storage.value === 'fresh';
    log(
      ok
        ? '✓ one holder at a time, and the stale holder was fenced off'
        : '✗ the lock did not protect the resource',
    );
    return {
      ok,
      tokens,
      counter,
      overlaps,
      staleToken: stale.fencingToken,
      freshToken: fresh.fencingToken,
      staleTxnRefused,
      staleStorageRefused,
    };
  } finally {
    cluster.heal();
    for (const s of sessions) await s.close().catch(() => undefined);
    await cluster.close();
  }
}
