/**
 * checkWatches: etcd's watch guarantees, checked on what watchers actually received.
 *
 * A logical watcher watches every key from a start revision; when its member crashes it resumes
 * on another from the revision after the last one it received (a *segment* per connection), or,
 * if that revision was compacted, from the compaction revision. The workload writes only keys in
 * the watched range and every revision comes from a write, so each revision has at least one
 * event, and a watcher's revisions must be exactly start, start+1, start+2, … Checked:
 *   - ordered, no duplicates, no gaps (except across a reported compaction);
 *   - atomic: all events of a revision in one response;
 *   - consistent: every watcher that received revision R received the same events for it;
 *   - correct: replaying the merged log from revision 2 gives each event's create revision,
 *     version and prev_kv, and deletes only keys that exist;
 *   - complete: an open watcher reached the final revision.
 * Returns the merged log and the state it implies, for the caller to compare with the store.
 */

/** A key-value as a watcher received it (bytes as strings, lease as a decimal string). */
export interface ObservedKv {
  readonly key: string;
  readonly value: string;
  readonly createRevision: number;
  readonly modRevision: number;
  readonly version: number;
  readonly lease: string;
}

/** One event as received. */
export interface ObservedEvent {
  readonly type: 'PUT' | 'DELETE';
  readonly kv: ObservedKv;
  readonly prevKv?: ObservedKv;
}

/** How a segment ended. */
export type SegmentEnd =
  | { readonly kind: 'open' }
  | { readonly kind: 'broken' }
  | { readonly kind: 'compacted'; readonly compactRevision: number };

/** One connection of a logical watcher. */
export interface WatchSegment {
  readonly member: string;
  readonly startRevision: number;
  /** Non-empty responses (events), in the order received. */
  readonly responses: readonly (readonly ObservedEvent[])[];
  readonly end: SegmentEnd;
}

/** What checkWatches found. */
export interface WatchCheckResult {
  readonly violations: string[];
  /** Events by revision, merged over every watcher. */
  readonly log: ReadonlyMap<number, readonly ObservedEvent[]>;
  /** The highest R such that the log holds every revision 2..R. */
  readonly completeThrough: number;
  /** Keys and their key-values at `completeThrough`, by replaying the log. */
  readonly state: ReadonlyMap<string, ObservedKv>;
  /** Events received in total (over all watchers). */
  readonly events: number;
}

/** Checks logical watchers (each a list of segments); see the file comment. */
export function checkWatches(
  watchers: readonly (readonly WatchSegment[])[],
  finalRevision: number,
): WatchCheckResult {
  const violations: string[] = [];
  const log = new Map<number, ObservedEvent[]>();
  const logFrom = new Map<number, string>();
  let events = 0;
  watchers.forEach((segments, w) => {
    let resumeAt: number | undefined;
    for (const [s, seg] of segments.entries()) {
      const where = `watcher ${w} segment ${s} (member ${seg.member})`;
      if (resumeAt !== undefined && seg.startRevision !== resumeAt) {
        violations.push(`${where}: resumed from ${seg.startRevision}, not ${resumeAt}`);
      }
      let expected = seg.startRevision;
      for (const resp of seg.responses) {
        const first = resp[0];
        if (first === undefined) continue;
        events += resp.length;
        if (first.kv.modRevision !== expected) {
          const what = first.kv.modRevision > expected ? 'a gap' : 'a duplicate or out-of-order revision';
          violations.push(`${where}: ${what}: got revision ${first.kv.modRevision}, expected ${expected}`);
        }
        let rev: number = first.kv.modRevision;
        let group: ObservedEvent[] = [];
        const close = () => {
          mergeRevision(log, logFrom, rev, group, where, violations);
          group = [];
        };
        for (const e of resp) {
          if (e.kv.modRevision !== rev) {
            if (e.kv.modRevision !== rev + 1) {
              violations.push(`${where}: revision ${e.kv.modRevision} follows ${rev} in one response`);
            }
            close();
            rev = e.kv.modRevision;
          }
          group.push(e);
        }
        close();
        expected = rev + 1;
      }
      resumeAt = seg.end.kind === 'compacted' ? undefined : expected;
      if (seg.end.kind === 'open' && s === segments.length - 1 && expected !== finalRevision + 1) {
        violations.push(`${where}: stopped at revision ${expected - 1}; the store is at ${finalRevision}`);
      }
    }
  });
  let completeThrough = 1;
  while (log.has(completeThrough + 1)) completeThrough++;
  const state = replayLog(log, completeThrough, violations);
  return { violations, log, completeThrough, state, events };
}

/** Adds one revision's events from one watcher, or compares them with what another received. */
function mergeRevision(
  log: Map<number, ObservedEvent[]>,
  logFrom: Map<number, string>,
  rev: number,
  group: ObservedEvent[],
  where: string,
  violations: string[],
): void {
  const keys = new Set<string>();
  for (const e of group) {
    if (keys.has(e.kv.key)) violations.push(`${where}: key ${e.kv.key} twice in revision ${rev}`);
    keys.add(e.kv.key);
  }
  const seen = log.get(rev);
  if (seen === undefined) {
    log.set(rev, group);
    logFrom.set(rev, where);
    return;
  }
  // prev_kv is left out of the comparison: one watcher may have it where another's was compacted.
  const a = JSON.stringify(seen.map(strip));
  const b = JSON.stringify(group.map(strip));
  if (a !== b) violations.push(`revision ${rev}: ${logFrom.get(rev)} received ${a}, ${where} received ${b}`);
}

function strip(e: ObservedEvent): unknown {
  return { type: e.type, kv: e.kv };
}

/** Replays revisions 2..through, checking each event against the state before it. */
function replayLog(
  log: ReadonlyMap<number, readonly ObservedEvent[]>,
  through: number,
  violations: string[],
): Map<string, ObservedKv> {
  const state = new Map<string, ObservedKv>();
  for (let rev = 2; rev <= through; rev++) {
    for (const e of log.get(rev) ?? []) {
      const before = state.get(e.kv.key);
      const at = `revision ${rev} ${e.type} ${e.kv.key}`;
      if (e.prevKv !== undefined && JSON.stringify(e.prevKv) !== JSON.stringify(before)) {
        violations.push(
          `${at}: prev_kv ${JSON.stringify(e.prevKv)}, but the key was ${JSON.stringify(before)}`,
        );
      }
      if (e.type === 'DELETE') {
        if (before === undefined) violations.push(`${at}: deletes a key that does not exist`);
        state.delete(e.kv.key);
        continue;
      }
      const create = before?.createRevision ?? rev;
      const version = (before?.version ?? 0) + 1;
      if (e.kv.createRevision !== create || e.kv.version !== version) {
        violations.push(
          `${at}: create ${e.kv.createRevision} version ${e.kv.version}, expected create ${create} version ${version}`,
        );
      }
      state.set(e.kv.key, e.kv);
    }
  }
  return state;
}
