/**
 * The leader's side of forwarded keep-alives (forwarded-renewals.ts): a transport decorator that
 * catches each MsgReadIndexResp whose context asks for a lease renewal, has the host renew the
 * lease, and sends the response on with the outcome appended to the context. Every other message
 * goes straight through, in order.
 */

import type { LeaseId } from '@tsetcd/mvcc';
import type { Message } from '@tsetcd/raft';
import type { Transport } from '@tsetcd/transport';
import { encodeRenewalAnswer, parseRenewalContext } from './forwarded-renewals.js';
import { DecoratingTransport } from './peer-transport.js';

/** Renews `ids` for a follower whose read index is `index`; resolves with one outcome per ID. */
export type RenewForFollower = (ids: readonly LeaseId[], index: number) => Promise<readonly number[]>;

/** Wraps a transport so renewal requests are answered on their way out; see the file comment. */
export class RenewalAnsweringTransport extends DecoratingTransport {
  constructor(
    inner: Transport,
    private readonly renew: RenewForFollower,
  ) {
    super(inner);
  }

  send(messages: readonly Message[]): void {
    if (this.closed) return;
    let plain: Message[] | undefined;
    for (let i = 0; i < messages.length; i++) {
      const m = messages[i]!;
      const r = m.type === 'MsgReadIndexResp' ? parseRenewalContext(m.context) : undefined;
      if (r === undefined || r.outcomes !== undefined || m.type !== 'MsgReadIndexResp') {
        plain?.push(m);
        continue;
      }
      plain ??= messages.slice(0, i);
      this.renew(r.ids, m.index).then(
        (outcomes) => {
          if (!this.closed) this.inner.send([{ ...m, context: encodeRenewalAnswer(r, outcomes) }]);
        },
        () => undefined, // the member is stopping: the follower times out and proposes instead
      );
    }
    const out = plain ?? messages;
    if (out.length > 0) this.inner.send(out);
  }
}
