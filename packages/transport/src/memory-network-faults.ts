/**
 * The in-memory network's fault model: which directed links are cut (partitions, one-way cuts,
 * isolated members), what each link does to the messages it carries (drop, duplicate, delay,
 * reorder), and the network's single seeded random source that every fault is drawn from.
 *
 * Bookkeeping only: no queue, no clock, no delivery. memory-network.ts asks it questions when a
 * message is sent and again when it arrives.
 */

import { type NodeId, type RandomSource, seededRandom } from '@tsetcd/raft';

/** What a link does to the messages it carries; every field defaults to a perfect link. */
export interface LinkFaults {
  /** Probability in [0, 1] that a message is lost. */
  readonly drop?: number;
  /** Probability in [0, 1] that a message arrives twice (the copy is delayed independently). */
  readonly duplicate?: number;
  /** Delay in virtual milliseconds, drawn uniformly from the integers in [min, max]. */
  readonly delay?: readonly [minMs: number, maxMs: number];
  /**
   * Whether each message's delay is drawn independently, so a later message may overtake an
   * earlier one. Without it the link stays FIFO even with delay (a message never arrives before
   * one sent ahead of it), as the Transport contract promises.
   */
  readonly reorder?: boolean;
}

/** A LinkFaults with every default filled in. */
export type ResolvedLinkFaults = Required<LinkFaults>;

/** Either end of a link rule: one member, or every member. */
export type LinkEnd = NodeId | '*';

/** The faults of a link nobody configured: it loses, duplicates and delays nothing. */
export const PERFECT_LINK: ResolvedLinkFaults = Object.freeze({
  drop: 0,
  duplicate: 0,
  delay: Object.freeze([0, 0] as const),
  reorder: false,
});

function probability(v: number | undefined, name: string): number {
  if (v === undefined) return 0;
  if (!(v >= 0 && v <= 1)) throw new RangeError(`memory network: ${name} must be in [0, 1], got ${v}`);
  return v;
}

/** Checks a LinkFaults and fills in its defaults; RangeError on nonsense (a test's mistake). */
export function resolveLinkFaults(f: LinkFaults): ResolvedLinkFaults {
  const [min, max] = f.delay ?? [0, 0];
  if (!Number.isSafeInteger(min) || !Number.isSafeInteger(max) || min < 0 || max < min) {
    throw new RangeError(`memory network: delay must be integers 0 <= min <= max, got [${min}, ${max}]`);
  }
  return {
    drop: probability(f.drop, 'drop'),
    duplicate: probability(f.duplicate, 'duplicate'),
    delay: [min, max],
    reorder: f.reorder ?? false,
  };
}

const CHANCE_SCALE = 2 ** 32;

/** The network's one random stream: a seed replays every fault, in send order. */
export class NetworkRandom {
  private readonly source: RandomSource;

  constructor(seed: number) {
    if (!Number.isSafeInteger(seed))
      throw new RangeError(`memory network: seed must be an integer, got ${seed}`);
    this.source = seededRandom(seed);
  }

  /** True with probability `p`; draws nothing when the outcome is certain. */
  chance(p: number): boolean {
    if (p <= 0) return false;
    if (p >= 1) return true;
    return this.source(CHANCE_SCALE) < p * CHANCE_SCALE;
  }

  /** An integer in [min, max]; draws nothing when min === max. */
  between(min: number, max: number): number {
    return min === max ? min : min + this.source(max - min + 1);
  }
}

function key(from: LinkEnd, to: LinkEnd): string {
  return `${from}>${to}`;
}

/** Cut links and per-link fault rules. */
export class FaultTable {
  /** Directed links `from>to` that carry nothing. */
  private readonly cuts = new Set<string>();
  /** Members cut off from everyone, including members that join later. */
  private readonly isolated = new Set<NodeId>();
  /** Rules keyed `from>to`, where either end may be '*'. */
  private readonly rules = new Map<string, ResolvedLinkFaults>();

  /** Cuts every link between members of different groups, both ways. */
  partition(groups: readonly (readonly NodeId[])[]): void {
    groups.forEach((a, i) => {
      for (const b of groups.slice(i + 1)) {
        for (const x of a) {
          for (const y of b) {
            this.cut(x, y);
            this.cut(y, x);
          }
        }
      }
    });
  }

  /** Cuts the directed link from → to only. */
  cut(from: NodeId, to: NodeId): void {
    this.cuts.add(key(from, to));
  }

  /** Cuts `id` off from every other member, both ways. */
  isolate(id: NodeId): void {
    this.isolated.add(id);
  }

  /** Restores every cut link and isolated member; fault rules stay. */
  heal(): void {
    this.cuts.clear();
    this.isolated.clear();
  }

  /** Whether from → to is cut. A member always reaches itself. */
  isCut(from: NodeId, to: NodeId): boolean {
    if (from === to) return false;
    return this.isolated.has(from) || this.isolated.has(to) || this.cuts.has(key(from, to));
  }

  /** Sets the rule for from → to (either may be '*'), replacing any rule with the same ends. */
  setLinkFaults(from: LinkEnd, to: LinkEnd, faults: LinkFaults): void {
    this.rules.set(key(from, to), resolveLinkFaults(faults));
  }

  /** Forgets every fault rule: all links become perfect (cuts stay). */
  clearLinkFaults(): void {
    this.rules.clear();
  }

  /** The faults of from → to: the most specific rule wins — exact, then from→*, then *→to, then *→*. */
  linkFaults(from: NodeId, to: NodeId): ResolvedLinkFaults {
    if (this.rules.size === 0) return PERFECT_LINK;
    return (
      this.rules.get(key(from, to)) ??
      this.rules.get(key(from, '*')) ??
      this.rules.get(key('*', to)) ??
      this.rules.get(key('*', '*')) ??
      PERFECT_LINK
    );
  }
}
