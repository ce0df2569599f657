/**
 * The simulator's event trace. In the common (CI) case it keeps only the last few events, and
 * renders them lazily: each event is a closure over immutable values that becomes text only when
 * a failure prints the tail. When a sink or hashing is requested, every line is rendered at once,
 * printed and/or folded into a hash, so two runs of one seed can be compared line for line.
 */

/** Where full trace lines go (`sim-cli --trace` prints them). */
export type TraceSink = (line: string) => void;

/** How much of the trace to keep. */
export interface TraceOptions {
  /** How many of the most recent lines a failure report includes. */
  readonly keep: number;
  /** Receives every line as it happens. */
  readonly sink?: TraceSink;
  /** Fold every line into `hash()` (costs rendering every line). */
  readonly hashing?: boolean;
}

/** Default number of trace lines a failure report ends with. */
export const DEFAULT_TRACE_TAIL = 30;

interface TraceEvent {
  readonly step: number;
  text: string | (() => string);
}

/** A bounded, lazily rendered event log with an optional full sink and running hash. */
export class Trace {
  /** The simulation step the next events belong to; the cluster sets it. */
  step = 0;
  private readonly ring: (TraceEvent | undefined)[];
  private next = 0;
  private h1 = 0x811c9dc5;
  private h2 = 0x01000193;
  private lines = 0;
  private readonly eager: boolean;

  constructor(private readonly options: TraceOptions) {
    this.ring = new Array<TraceEvent | undefined>(Math.max(1, options.keep));
    this.eager = options.sink !== undefined || options.hashing === true;
  }

  /** Records one event; `text` is called at most once, and only if the line is ever needed. */
  add(text: () => string): void {
    const ev: TraceEvent = { step: this.step, text };
    if (this.eager) {
      const line = render(ev);
      this.options.sink?.(line);
      if (this.options.hashing === true) this.fold(line);
    }
    this.ring[this.next] = ev;
    this.next = (this.next + 1) % this.ring.length;
    this.lines++;
  }

  /** The most recent lines, oldest first. */
  tail(): string[] {
    const out: string[] = [];
    for (let i = 0; i < this.ring.length; i++) {
      const ev = this.ring[(this.next + i) % this.ring.length];
      if (ev !== undefined) out.push(render(ev));
    }
    return out;
  }

  /** A hash of every line so far (only meaningful with `hashing`), and how many lines there were. */
  hash(): string {
    const hex = (n: number) => (n >>> 0).toString(16).padStart(8, '0');
    return `${hex(this.h1)}${hex(this.h2)}:${this.lines}`;
  }

  private fold(line: string): void {
    let a = this.h1;
    let b = this.h2;
    for (let i = 0; i < line.length; i++) {
      const c = line.charCodeAt(i);
      a = Math.imul(a ^ c, 0x01000193);
      b = Math.imul(b ^ c, 0x5bd1e995) ^ (b >>> 15);
    }
    this.h1 = Math.imul(a ^ 0x0a, 0x01000193);
    this.h2 = Math.imul(b ^ 0x0a, 0x5bd1e995);
  }
}

function render(ev: TraceEvent): string {
  const text = typeof ev.text === 'string' ? ev.text : ev.text();
  ev.text = text;
  return `${String(ev.step).padStart(5, ' ')} ${text}`;
}
