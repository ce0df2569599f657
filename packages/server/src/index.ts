/**
 * @tsetcd/server: etcd's v3 API for tsetcd members — the .proto definitions and their loader, and
 * startServer, which serves a member's client URLs (gRPC and HTTP on one port). So far the KV
 * service, /health, /version and /metrics; the other services, the JSON gateway and the tsetcd
 * command come next.
 */

export { ClientListener, type ClientTlsOptions } from './client-listener.js';
export { toWireError, type WireError } from './grpc/errors.js';
export {
  type EtcdProtos,
  loadEtcdProtos,
  messageType,
  PROTO_DIR,
  PROTO_FILES,
  SERVICE_NAMES,
} from './proto.js';
export { ETCD_SERVER_VERSION, type RunningServer, type ServerOptions, startServer } from './server.js';
