/**
 * The run-wide record the invariant checks compare against, and the checks themselves. It keeps,
 * across crashes and for the whole run:
 *   - term → the one node seen leading it (election safety, Raft §5.2), and (node, term) → the
 *     one candidate it granted its vote to;
 *   - (index, term) → the entry and the term before it, for every entry any node persisted. Two
 *     logs that agree on an (index, term) must agree on the entry and on the previous term; by
 *     induction that is the whole Log Matching Property (§5.3), checked one entry at a time;
 *   - index → the entry first applied there, the digest of the state machine after it, and an
 *     upper bound on the term that committed it (state machine safety §5.4.3, leader
 *     completeness §5.4.1);
 *   - proposals made, proposals acknowledged (applied somewhere, hence committed), and the
 *     lowest index each ReadIndex answer may carry.
 * Every check throws an InvariantViolation naming the property. Cost is O(1) per event, except
 * the leader completeness scan, which runs once per (leader, term).
 */

import type { MemoryStorage } from '../../memory-storage.js';
import type { Entry, Index, NodeId, ReadState, Term } from '../../types.js';
import { payloadText } from './describe.js';
import { entryKey } from './state-machine.js';
import { violation } from './violation.js';

interface AppliedRecord {
  readonly term: Term;
  readonly key: string;
  /** The state machine digest right after applying this entry. */
  readonly digest: number;
  /**
   * An upper bound on the term of the leader that first committed the entry: the smallest current
   * term of any node when it applied it (a node learns an index is committed from a leader of a
   * term <= its own). Every leader of a larger term must hold the entry (§5.4.1).
   */
  commitUpper: number;
  /** Who applied it first (for messages). */
  readonly firstBy: NodeId;
}

interface LogRecord {
  readonly key: string;
  /** Term of the entry at index - 1, or -1 if the first node to persist it had compacted that. */
  prevTerm: number;
  readonly node: NodeId;
}

/** Terms are counters well under 2^20 in any simulation, so (index, term) packs into one number. */
const TERM_SPACE = 1 << 20;

/** Run-wide facts and the checks against them. */
export class History {
  private readonly leaders = new Map<number, NodeId>();
  private readonly votes = new Map<string, NodeId>();
  private readonly completenessChecked = new Set<string>();
  private readonly log = new Map<number, LogRecord>();
  private readonly applied: (AppliedRecord | undefined)[] = [];
  private maxAppliedIndex = 0;
  private readonly proposedPayloads = new Set<string>();
  private readonly ackedAt = new Map<string, Index>();
  private readonly readFloor = new Map<string, number>();

  /** The highest index applied anywhere: everything up to it is known committed. */
  get maxApplied(): number {
    return this.maxAppliedIndex;
  }

  /** Acknowledged proposals (applied somewhere) and the index each first committed at. */
  get acknowledged(): ReadonlyMap<string, Index> {
    return this.ackedAt;
  }

  /** How many distinct terms had a leader. */
  get leaderTerms(): number {
    return this.leaders.size;
  }

  /** The entry first applied at `index` (its term and content key), if any. */
  appliedAt(
    index: number,
  ): { readonly term: Term; readonly key: string; readonly digest: number } | undefined {
    return this.applied[index];
  }

  /** Election safety: at most one leader per term, over the whole run. Returns true the first time. */
  observeLeader(node: NodeId, term: Term): boolean {
    const seen = this.leaders.get(term);
    if (seen === undefined) {
      this.leaders.set(term, node);
      return true;
    }
    if (seen !== node) violation('election safety', `nodes ${seen} and ${node} both lead term ${term}`);
    return false;
  }

  /** Raft §5.2: a node grants at most one vote per term, even across crashes. */
  recordVote(node: NodeId, term: Term, candidate: NodeId): void {
    const key = `${node}@${term}`;
    const prev = this.votes.get(key);
    if (prev === undefined) this.votes.set(key, candidate);
    else if (prev !== candidate) {
      violation(
        'one vote per term',
        `node ${node} granted its term-${term} vote to ${prev} and to ${candidate}`,
      );
    }
  }

  /** Log matching, for an entry `node` just persisted after an entry of term `prevTerm` (-1: compacted). */
  recordLogEntry(node: NodeId, e: Entry, prevTerm: number): void {
    if (e.term >= TERM_SPACE) throw new RangeError(`sim: term ${e.term} too large`);
    const k = e.index * TERM_SPACE + e.term;
    const key = entryKey(e);
    const rec = this.log.get(k);
    if (rec === undefined) {
      this.log.set(k, { key, prevTerm, node });
      return;
    }
    if (rec.key !== key) {
      violation(
        'log matching',
        `two entries at ${e.index}/${e.term}: "${rec.key}" on node ${rec.node}, "${key}" on node ${node}`,
      );
    }
    if (prevTerm < 0) return;
    if (rec.prevTerm < 0) {
      rec.prevTerm = prevTerm;
    } else if (rec.prevTerm !== prevTerm) {
      violation(
        'log matching',
        `logs agree on ${e.index}/${e.term} but the entry before it has term ${rec.prevTerm} on ` +
          `node ${rec.node} and ${prevTerm} on node ${node}`,
      );
    }
  }

