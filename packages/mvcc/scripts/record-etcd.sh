#!/usr/bin/env bash
# Records real etcd 3.4's exact answers to the requests that src/etcd-compat.test.ts replays on our
# KVStore, into src/testdata/etcd-3.4/<scenario>.json. Run it by hand to re-record; CI never runs it.
#
# Needs etcd, etcdctl (Debian: apt-get install etcd-server etcd-client), curl and jq.
# Every scenario gets a fresh single-member etcd, on loopback only, with a temporary data dir (so
# revisions start at 1), on ports 23990 (client) and 23991 (peer); it is stopped afterwards.
#
# Requests go through etcd's JSON gateway, which shows every field, nested txn responses included:
#   call PATH JSON   = curl -sS -X POST http://127.0.0.1:23990/v3/PATH -d JSON', where JSON' is JSON
#                      with every "key", "value" and "range_end" string base64-encoded (etcd's
#                      bytes fields); the readable JSON is recorded as "request", etcd's raw answer
#                      as "response" (int64 fields are strings there, zero values are left out).
#   ctl ARGS...      = ETCDCTL_API=3 etcdctl --endpoints=http://127.0.0.1:23990 ARGS...; stdout,
#                      stderr and exit status are recorded.
#   stream SECS PATH JSON = as call, for a streaming endpoint (watch), read for SECS seconds.
#
# Usage: packages/mvcc/scripts/record-etcd.sh [OUT_DIR]

set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${1:-$(cd "$HERE/.." && pwd)/src/testdata/etcd-3.4}
CLIENT_PORT=23990
PEER_PORT=23991
EP=http://127.0.0.1:$CLIENT_PORT
export ETCDCTL_API=3

for tool in etcd etcdctl curl jq; do
  command -v "$tool" >/dev/null || { echo "record-etcd: $tool not found" >&2; exit 1; }
done
ETCD_VERSION=$(etcd --version | sed -n 's/^etcd Version: //p')
case $ETCD_VERSION in 3.4.*) ;; *) echo "record-etcd: need etcd 3.4.x, found $ETCD_VERSION" >&2; exit 1 ;; esac
RECORDED_AT=$(date -u +%F)
mkdir -p "$OUT"

ETCD_PID=
CTL_OUT=
WORK=
SCENARIO=
STEPS=

stop_etcd() {
  if [[ -n $ETCD_PID ]]; then
    kill "$ETCD_PID" 2>/dev/null || true
    wait "$ETCD_PID" 2>/dev/null || true
    ETCD_PID=
  fi
  if [[ -n $WORK ]]; then
    rm -rf "$WORK"
    WORK=
  fi
}
trap stop_etcd EXIT

start_etcd() {
  if curl -sS -m 1 "$EP/health" >/dev/null 2>&1; then
    echo "record-etcd: something already listens on $EP" >&2
    exit 1
  fi
  WORK=$(mktemp -d)
  etcd --name default --data-dir "$WORK/data" \
    --listen-client-urls "$EP" --advertise-client-urls "$EP" \
    --listen-peer-urls "http://127.0.0.1:$PEER_PORT" \
    --initial-advertise-peer-urls "http://127.0.0.1:$PEER_PORT" \
    --initial-cluster "default=http://127.0.0.1:$PEER_PORT" \
    >"$WORK/etcd.log" 2>&1 &
  ETCD_PID=$!
  for _ in $(seq 1 100); do
    if curl -sS -m 1 "$EP/health" 2>/dev/null | grep -q '"health":"true"'; then return; fi
    sleep 0.1
  done
  echo "record-etcd: etcd did not become healthy; log:" >&2
  cat "$WORK/etcd.log" >&2
  exit 1
}

# scenario NAME DESCRIPTION: a fresh etcd and an empty step list.
scenario() {
  finish
  SCENARIO=$1
  start_etcd
  STEPS=$WORK/steps.jsonl
  : >"$STEPS"
  jq -n --arg d "$2" '{description: $d}' >"$WORK/meta.json"
  echo "record-etcd: $SCENARIO" >&2
}

