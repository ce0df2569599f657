/**
 * Interaction tests: a small data-driven runner in the style of etcd-io/raft's interaction tests
 * (rafttest.InteractionEnv driven by cockroachdb/datadriven). A script (`src/testdata/*.txt`) is a
 * sequence of blocks separated by blank lines; `#` lines between blocks are comments:
 *
 *     command arg key=value key=(1 2 3)
 *     ----
 *     expected output, compared exactly ("ok" when a command prints nothing)
 *
 * To regenerate the expected outputs after an intended behaviour change, run
 *
 *     REWRITE=1 npx vitest run packages/raft/src/test/interaction.test.ts
 *
 * and then REVIEW EVERY CHANGED LINE against the Raft rules before committing: a rewritten file
 * is only a test once someone has checked that what it says is right.
 *
 * The environment is a set of RawNodes, each with a MemoryStorage and an "appender" state
 * machine, and one message queue. Handling a Ready persists snapshot, entries and hard state,
 * applies committed entries (conf changes through applyConfChange), queues `messages` and then
 * `persistedMessages`, and calls advance() — all at once, so the scripts do not model partial
 * persistence (the simulator in test/sim does). As in etcd's interaction tests, a node's
 * storage answers `snapshot()` with its state machine's latest applied state, so a leader always
 * sends a follower the newest snapshot it can (`compact` only decides when one is needed).
 * Election jitter is zero (`rand` returns 0) so `tick-election` makes a follower campaign
 * deterministically. Nodes use electionTick 3 and heartbeatTick 1, as etcd's interaction tests
 * do, to keep the scripts short.
 *
 * Commands:
 *   add-nodes N [voters=(1 2 3)] [learners=(4)] [index=I] [checkQuorum=true] [preVote=true]
 *               [readOnly=lease]            — N new nodes with the next IDs. With voters/learners
 *                                             the membership is bootstrapped: as a snapshot at
 *                                             index I (term 1) if index is given, else as the
 *                                             initial membership of an empty log. Without them
 *                                             the node is empty and learns membership from a
 *                                             leader's snapshot (a node joining a cluster).
 *                                             NB: with index=I the first leader is elected in
 *                                             term 1, the bootstrap snapshot's own term, so the
 *                                             snapshot counts as "committed in the leader's
 *                                             term" (matters for ReadIndex; see read_index.txt).
 *   campaign ID                             — RawNode.campaign()
 *   tick-heartbeat ID / tick-election ID    — heartbeatTick / electionTick ticks
 *   propose ID DATA                         — RawNode.propose()
 *   propose-conf-change ID v4 l5 r2 u1 [transition=auto|implicit|explicit]
 *                                           — no changes means "leave the joint config"
 *   read-index ID CTX                       — RawNode.readIndex()
 *   transfer-leadership from=ID to=ID       — RawNode.transferLeader() on `from`
 *   process-ready ID                        — handle one Ready of ID, printing it
 *   deliver-msgs ID                         — deliver every queued message addressed to ID
 *   stabilize [ID…]                         — repeat: each node handles its Ready, then each
 *                                             receives its messages, until nothing is left
 *   isolate ID / recover                    — drop (on delivery) every message from or to ID
 *   compact ID INDEX                        — snapshot ID's state machine at INDEX (already
 *                                             applied) into its storage and compact the log
 *   status ID                               — the leader's view of every follower's progress
 *   raft-state                              — every node's role, term and leader
 *   raft-log ID                             — the entries in ID's storage
 */

import {
  describeConfChange,
  describeConfState,
  describeEntry,
  describeMessage,
  describeReady,
} from '../describe.js';
import { RaftError } from '../errors.js';
import { MemoryStorage } from '../memory-storage.js';
import type { Message } from '../messages.js';
import { RawNode } from '../raw-node.js';
import {
  type ConfChangeSingle,
  type ConfChangeTransition,
  type ConfChangeType,
  type ConfState,
  EMPTY_CONF_STATE,
  EMPTY_SNAPSHOT,
  type Index,
  type NodeId,
  type Snapshot,
  type Term,
} from '../types.js';

// ---- script format ----------------------------------------------------------------------------

