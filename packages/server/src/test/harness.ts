/**
 * Test harness for the server: a member (in memory unless given a data dir) served on a free
 * loopback port, grpc-js clients built from our .proto files, and the real etcdctl when installed.
 */

import { spawn, spawnSync } from 'node:child_process';
import { type Client, credentials, makeClientConstructor, type ServiceDefinition } from '@grpc/grpc-js';
import { createNode, type NodeConfigInput, type TsetcdNode } from '@tsetcd/core';
import { loadEtcdProtos } from '../proto.js';
import { type RunningServer, startServer } from '../server.js';

/** Whether the real etcdctl (3.4) is installed. */
export const hasEtcdctl =
  spawnSync('etcdctl', ['version'], { env: { ...process.env, ETCDCTL_API: '3' } }).status === 0;

// biome-ignore lint/suspicious/noExplicitAny: decoded replies; the expectations check their shape.
export type Decoded = any;

type Unary = (req: object, cb: (err: Error | null, res: Record<string, unknown>) => void) => void;

/** A member serving on a free port, with clients for its services. */
export interface Served {
  readonly node: TsetcdNode;
  readonly server: RunningServer;
  /** host:port of the client URL. */
  readonly endpoint: string;
  /** A grpc-js client of service `name` (KV, Watch, Lease, Cluster, Maintenance, Auth, Lock, Election). */
  client(name: keyof ReturnType<typeof loadEtcdProtos> & string): Client;
  /** Calls a unary method; rejects with the gRPC error. */
  call(client: Client, method: string, req: object): Promise<Decoded>;
  /** Runs etcdctl against this member (asynchronously: the member runs in this process). */
  etcdctl(...args: string[]): Promise<EtcdctlResult>;
  /** Runs etcdctl with `input` on its standard input (etcdctl txn). */
  etcdctlWithInput(input: string, ...args: string[]): Promise<EtcdctlResult>;
  close(): Promise<void>;
}

/** Starts a member and its server. */
export async function serve(config: NodeConfigInput = {}): Promise<Served> {
  const node = await createNode(config);
  const server = await startServer(node, { listenClientUrls: ['http://127.0.0.1:0'] });
  const endpoint = server.urls[0]!.replace('http://', '');
  const protos = loadEtcdProtos();
  const clients: Client[] = [];
  return {
    node,
    server,
    endpoint,
    client(name) {
      const Ctor = makeClientConstructor(protos[name] as ServiceDefinition, name);
      const c = new Ctor(endpoint, credentials.createInsecure());
      clients.push(c);
      return c;
    },
    call(client, method, req) {
      const fn = (client as unknown as Record<string, Unary>)[method];
      if (fn === undefined) throw new Error(`no method ${method}`);
      return new Promise((resolve, reject) =>
        fn.call(client, req, (err, res) => (err ? reject(err) : resolve(res))),
      );
    },
    etcdctl(...args) {
      return runEtcdctl(endpoint, '', args);
    },
    etcdctlWithInput(input, ...args) {
      return runEtcdctl(endpoint, input, args);
    },
    async close() {
      for (const c of clients) c.close();
      await server.close();
      await node.close();
    },
  };
}

/** What an etcdctl run printed and how it exited. */
export interface EtcdctlResult {
  readonly stdout: string;
  readonly stderr: string;
  readonly status: number | null;
}

function runEtcdctl(endpoint: string, input: string, args: readonly string[]): Promise<EtcdctlResult> {
  return new Promise((resolve) => {
    const child = spawn('etcdctl', [`--endpoints=${endpoint}`, '--command-timeout=5s', ...args], {
      env: { ...process.env, ETCDCTL_API: '3' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ stdout, stderr, status });
    });
    child.stdin.end(input);
  });
}
