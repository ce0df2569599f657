/**
 * The gRPC services a member serves, in one table: each entry pairs a service definition from
 * our .proto files with its handlers on the node.
 */

import type { ServiceDefinition } from '@grpc/proto-loader';
import type { TsetcdNode } from '@tsetcd/core';
import type { ServiceImplementation } from '../grpc-server/grpc-server.js';
import type { EtcdProtos } from '../proto.js';
import { authService } from './auth-service.js';
import { clusterService } from './cluster-service.js';
import { electionService } from './election-service.js';
import { decodeKeepAliveRequest } from './keep-alive-request.js';
import { kvService } from './kv-service.js';
import { leaseService } from './lease-service.js';
import { lockService } from './lock-service.js';
import { maintenanceService } from './maintenance-service.js';
import { decodeTxnRequest } from './txn-request.js';
import { watchService } from './watch-service.js';

/** One service to register: its definition and its handlers. */
export interface ServiceEntry {
  readonly definition: ServiceDefinition;
  readonly implementation: ServiceImplementation;
}

/** Every service of a member. */
export function serviceTable(node: TsetcdNode, protos: EtcdProtos): ServiceEntry[] {
  return [
    { definition: withFastTxn(protos.KV as ServiceDefinition), implementation: kvService(node) },
    { definition: protos.Watch as ServiceDefinition, implementation: watchService(node, protos) },
    { definition: withFastKeepAlive(protos.Lease as ServiceDefinition), implementation: leaseService(node) },
    { definition: protos.Cluster as ServiceDefinition, implementation: clusterService(node) },
    { definition: protos.Maintenance as ServiceDefinition, implementation: maintenanceService(node) },
    { definition: protos.Auth as ServiceDefinition, implementation: authService(node) },
    { definition: protos.Lock as ServiceDefinition, implementation: lockService(node) },
    { definition: protos.Election as ServiceDefinition, implementation: electionService(node) },
  ];
}

/** The Lease service with keep-alive requests decoded by hand (see keep-alive-request.ts). */
function withFastKeepAlive(lease: ServiceDefinition): ServiceDefinition {
  const ka = lease.LeaseKeepAlive!;
  return { ...lease, LeaseKeepAlive: { ...ka, requestDeserialize: decodeKeepAliveRequest } };
}

/** The KV service with Txn requests decoded by hand (see txn-request.ts). */
function withFastTxn(kv: ServiceDefinition): ServiceDefinition {
  return { ...kv, Txn: { ...kv.Txn!, requestDeserialize: decodeTxnRequest } };
}
