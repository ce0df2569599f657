/**
 * One member of the cluster, run as a child process by demo.ts: `node member.js <config JSON>`.
 *
 * It starts a tsetcd member (TCP peers, its own data dir) and serves the parent over the IPC
 * channel: `put`, `get` and `status` requests, each answered with the same `id`. A member has no
 * client port of its own yet (that is packages/server's job), so the parent's writes and reads go
 * through this channel and are executed by the member's embedded client — exactly how an
 * application embedding a member would call it. Not here: any retry logic (the parent decides).
 */

import { createNode, type NodeConfigInput } from '@tsetcd/core';
import type { MemberReply, MemberRequest } from './protocol.js';

const config = JSON.parse(process.argv[2] ?? '{}') as NodeConfigInput;
const node = await createNode(config, {
  // Peers going away is the point of the demo: keep the member's reconnect warnings quiet.
  logger: (level, message) => {
    if (level === 'error') process.stderr.write(`[${config.name}] ${message}\n`);
  },
});
const text = (b: Uint8Array) => new TextDecoder().decode(b);

async function serve(req: MemberRequest): Promise<MemberReply> {
  switch (req.op) {
    case 'put': {
      const r = await node.kv.put(req.key, req.value, { timeoutMs: req.timeoutMs });
      return { id: req.id, ok: true, revision: r.header.revision };
    }
    case 'get': {
      const r = await node.kv.get(req.key, { timeoutMs: req.timeoutMs });
      const kv = r.kvs[0];
      return { id: req.id, ok: true, value: kv === undefined ? null : text(kv.value) };
    }
    case 'status':
      return { id: req.id, ok: true, isLeader: node.isLeader, term: node.term };
    case 'close':
      await node.close();
      return { id: req.id, ok: true };
  }
}

process.on('message', (req: MemberRequest) => {
  serve(req).then(
    (reply) => {
      process.send?.(reply);
      if (req.op === 'close') process.disconnect();
    },
    (err: unknown) => {
      const e = err as Error;
      process.send?.({ id: req.id, ok: false, error: `${e.name}: ${e.message}` } satisfies MemberReply);
    },
  );
});
process.send?.({ id: 0, ok: true } satisfies MemberReply);
