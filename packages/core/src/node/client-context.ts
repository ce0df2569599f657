/**
 * ClientContext: who a client acts as. The node's own facades (node.kv, node.lease…) act as no
 * user — fine while auth is off; with auth on, they get ErrUserEmpty like a token-less etcd
 * request. `node.withToken(token)` gives facades acting as the token's user.
 */

import type { AuthInfo } from '../auth/types.js';
import type { CallOptions } from './deadline.js';
import type { TsetcdNode } from './node.js';
import type { ReplicatedRequest } from './request.js';

/** The node a client talks to and the user it acts as. */
export interface ClientContext {
  readonly node: TsetcdNode;
  /** The acting user's AuthInfo, or undefined for none; throws InvalidAuthTokenError once the token expired. */
  authInfo(): AuthInfo | undefined;
}

/**
 * Proposes `req` as the context's user: its permissions are checked here (fail fast) and the
 * user and auth revision travel with the request, to be checked again when it is applied.
 */
export function proposeAs(ctx: ClientContext, req: ReplicatedRequest, opts: CallOptions): Promise<unknown> {
  const auth = ctx.authInfo();
  ctx.node.authorize(auth, req);
  return ctx.node.propose(req, auth === undefined ? opts : { ...opts, auth });
}
