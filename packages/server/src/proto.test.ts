/**
 * Wire compatibility of our .proto files with etcd 3.4: messages encoded with the loaded
 * definitions must be byte for byte what etcd's generated code produces. The expected bytes are
 * written out by hand from etcd's field numbers (tag = field << 3 | wire type; 0 = varint,
 * 2 = length-delimited), so a renumbered field or a wrong type fails here, not in a client.
 */
import type { MethodDefinition, ServiceDefinition } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { loadEtcdProtos, messageType, SERVICE_NAMES } from './proto.js';

const protos = loadEtcdProtos();

/** `'0a 03'` → the bytes. */
function hex(text: string): string {
  return text.replace(/\s+/g, '');
}

function method(service: ServiceDefinition, name: string): MethodDefinition<object, object> {
  const m = service[name];
  if (m === undefined) throw new Error(`no method ${name}`);
  return m;
}

function request(service: ServiceDefinition, name: string, value: object): string {
  return method(service, name).requestSerialize(value).toString('hex');
}

function response(service: ServiceDefinition, name: string, value: object): string {
  return method(service, name).responseSerialize(value).toString('hex');
}

function encode(fullName: string, value: object): string {
  return messageType(fullName).serialize(value).toString('hex');
}

/** Reference varint encoder (LEB128 over a bigint), the oracle for 64-bit values. */
function varint(n: bigint): string {
  const out: number[] = [];
  do {
    let byte = Number(n & 0x7fn);
    n >>= 7n;
    if (n > 0n) byte |= 0x80;
    out.push(byte);
  } while (n > 0n);
  return Buffer.from(out).toString('hex');
}

const b = (s: string): Buffer => Buffer.from(s);

describe('services: etcd 3.4 RPC names, paths and streaming kinds', () => {
  const expected: Record<keyof typeof SERVICE_NAMES, string[]> = {
    KV: ['Range', 'Put', 'DeleteRange', 'Txn', 'Compact'],
    Watch: ['Watch'],
    Lease: ['LeaseGrant', 'LeaseRevoke', 'LeaseKeepAlive', 'LeaseTimeToLive', 'LeaseLeases'],
    Cluster: ['MemberAdd', 'MemberRemove', 'MemberUpdate', 'MemberList', 'MemberPromote'],
    Maintenance: ['Alarm', 'Status', 'Defragment', 'Hash', 'HashKV', 'Snapshot', 'MoveLeader'],
    Auth: [
      'AuthEnable',
      'AuthDisable',
      'Authenticate',
      'UserAdd',
      'UserGet',
      'UserList',
      'UserDelete',
      'UserChangePassword',
      'UserGrantRole',
      'UserRevokeRole',
      'RoleAdd',
      'RoleGet',
      'RoleList',
      'RoleDelete',
      'RoleGrantPermission',
      'RoleRevokePermission',
    ],
    Lock: ['Lock', 'Unlock'],
    Election: ['Campaign', 'Proclaim', 'Leader', 'Observe', 'Resign'],
  };
  const streaming: Record<string, [requestStream: boolean, responseStream: boolean]> = {
    '/etcdserverpb.Watch/Watch': [true, true],
    '/etcdserverpb.Lease/LeaseKeepAlive': [true, true],
    '/etcdserverpb.Maintenance/Snapshot': [false, true],
    '/v3electionpb.Election/Observe': [false, true],
  };

  for (const [service, names] of Object.entries(expected) as [keyof typeof SERVICE_NAMES, string[]][]) {
    it(`${SERVICE_NAMES[service]} has exactly etcd's methods`, () => {
      const def = protos[service];
      expect(Object.keys(def).sort()).toEqual([...names].sort());
      for (const name of names) {
        const m = method(def, name);
        const path = `/${SERVICE_NAMES[service]}/${name}`;
        expect(m.path).toBe(path);
        expect([m.requestStream, m.responseStream]).toEqual(streaming[path] ?? [false, false]);
      }
    });
  }
});

