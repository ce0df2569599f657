/**
 * Loads tsetcd's own .proto definitions of etcd's v3 API (packages/server/proto) and hands out
 * the gRPC service definitions the server registers and test clients connect with.
 *
 * Decoded messages are plain objects shaped for the handlers: camelCase fields (`rangeEnd`,
 * `clusterId`; etcd's own camelCase names such as `peerURLs`, `TTL`, `ID` stay as they are), int64
 * and uint64 as decimal strings (lease and member IDs do not fit a double), enums as their names,
 * bytes as Buffers, every field present with its default, and each oneof also named by a virtual
 * property (`requestUnion: 'createRequest'`).
 *
 * Encoding writes every field present in the object, zeros included, where etcd's Go code omits
 * zero scalars. Both decode alike; to produce etcd's exact bytes, leave zero fields out (oneof
 * members are the exception: a zero there is meaningful and always written, as in etcd).
 *
 * Does not: serve anything, or convert between these objects and core's types — the service
 * files do that at the boundary.
 */
import { fileURLToPath } from 'node:url';
import type { ServiceDefinition } from '@grpc/grpc-js';
import {
  loadSync,
  type MessageTypeDefinition,
  type Options,
  type PackageDefinition,
} from '@grpc/proto-loader';

/** Where the .proto files are; one level up from both src/ (vitest) and dist/ (built). */
export const PROTO_DIR: string = fileURLToPath(new URL('../proto', import.meta.url));

/** The files to load, relative to PROTO_DIR (imports between them resolve from there too). */
export const PROTO_FILES: readonly string[] = [
  'mvccpb/kv.proto',
  'authpb/auth.proto',
  'etcdserverpb/header.proto',
  'etcdserverpb/kv.proto',
  'etcdserverpb/watch.proto',
  'etcdserverpb/lease.proto',
  'etcdserverpb/cluster.proto',
  'etcdserverpb/maintenance.proto',
  'etcdserverpb/auth.proto',
  'v3lockpb/v3lock.proto',
  'v3electionpb/v3election.proto',
];

/** The proto-loader options behind the object shapes described at the top of this file. */
export const PROTO_LOADER_OPTIONS: Readonly<Options> = {
  keepCase: false,
  longs: String,
  enums: String,
  bytes: Buffer,
  defaults: true,
  oneofs: true,
};

/** Every etcd v3 service, by its unqualified name, as grpc-js `addService`/`makeClientConstructor` take it. */
export interface EtcdProtos {
  readonly KV: ServiceDefinition;
  readonly Watch: ServiceDefinition;
  readonly Lease: ServiceDefinition;
  readonly Cluster: ServiceDefinition;
  readonly Maintenance: ServiceDefinition;
  readonly Auth: ServiceDefinition;
  readonly Lock: ServiceDefinition;
  readonly Election: ServiceDefinition;
  /** The loaded package definition, for anything not listed above. */
  readonly packageDefinition: PackageDefinition;
}

/** Fully qualified name of each service, as it appears in the gRPC path (`/etcdserverpb.KV/Range`). */
export const SERVICE_NAMES = {
  KV: 'etcdserverpb.KV',
  Watch: 'etcdserverpb.Watch',
  Lease: 'etcdserverpb.Lease',
  Cluster: 'etcdserverpb.Cluster',
  Maintenance: 'etcdserverpb.Maintenance',
  Auth: 'etcdserverpb.Auth',
  Lock: 'v3lockpb.Lock',
  Election: 'v3electionpb.Election',
} as const;

let cached: EtcdProtos | undefined;

/** Parses the .proto files once per process (a few tens of milliseconds) and returns the services. */
export function loadEtcdProtos(): EtcdProtos {
  if (cached !== undefined) return cached;
  const packageDefinition = loadSync([...PROTO_FILES], { ...PROTO_LOADER_OPTIONS, includeDirs: [PROTO_DIR] });
  const service = (name: string): ServiceDefinition => {
    const def = packageDefinition[name];
    if (def === undefined || 'format' in def) throw new Error(`proto: ${name} is not a service`);
    // proto-loader's ServiceDefinition is grpc-js's, minus grpc-js's generic parameters.
    return def as ServiceDefinition;
  };
  cached = {
    KV: service(SERVICE_NAMES.KV),
    Watch: service(SERVICE_NAMES.Watch),
    Lease: service(SERVICE_NAMES.Lease),
    Cluster: service(SERVICE_NAMES.Cluster),
    Maintenance: service(SERVICE_NAMES.Maintenance),
    Auth: service(SERVICE_NAMES.Auth),
    Lock: service(SERVICE_NAMES.Lock),
    Election: service(SERVICE_NAMES.Election),
    packageDefinition,
  };
  return cached;
}

/**
 * The codec of one message by its fully qualified name (`etcdserverpb.Compare`), for encoding
 * outside an RPC (the JSON gateway, snapshot auth buckets, tests).
 */
export function messageType(fullName: string): MessageTypeDefinition<object, object> {
  const def = loadEtcdProtos().packageDefinition[fullName];
  if (def === undefined || def.format !== 'Protocol Buffer 3 DescriptorProto') {
    throw new Error(`proto: ${fullName} is not a message`);
  }
  return def as MessageTypeDefinition<object, object>;
}