# finish: writes the current scenario's recording and stops its etcd.
finish() {
  if [[ -z $SCENARIO ]]; then return; fi
  jq -s --arg s "$SCENARIO" --arg v "$ETCD_VERSION" --arg at "$RECORDED_AT" \
    --slurpfile meta "$WORK/meta.json" \
    '{scenario: $s, description: $meta[0].description, etcd_version: $v, recorded_at: $at, steps: .}' \
    "$STEPS" >"$OUT/$SCENARIO.json"
  SCENARIO=
  stop_etcd
}

encode() {
  jq -c 'walk(if type == "object" then with_entries(
      if (.key == "key" or .key == "value" or .key == "range_end") and (.value | type) == "string"
      then .value |= @base64 else . end) else . end)'
}

call() {
  local path=$1 readable=$2 body resp status
  body=$(printf '%s' "$readable" | encode)
  resp=$(curl -sS -X POST "$EP/v3/$path" -d "$body" -w '\n%{http_code}')
  status=${resp##*$'\n'}
  resp=${resp%$'\n'*}
  jq -nc --arg p "$path" --argjson q "$readable" --argjson r "$resp" --argjson s "$status" \
    '{call: $p, request: $q, http_status: $s, response: $r}' >>"$STEPS"
}

stream() {
  local secs=$1 path=$2 readable=$3 body resp
  body=$(printf '%s' "$readable" | encode)
  resp=$(curl -sS -m "$secs" -X POST "$EP/v3/$path" -d "$body" 2>/dev/null || true)
  jq -nc --arg p "$path" --argjson q "$readable" --argjson secs "$secs" --arg r "$resp" \
    '{stream: $p, request: $q, read_for_seconds: $secs, responses: ($r | [splits("\n") | select(length > 0) | fromjson])}' \
    >>"$STEPS"
}

json_args() {
  printf '%s\0' "$@" | jq -Rsc 'split("\u0000") | map(select(. != ""))'
}

# ctl ARGS...: records one etcdctl run; its stdout is left in CTL_OUT.
ctl() {
  local out err code=0
  out=$(etcdctl --endpoints="$EP" --command-timeout=5s "$@" 2>"$WORK/ctl.err") || code=$?
  err=$(cat "$WORK/ctl.err")
  CTL_OUT=$out
  jq -nc '{etcdctl: $a, stdout: $o, stderr: $e, exit: $c}' --argjson a "$(json_args "$@")" \
    --arg o "$out" --arg e "$err" --argjson c "$code" >>"$STEPS"
}

# ctl_for SECS ARGS...: etcdctl that does not end by itself (watch), stopped after SECS seconds.
ctl_for() {
  local secs=$1 out err code=0
  shift
  out=$(timeout "$secs" etcdctl --endpoints="$EP" "$@" 2>"$WORK/ctl.err") || code=$?
  err=$(cat "$WORK/ctl.err")
  jq -nc '{etcdctl: $a, run_for_seconds: $s, stdout: $o, stderr: $e, exit: $c}' \
    --argjson a "$(json_args "$@")" --argjson s "$secs" --arg o "$out" --arg e "$err" --argjson c "$code" \
    >>"$STEPS"
}

note() {
  jq -nc --arg n "$1" '{note: $n}' >>"$STEPS"
}

# ---- scenarios ---------------------------------------------------------------------------------

scenario empty-store 'A new store is at revision 1; its first write makes revision 2.'
call kv/range '{"key":"a"}'
call kv/range '{"key":"\u0000","range_end":"\u0000"}'
call kv/put '{"key":"a","value":"1"}'

scenario revisions-one-key 'put/put/delete/put on one key: versions, create_revision reset, history.'
call kv/put '{"key":"a","value":"v1"}'
call kv/put '{"key":"a","value":"v2"}'
call kv/deleterange '{"key":"a"}'
call kv/put '{"key":"a","value":"v3"}'
call kv/range '{"key":"a"}'
call kv/range '{"key":"a","revision":"2"}'
call kv/range '{"key":"a","revision":"3"}'
call kv/range '{"key":"a","revision":"4"}'
call kv/range '{"key":"a","revision":"5"}'

scenario delete-missing 'A delete that deletes nothing does not use a revision.'
call kv/put '{"key":"a","value":"1"}'
call kv/deleterange '{"key":"b"}'
call kv/deleterange '{"key":"b","range_end":"c","prev_kv":true}'
call kv/range '{"key":"a"}'
call kv/put '{"key":"a","value":"2"}'

scenario range-limit 'limit, more and count.'
call kv/put '{"key":"a","value":"1"}'
call kv/put '{"key":"b","value":"2"}'
call kv/put '{"key":"c","value":"3"}'
call kv/range '{"key":"a","range_end":"\u0000","limit":"2"}'
call kv/range '{"key":"a","range_end":"\u0000","limit":"3"}'
call kv/range '{"key":"a","range_end":"\u0000","limit":"4"}'
call kv/range '{"key":"b","range_end":"\u0000","limit":"1"}'
call kv/range '{"key":"a","limit":"1"}'

scenario range-kinds 'Single key, from-key, prefix, [key, end), an end <= key, and all keys.'
call kv/put '{"key":"a","value":"1"}'
call kv/put '{"key":"ab","value":"2"}'
call kv/put '{"key":"abc","value":"3"}'
call kv/put '{"key":"b","value":"4"}'
call kv/put '{"key":"c","value":"5"}'
ctl get ab --from-key
call kv/range '{"key":"ab","range_end":"\u0000"}'
ctl get a --prefix
call kv/range '{"key":"a","range_end":"b"}'
call kv/range '{"key":"ab","range_end":"b"}'
call kv/range '{"key":"c","range_end":"a"}'
call kv/range '{"key":"b","range_end":"b"}'
call kv/range '{"key":"\u0000","range_end":"\u0000"}'
call kv/range '{"key":"abc","range_end":"\u0000","keys_only":true}'

scenario range-sort 'Sort orders and targets; a non-KEY target with order NONE sorts ascending.'
call kv/put '{"key":"a","value":"z"}'
call kv/put '{"key":"b","value":"y"}'
call kv/put '{"key":"c","value":"x"}'
call kv/put '{"key":"d","value":"w"}'
call kv/put '{"key":"a","value":"z2"}'
call kv/put '{"key":"a","value":"z3"}'
call kv/put '{"key":"c","value":"x2"}'
call kv/range '{"key":"a","range_end":"e","sort_order":"DESCEND","sort_target":"KEY"}'
call kv/range '{"key":"a","range_end":"e","sort_order":"NONE","sort_target":"VERSION"}'
call kv/range '{"key":"a","range_end":"e","sort_order":"DESCEND","sort_target":"VERSION"}'
call kv/range '{"key":"a","range_end":"e","sort_order":"DESCEND","sort_target":"CREATE"}'
call kv/range '{"key":"a","range_end":"e","sort_order":"ASCEND","sort_target":"MOD"}'
call kv/range '{"key":"a","range_end":"e","sort_order":"DESCEND","sort_target":"MOD"}'
call kv/range '{"key":"a","range_end":"e","sort_order":"ASCEND","sort_target":"VALUE"}'
call kv/range '{"key":"a","range_end":"e","sort_order":"DESCEND","sort_target":"VALUE"}'
call kv/range '{"key":"a","range_end":"e","sort_order":"NONE","sort_target":"VERSION","limit":"2"}'
call kv/range '{"key":"a","range_end":"e","sort_order":"ASCEND","sort_target":"VERSION","limit":"2"}'
call kv/range '{"key":"a","range_end":"e","sort_order":"DESCEND","sort_target":"KEY","limit":"2"}'
ctl get a e --sort-by=VERSION
ctl get a e --sort-by=VERSION --order=DESCEND

scenario range-count-keys-only 'count_only and keys_only.'
call kv/put '{"key":"a","value":"1"}'
call kv/put '{"key":"b","value":"2"}'
call kv/put '{"key":"b","value":"3"}'
call kv/range '{"key":"a","range_end":"\u0000","count_only":true}'
call kv/range '{"key":"a","range_end":"\u0000","count_only":true,"limit":"1"}'
call kv/range '{"key":"a","range_end":"\u0000","keys_only":true}'
call kv/range '{"key":"a","range_end":"\u0000","keys_only":true,"limit":"1"}'
call kv/range '{"key":"z","count_only":true}'

scenario range-historical 'Reads at past revisions; the header carries the current revision.'
call kv/put '{"key":"a","value":"1"}'
call kv/put '{"key":"b","value":"1"}'
call kv/put '{"key":"a","value":"2"}'
call kv/deleterange '{"key":"b"}'
call kv/range '{"key":"a","range_end":"\u0000","revision":"1"}'
call kv/range '{"key":"a","range_end":"\u0000","revision":"2"}'
call kv/range '{"key":"a","range_end":"\u0000","revision":"3"}'
call kv/range '{"key":"a","range_end":"\u0000","revision":"4"}'
call kv/range '{"key":"a","range_end":"\u0000","revision":"5"}'
call kv/range '{"key":"a","range_end":"\u0000","revision":"3","count_only":true}'
ctl get a --rev=2 -w json

scenario range-revision-filters 'min/max mod/create revision filters; count is taken before filtering.'
call kv/put '{"key":"a","value":"1"}'
call kv/put '{"key":"b","value":"1"}'
call kv/put '{"key":"a","value":"2"}'
call kv/put '{"key":"c","value":"1"}'
call kv/range '{"key":"a","range_end":"\u0000","min_mod_revision":"4"}'
call kv/range '{"key":"a","range_end":"\u0000","max_mod_revision":"3"}'
call kv/range '{"key":"a","range_end":"\u0000","min_create_revision":"3"}'
call kv/range '{"key":"a","range_end":"\u0000","max_create_revision":"2"}'
call kv/range '{"key":"a","range_end":"\u0000","min_mod_revision":"4","limit":"1"}'
call kv/range '{"key":"a","range_end":"\u0000","min_create_revision":"3","max_mod_revision":"4"}'
call kv/range '{"key":"a","range_end":"\u0000","min_mod_revision":"9"}'

scenario put-options 'prev_kv, ignore_value, ignore_lease, and put errors.'
call kv/put '{"key":"a","value":"v1","prev_kv":true}'
call kv/put '{"key":"a","value":"v2","prev_kv":true}'
call kv/put '{"key":"a","ignore_value":true,"prev_kv":true}'
call kv/put '{"key":"a","value":"v3","ignore_lease":true}'
call kv/range '{"key":"a"}'
call kv/put '{"key":"b","ignore_value":true}'
call kv/put '{"key":"b","value":"x","ignore_lease":true}'
call kv/put '{"key":"a","value":"x","ignore_value":true}'
call kv/put '{"key":"a","value":"x","lease":"12345","ignore_lease":true}'
call kv/put '{"key":"a","value":"x","lease":"12345"}'
call kv/put '{"value":"x"}'
call kv/range '{"key":"a"}'
ctl put b --ignore-value
ctl put a x --prev-kv -w json

scenario txn-branches 'Txn success and failure branches: puts, a delete, ranges; nested headers.'
call kv/put '{"key":"a","value":"1"}'
call kv/put '{"key":"b","value":"1"}'
call kv/txn '{"compare":[{"key":"a","target":"VALUE","result":"EQUAL","value":"1"}],
  "success":[{"request_range":{"key":"a"}},{"request_put":{"key":"a","value":"2","prev_kv":true}},
    {"request_delete_range":{"key":"b","prev_kv":true}},{"request_range":{"key":"a"}},
    {"request_range":{"key":"b"}},{"request_put":{"key":"c","value":"1"}}],
  "failure":[{"request_put":{"key":"x","value":"1"}}]}'
