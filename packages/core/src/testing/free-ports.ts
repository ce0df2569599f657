/**
 * freePorts: loopback ports free right now, for tests, benchmarks and examples that start real
 * members. The ports are held together while they are picked (so they differ) and then released;
 * another process could still take one before it is bound, which is why callers that start
 * processes retry on EADDRINUSE.
 */

import { createServer } from 'node:net';

/** `n` distinct TCP ports on 127.0.0.1 that were free when asked. */
export async function freePorts(n: number): Promise<number[]> {
  const servers = Array.from({ length: n }, () => createServer());
  try {
    return await Promise.all(
      servers.map(
        (s) =>
          new Promise<number>((resolve, reject) => {
            s.once('error', reject);
            s.listen(0, '127.0.0.1', () => {
              const addr = s.address();
              if (addr === null || typeof addr === 'string') reject(new Error('no TCP port'));
              else resolve(addr.port);
            });
          }),
      ),
    );
  } finally {
    await Promise.all(servers.map((s) => new Promise((r) => (s.listening ? s.close(r) : r(undefined)))));
  }
}

/** One free TCP port on 127.0.0.1 (see freePorts). */
export async function freePort(): Promise<number> {
  return (await freePorts(1))[0]!;
}
