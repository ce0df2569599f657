#!/usr/bin/env bash
# Starts tsetcd members on loopback for benchmarks, in fresh data dirs under /tmp, and waits until
# they are healthy; prints the client endpoints (comma-separated) for gobench / compare.sh.
#
# usage: scripts/start-members.sh single|cluster [BASE_PORT]    (default 24790)
# Member i serves clients on BASE_PORT+i and peers on BASE_PORT+10+i. Its PID is appended to
# /tmp/tsetcd-bench-BASE_PORT/pids; stop them with: kill -INT $(cat /tmp/tsetcd-bench-BASE_PORT/pids)
set -euo pipefail
mode=${1:-single}
base=${2:-24790}
case $mode in single) n=1 ;; cluster) n=3 ;; *) echo "usage: $0 single|cluster [BASE_PORT]" >&2; exit 2 ;; esac
main="$(cd "$(dirname "$0")/.." && pwd)/dist/cli/main.js"
root=/tmp/tsetcd-bench-$base
rm -rf "$root"
mkdir -p "$root"
cluster=""
for i in $(seq 0 $((n - 1))); do cluster="$cluster,m$i=http://127.0.0.1:$((base + 10 + i))"; done
cluster=${cluster#,}
endpoints=""
for i in $(seq 0 $((n - 1))); do
  c=http://127.0.0.1:$((base + i))
  p=http://127.0.0.1:$((base + 10 + i))
  node "$main" --name "m$i" --data-dir "$root/m$i.etcd" \
    --listen-client-urls "$c" --advertise-client-urls "$c" \
    --listen-peer-urls "$p" --initial-advertise-peer-urls "$p" \
    --initial-cluster "$cluster" --initial-cluster-token tsetcd-bench >"$root/m$i.log" 2>&1 &
  echo $! >>"$root/pids"
  endpoints="$endpoints,127.0.0.1:$((base + i))"
done
endpoints=${endpoints#,}
for _ in $(seq 100); do
  if ETCDCTL_API=3 etcdctl --endpoints "$endpoints" endpoint health >/dev/null 2>&1; then
    echo "$endpoints"
    exit 0
  fi
  sleep 0.2
done
echo "members did not become healthy; logs in $root" >&2
exit 1
