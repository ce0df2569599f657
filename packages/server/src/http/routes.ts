/**
 * The JSON gateway's routes: each `POST /v3/...` path of etcd 3.4's grpc-gateway and the gRPC
 * method it calls. etcd 3.4 also serves revoke, timetolive and leases (not grant, nor keepalive)
 * under the older `/v3/kv/lease/...`.
 */

/** A gRPC method, by its service (fully qualified) and name. */
export interface GatewayRoute {
  readonly service: string;
  readonly method: string;
}

/** Gateway path → the gRPC method it calls. */
export const GATEWAY_ROUTES: Readonly<Record<string, GatewayRoute>> = {
  '/v3/kv/range': { service: 'etcdserverpb.KV', method: 'Range' },
  '/v3/kv/put': { service: 'etcdserverpb.KV', method: 'Put' },
  '/v3/kv/deleterange': { service: 'etcdserverpb.KV', method: 'DeleteRange' },
  '/v3/kv/txn': { service: 'etcdserverpb.KV', method: 'Txn' },
  '/v3/kv/compaction': { service: 'etcdserverpb.KV', method: 'Compact' },
  '/v3/watch': { service: 'etcdserverpb.Watch', method: 'Watch' },
  '/v3/lease/grant': { service: 'etcdserverpb.Lease', method: 'LeaseGrant' },
  '/v3/lease/revoke': { service: 'etcdserverpb.Lease', method: 'LeaseRevoke' },
  '/v3/kv/lease/revoke': { service: 'etcdserverpb.Lease', method: 'LeaseRevoke' },
  '/v3/lease/keepalive': { service: 'etcdserverpb.Lease', method: 'LeaseKeepAlive' },
  '/v3/lease/timetolive': { service: 'etcdserverpb.Lease', method: 'LeaseTimeToLive' },
  '/v3/kv/lease/timetolive': { service: 'etcdserverpb.Lease', method: 'LeaseTimeToLive' },
  '/v3/lease/leases': { service: 'etcdserverpb.Lease', method: 'LeaseLeases' },
  '/v3/kv/lease/leases': { service: 'etcdserverpb.Lease', method: 'LeaseLeases' },
  '/v3/cluster/member/add': { service: 'etcdserverpb.Cluster', method: 'MemberAdd' },
  '/v3/cluster/member/remove': { service: 'etcdserverpb.Cluster', method: 'MemberRemove' },
  '/v3/cluster/member/update': { service: 'etcdserverpb.Cluster', method: 'MemberUpdate' },
  '/v3/cluster/member/list': { service: 'etcdserverpb.Cluster', method: 'MemberList' },
  '/v3/cluster/member/promote': { service: 'etcdserverpb.Cluster', method: 'MemberPromote' },
  '/v3/maintenance/alarm': { service: 'etcdserverpb.Maintenance', method: 'Alarm' },
  '/v3/maintenance/status': { service: 'etcdserverpb.Maintenance', method: 'Status' },
  '/v3/maintenance/defragment': { service: 'etcdserverpb.Maintenance', method: 'Defragment' },
  '/v3/maintenance/hash': { service: 'etcdserverpb.Maintenance', method: 'Hash' },
  '/v3/maintenance/snapshot': { service: 'etcdserverpb.Maintenance', method: 'Snapshot' },
  '/v3/maintenance/transfer-leadership': { service: 'etcdserverpb.Maintenance', method: 'MoveLeader' },
  '/v3/auth/enable': { service: 'etcdserverpb.Auth', method: 'AuthEnable' },
  '/v3/auth/disable': { service: 'etcdserverpb.Auth', method: 'AuthDisable' },
  '/v3/auth/authenticate': { service: 'etcdserverpb.Auth', method: 'Authenticate' },
  '/v3/auth/user/add': { service: 'etcdserverpb.Auth', method: 'UserAdd' },
  '/v3/auth/user/get': { service: 'etcdserverpb.Auth', method: 'UserGet' },
  '/v3/auth/user/list': { service: 'etcdserverpb.Auth', method: 'UserList' },
  '/v3/auth/user/delete': { service: 'etcdserverpb.Auth', method: 'UserDelete' },
  '/v3/auth/user/changepw': { service: 'etcdserverpb.Auth', method: 'UserChangePassword' },
  '/v3/auth/user/grant': { service: 'etcdserverpb.Auth', method: 'UserGrantRole' },
  '/v3/auth/user/revoke': { service: 'etcdserverpb.Auth', method: 'UserRevokeRole' },
  '/v3/auth/role/add': { service: 'etcdserverpb.Auth', method: 'RoleAdd' },
  '/v3/auth/role/get': { service: 'etcdserverpb.Auth', method: 'RoleGet' },
  '/v3/auth/role/list': { service: 'etcdserverpb.Auth', method: 'RoleList' },
  '/v3/auth/role/delete': { service: 'etcdserverpb.Auth', method: 'RoleDelete' },
  '/v3/auth/role/grant': { service: 'etcdserverpb.Auth', method: 'RoleGrantPermission' },
  '/v3/auth/role/revoke': { service: 'etcdserverpb.Auth', method: 'RoleRevokePermission' },
  '/v3/lock/lock': { service: 'v3lockpb.Lock', method: 'Lock' },
  '/v3/lock/unlock': { service: 'v3lockpb.Lock', method: 'Unlock' },
  '/v3/election/campaign': { service: 'v3electionpb.Election', method: 'Campaign' },
  '/v3/election/proclaim': { service: 'v3electionpb.Election', method: 'Proclaim' },
  '/v3/election/leader': { service: 'v3electionpb.Election', method: 'Leader' },
  '/v3/election/observe': { service: 'v3electionpb.Election', method: 'Observe' },
  '/v3/election/resign': { service: 'v3electionpb.Election', method: 'Resign' },
};
