/**
 * The simulation's watchers: each watches every key with prev_kv from revision 2, and when its
 * member goes away resumes on a random running member from the revision after the last one it
 * received (from the compaction revision if that one was compacted) — one WatchSegment per
 * connection, for checkWatches.
 */

import type { Event, KeyValue, Watcher } from '@tsetcd/mvcc';
import { reach, type SimContext, sleep, text } from './sim-context.js';
import type { ObservedEvent, ObservedKv, SegmentEnd, WatchSegment } from './watch-check.js';

/** One logical watcher. */
export class SimWatcher {
  readonly segments: WatchSegment[] = [];
  /** The next revision expected. */
  next = 2;
  private current: Watcher | undefined;
  private stopped = false;
  private loop: Promise<void> | undefined;

  constructor(
    private readonly ctx: SimContext,
    private readonly id: number,
  ) {}

  start(): void {
    this.loop = this.run();
  }

  /** Stops watching (the current segment ends 'open'). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.current?.cancel();
    await this.loop;
  }

  private async run(): Promise<void> {
    const ctx = this.ctx;
    let member = ctx.initial[this.id % ctx.initial.length]!;
    while (!this.stopped) {
      const node = await reach(ctx, member);
      if (node === undefined) {
        if (this.stopped || ctx.done) {
          // The run is settling: any running member will do.
          member = ctx.initial[(ctx.initial.indexOf(member) + 1) % ctx.initial.length]!;
          await sleep(ctx, 20);
          continue;
        }
        return;
      }
      const responses: ObservedEvent[][] = [];
      const startRevision = this.next;
      let end: SegmentEnd = { kind: 'broken' };
      try {
        const w = node.watch('\0', { fromKey: true, startRevision, prevKv: true });
        this.current = w;
        for await (const resp of w) {
          if (resp.events.length > 0) {
            responses.push(resp.events.map(observe));
            this.next = resp.events[resp.events.length - 1]!.kv.modRevision + 1;
          }
          if (resp.canceled) {
            if (resp.compactRevision > 0) {
              end = { kind: 'compacted', compactRevision: resp.compactRevision };
              this.next = Math.max(this.next, resp.compactRevision);
            }
            break;
          }
        }
      } catch {
        // the member went away mid-watch
      }
      this.current = undefined;
      if (this.stopped && end.kind === 'broken') end = { kind: 'open' };
      this.segments.push({ member: node.parts.config.name, startRevision, responses, end });
      if (!this.stopped) {
        // Resume elsewhere: any of the initial members.
        member = ctx.initial[ctx.rand(ctx.initial.length)]!;
        await sleep(ctx, 5);
      }
    }
  }
}

/** A key-value as the checks compare them. */
export function observeKv(kv: KeyValue): ObservedKv {
  return {
    key: text(kv.key),
    value: text(kv.value),
    createRevision: kv.createRevision,
    modRevision: kv.modRevision,
    version: kv.version,
    lease: kv.lease.toString(),
  };
}

function observe(e: Event): ObservedEvent {
  return {
    type: e.type,
    kv: observeKv(e.kv),
    ...(e.prevKv !== undefined ? { prevKv: observeKv(e.prevKv) } : {}),
  };
}
