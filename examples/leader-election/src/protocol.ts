/**
 * The IPC messages between demo.ts (the parent) and candidate.ts (one child per candidate).
 * Types only.
 */

/** What the parent tells a candidate. */
export type CandidateCommand = { readonly op: 'resign' } | { readonly op: 'close' };

/** What a candidate reports. */
export type CandidateEvent =
  | { readonly type: 'started' }
  | { readonly type: 'campaigning'; readonly key: string }
  | { readonly type: 'elected'; readonly name: string; readonly fencingToken: number; readonly at: number }
  | { readonly type: 'session-lost' }
  | { readonly type: 'resigned' }
  | { readonly type: 'failed'; readonly error: string };