call kv/txn '{"compare":[{"key":"a","target":"VALUE","result":"EQUAL","value":"1"}],
  "success":[{"request_put":{"key":"x","value":"1"}}],
  "failure":[{"request_range":{"key":"a"}},{"request_put":{"key":"d","value":"1"}}]}'
call kv/txn '{"compare":[{"key":"z","target":"CREATE","result":"EQUAL","create_revision":"0"},
    {"key":"a","target":"MOD","result":"GREATER","mod_revision":"3"},
    {"key":"a","target":"VERSION","result":"EQUAL","version":"2"}],
  "success":[{"request_put":{"key":"z","value":"1"}}],"failure":[]}'
call kv/txn '{"compare":[{"key":"a","range_end":"e","target":"VERSION","result":"GREATER","version":"0"}],
  "success":[{"request_put":{"key":"y","value":"1"}}],
  "failure":[{"request_range":{"key":"a","range_end":"\u0000","count_only":true}}]}'
call kv/txn '{"compare":[{"key":"q","target":"VALUE","result":"NOT_EQUAL","value":"1"}],
  "success":[{"request_put":{"key":"y","value":"2"}}],
  "failure":[{"request_delete_range":{"key":"q"}},{"request_put":{"key":"y","value":"3"}},
    {"request_delete_range":{"key":"q"}}]}'