describe('etcdserverpb.KV messages', () => {
  it('PutRequest: key 1, value 2, lease 3, prev_kv 4, ignore_value 5, ignore_lease 6', () => {
    expect(request(protos.KV, 'Put', { key: b('foo'), value: b('bar'), lease: '5', prevKv: true })).toBe(
      hex('0a 03 666f6f  12 03 626172  18 05  20 01'),
    );
    expect(request(protos.KV, 'Put', { key: b('k'), ignoreValue: true, ignoreLease: true })).toBe(
      hex('0a 01 6b  28 01  30 01'),
    );
  });

  it('RangeRequest: fields 1–13 with SortOrder/SortTarget values', () => {
    const bytes = request(protos.KV, 'Range', {
      key: b('a'),
      rangeEnd: b('b'),
      limit: '10',
      revision: '4',
      sortOrder: 'DESCEND',
      sortTarget: 'MOD',
      serializable: true,
      keysOnly: true,
      countOnly: true,
      minModRevision: '1',
      maxModRevision: '2',
      minCreateRevision: '3',
      maxCreateRevision: '4',
    });
    expect(bytes).toBe(
      hex('0a 01 61  12 01 62  18 0a  20 04  28 02  30 03  38 01  40 01  48 01  50 01  58 02  60 03  68 04'),
    );
    expect(encode('etcdserverpb.RangeRequest', { sortTarget: 'VALUE', sortOrder: 'ASCEND' })).toBe(
      hex('28 01  30 04'),
    );
  });

  it('RangeResponse: header 1 (cluster_id 1, member_id 2, revision 3, raft_term 4), kvs 2, more 3, count 4', () => {
    const bytes = response(protos.KV, 'Range', {
      header: { clusterId: '1', memberId: '2', revision: '3', raftTerm: '4' },
      kvs: [{ key: b('a'), createRevision: '2', modRevision: '3', version: '1', value: b('b'), lease: '7' }],
      more: true,
      count: '1',
    });
    // KeyValue: key 1, create_revision 2, mod_revision 3, version 4, value 5, lease 6.
    expect(bytes).toBe(
      hex('0a 08 0801 1002 1803 2004  12 0e 0a0161 1002 1803 2001 2a0162 3007  18 01  20 01'),
    );
  });

  it('decodes RangeResponse to camelCase fields, int64 as decimal strings, bytes as Buffers', () => {
    const decoded = method(protos.KV, 'Range').responseDeserialize(
      Buffer.from(hex('0a 08 0801 1002 1803 2004  12 0e 0a0161 1002 1803 2001 2a0162 3007  20 01'), 'hex'),
    );
    expect(decoded).toEqual({
      header: { clusterId: '1', memberId: '2', revision: '3', raftTerm: '4' },
      kvs: [{ key: b('a'), createRevision: '2', modRevision: '3', version: '1', value: b('b'), lease: '7' }],
      more: false,
      count: '1',
    });
  });

  it('uint64 IDs above 2^53 survive as strings, encoded as etcd encodes them', () => {
    const memberId = 10276657743932975437n; // etcd's default single-member ID, 0x8e9e05c52164694d
    const bytes = encode('etcdserverpb.ResponseHeader', { memberId: memberId.toString() });
    expect(bytes).toBe(`10${varint(memberId)}`);
    expect(messageType('etcdserverpb.ResponseHeader').deserialize(Buffer.from(bytes, 'hex'))).toMatchObject({
      memberId: memberId.toString(),
    });
    // int64 -1 (a lease TTL of an expired lease) is a ten-byte varint.
    expect(encode('etcdserverpb.LeaseTimeToLiveResponse', { TTL: '-1' })).toBe(`18${varint(2n ** 64n - 1n)}`);
  });

  it('DeleteRange: request prev_kv 3; response deleted 2, prev_kvs 3', () => {
    expect(request(protos.KV, 'DeleteRange', { key: b('a'), rangeEnd: b('b'), prevKv: true })).toBe(
      hex('0a 01 61  12 01 62  18 01'),
    );
    expect(response(protos.KV, 'DeleteRange', { deleted: '1', prevKvs: [{ key: b('a') }] })).toBe(
      hex('10 01  1a 03 0a0161'),
    );
  });

  it('Compare: result 1, target 2, key 3, target_union version 4 / create_revision 5 / mod_revision 6 / value 7 / lease 8, range_end 64', () => {
    const compare = (c: object): string => encode('etcdserverpb.Compare', c);
    expect(compare({ result: 'GREATER', key: b('k'), version: '2' })).toBe(hex('08 01  1a 01 6b  20 02'));
    expect(compare({ result: 'LESS', target: 'CREATE', key: b('k'), createRevision: '2' })).toBe(
      hex('08 02  10 01  1a 01 6b  28 02'),
    );
    expect(compare({ result: 'NOT_EQUAL', target: 'MOD', key: b('k'), modRevision: '2' })).toBe(
      hex('08 03  10 02  1a 01 6b  30 02'),
    );
    expect(compare({ target: 'VALUE', key: b('k'), value: b('x') })).toBe(hex('10 03  1a 01 6b  3a 01 78'));
    // Field 64, wire type 2: tag 514 = varint 82 04.
    expect(compare({ target: 'LEASE', key: b('k'), lease: '9', rangeEnd: b('l') })).toBe(
      hex('10 04  1a 01 6b  40 09  8204 01 6c'),
    );
    const decoded = messageType('etcdserverpb.Compare').deserialize(Buffer.from(hex('10 04 40 09'), 'hex'));
    expect(decoded).toMatchObject({ target: 'LEASE', lease: '9', targetUnion: 'lease' });
  });

  it('Txn: compare 1, success 2, failure 3; RequestOp range 1 / put 2 / delete 3 / txn 4', () => {
    const bytes = request(protos.KV, 'Txn', {
      compare: [{ target: 'VALUE', key: b('k'), value: b('x') }],
      success: [{ requestPut: { key: b('k'), value: b('v') } }],
      failure: [
        { requestRange: { key: b('k') } },
        { requestDeleteRange: { key: b('k') } },
        { requestTxn: {} },
      ],
    });
    expect(bytes).toBe(
      hex(
        '0a 08 1003 1a016b 3a0178' +
          '12 08 12 06 0a016b 120176' +
          '1a 05 0a 03 0a016b' +
          '1a 05 1a 03 0a016b' +
          '1a 02 22 00',
      ),
    );
  });

  it('TxnResponse: succeeded 2, responses 3; ResponseOp range 1 / put 2 / delete 3 / txn 4', () => {
    const bytes = response(protos.KV, 'Txn', {
      succeeded: true,
      responses: [
        { responsePut: {} },
        { responseRange: { count: '1' } },
        { responseDeleteRange: { deleted: '1' } },
        { responseTxn: {} },
      ],
    });
    expect(bytes).toBe(hex('10 01  1a 02 12 00  1a 04 0a 02 2001  1a 04 1a 02 1001  1a 02 22 00'));
  });

  it('Compaction: revision 1, physical 2', () => {
    expect(request(protos.KV, 'Compact', { revision: '100', physical: true })).toBe(hex('08 64  10 01'));
  });
});