/** One `command / ---- / output` block of a script. */
export interface Block {
  /** 1-based line number of the command, for failure messages. */
  readonly line: number;
  readonly command: string;
  readonly expected: string;
}

/** A script: blocks, and the verbatim text between them (comments, blank lines). */
export type Segment = { readonly kind: 'text'; readonly text: string } | ({ readonly kind: 'block' } & Block);

const SEPARATOR = '----';

/** Splits a script into blocks and the text around them. */
export function parseScript(source: string): Segment[] {
  const lines = source.split('\n');
  const segments: Segment[] = [];
  let text: string[] = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i]!;
    if (line.trim() === '' || line.startsWith('#')) {
      text.push(line);
      i++;
      continue;
    }
    if (text.length > 0) segments.push({ kind: 'text', text: text.join('\n') });
    text = [];
    if (lines[i + 1] !== SEPARATOR) {
      throw new Error(`line ${i + 1}: expected "${SEPARATOR}" after the command "${line}"`);
    }
    const out: string[] = [];
    let j = i + 2;
    while (j < lines.length && lines[j]!.trim() !== '') out.push(lines[j++]!);
    segments.push({ kind: 'block', line: i + 1, command: line.trim(), expected: out.join('\n') });
    i = j;
  }
  if (text.length > 0) segments.push({ kind: 'text', text: text.join('\n') });
  return segments;
}

/** Writes a script back, with `outputs[k]` as the output of the k-th block. */
export function formatScript(segments: readonly Segment[], outputs: readonly string[]): string {
  const parts: string[] = [];
  let k = 0;
  for (const s of segments) {
    if (s.kind === 'text') parts.push(s.text);
    else parts.push(`${s.command}\n${SEPARATOR}\n${outputs[k++]!}`);
  }
  return parts.join('\n');
}

/** The outcome of running a script: per block, what was expected and what happened. */
export interface ScriptResult {
  readonly blocks: readonly (Block & { readonly actual: string })[];
  /** The script with every expected output replaced by the actual one. */
  readonly rewritten: string;
}

/** Runs every block of a script in a fresh environment. */
export function runScript(source: string): ScriptResult {
  const segments = parseScript(source);
  const env = new InteractionEnv();
  const blocks: (Block & { actual: string })[] = [];
  for (const s of segments) {
    if (s.kind !== 'block') continue;
    let actual: string;
    try {
      actual = env.handle(s.command);
    } catch (e) {
      const err = e instanceof Error ? e : new Error(String(e));
      err.message = `line ${s.line}: ${s.command}: ${err.message}`;
      throw err;
    }
    blocks.push({ line: s.line, command: s.command, expected: s.expected, actual });
  }
  return {
    blocks,
    rewritten: formatScript(
      segments,
      blocks.map((b) => b.actual),
    ),
  };
}

// ---- command parsing --------------------------------------------------------------------------

interface Command {
  readonly name: string;
  /** Positional arguments. */
  readonly args: readonly string[];
  /** key=value arguments; `key=(1 2 3)` keeps the text inside the parentheses. */
  readonly kv: ReadonlyMap<string, string>;
}

function parseCommand(line: string): Command {
  const tokens = line.match(/\S+=\([^)]*\)|\S+/g) ?? [];
  const [name, ...rest] = tokens;
  if (name === undefined) throw new Error('empty command');
  const args: string[] = [];
  const kv = new Map<string, string>();
  for (const t of rest) {
    const eq = t.indexOf('=');
    if (eq < 0) {
      args.push(t);
      continue;
    }
    let v = t.slice(eq + 1);
    if (v.startsWith('(') && v.endsWith(')')) v = v.slice(1, -1);
    kv.set(t.slice(0, eq), v);
  }
  return { name, args, kv };
}

function idList(s: string | undefined): NodeId[] {
  if (s === undefined) return [];
  return s
    .split(/[\s,]+/)
    .filter((x) => x !== '')
    .map((x) => BigInt(x));
}

function argId(c: Command, i = 0): NodeId {
  const a = c.args[i];
  if (a === undefined) throw new Error(`${c.name}: missing node ID`);
  return BigInt(a);
}