call kv/range '{"key":"a","range_end":"\u0000"}'

scenario txn-read-own-write 'A range in a txn sees the writes made earlier in the same txn.'
call kv/put '{"key":"a","value":"old"}'
call kv/txn '{"success":[{"request_range":{"key":"a"}},{"request_put":{"key":"a","value":"new"}},
  {"request_range":{"key":"a"}},{"request_put":{"key":"b","value":"1"}},
  {"request_range":{"key":"a","range_end":"\u0000"}}]}'
call kv/txn '{"success":[{"request_delete_range":{"key":"a"}},{"request_range":{"key":"a"}},
  {"request_range":{"key":"a","revision":"3"}}]}'

scenario txn-nested 'Nested txns: compares are all evaluated before the outer txn writes; nested headers.'
call kv/txn '{"success":[{"request_put":{"key":"a","value":"1"}},
  {"request_txn":{"compare":[{"key":"a","target":"VERSION","result":"EQUAL","version":"1"}],
    "success":[{"request_put":{"key":"then","value":"1"}}],
    "failure":[{"request_put":{"key":"else","value":"1"}},{"request_range":{"key":"a"}}]}},
  {"request_range":{"key":"a","range_end":"\u0000"}}]}'
call kv/txn '{"success":[{"request_range":{"key":"a"}},
  {"request_txn":{"compare":[{"key":"a","target":"VERSION","result":"EQUAL","version":"1"}],
    "success":[{"request_put":{"key":"a","value":"2"}},
      {"request_txn":{"success":[{"request_range":{"key":"a"}}]}}],
    "failure":[{"request_put":{"key":"a","value":"3"}}]}}]}'
