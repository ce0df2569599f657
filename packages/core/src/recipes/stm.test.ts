/**
 * STM on a 3-member in-memory cluster: what each of etcd's isolation levels allows and prevents
 * (lost update, write skew, read skew inside an attempt, blind writes), retry limits, and
 * serializability of concurrent bank transfers from every member under random partitions,
 * checked against a sequential replay in commit-revision order.
 */

import { seededRandom } from '@tsetcd/raft';
import { afterEach, describe, expect, it } from 'vitest';
import { RequestCanceledError } from '../node-errors.js';
import { createTestCluster, type TestCluster } from '../testing/test-cluster.js';
import { runStm, type Stm, StmConflictError, type StmIsolation } from './stm.js';

let cluster: TestCluster | undefined;

afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
});

/** A 3-member cluster with a leader, and its members. */
async function start(seed: number) {
  cluster = await createTestCluster({ nodes: 3, seed });
  await cluster.waitForLeader();
  return { c: cluster, m: [cluster.node(0), cluster.node(1), cluster.node(2)] as const };
}

/** Every member has applied what was written so far (a linearizable read on each). */
async function settle(m: readonly { kv: { get(k: string): Promise<unknown> } }[]): Promise<void> {
  for (const x of m) await x.kv.get('settle');
}

/** A promise and its resolver: lets a test stop `apply` half way. */
function gate(): { wait: Promise<void>; open: () => void } {
  let open!: () => void;
  const wait = new Promise<void>((r) => {
    open = r;
  });
  return { wait, open };
}

const VALIDATING: readonly StmIsolation[] = ['SerializableSnapshot', 'Serializable', 'RepeatableReads'];

describe('runStm basics', () => {
  it('commits reads and writes as one txn, reading its own buffered writes', async () => {
    const { m } = await start(1);
    await m[0].kv.put('a', '1');
    const r = await runStm(m[1].client, async (stm) => {
      expect(await stm.get('a')).toBe('1');
      expect(await stm.get('missing')).toBe('');
      expect(await stm.rev('missing')).toBe(0);
      stm.put('b', 'two');
      expect(await stm.get('b')).toBe('two');
      stm.del('a');
      expect(await stm.getBytes('a')).toBeUndefined();
    });
    expect(r.attempts).toBe(1);
    expect((await m[2].kv.get('a')).kvs).toEqual([]);
    const b = await m[2].kv.get('b');
    expect(new TextDecoder().decode(b.kvs[0]!.value)).toBe('two');
    expect(b.kvs[0]!.modRevision).toBe(r.revision);
  });

  it('puts with a lease when asked', async () => {
    const { m } = await start(2);
    const lease = await m[0].lease.grant(10);
    await runStm(m[0].client, (stm) => stm.put('leased', 'v', { lease: lease.id }));
    expect((await m[1].kv.get('leased')).kvs[0]!.lease).toBe(lease.id);
  });

  it('prefetches keys before apply and re-reads them from a failed commit', async () => {
    const { m } = await start(3);
    await m[0].kv.put('p', '0');
    let attempt = 0;
    const r = await runStm(
      m[1].client,
      async (stm) => {
        attempt++;
        const v = Number(await stm.get('p'));
        if (attempt === 1) await m[2].kv.put('p', '10'); // conflict with the first attempt
        stm.put('p', String(v + 1));
      },
      { prefetch: ['p', 'q'] },
    );
    expect(r.attempts).toBe(2);
    expect(new TextDecoder().decode((await m[0].kv.get('p')).kvs[0]!.value)).toBe('11');
  });

  it('gives up with StmConflictError after maxRetries conflicting attempts', async () => {
    const { m } = await start(4);
    let n = 0;
    const err = await runStm(
      m[0].client,
      async (stm) => {
        await stm.get('hot');
        await m[1].kv.put('hot', String(++n)); // someone always writes it meanwhile
        stm.put('out', 'x');
      },
      { maxRetries: 3 },
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StmConflictError);
    expect((err as StmConflictError).code).toBe('ErrSTMConflict');
    expect(n).toBe(3);
    expect((await m[0].kv.get('out')).kvs).toEqual([]);
  });

  it('stops with RequestCanceledError when the signal aborts', async () => {
    const { m } = await start(5);
    const ac = new AbortController();
    const err = await runStm(
      m[0].client,
      async (stm) => {
        await stm.get('hot');
        await m[1].kv.put('hot', 'x');
        ac.abort();
      },
      { signal: ac.signal },
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RequestCanceledError);
  });

  it("passes apply's own error through without committing", async () => {
    const { m } = await start(6);
    const err = await runStm(m[0].client, (stm) => {
      stm.put('never', 'x');
      throw new Error('insufficient funds');
    }).catch((e: unknown) => e);
    expect((err as Error).message).toBe('insufficient funds');
    expect((await m[0].kv.get('never')).kvs).toEqual([]);
  });
});

