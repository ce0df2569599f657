/**
 * GrpcServer against grpc-js's client, with stand-in handlers on etcd's service definitions: what
 * the wire looks like for replies, statuses, metadata, deadlines, limits, streams, cancellation
 * and backpressure. (The real services are covered by the *.integration tests one level up.)
 */

import { createServer, type Server } from 'node:net';
import {
  type Client,
  credentials,
  Metadata,
  makeClientConstructor,
  type ServiceDefinition,
  status,
} from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { loadEtcdProtos } from '../proto.js';
import { GrpcServer, type ServiceImplementation } from './grpc-server.js';
import type { ServiceCall } from './server-call.js';
import { Status } from './status.js';

type Cb = (err: { code: number; details: string } | null, res?: Record<string, unknown>) => void;
type AnyClient = Client & Record<string, (...args: unknown[]) => unknown>;

interface Harness {
  readonly grpc: GrpcServer;
  readonly client: (service: 'KV' | 'Watch' | 'Lease' | 'Maintenance') => AnyClient;
  close(): Promise<void>;
}

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function start(
  services: Partial<Record<'KV' | 'Watch' | 'Maintenance', ServiceImplementation>>,
  maxBytes = 4096,
) {
  const protos = loadEtcdProtos();
  const grpc = new GrpcServer(maxBytes);
  for (const [name, impl] of Object.entries(services)) {
    const def = protos[name as 'KV'] as unknown as import('@grpc/proto-loader').ServiceDefinition;
    // Stand-ins for every method the test does not care about.
    const all: Record<string, ServiceImplementation[string]> = {};
    for (const m of Object.keys(def)) all[m] = impl[m] ?? ((call: ServiceCall) => call.end());
    grpc.addService(def, all);
  }
  const net: Server = createServer((s) => grpc.injectConnection(s));
  await new Promise<void>((r) => net.listen(0, '127.0.0.1', r));
  const port = (net.address() as { port: number }).port;
  const clients: Client[] = [];
  h = {
    grpc,
    client: (service) => {
      const Ctor = makeClientConstructor(protos[service] as ServiceDefinition, service);
      const c = new Ctor(`127.0.0.1:${port}`, credentials.createInsecure()) as AnyClient;
      clients.push(c);
      return c;
    },
    close: async () => {
      for (const c of clients) c.close();
      await grpc.close();
      await new Promise<void>((r) => net.close(() => r()));
    },
  };
  return h;
}

function unaryCall(c: AnyClient, method: string, req: object, md = new Metadata(), deadline?: Date) {
  return new Promise<Record<string, unknown>>((resolve, reject) => {
    const cb: Cb = (err, res) => (err ? reject(err) : resolve(res!));
    if (deadline !== undefined) c[method]!(req, md, { deadline }, cb);
    else c[method]!(req, md, cb);
  });
}