function flag(c: Command, key: string): boolean {
  const v = c.kv.get(key);
  if (v === undefined || v === 'false') return false;
  if (v === 'true') return true;
  throw new Error(`${c.name}: ${key} must be true or false, got ${v}`);
}

const CONF_CHANGE_TYPES: Record<string, ConfChangeType> = {
  v: 'ConfChangeAddNode',
  l: 'ConfChangeAddLearnerNode',
  r: 'ConfChangeRemoveNode',
  u: 'ConfChangeUpdateNode',
};

// ---- the environment --------------------------------------------------------------------------

/** The state machine's state after applying the entry at `index`. */
interface AppliedState {
  readonly index: Index;
  readonly term: Term;
  readonly confState: ConfState;
  /** Payloads applied so far, in order ("appender" state machine). */
  readonly data: string;
}

/**
 * A MemoryStorage whose snapshot() is the latest applied state (etcd's snapOverrideStorage):
 * a host that can snapshot its state machine whenever the leader needs to send one.
 */
class EnvStorage extends MemoryStorage {
  /** One entry per applied index (and the bootstrap or restored snapshot), oldest first. */
  readonly history: AppliedState[] = [];

  override snapshot(): Snapshot {
    const base = super.snapshot();
    const last = this.history[this.history.length - 1];
    if (last === undefined || last.index <= base.metadata.index) return base;
    return {
      metadata: { index: last.index, term: last.term, confState: last.confState },
      data: text.encode(last.data),
    };
  }
}

interface EnvNode {
  readonly id: NodeId;
  readonly raw: RawNode;
  readonly storage: EnvStorage;
}

const ELECTION_TICK = 3;
const HEARTBEAT_TICK = 1;
const text = new TextEncoder();
const untext = new TextDecoder();

/** Nodes, a message queue and the commands that drive them. */
export class InteractionEnv {
  private readonly nodes: EnvNode[] = [];
  /** Messages sent and not yet delivered, in send order. */
  private queue: Message[] = [];
  private readonly isolated = new Set<NodeId>();
  private out: string[] = [];

  /** Runs one command line and returns its output ("ok" when it printed nothing). */
  handle(line: string): string {
    this.out = [];
    const c = parseCommand(line);
    try {
      this.dispatch(c);
    } catch (e) {
      // Refusals the API reports by design are part of the expected output; anything else
      // (a violated invariant, a bug in a script) fails the test.
      if (!(e instanceof RaftError)) throw e;
      this.print(`error: ${e.name}: ${e.message}`);
    }
    return this.out.length === 0 ? 'ok' : this.out.join('\n');
  }

  private print(s: string, indent = 0): void {
    const pad = ' '.repeat(indent);
    for (const l of s.split('\n')) this.out.push(pad + l);
  }

  private node(id: NodeId): EnvNode {
    const n = this.nodes.find((x) => x.id === id);
    if (n === undefined) throw new Error(`no node ${id}`);
    return n;
  }

  private dispatch(c: Command): void {
    switch (c.name) {
      case 'add-nodes':
        this.addNodes(c);
        return;
      case 'campaign':
        this.node(argId(c)).raw.campaign();
        return;
      case 'tick-heartbeat':
        this.tick(argId(c), HEARTBEAT_TICK);
        return;
      case 'tick-election':
        this.tick(argId(c), ELECTION_TICK);
        return;
      case 'propose': {
        const data = c.args[1];
        if (data === undefined) throw new Error('propose: missing data');
        this.node(argId(c)).raw.propose(text.encode(data));
        return;
      }
      case 'propose-conf-change':
        this.proposeConfChange(c);
        return;
      case 'read-index': {
        const ctx = c.args[1];
        if (ctx === undefined) throw new Error('read-index: missing context');
        this.node(argId(c)).raw.readIndex(text.encode(ctx));
        return;
      }
      case 'transfer-leadership': {
        const from = c.kv.get('from');
        const to = c.kv.get('to');
        if (from === undefined || to === undefined) throw new Error('transfer-leadership from=ID to=ID');
        this.node(BigInt(from)).raw.transferLeader(BigInt(to));
        return;
      }
      case 'process-ready':
        this.processReady(this.node(argId(c)), 0);
        return;
      case 'deliver-msgs':
        this.deliverMsgs(argId(c), 0);
        return;
      case 'stabilize':
        this.stabilize(c.args.map((a) => BigInt(a)));
        return;
      case 'isolate':
        this.isolated.add(argId(c));
        return;
      case 'recover':
        this.isolated.clear();
        return;
      case 'compact':
        this.compact(argId(c), Number(c.args[1]) as Index);
        return;
      case 'status':
        this.status(argId(c));
        return;
      case 'raft-state':
        this.raftState();
        return;
      case 'raft-log':
        this.raftLog(argId(c));
        return;
      default:
        throw new Error(`unknown command ${c.name}`);
    }
  }

