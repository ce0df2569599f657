/**
 * One candidate, run as a child process by demo.ts: `node candidate.js <config JSON>`.
 *
 * The process embeds a tsetcd member (TCP peers, its own data dir) and campaigns in the election
 * `/election/demo` through a Session on that member: its candidate key lives on the session's
 * lease, so when the process dies the lease stops being renewed, expires on the raft leader after
 * its TTL, the key is deleted, and the next candidate in create-revision order is elected.
 * While leading it does "leader work": writes guarded by `isOwner()`, so a deposed leader's writes
 * could never land. Reports to the parent over IPC; obeys `resign` and `close`.
 */

import { createNode, Election, type Leadership, type NodeConfigInput, Session } from '@tsetcd/core';
import type { CandidateCommand, CandidateEvent } from './protocol.js';

/** The candidate's session TTL, seconds: how long a dead leader keeps the election blocked. */
const SESSION_TTL = 2;
/** How often the leader does its guarded work, ms. */
const WORK_MS = 200;

const config = JSON.parse(process.argv[2] ?? '{}') as NodeConfigInput;
const name = config.name ?? 'candidate';
const send = (e: CandidateEvent) => process.send?.(e);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

const node = await createNode(config, {
  logger: (level, message) => {
    if (level === 'error') process.stderr.write(`[${name}] ${message}\n`);
  },
});
send({ type: 'started' });

/** A session as soon as the cluster has a leader to grant the lease. */
async function openSession(): Promise<Session> {
  for (;;) {
    if (closing) throw new Error('closing');
    try {
      return await Session.create(node.client, { ttl: SESSION_TTL });
    } catch {
      await sleep(100);
    }
  }
}

let session: Session | undefined;
let leadership: Leadership | undefined;
/** Set by `close`: stop campaigning. */
let closing = false;

process.on('message', (cmd: CandidateCommand) => {
  void (async () => {
    if (cmd.op === 'resign') {
      await leadership?.resign();
      send({ type: 'resigned' });
    } else {
      closing = true;
      await session?.close().catch(() => undefined);
      await node.close();
      process.disconnect();
    }
  })();
});

/**
 * Campaigns until elected; a campaign whose session is lost aborts (no zombie candidates), so
 * the candidate starts over with a new session and a new place in the queue.
 */
async function campaign(): Promise<Leadership | undefined> {
  while (!closing) {
    session = await openSession();
    const election = new Election(session, '/election/demo');
    send({ type: 'campaigning', key: election.key });
    try {
      return await election.campaign(name);
    } catch (err) {
      if (closing) return undefined;
      if (!session.isLost) {
        send({ type: 'failed', error: String(err) });
        return undefined;
      }
      send({ type: 'session-lost' });
    }
  }
  return undefined;
}

leadership = await campaign().catch(() => undefined); // rejects only when told to close
if (leadership !== undefined) {
  send({ type: 'elected', name, fencingToken: leadership.fencingToken, at: Date.now() });
  // Leader work, fenced: each write holds only while this leadership does.
  for (let n = 1; !leadership.signal.aborted; n++) {
    await node.kv
      .txn({
        compare: [leadership.isOwner()],
        success: [
          {
            type: 'put',
            request: {
              key: new TextEncoder().encode('/election-demo/work'),
              value: new TextEncoder().encode(`${name} #${n}`),
            },
          },
        ],
        failure: [],
      })
      .catch(() => undefined);
    await sleep(WORK_MS);
  }
}
