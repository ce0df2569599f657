/**
 * The replicated state machine of a simulated node. It does not keep the applied payloads, only
 * the applied index and a hash chain over every applied entry (`digest`), which is all the safety
 * checks need: two nodes whose digests agree at index i applied the same entries 1..i. Its
 * snapshot is those two numbers, so snapshots stay tiny however long the run.
 */

import { asIndex, type Entry, type Index, type Snapshot } from '../../types.js';
import { describeConfChange, payloadText } from './describe.js';

/** The identity of an entry's content (not its position): what "the same entry" compares. */
export function entryKey(e: Entry): string {
  if (e.type === 'EntryConfChange') return `cc:${describeConfChange(e.change)}`;
  return e.data.length === 0 ? '∅' : payloadText(e.data);
}

/** Chains `text` onto `prev` (cyrb53: a 53-bit hash, so accidental collisions are negligible). */
export function chainDigest(prev: number, text: string): number {
  let h1 = 0xdeadbeef ^ (prev >>> 0);
  let h2 = 0x41c6ce57 ^ Math.floor(prev / 0x100000000);
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

/** The state machine's contents could not be restored or an entry was applied out of order. */
export class StateMachineError extends Error {
  constructor(detail: string) {
    super(detail);
    this.name = 'StateMachineError';
  }
}

const ENCODER = new TextEncoder();
const DECODER = new TextDecoder();

/** A digest-only state machine: applied index plus a hash chain over the applied entries. */
export class StateMachine {
  private constructor(
    private index: Index,
    private chain: number,
  ) {}

  /** A state machine with nothing applied. */
  static empty(): StateMachine {
    return new StateMachine(asIndex(0), 0);
  }

  /** Rebuilds the state machine from a snapshot's data (empty data: the index-0 bootstrap snapshot). */
  static restore(snap: Snapshot): StateMachine {
    if (snap.data.length === 0) {
      if (snap.metadata.index !== 0) {
        throw new StateMachineError(`snapshot ${snap.metadata.index} carries no state machine data`);
      }
      return StateMachine.empty();
    }
    const parsed = JSON.parse(DECODER.decode(snap.data)) as { index: number; digest: number };
    if (parsed.index !== snap.metadata.index) {
      throw new StateMachineError(
        `snapshot metadata index ${snap.metadata.index} but its data is the state at ${parsed.index}`,
      );
    }
    return new StateMachine(asIndex(parsed.index), parsed.digest);
  }

  /** The index of the last applied entry. */
  get appliedIndex(): Index {
    return this.index;
  }

  /** The hash chain over entries 1..appliedIndex. */
  get digest(): number {
    return this.chain;
  }

  /** Applies the next entry; entries must come in index order with no gap (Ready contract step 4). */
  apply(e: Entry): void {
    if (e.index !== this.index + 1) {
      throw new StateMachineError(`applied entry ${e.index}/${e.term} right after index ${this.index}`);
    }
    this.chain = chainDigest(this.chain, `${e.index}/${e.term}/${entryKey(e)}`);
    this.index = e.index;
  }

  /** The snapshot data for the current state. */
  encode(): Uint8Array {
    return ENCODER.encode(JSON.stringify({ index: this.index, digest: this.chain }));
  }
}
