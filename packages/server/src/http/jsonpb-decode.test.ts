/**
 * jsonpb-decode.ts: request JSON → wire bytes, read back with our .proto files. Each error text
 * is what etcd 3.4.23's gateway answered the same body with (recorded with curl against a real
 * etcd; gateway-differential.integration.test.ts holds most of them to it).
 */

import type { MessageTypeDefinition } from '@grpc/proto-loader';
import { describe, expect, it } from 'vitest';
import { scanWhole } from './go-json.js';
import { decodeRequest, NilRepeatedMessageError } from './jsonpb-decode.js';
import { isOneofMember, jsonDefinitions } from './proto-schema.js';

/** `json` as message `type`, decoded back (int64 as strings, enums by name, bytes as base64). */
function roundTrip(type: string, json: string): unknown {
  const buf = Buffer.from(json, 'utf8');
  const wire = decodeRequest(buf, scanWhole(buf), type);
  return (jsonDefinitions()[type] as MessageTypeDefinition<object, object>).deserialize(wire);
}

function failure(type: string, json: string): string {
  try {
    roundTrip(type, json);
    return 'no error';
  } catch (err) {
    return (err as Error).message;
  }
}

const RANGE = 'etcdserverpb.RangeRequest';
const TXN = 'etcdserverpb.TxnRequest';

describe('field names', () => {
  it('takes proto and camelCase names; camelCase wins when both are given; ignores unknown ones', () => {
    expect(roundTrip(RANGE, '{"key":"Zm9v","range_end":"AA==","keysOnly":true,"other":{"a":[1]}}')).toEqual({
      key: 'Zm9v',
      range_end: 'AA==',
      keys_only: true,
    });
    expect(roundTrip(RANGE, '{"key":"Zm9v","keysOnly":true,"keys_only":false}')).toEqual({
      key: 'Zm9v',
      keys_only: true,
    });
    expect(roundTrip(RANGE, '{"key":"Zm9v","keys_only":true,"keysOnly":null}')).toEqual({ key: 'Zm9v' });
    // A repeated key: the last one (a Go map).
    expect(roundTrip(RANGE, '{"key":"Zm9v","key":"YmFy"}')).toEqual({ key: 'YmFy' });
    expect(roundTrip('etcdserverpb.LeaseGrantRequest', '{"TTL":"5","ID":7}')).toEqual({ TTL: '5', ID: '7' });
  });
});

describe('values as Go reads them', () => {
  it.each([
    [RANGE, '[]', 'json: cannot unmarshal array into Go value of type map[string]json.RawMessage'],
    [RANGE, '{"key":"Zm9v","keys_only":"true"}', 'json: cannot unmarshal string into Go value of type bool'],
    [RANGE, '{"key":"Zm9v","keys_only":1}', 'json: cannot unmarshal number into Go value of type bool'],
    [RANGE, '{"key":{}}', 'json: cannot unmarshal object into Go value of type []uint8'],
    [RANGE, '{"key":["Zm9v"]}', 'json: cannot unmarshal string into Go value of type uint8'],
    [RANGE, '{"key":[300]}', 'json: cannot unmarshal number 300 into Go value of type uint8'],
    [RANGE, '{"key":"Zm9vYg"}', 'illegal base64 data at input byte 4'],
    [RANGE, '{"limit":true}', 'json: cannot unmarshal bool into Go value of type int64'],
    [RANGE, '{"limit":"abc"}', "invalid character 'a' looking for beginning of value"],
    [RANGE, '{"limit":""}', 'unexpected end of JSON input'],
    [RANGE, '{"limit":"0x10"}', "invalid character 'x' after top-level value"],
    [RANGE, '{"limit":1.5}', 'json: cannot unmarshal number 1.5 into Go value of type int64'],
    [RANGE, '{"limit":"1e3"}', 'json: cannot unmarshal number 1e3 into Go value of type int64'],
    [
      RANGE,
      '{"limit":"99999999999999999999"}',
      'json: cannot unmarshal number 99999999999999999999 into Go value of type int64',
    ],
    [
      RANGE,
      '{"limit":"-9223372036854775809"}',
      'json: cannot unmarshal number -9223372036854775809 into Go value of type int64',
    ],
    [
      'etcdserverpb.AlarmRequest',
      '{"memberID":"-0"}',
      'json: cannot unmarshal number -0 into Go value of type uint64',
    ],
    [
      'etcdserverpb.AlarmRequest',
      '{"memberID":"18446744073709551616"}',
      'json: cannot unmarshal number 18446744073709551616 into Go value of type uint64',
    ],
    [RANGE, '{"sort_order":"BOGUS"}', 'unknown value "BOGUS" for enum etcdserverpb.RangeRequest_SortOrder'],
    [
      RANGE,
      '{"sort_order":"\\u0041SCEND"}',
      'unknown value "\\\\u0041SCEND" for enum etcdserverpb.RangeRequest_SortOrder',
    ],
    [
      RANGE,
      '{"sort_order":3000000000}',
      'json: cannot unmarshal number 3000000000 into Go value of type etcdserverpb.RangeRequest_SortOrder',
    ],
    ['etcdserverpb.AlarmRequest', '{"alarm":"FULL"}', 'unknown value "FULL" for enum etcdserverpb.AlarmType'],
    [
      'etcdserverpb.AuthRoleGrantPermissionRequest',
      '{"perm":{"permType":"BAD"}}',
      'unknown value "BAD" for enum authpb.Permission_Type',
    ],
    [TXN, '{"compare":{}}', 'json: cannot unmarshal object into Go value of type []json.RawMessage'],
    [
      TXN,
      '{"success":["x"]}',
      'json: cannot unmarshal string into Go value of type map[string]json.RawMessage',
    ],
    [
      'etcdserverpb.WatchCreateRequest',
      '{"filters":["BOGUS"]}',
      'unknown value "BOGUS" for enum etcdserverpb.WatchCreateRequest_FilterType',
    ],
    [
      'etcdserverpb.WatchCreateRequest',
      '{"filters":"NOPUT"}',
      'invalid target "slice" for enum etcdserverpb.WatchCreateRequest_FilterType',
    ],
    [
      'etcdserverpb.MemberAddRequest',
      '{"peerURLs":[5]}',
      'json: cannot unmarshal number into Go value of type string',
    ],
  ])('%s %s → %s', (type, json, message) => {
    expect(failure(type, json)).toBe(message);
  });

  it('reads regular fields before oneof members, each in declaration order', () => {
    expect(failure(TXN, '{"compare":[{"version":"x","key":5}]}')).toBe(
      'json: cannot unmarshal number into Go value of type []uint8',
    );
    expect(failure(TXN, '{"compare":[{"key":5,"result":"NOPE"}]}')).toBe(
      'unknown value "NOPE" for enum etcdserverpb.Compare_CompareResult',
    );
  });

  it('accepts integers as numbers and strings (spaces around them too), bytes as arrays, null as unset', () => {
    expect(roundTrip(RANGE, '{"key":[102,111,111],"limit":" 5 ","revision":-0,"sort_order":null}')).toEqual({
      key: 'Zm9v',
      limit: '5',
    });
    expect(roundTrip(RANGE, '{"key":"Zm9v\\n","limit":"null"}')).toEqual({ key: 'Zm9v' });
  });

  it('passes enum numbers through, known or not', () => {
    expect(roundTrip(RANGE, '{"sort_order":2,"sort_target":"VALUE"}')).toEqual({
      sort_order: 'DESCEND',
      sort_target: 'VALUE',
    });
    expect(roundTrip(RANGE, '{"sort_order":9}')).toEqual({ sort_order: 9 });
    expect(roundTrip(RANGE, '{"sort_order":-1}')).toEqual({ sort_order: -1 });
    expect(roundTrip('etcdserverpb.WatchCreateRequest', '{"filters":[0,"NODELETE",5,null]}')).toEqual({
      filters: ['NOPUT', 'NODELETE', 5, 'NOPUT'],
    });
  });
});

