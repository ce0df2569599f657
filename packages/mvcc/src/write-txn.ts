/** One write request being applied to a KVStore: the revision it makes and its writes so far. */

import type { Event, Revision } from './types.js';

/** One write request in progress: its revision, the writes so far, and the events they make. */
export class WriteTxn {
  /** The events of the writes so far; collected only while listeners are subscribed. */
  readonly events: Event[] = [];
  /** Number of writes so far (the next write's sub-revision). */
  writes = 0;
  constructor(readonly beginRev: Revision) {}
  /** The revision this write request creates. */
  get rev(): Revision {
    return (this.beginRev + 1) as Revision;
  }
  /** The revision reads inside this request see: its own writes once it has made any. */
  get readRev(): Revision {
    return this.writes > 0 ? this.rev : this.beginRev;
  }
}