call kv/txn '{"success":[{"request_txn":{"success":[{"request_range":{"key":"a"}}]}}]}'
call kv/txn '{"success":[{"request_txn":{"compare":[{"key":"nope","target":"VERSION","result":"EQUAL","version":"0"}],
  "success":[{"request_put":{"key":"n","value":"1"}}],
  "failure":[{"request_range":{"key":"a","revision":"99"}},{"request_put":{"key":"nope","ignore_value":true}},
    {"request_put":{"key":"m","value":"1","lease":"12345"}}]}}]}'

scenario txn-errors 'Txn validation: duplicate keys, too many ops, read revisions; nothing is written.'
call kv/put '{"key":"a","value":"1"}'
call kv/txn '{"success":[{"request_put":{"key":"a","value":"1"}},{"request_put":{"key":"a","value":"2"}}]}'
call kv/txn '{"success":[{"request_put":{"key":"b","value":"1"}},{"request_delete_range":{"key":"a","range_end":"c"}}]}'
call kv/txn '{"success":[{"request_put":{"key":"a","value":"1"}},
  {"request_txn":{"success":[{"request_put":{"key":"a","value":"2"}}]}}]}'
call kv/txn '{"success":[{"request_txn":{"compare":[{"key":"a","target":"VERSION","result":"EQUAL","version":"1"}],
  "success":[{"request_put":{"key":"k","value":"then"}}],"failure":[{"request_put":{"key":"k","value":"else"}}]}}]}'
