/**
 * The gRPC services a member serves, in one table: each entry pairs a service definition from
 * our .proto files with its handlers on the node.
 */

import type { ServiceDefinition, UntypedServiceImplementation } from '@grpc/grpc-js';
import type { TsetcdNode } from '@tsetcd/core';
import type { EtcdProtos } from '../proto.js';
import { kvService } from './kv-service.js';

/** One service to register: its definition and its handlers. */
export interface ServiceEntry {
  readonly definition: ServiceDefinition;
  readonly implementation: UntypedServiceImplementation;
}

/** Every service of a member. */
export function serviceTable(node: TsetcdNode, protos: EtcdProtos): ServiceEntry[] {
  return [{ definition: protos.KV as ServiceDefinition, implementation: kvService(node) }];
}