  private addNodes(c: Command): void {
    const n = Number(c.args[0] ?? '1');
    const voters = idList(c.kv.get('voters'));
    const learners = idList(c.kv.get('learners'));
    const index = c.kv.get('index');
    const readOnly = c.kv.get('readOnly') ?? 'safe';
    if (readOnly !== 'safe' && readOnly !== 'lease') throw new Error(`readOnly must be safe or lease`);
    for (let k = 0; k < n; k++) {
      const id = BigInt(this.nodes.length + 1);
      let storage: EnvStorage;
      if (voters.length === 0 && learners.length === 0) {
        storage = new EnvStorage();
      } else if (index === undefined) {
        storage = new EnvStorage({ voters, learners });
      } else {
        storage = new EnvStorage();
        const confState: ConfState = { ...EMPTY_CONF_STATE, voters, learners };
        storage.applySnapshot({
          ...EMPTY_SNAPSHOT,
          metadata: { index: Number(index) as Index, term: 1 as Term, confState },
        });
      }
      const { metadata } = storage.snapshot();
      const start: AppliedState = {
        index: metadata.index,
        term: metadata.term,
        confState: metadata.confState,
        data: '',
      };
      storage.history.push(start);
      const raw = new RawNode({
        id,
        storage,
        applied: start.index,
        electionTick: ELECTION_TICK,
        heartbeatTick: HEARTBEAT_TICK,
        checkQuorum: flag(c, 'checkQuorum'),
        preVote: flag(c, 'preVote'),
        readOnlyOption: readOnly === 'lease' ? 'ReadOnlyLeaseBased' : 'ReadOnlySafe',
        rand: () => 0,
      });
      this.nodes.push({ id, raw, storage });
      const st = raw.status();
      this.print(
        `${id}: ${describeConfState(st.confState)} term=${st.hardState.term} ` +
          `committed=${st.committed} applied=${st.applied} last=${st.lastIndex}`,
      );
    }
  }

  private tick(id: NodeId, times: number): void {
    const raw = this.node(id).raw;
    for (let i = 0; i < times; i++) raw.tick();
  }

  private proposeConfChange(c: Command): void {
    const raw = this.node(argId(c)).raw;
    const transition = (c.kv.get('transition') ?? 'auto') as ConfChangeTransition;
    if (!['auto', 'implicit', 'explicit'].includes(transition))
      throw new Error(`bad transition ${transition}`);
    const changes: ConfChangeSingle[] = c.args.slice(1).map((t) => {
      const type = CONF_CHANGE_TYPES[t[0] ?? ''];
      if (type === undefined) throw new Error(`bad conf change ${t}`);
      return { type, nodeId: BigInt(t.slice(1)) };
    });
    raw.proposeConfChange({ transition, changes, context: new Uint8Array(0) });
  }