describe('int64s', () => {
  it('keeps every int64 exact', () => {
    expect(roundTrip('etcdserverpb.PutRequest', '{"lease":"9223372036854775807"}')).toEqual({
      lease: '9223372036854775807',
    });
    expect(roundTrip('etcdserverpb.LeaseGrantRequest', '{"ID":"-9223372036854775808"}')).toEqual({
      ID: '-9223372036854775808',
    });
    expect(roundTrip('etcdserverpb.AlarmRequest', '{"memberID":"18446744073709551615"}')).toEqual({
      memberID: '18446744073709551615',
    });
  });

  it('replaces a limit or revision beyond the safe integers with one of the same meaning', () => {
    expect(roundTrip(RANGE, '{"limit":"9223372036854775807"}')).toEqual({});
    expect(roundTrip(RANGE, '{"limit":"-9223372036854775808","revision":"9007199254740993"}')).toEqual({
      revision: '9007199254740991',
    });
    expect(
      roundTrip(RANGE, '{"limit":"9007199254740991","min_mod_revision":"-9223372036854775808"}'),
    ).toEqual({
      limit: '9007199254740991',
      min_mod_revision: '-9007199254740991',
    });
    // A client's own watch ID is echoed back by etcd: not replaced.
    expect(roundTrip('etcdserverpb.WatchCreateRequest', '{"watch_id":"9007199254740993"}')).toEqual({
      watch_id: '9007199254740993',
    });
  });
});

describe('oneofs and nested messages', () => {
  it('knows which fields are oneof members', () => {
    expect(isOneofMember('etcdserverpb.Compare', 'version')).toBe(true);
    expect(isOneofMember('etcdserverpb.Compare', 'range_end')).toBe(false);
    expect(isOneofMember('etcdserverpb.RequestOp', 'request_range')).toBe(true);
  });

  it('writes a oneof scalar even when zero or null, and a null oneof message not at all', () => {
    expect(
      roundTrip(TXN, '{"compare":[{"key":"Zm9v","version":null}],"success":[{"request_range":null}]}'),
    ).toEqual({
      compare: [{ key: 'Zm9v', version: '0' }],
      success: [{}],
    });
  });

  it('refuses a null item of a repeated message field (etcd drops the connection)', () => {
    expect(() => roundTrip(TXN, '{"compare":[null]}')).toThrow(NilRepeatedMessageError);
  });

  it('decodes nested txns', () => {
    expect(
      roundTrip(
        TXN,
        '{"success":[{"request_txn":{"failure":[{"requestPut":{"key":"YQ==","prevKv":true}}]}}]}',
      ),
    ).toEqual({ success: [{ request_txn: { failure: [{ request_put: { key: 'YQ==', prev_kv: true } }] } }] });
  });
});
