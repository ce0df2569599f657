/**
 * The IPC messages between demo.ts (the parent) and member.ts (one child per member). Types only.
 */

/** What the parent asks a member; `id` pairs it with its reply. */
export type MemberRequest =
  | {
      readonly id: number;
      readonly op: 'put';
      readonly key: string;
      readonly value: string;
      readonly timeoutMs: number;
    }
  | { readonly id: number; readonly op: 'get'; readonly key: string; readonly timeoutMs: number }
  | { readonly id: number; readonly op: 'status' }
  | { readonly id: number; readonly op: 'close' };

/** A request before the channel numbers it. */
export type MemberCall = MemberRequest extends infer R ? (R extends unknown ? Omit<R, 'id'> : never) : never;

/** A member's answer (`id` 0: the member has started). */
export interface MemberReply {
  readonly id: number;
  readonly ok: boolean;
  readonly error?: string;
  readonly revision?: number;
  readonly value?: string | null;
  readonly isLeader?: boolean;
  readonly term?: number;
}