describe('isolation levels, as etcd defines them', () => {
  /** Two increments of one counter, the first stopped between its read and its commit. */
  async function concurrentIncrements(iso: StmIsolation) {
    const { m } = await start(10);
    await m[0].kv.put('counter', '0');
    await settle(m);
    const read = gate();
    const go = gate();
    let attempts1 = 0;
    const t1 = runStm(
      m[0].client,
      async (stm) => {
        const v = Number(await stm.get('counter'));
        if (++attempts1 === 1) {
          read.open();
          await go.wait;
        }
        stm.put('counter', String(v + 1));
      },
      { isolation: iso },
    );
    await read.wait;
    await runStm(
      m[1].client,
      async (stm) => stm.put('counter', String(Number(await stm.get('counter')) + 1)),
      {
        isolation: iso,
      },
    );
    go.open();
    const r1 = await t1;
    const final = Number(new TextDecoder().decode((await m[2].kv.get('counter')).kvs[0]!.value));
    return { final, attempts: r1.attempts };
  }

  it.each(VALIDATING)('%s prevents a lost update: the stale increment retries', async (iso) => {
    expect(await concurrentIncrements(iso)).toEqual({ final: 2, attempts: 2 });
  });

  it('ReadCommitted allows a lost update', async () => {
    expect(await concurrentIncrements('ReadCommitted')).toEqual({ final: 1, attempts: 1 });
  });

  /** Two doctors on call; each goes off call if the other is still on: write skew. */
  async function writeSkew(iso: StmIsolation) {
    const { m } = await start(11);
    await m[0].kv.txn({
      compare: [],
      success: ['alice', 'bob'].map((k) => ({
        type: 'put' as const,
        request: { key: new TextEncoder().encode(k), value: new TextEncoder().encode('1') },
      })),
      failure: [],
    });
    await settle(m); // RepeatableReads and ReadCommitted read a member's local state
    const bothRead = [gate(), gate()];
    const offCall = (me: 'alice' | 'bob', i: number) =>
      runStm(
        m[i]!.client,
        async (stm: Stm) => {
          const onCall = Number(await stm.get('alice')) + Number(await stm.get('bob'));
          bothRead[i]!.open();
          await Promise.all(bothRead.map((g) => g.wait));
          if (onCall >= 2) stm.put(me, '0');
        },
        { isolation: iso },
      );
    await Promise.all([offCall('alice', 0), offCall('bob', 1)]);
    const v = async (k: string) => Number(new TextDecoder().decode((await m[2].kv.get(k)).kvs[0]!.value));
    return (await v('alice')) + (await v('bob'));
  }

  it.each(VALIDATING)('%s prevents write skew: someone stays on call', async (iso) => {
    expect(await writeSkew(iso)).toBe(1);
  });

  it('ReadCommitted allows write skew: nobody is on call', async () => {
    expect(await writeSkew('ReadCommitted')).toBe(0);
  });

  /** An audit reads x, a transfer x → y commits, the audit reads y: what the audit's attempts saw. */
  async function auditDuringTransfer(iso: StmIsolation) {
    const { m } = await start(12);
    await m[0].kv.put('x', '50');
    await m[0].kv.put('y', '50');
    await settle(m);
    const sums: number[] = [];
    const r = await runStm(
      m[1].client,
      async (stm) => {
        const x = Number(await stm.get('x'));
        if (sums.length === 0) {
          await runStm(m[0].client, async (t) => {
            t.put('x', String(Number(await t.get('x')) - 10));
            t.put('y', String(Number(await t.get('y')) + 10));
          });
          await m[1].kv.get('y'); // this member has applied the transfer
        }
        sums.push(x + Number(await stm.get('y')));
      },
      { isolation: iso },
    );
    return { sums, attempts: r.attempts };
  }

  it.each(['SerializableSnapshot', 'Serializable'] as const)(
    '%s reads every attempt from one snapshot: no read skew, even in an attempt that retries',
    async (iso) => {
      expect(await auditDuringTransfer(iso)).toEqual({ sums: [100, 100], attempts: 2 });
    },
  );

  it('RepeatableReads may show an attempt read skew, but never commits it', async () => {
    expect(await auditDuringTransfer('RepeatableReads')).toEqual({ sums: [110, 100], attempts: 2 });
  });

  it('ReadCommitted commits read skew', async () => {
    expect(await auditDuringTransfer('ReadCommitted')).toEqual({ sums: [110], attempts: 1 });
  });

  /** A txn reads `a` and blindly writes `b`; `b` is written by someone else after its snapshot. */
  async function blindWrite(iso: StmIsolation) {
    const { m } = await start(13);
    await m[0].kv.put('a', '1');
    let attempts = 0;
    await runStm(
      m[1].client,
      async (stm) => {
        await stm.get('a');
        if (++attempts === 1) await m[2].kv.put('b', 'theirs');
        stm.put('b', 'mine');
      },
      { isolation: iso },
    );
    return attempts;
  }

  it('SerializableSnapshot aborts a blind write to a key written after the snapshot', async () => {
    expect(await blindWrite('SerializableSnapshot')).toBe(2);
  });

  it.each(['Serializable', 'RepeatableReads', 'ReadCommitted'] as const)(
    '%s lets a blind write overwrite a later write (only the read set is validated)',
    async (iso) => {
      expect(await blindWrite(iso)).toBe(1);
    },
  );

  it.each(VALIDATING)('%s commits nothing from an attempt that conflicted', async (iso) => {
    const { m } = await start(14);
    let attempts = 0;
    await runStm(
      m[0].client,
      async (stm) => {
        await stm.get('k');
        stm.put(`attempt-${++attempts}`, 'x');
        if (attempts === 1) await m[1].kv.put('k', 'changed');
      },
      { isolation: iso },
    );
    const written = (await m[2].kv.get('attempt-', { prefix: true })).kvs.length;
    expect(written).toBe(1);
  });
});