describe('etcdserverpb.Watch messages', () => {
  it('WatchRequest oneof: create_request 1, cancel_request 2, progress_request 3', () => {
    const create = request(protos.Watch, 'Watch', {
      createRequest: {
        key: b('foo'),
        rangeEnd: b('fop'),
        startRevision: '7',
        progressNotify: true,
        filters: ['NODELETE'],
        prevKv: true,
        fragment: true,
      },
    });
    // WatchCreateRequest: key 1, range_end 2, start_revision 3, progress_notify 4,
    // filters 5 (packed), prev_kv 6, watch_id 7, fragment 8.
    expect(create).toBe(hex('0a 15  0a03666f6f 120366 6f70 1807 2001 2a0101 3001 4001'));
    expect(
      request(protos.Watch, 'Watch', { createRequest: { key: b('a'), watchId: '3', filters: ['NOPUT'] } }),
    ).toBe(hex('0a 08 0a0161 2a0100 3803'));
    expect(request(protos.Watch, 'Watch', { cancelRequest: { watchId: '3' } })).toBe(hex('12 02 0803'));
    expect(request(protos.Watch, 'Watch', { progressRequest: {} })).toBe(hex('1a 00'));
    const decoded = method(protos.Watch, 'Watch').requestDeserialize(Buffer.from(hex('12 02 0803'), 'hex'));
    expect(decoded).toMatchObject({ requestUnion: 'cancelRequest', cancelRequest: { watchId: '3' } });
  });

  it('WatchResponse: watch_id 2, created 3, canceled 4, compact_revision 5, cancel_reason 6, fragment 7, events 11', () => {
    const bytes = response(protos.Watch, 'Watch', {
      header: { revision: '5' },
      watchId: '1',
      created: true,
      canceled: true,
      compactRevision: '2',
      cancelReason: 'x',
      fragment: true,
      events: [{ type: 'DELETE', kv: { key: b('a'), modRevision: '5' }, prevKv: { key: b('a') } }],
    });
    // Event: type 1 (DELETE = 1), kv 2, prev_kv 3. Field 11, wire type 2: tag 5a.
    expect(bytes).toBe(
      hex(
        '0a 02 1805  10 01  18 01  20 01  28 02  32 01 78  38 01  5a 0e 0801 12 05 0a0161 1805 1a 03 0a0161',
      ),
    );
    const decoded = method(protos.Watch, 'Watch').responseDeserialize(Buffer.from(hex('5a 02 0800'), 'hex'));
    expect(decoded).toMatchObject({ events: [{ type: 'PUT', kv: null, prevKv: null }] });
  });
});