call kv/txn '{"success":[{"request_delete_range":{"key":"a"}},{"request_delete_range":{"key":"a","range_end":"c"}}]}'
call kv/txn "$(jq -nc '{success: [range(129) | {request_put: {key: "k\(.)", value: "v"}}]}')"
call kv/txn "$(jq -nc '{success: [range(128) | {request_put: {key: "k\(.)", value: "v"}}]}')"
call kv/txn '{"success":[{"request_put":{"key":"x","value":"1"}},{"request_range":{"key":"a","revision":"6"}}]}'
call kv/txn '{"success":[{"request_put":{"key":"x","value":"1"}},{"request_range":{"key":"a","revision":"5"}}]}'
call kv/range '{"key":"\u0000","range_end":"\u0000","count_only":true}'

scenario compaction 'Compaction: reads below it fail, at it succeed; compacting again or ahead fails.'
call kv/put '{"key":"a","value":"1"}'
call kv/put '{"key":"a","value":"2"}'
call kv/put '{"key":"a","value":"3"}'
call kv/put '{"key":"b","value":"1"}'
call kv/compaction '{"revision":"4"}'
call kv/range '{"key":"a","revision":"3"}'
call kv/range '{"key":"a","revision":"1"}'
call kv/range '{"key":"a","range_end":"\u0000","revision":"4"}'
call kv/range '{"key":"a","range_end":"\u0000"}'
call kv/compaction '{"revision":"4"}'
call kv/compaction '{"revision":"3"}'
call kv/compaction '{"revision":"9"}'
call kv/txn '{"success":[{"request_range":{"key":"a","revision":"3"}}]}'
call kv/put '{"key":"c","value":"1"}'
call kv/compaction '{"revision":"6","physical":true}'
call kv/range '{"key":"a","range_end":"\u0000","revision":"6"}'
ctl get a --rev=3
ctl compact 6

scenario compaction-tombstone 'Compacting over a delete: the key stays gone; a new put starts a new generation.'
call kv/put '{"key":"a","value":"1"}'
call kv/put '{"key":"a","value":"2"}'
call kv/deleterange '{"key":"a"}'
call kv/put '{"key":"b","value":"1"}'
call kv/compaction '{"revision":"4"}'
call kv/range '{"key":"a","range_end":"\u0000","revision":"4"}'
call kv/range '{"key":"a","range_end":"\u0000","revision":"5"}'
call kv/put '{"key":"a","value":"3","prev_kv":true}'
call kv/range '{"key":"a"}'
call kv/compaction '{"revision":"6"}'
call kv/range '{"key":"a","range_end":"\u0000","revision":"6"}'
call kv/deleterange '{"key":"a","range_end":"\u0000","prev_kv":true}'

scenario future-revision 'A read at a revision the store has not reached.'
call kv/put '{"key":"a","value":"1"}'
call kv/range '{"key":"a","revision":"3"}'
call kv/range '{"key":"a","revision":"2"}'
ctl get a --rev=3

