/**
 * @tsetcd/server: etcd's v3 API for tsetcd members. So far only the wire contract — the .proto
 * definitions and their loader; the gRPC services, gateway and command come next.
 */
export {
  type EtcdProtos,
  loadEtcdProtos,
  messageType,
  PROTO_DIR,
  PROTO_FILES,
  SERVICE_NAMES,
} from './proto.js';