describe('etcdserverpb.Lease messages', () => {
  it('keeps etcd field names TTL, ID, grantedTTL; numbers as in etcd', () => {
    expect(request(protos.Lease, 'LeaseGrant', { TTL: '60' })).toBe(hex('08 3c'));
    expect(response(protos.Lease, 'LeaseGrant', { ID: '7', TTL: '60', error: 'e' })).toBe(
      hex('10 07  18 3c  22 01 65'),
    );
    expect(request(protos.Lease, 'LeaseRevoke', { ID: '7' })).toBe(hex('08 07'));
    expect(request(protos.Lease, 'LeaseKeepAlive', { ID: '7' })).toBe(hex('08 07'));
    expect(response(protos.Lease, 'LeaseKeepAlive', { ID: '7', TTL: '60' })).toBe(hex('10 07  18 3c'));
    expect(request(protos.Lease, 'LeaseTimeToLive', { ID: '7', keys: true })).toBe(hex('08 07  10 01'));
    expect(
      response(protos.Lease, 'LeaseTimeToLive', { ID: '7', TTL: '5', grantedTTL: '60', keys: [b('k')] }),
    ).toBe(hex('10 07  18 05  20 3c  2a 01 6b'));
    expect(response(protos.Lease, 'LeaseLeases', { leases: [{ ID: '7' }] })).toBe(hex('12 02 0807'));
  });
});

describe('etcdserverpb.Cluster messages', () => {
  it('Member: ID 1, name 2, peerURLs 3, clientURLs 4, isLearner 5', () => {
    const member = { ID: '1', name: 'n', peerURLs: ['p'], clientURLs: ['c'], isLearner: true };
    const memberBytes = hex('08 01  12 01 6e  1a 01 70  22 01 63  28 01');
    expect(response(protos.Cluster, 'MemberList', { members: [member] })).toBe(hex(`12 0d ${memberBytes}`));
    expect(response(protos.Cluster, 'MemberAdd', { member, members: [member] })).toBe(
      hex(`12 0d ${memberBytes}  1a 0d ${memberBytes}`),
    );
    expect(request(protos.Cluster, 'MemberAdd', { peerURLs: ['http://a'], isLearner: true })).toBe(
      hex(`0a 08 ${b('http://a').toString('hex')}  10 01`),
    );
    expect(request(protos.Cluster, 'MemberUpdate', { ID: '2', peerURLs: ['p'] })).toBe(
      hex('08 02  12 01 70'),
    );
    expect(request(protos.Cluster, 'MemberRemove', { ID: '2' })).toBe(hex('08 02'));
    expect(request(protos.Cluster, 'MemberPromote', { ID: '2' })).toBe(hex('08 02'));
  });
});