scenario delete-prev-kv 'DeleteRange over ranges, with and without prev_kv.'
call kv/put '{"key":"a","value":"1"}'
call kv/put '{"key":"b","value":"2"}'
call kv/put '{"key":"b","value":"3"}'
call kv/put '{"key":"c","value":"4"}'
call kv/deleterange '{"key":"a","range_end":"c","prev_kv":true}'
call kv/deleterange '{"key":"a","range_end":"\u0000"}'
call kv/deleterange '{"key":"a","range_end":"\u0000","prev_kv":true}'
call kv/range '{"key":"a","range_end":"\u0000","revision":"5"}'

scenario txn-read-only 'Txns that write nothing leave the revision unchanged.'
call kv/put '{"key":"a","value":"1"}'
call kv/txn '{"compare":[{"key":"a","target":"VERSION","result":"EQUAL","version":"1"}],
  "success":[{"request_range":{"key":"a"}}],"failure":[]}'
call kv/txn '{}'
call kv/txn '{"compare":[{"key":"a","target":"VERSION","result":"EQUAL","version":"9"}],
  "success":[{"request_range":{"key":"a"}}],"failure":[]}'
call kv/txn '{"success":[{"request_delete_range":{"key":"nope"}},{"request_range":{"key":"a"}}]}'
call kv/put '{"key":"a","value":"2"}'

# ---- for the watch and lease APIs (not yet pinned by tests) ------------------------------------

scenario watch-compacted 'Watching from a compacted revision; events, prev_kv and delete events.'
call kv/put '{"key":"a","value":"1"}'
call kv/put '{"key":"a","value":"2"}'
call kv/deleterange '{"key":"a"}'
call kv/put '{"key":"a","value":"3"}'
call kv/put '{"key":"b","value":"1"}'
stream 2 watch '{"create_request":{"key":"a","start_revision":"1","prev_kv":true}}'
call kv/compaction '{"revision":"4"}'
stream 2 watch '{"create_request":{"key":"a","start_revision":"2"}}'
stream 2 watch '{"create_request":{"key":"a","start_revision":"3","prev_kv":true}}'
stream 2 watch '{"create_request":{"key":"a","start_revision":"4","prev_kv":true}}'
stream 2 watch '{"create_request":{"key":"a","range_end":"\u0000","start_revision":"5","prev_kv":true}}'
stream 2 watch '{"create_request":{"key":"a","start_revision":"0"}}'
stream 2 watch '{"create_request":{"key":"a","start_revision":"9"}}'
ctl_for 2 watch a --rev=2
ctl_for 2 watch a --rev=4 --prev-kv
ctl_for 2 watch a --rev=2 -w json

scenario lease-ttl 'Lease TTLs: a 1 s grant is raised to the minimum TTL; expiry deletes keys.'
call lease/grant '{"TTL":"1","ID":"1000"}'
call kv/put '{"key":"k","value":"v","lease":"1000"}'
call lease/timetolive '{"ID":"1000","keys":true}'
call kv/range '{"key":"k"}'
call lease/grant '{"TTL":"1","ID":"1000"}'
call lease/grant '{"TTL":"60","ID":"2000"}'
call lease/timetolive '{"ID":"2000"}'
call lease/leases '{}'
note 'sleep 5: lease 1000 (TTL 2 s) expires; the leader revokes it through raft'
sleep 5
call lease/timetolive '{"ID":"1000","keys":true}'
call kv/range '{"key":"k"}'
call kv/range '{"key":"k","revision":"2"}'
call lease/revoke '{"ID":"1000"}'
call kv/put '{"key":"k","value":"v","lease":"1000"}'
call lease/revoke '{"ID":"2000"}'
call kv/range '{"key":"\u0000","range_end":"\u0000","count_only":true}'
ctl lease grant 1
ctl lease timetolive "$(awk '{print $2}' <<<"$CTL_OUT")" --keys
ctl lease timetolive 3e8
ctl lease keep-alive --once 3e8
ctl lease revoke 3e8
ctl lease grant 0

finish
echo "record-etcd: wrote $OUT" >&2
