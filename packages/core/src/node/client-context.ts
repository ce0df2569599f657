/**
 * ClientContext: who a client acts as. The node's own facades (node.kv, node.lease…) act as no
 * user — fine while auth is off; with auth on, they get ErrUserEmpty like a token-less etcd
 * request. `node.withToken(token)` gives facades acting as the token's user.
 */

import type { AuthInfo } from '../auth/types.js';
import type { TsetcdNode } from './node.js';

/** The node a client talks to and the user it acts as. */
export interface ClientContext {
  readonly node: TsetcdNode;
  /** The acting user's AuthInfo, or undefined for none; throws InvalidAuthTokenError once the token expired. */
  authInfo(): AuthInfo | undefined;
}