describe('etcdserverpb.Maintenance messages', () => {
  it('StatusResponse: etcd 3.4 fields 1–10', () => {
    const bytes = response(protos.Maintenance, 'Status', {
      header: { memberId: '1' },
      version: '3.4.23',
      dbSize: '2',
      leader: '1',
      raftIndex: '3',
      raftTerm: '4',
      raftAppliedIndex: '5',
      errors: ['e'],
      dbSizeInUse: '6',
      isLearner: true,
    });
    expect(bytes).toBe(
      hex(
        `0a 02 1001  12 06 ${b('3.4.23').toString('hex')}  18 02  20 01  28 03  30 04  38 05  42 01 65  48 06  50 01`,
      ),
    );
  });

  it('Alarm: AlarmType NONE 0 / NOSPACE 1 / CORRUPT 2; action 1, memberID 2, alarm 3; AlarmMember memberID 1, alarm 2', () => {
    expect(
      request(protos.Maintenance, 'Alarm', { action: 'DEACTIVATE', memberID: '1', alarm: 'NOSPACE' }),
    ).toBe(hex('08 02  10 01  18 01'));
    expect(response(protos.Maintenance, 'Alarm', { alarms: [{ memberID: '1', alarm: 'CORRUPT' }] })).toBe(
      hex('12 04 0801 1002'),
    );
  });

  it('Hash, HashKV, Snapshot, MoveLeader', () => {
    expect(response(protos.Maintenance, 'Hash', { hash: 300 })).toBe(hex('10 ac02'));
    expect(request(protos.Maintenance, 'HashKV', { revision: '3' })).toBe(hex('08 03'));
    expect(response(protos.Maintenance, 'HashKV', { hash: 300, compactRevision: '2' })).toBe(
      hex('10 ac02  18 02'),
    );
    expect(
      response(protos.Maintenance, 'Snapshot', { remainingBytes: '1', blob: Buffer.from([1, 2, 3]) }),
    ).toBe(hex('10 01  1a 03 010203'));
    expect(request(protos.Maintenance, 'MoveLeader', { targetID: '2' })).toBe(hex('08 02'));
  });
});

describe('etcdserverpb.Auth and authpb messages', () => {
  it('UserAdd options 3 (authpb.UserAddOptions no_password 1)', () => {
    expect(request(protos.Auth, 'UserAdd', { name: 'u', password: 'p', options: { noPassword: true } })).toBe(
      hex('0a 01 75  12 01 70  1a 02 0801'),
    );
  });

  it('RoleGrantPermission perm 2 (authpb.Permission permType 1 READ/WRITE/READWRITE, key 2, range_end 3)', () => {
    expect(
      request(protos.Auth, 'RoleGrantPermission', {
        name: 'r',
        perm: { permType: 'READWRITE', key: b('a'), rangeEnd: b('b') },
      }),
    ).toBe(hex('0a 01 72  12 08 0802 120161 1a0162'));
    expect(response(protos.Auth, 'RoleGet', { perm: [{ permType: 'WRITE', key: b('a') }] })).toBe(
      hex('12 05 0801 120161'),
    );
  });

  it('request field names as in etcd: user/role, name/role, role/key/range_end', () => {
    expect(request(protos.Auth, 'UserGrantRole', { user: 'u', role: 'r' })).toBe(hex('0a 01 75  12 01 72'));
    expect(request(protos.Auth, 'UserRevokeRole', { name: 'u', role: 'r' })).toBe(hex('0a 01 75  12 01 72'));
    expect(request(protos.Auth, 'RoleRevokePermission', { role: 'r', key: b('a'), rangeEnd: b('b') })).toBe(
      hex('0a 01 72  12 01 61  1a 01 62'),
    );
    expect(response(protos.Auth, 'Authenticate', { token: 't' })).toBe(hex('12 01 74'));
    expect(response(protos.Auth, 'UserList', { users: ['u'] })).toBe(hex('12 01 75'));
    expect(response(protos.Auth, 'RoleList', { roles: ['r'] })).toBe(hex('12 01 72'));
  });

  it('authpb.User and authpb.Role (what etcd stores in its auth buckets)', () => {
    expect(
      encode('authpb.User', { name: b('u'), password: b('h'), roles: ['r'], options: { noPassword: true } }),
    ).toBe(hex('0a 01 75  12 01 68  1a 01 72  22 02 0801'));
    expect(encode('authpb.Role', { name: b('r'), keyPermission: [{ key: b('a') }] })).toBe(
      hex('0a 01 72  12 03 120161'),
    );
  });
});