describe('GrpcServer', () => {
  it('answers a unary call, and hands the handler the request, metadata and deadline', async () => {
    let seen: { key: string; token: unknown; deadlineIn: number } | undefined;
    const s = await start({
      KV: {
        Range: (call, cb) => {
          const req = call.request as { key: Buffer };
          seen = {
            key: req.key.toString(),
            token: call.metadata.get('token')[0],
            deadlineIn: call.getDeadline() - Date.now(),
          };
          cb(null, { count: '7', kvs: [{ key: Buffer.from('a'), value: Buffer.from('b') }] });
        },
      },
    });
    const md = new Metadata();
    md.set('token', 'tok');
    const res = await unaryCall(
      s.client('KV'),
      'Range',
      { key: Buffer.from('foo') },
      md,
      new Date(Date.now() + 5000),
    );
    expect(res.count).toBe('7');
    expect(seen?.key).toBe('foo');
    expect(seen?.token).toBe('tok');
    expect(seen?.deadlineIn).toBeGreaterThan(3000);
    expect(seen?.deadlineIn).toBeLessThanOrEqual(5000);
  });

  it('sends a failure as status and message, with non-ASCII text intact', async () => {
    const s = await start({
      KV: { Put: (_call, cb) => cb({ code: Status.OUT_OF_RANGE, details: 'etcdserver: 100% wrong — ключ' }) },
    });
    await expect(unaryCall(s.client('KV'), 'Put', { key: Buffer.from('k') })).rejects.toMatchObject({
      code: status.OUT_OF_RANGE,
      details: 'etcdserver: 100% wrong — ключ',
    });
  });

  it('answers a handler that throws with UNKNOWN, and keeps serving', async () => {
    const s = await start({
      KV: {
        Put: () => {
          throw new Error('boom');
        },
        Range: (_call, cb) => cb(null, {}),
      },
    });
    const kv = s.client('KV');
    await expect(unaryCall(kv, 'Put', { key: Buffer.from('k') })).rejects.toMatchObject({
      code: status.UNKNOWN,
      details: 'boom',
    });
    await expect(unaryCall(kv, 'Range', { key: Buffer.from('k') })).resolves.toBeDefined();
  });

  it('answers a method it does not serve with UNIMPLEMENTED', async () => {
    const s = await start({ KV: {} });
    await expect(unaryCall(s.client('Lease'), 'LeaseGrant', { TTL: '5' })).rejects.toMatchObject({
      code: status.UNIMPLEMENTED,
    });
  });

  it('refuses a request over the size limit with RESOURCE_EXHAUSTED, as grpc-go words it', async () => {
    let called = false;
    const s = await start(
      {
        KV: {
          Put: (_call, cb) => {
            called = true;
            cb(null, {});
          },
        },
      },
      1000,
    );
    const err = await unaryCall(s.client('KV'), 'Put', {
      key: Buffer.from('k'),
      value: Buffer.alloc(2000),
    }).catch((e: { code: number; details: string }) => e);
    expect(err).toMatchObject({ code: status.RESOURCE_EXHAUSTED });
    expect((err as { details: string }).details).toMatch(
      /^grpc: received message larger than max \(\d+ vs\. 1000\)$/,
    );
    expect(called).toBe(false);
  });

  it('streams both ways: a bidi handler gets each message, then the half-close', async () => {
    const got: string[] = [];
    const s = await start({
      Watch: {
        Watch: (call: ServiceCall) => {
          call.on('data', (req: { createRequest?: { key: Buffer } }) => {
            got.push(req.createRequest!.key.toString());
            call.write({ watchId: String(got.length), created: true });
          });
          call.on('end', () => call.end());
        },
      },
    });
    const stream = s.client('Watch').Watch!() as import('@grpc/grpc-js').ClientDuplexStream<
      object,
      { watchId: string }
    >;
    const replies: string[] = [];
    const ended = new Promise<void>((resolve, reject) => {
      stream.on('data', (r) => replies.push(r.watchId));
      stream.on('end', resolve);
      stream.on('error', reject);
    });
    for (const k of ['a', 'b', 'c']) stream.write({ createRequest: { key: Buffer.from(k) } });
    stream.end();
    await ended;
    expect(got).toEqual(['a', 'b', 'c']);
    expect(replies).toEqual(['1', '2', '3']);
  });

  it('tells a streaming handler when the client cancels', async () => {
    let cancelled!: () => void;
    const sawCancel = new Promise<void>((r) => {
      cancelled = r;
    });
    let opened!: () => void;
    const open = new Promise<void>((r) => {
      opened = r;
    });
    const s = await start({
      Watch: {
        Watch: (call: ServiceCall) => {
          call.on('cancelled', () => cancelled());
          opened();
        },
      },
    });
    const stream = s.client('Watch').Watch!() as import('@grpc/grpc-js').ClientDuplexStream<object, object>;
    stream.on('error', () => undefined);
    stream.write({ progressRequest: {} });
    await open;
    stream.cancel();
    await sawCancel;
  });

  it('reports backpressure to a server-streaming handler and drains as the client reads', async () => {
    let full = false;
    let drained = false;
    const chunk = Buffer.alloc(64 * 1024, 1);
    const s = await start({
      Maintenance: {
        Snapshot: (call: ServiceCall) => {
          let n = 0;
          const pump = (): void => {
            while (n < 64) {
              n++;
              if (!call.write({ remainingBytes: String(64 - n), blob: chunk })) {
                full = true;
                call.once('drain', () => {
                  drained = true;
                  pump();
                });
                return;
              }
            }
            call.end();
          };
          pump();
        },
      },
    });
    const stream = s.client('Maintenance').Snapshot!({}) as import('@grpc/grpc-js').ClientReadableStream<{
      blob: Buffer;
    }>;
    let bytes = 0;
    await new Promise<void>((resolve, reject) => {
      stream.on('data', (m) => {
        bytes += m.blob.length;
      });
      stream.on('end', resolve);
      stream.on('error', reject);
    });
    expect(bytes).toBe(64 * chunk.length);
    expect(full).toBe(true);
    expect(drained).toBe(true);
  });
});