  /** Handles one Ready of `n` if it has one: print, persist, apply, queue messages, advance. */
  private processReady(n: EnvNode, indent: number): void {
    if (!n.raw.hasReady()) return;
    const rd = n.raw.ready();
    // hasReady() promised work: an empty description would be a finding (and a blank line would
    // end the block), so say so.
    this.print(describeReady(rd) || '(empty Ready)', indent);
    const history = n.storage.history;
    if (rd.snapshot !== undefined) {
      const { index, term, confState } = rd.snapshot.metadata;
      n.storage.applySnapshot(rd.snapshot);
      history.push({ index, term, confState, data: untext.decode(rd.snapshot.data) });
    }
    n.storage.append(rd.entries);
    if (rd.hardState !== undefined) n.storage.setHardState(rd.hardState);
    for (const e of rd.committedEntries) {
      const prev = history[history.length - 1]!;
      if (e.type === 'EntryConfChange') {
        const cs = n.raw.applyConfChange(e.change);
        this.print(`${n.id} applied ${describeConfChange(e.change)}: ${describeConfState(cs)}`, indent);
        history.push({ index: e.index, term: e.term, confState: cs, data: prev.data });
      } else {
        const payload = untext.decode(e.data);
        const data = payload === '' ? prev.data : prev.data === '' ? payload : `${prev.data} ${payload}`;
        history.push({ index: e.index, term: e.term, confState: prev.confState, data });
      }
    }
    this.queue.push(...rd.messages, ...rd.persistedMessages);
    n.raw.advance();
  }

  /** Delivers every queued message for `to`; messages from or to isolated nodes are dropped. */
  private deliverMsgs(to: NodeId, indent: number): void {
    const n = this.node(to);
    const mine = this.queue.filter((m) => m.to === to);
    this.queue = this.queue.filter((m) => m.to !== to);
    for (const m of mine) {
      if (this.isolated.has(m.from) || this.isolated.has(m.to)) {
        this.print(`dropped: ${describeMessage(m)}`, indent);
        continue;
      }
      this.print(describeMessage(m), indent);
      n.raw.step(m);
    }
  }

  private stabilize(ids: readonly NodeId[]): void {
    const nodes = ids.length === 0 ? this.nodes : ids.map((id) => this.node(id));
    for (let round = 0; ; round++) {
      if (round > 1000) throw new Error('stabilize: no progress after 1000 rounds');
      let done = true;
      for (const n of nodes) {
        if (!n.raw.hasReady()) continue;
        done = false;
        this.print(`> ${n.id} handling Ready`);
        this.processReady(n, 2);
      }
      for (const n of nodes) {
        if (!this.queue.some((m) => m.to === n.id)) continue;
        done = false;
        this.print(`> ${n.id} receiving messages`);
        this.deliverMsgs(n.id, 2);
      }
      if (done) return;
    }
  }

  private compact(id: NodeId, index: Index): void {
    const n = this.node(id);
    const st = n.storage.history.find((h) => h.index === index);
    if (st === undefined) throw new Error(`compact: node ${id} has not applied index ${index}`);
    n.storage.createSnapshot(index, st.confState, text.encode(st.data));
    n.storage.compact(index);
    this.raftLog(id);
  }

  private status(id: NodeId): void {
    const st = this.node(id).raw.status();
    if (st.softState.raftState !== 'StateLeader') {
      this.print(`${id} is not the leader (${st.softState.raftState})`);
      return;
    }
    for (const [pid, pr] of st.progress) {
      let line = `${pid}: ${pr.state} match=${pr.match} next=${pr.next}`;
      if (pr.isLearner) line += ' learner';
      if (!pr.recentActive) line += ' inactive';
      this.print(line);
    }
    if (st.leadTransferee !== 0n) this.print(`leadTransferee=${st.leadTransferee}`);
  }

  private raftState(): void {
    for (const n of this.nodes) {
      const st = n.raw.status();
      const cs = st.confState;
      const role = [...cs.voters, ...cs.votersOutgoing].includes(n.id)
        ? 'Voter'
        : cs.learners.includes(n.id)
          ? 'Learner'
          : 'Non-Member';
      this.print(
        `${n.id}: ${st.softState.raftState} (${role}) Term:${st.hardState.term} Lead:${st.softState.lead}`,
      );
    }
  }

  private raftLog(id: NodeId): void {
    const s = this.node(id).storage;
    const first = s.firstIndex();
    const last = s.lastIndex();
    if (last < first) {
      this.print(`log is empty: first index=${first}, last index=${last}`);
      return;
    }
    for (const e of s.entries(first, (last + 1) as Index, Number.MAX_SAFE_INTEGER))
      this.print(describeEntry(e));
  }
}