describe('v3lockpb and v3electionpb messages', () => {
  it('Lock: name 1, lease 2; response key 2; Unlock key 1', () => {
    expect(request(protos.Lock, 'Lock', { name: b('l'), lease: '7' })).toBe(hex('0a 01 6c  10 07'));
    expect(response(protos.Lock, 'Lock', { header: {}, key: b('l/7') })).toBe(hex('0a 00  12 03 6c2f37'));
    expect(request(protos.Lock, 'Unlock', { key: b('l/7') })).toBe(hex('0a 03 6c2f37'));
  });

  it('Election: Campaign name 1, lease 2, value 3; LeaderKey name 1, key 2, rev 3, lease 4', () => {
    const leaderKey = hex('0a 01 65  12 03 652f31  18 03  20 07');
    expect(request(protos.Election, 'Campaign', { name: b('e'), lease: '7', value: b('v') })).toBe(
      hex('0a 01 65  10 07  1a 01 76'),
    );
    const leader = { name: b('e'), key: b('e/1'), rev: '3', lease: '7' };
    expect(response(protos.Election, 'Campaign', { leader })).toBe(hex(`12 0c ${leaderKey}`));
    expect(request(protos.Election, 'Proclaim', { leader, value: b('w') })).toBe(
      hex(`0a 0c ${leaderKey}  12 01 77`),
    );
    expect(request(protos.Election, 'Resign', { leader })).toBe(hex(`0a 0c ${leaderKey}`));
    expect(request(protos.Election, 'Observe', { name: b('e') })).toBe(hex('0a 01 65'));
    expect(response(protos.Election, 'Leader', { kv: { key: b('e/1') } })).toBe(hex('12 05 0a03652f31'));
  });
});

describe('zero values', () => {
  it('an absent field and a field set to its zero decode alike (etcd omits zeros; we do when they are left out)', () => {
    const compare = messageType('etcdserverpb.Compare');
    const withZeros = compare.serialize({ result: 'EQUAL', target: 'VERSION', key: b('k'), rangeEnd: b('') });
    const etcdBytes = Buffer.from(hex('1a 01 6b'), 'hex');
    expect(compare.deserialize(withZeros)).toEqual(compare.deserialize(etcdBytes));
    expect(compare.serialize({ key: b('k') })).toEqual(etcdBytes);
  });

  it('a oneof member set to zero is still written: Compare version == 0 means "key absent"', () => {
    expect(encode('etcdserverpb.Compare', { key: b('k'), version: '0' })).toBe(hex('1a 01 6b  20 00'));
    const decoded = messageType('etcdserverpb.Compare').deserialize(Buffer.from(hex('20 00'), 'hex'));
    expect(decoded).toMatchObject({ targetUnion: 'version', version: '0' });
  });

  it('decoding fills every non-oneof field with its default (defaults: true)', () => {
    expect(method(protos.KV, 'Range').requestDeserialize(Buffer.alloc(0))).toEqual({
      key: Buffer.alloc(0),
      rangeEnd: Buffer.alloc(0),
      limit: '0',
      revision: '0',
      sortOrder: 'NONE',
      sortTarget: 'KEY',
      serializable: false,
      keysOnly: false,
      countOnly: false,
      minModRevision: '0',
      maxModRevision: '0',
      minCreateRevision: '0',
      maxCreateRevision: '0',
    });
  });
});