  /**
   * Leader completeness: once per (leader, term), the leader's persisted log (which then holds
   * its whole log, see SimNode) must contain every entry committed in an earlier term.
   */
  checkLeaderLog(node: NodeId, term: Term, disk: MemoryStorage): void {
    const key = `${node}@${term}`;
    if (this.completenessChecked.has(key)) return;
    this.completenessChecked.add(key);
    const last = disk.lastIndex();
    // Below firstIndex-1 the entries are compacted into the leader's own snapshot, whose state
    // machine the state machine safety check already vouches for.
    for (let i = Math.max(1, disk.firstIndex() - 1); i <= this.maxAppliedIndex; i++) {
      const rec = this.applied[i];
      if (rec === undefined || rec.commitUpper >= term) continue;
      if (i > last) {
        violation(
          'leader completeness',
          `node ${node} leads term ${term} but its log ends at ${last}, without committed entry ` +
            `${i}/${rec.term} "${rec.key}"`,
        );
      }
      const t = disk.term(i as Index);
      if (t !== rec.term) {
        violation(
          'leader completeness',
          `node ${node} leads term ${term} with ${i}/${t} in its log, but ${i}/${rec.term} "${rec.key}" ` +
            'was committed',
        );
      }
    }
  }

  /** State machine safety, for `node` applying `e` (its state machine digest is now `digest`). */
  recordApply(node: NodeId, e: Entry, digest: number, nodeTerm: Term): void {
    const key = entryKey(e);
    const rec = this.applied[e.index];
    if (rec === undefined) {
      this.applied[e.index] = { term: e.term, key, digest, commitUpper: nodeTerm, firstBy: node };
      if (e.index > this.maxAppliedIndex) this.maxAppliedIndex = e.index;
      if (e.type === 'EntryNormal' && e.data.length > 0) this.acknowledge(node, e);
      return;
    }
    if (rec.term !== e.term || rec.key !== key) {
      violation(
        'state machine safety',
        `node ${node} applied ${e.index}/${e.term} "${key}" but node ${rec.firstBy} applied ` +
          `${e.index}/${rec.term} "${rec.key}"`,
      );
    }
    if (rec.digest !== digest) {
      violation(
        'state machine safety',
        `node ${node} applied the same entry ${e.index}/${e.term} as node ${rec.firstBy}, but their ` +
          'states differ: some earlier entry or snapshot differed',
      );
    }
    if (nodeTerm < rec.commitUpper) rec.commitUpper = nodeTerm;
  }

  /** State machine safety for a state machine restored from a snapshot at `index`. */
  checkRestore(node: NodeId, index: Index, digest: number, from: string): void {
    if (index === 0) {
      if (digest !== 0)
        violation('state machine safety', `node ${node} restored a non-empty state at index 0`);
      return;
    }
    const rec = this.applied[index];
    if (rec === undefined) {
      violation('state machine safety', `node ${node} restored ${from} at ${index}, which nobody applied`);
    }
    if (rec.digest !== digest) {
      violation(
        'state machine safety',
        `node ${node} restored ${from} at ${index} whose state differs from what node ${rec.firstBy} applied`,
      );
    }
  }

  /** Registers a payload a client proposed, so an applied payload nobody proposed is caught. */
  propose(payload: string): void {
    this.proposedPayloads.add(payload);
  }

  /** Registers a ReadIndex request: its answer must be at least everything committed by now. */
  requestRead(ctx: string): void {
    this.readFloor.set(ctx, this.maxAppliedIndex);
  }

  /** Linearizability of ReadIndex (thesis §6.4): the read index covers every earlier commit. */
  checkReadState(node: NodeId, rs: ReadState): void {
    const ctx = payloadText(rs.requestCtx);
    const floor = this.readFloor.get(ctx);
    if (floor === undefined)
      violation('integrity', `node ${node} got a read state for unknown request "${ctx}"`);
    if (rs.index < floor) {
      violation(
        'read index linearizability',
        `node ${node} got read index ${rs.index} for "${ctx}", but index ${floor} was committed before the read began`,
      );
    }
  }

  private acknowledge(node: NodeId, e: Entry & { type: 'EntryNormal' }): void {
    const payload = payloadText(e.data);
    if (!this.proposedPayloads.has(payload)) {
      violation('integrity', `node ${node} applied ${e.index}/${e.term} "${payload}", which nobody proposed`);
    }
    if (!this.ackedAt.has(payload)) this.ackedAt.set(payload, e.index);
  }
}