describe('STM serializability: concurrent bank transfers from every member under partitions', () => {
  const ACCOUNTS = 5;
  const INITIAL = 100;
  const WORKERS_PER_MEMBER = 2;
  const TRANSFERS = 8;
  /** Per run: attempts that conflicted and calls that failed (cut-off member), across seeds. */
  const stats = { runs: 0, retried: 0, failed: 0 };

  interface Transfer {
    readonly from: number;
    readonly to: number;
    readonly amount: number;
    /** What the committed attempt read. */
    readonly sawFrom: number;
    readonly sawTo: number;
  }

  async function bank(seed: number, iso: StmIsolation) {
    const { c, m } = await start(seed);
    const rand = seededRandom(seed);
    const acct = (i: number) => `acct/${i}`;
    await m[0].kv.txn({
      compare: [],
      success: Array.from({ length: ACCOUNTS }, (_, i) => ({
        type: 'put' as const,
        request: { key: new TextEncoder().encode(acct(i)), value: new TextEncoder().encode(String(INITIAL)) },
      })),
      failure: [],
    });
    const committed = new Map<string, number>(); // log key → commit revision
    const audits: number[] = [];
    let running = true;

    const worker = async (member: number, w: number) => {
      for (let t = 0; t < TRANSFERS; t++) {
        await c.sleep(rand(300));
        const from = rand(ACCOUNTS);
        const to = (from + 1 + rand(ACCOUNTS - 1)) % ACCOUNTS;
        const amount = 1 + rand(40);
        const log = `log/${member}-${w}-${t}`;
        try {
          const r = await runStm(
            m[member]!.client,
            async (stm) => {
              const a = Number(await stm.get(acct(from)));
              const b = Number(await stm.get(acct(to)));
              const moved = a >= amount ? amount : 0;
              stm.put(acct(from), String(a - moved));
              stm.put(acct(to), String(b + moved));
              const rec: Transfer = { from, to, amount: moved, sawFrom: a, sawTo: b };
              stm.put(log, JSON.stringify(rec));
            },
            { isolation: iso, timeoutMs: 1_000 },
          );
          committed.set(log, r.revision);
          if (r.attempts > 1) stats.retried++;
        } catch {
          stats.failed++;
          // A timeout on a cut-off member: the outcome is unknown; the store's log tells.
        }
        if (t === 2) {
          // A read-only audit: its committed attempt must see the conserved total.
          try {
            let sum = 0;
            await runStm(
              m[member]!.client,
              async (stm) => {
                sum = 0;
                for (let i = 0; i < ACCOUNTS; i++) sum += Number(await stm.get(acct(i)));
              },
              { isolation: iso, timeoutMs: 1_000 },
            );
            audits.push(sum);
          } catch {
            // cut off
          }
        }
      }
    };

    const chaos = async () => {
      while (running) {
        await c.sleep(100 + rand(400));
        const action = rand(4);
        if (action === 0) c.isolate(rand(3));
        else if (action === 1) {
          const lone = rand(3);
          c.partition(
            [lone],
            [0, 1, 2].filter((i) => i !== lone),
          );
        } else c.heal();
      }
      c.heal();
    };

    const chaosDone = chaos();
    await Promise.all(
      [0, 1, 2].flatMap((member) => Array.from({ length: WORKERS_PER_MEMBER }, (_, w) => worker(member, w))),
    );
    running = false;
    await chaosDone;
    await c.waitForLeader();

    // Replay every committed transfer in commit-revision order on a model of the accounts.
    const logs = (await m[0].kv.get('log/', { prefix: true })).kvs
      .map((kv) => ({
        key: new TextDecoder().decode(kv.key),
        rev: kv.modRevision,
        rec: JSON.parse(new TextDecoder().decode(kv.value)) as Transfer,
      }))
      .sort((x, y) => x.rev - y.rev);
    const model = Array.from({ length: ACCOUNTS }, () => INITIAL);
    for (const { rec } of logs) {
      expect([rec.sawFrom, rec.sawTo]).toEqual([model[rec.from], model[rec.to]]);
      model[rec.from]! -= rec.amount;
      model[rec.to]! += rec.amount;
    }
    const final = (await m[1].kv.get('acct/', { prefix: true })).kvs.map((kv) =>
      Number(new TextDecoder().decode(kv.value)),
    );
    expect(final).toEqual(model);
    expect(final.reduce((x, y) => x + y, 0)).toBe(ACCOUNTS * INITIAL);
    // Every transfer reported committed is in the log, at the revision it was reported at.
    const byKey = new Map(logs.map((l) => [l.key, l.rev]));
    for (const [key, rev] of committed) expect(byKey.get(key)).toBe(rev);
    for (const sum of audits) expect(sum).toBe(ACCOUNTS * INITIAL);
    stats.runs++;
    return { committed: committed.size, logged: logs.length };
  }

  const SEEDS = Array.from({ length: 20 }, (_, i) => 100 + i);

  it.each(SEEDS)(
    'SerializableSnapshot, seed %i: totals conserved, reads match a sequential replay',
    async (seed) => {
      const r = await bank(seed, 'SerializableSnapshot');
      expect(r.logged).toBeGreaterThan(0);
    },
  );

  it.each([201, 202, 203])('Serializable, seed %i: the same holds', async (seed) => {
    await bank(seed, 'Serializable');
  });

  it.each([301, 302, 303])('RepeatableReads, seed %i: the same holds for what commits', async (seed) => {
    await bank(seed, 'RepeatableReads');
  });

  it('the runs above had transfers that conflicted and retried, and members cut off', () => {
    expect(stats.runs).toBe(SEEDS.length + 6);
    expect(stats.retried).toBeGreaterThan(0);
    expect(stats.failed).toBeGreaterThan(0);
  });

  it('the replay check is not vacuous: it catches the lost updates ReadCommitted commits', async () => {
    await expect(bank(100, 'ReadCommitted')).rejects.toThrow();
  });
});
