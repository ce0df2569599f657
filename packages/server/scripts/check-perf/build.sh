#!/usr/bin/env bash
# Builds the two check-perf probes (see README.md here) from Debian's packages only, in GOPATH
# mode, as ../shared/bench/gobench does: golang-go and golang-etcd-server-dev (etcd 3.4's client
# and etcdserverpb stubs, with grpc, under /usr/share/gocode/src).
# usage: ./build.sh   (installs the two packages with apt-get if missing; needs root for that)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
missing=()
for p in golang-go golang-etcd-server-dev; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
export PATH=/usr/lib/go/bin:$PATH GO111MODULE=off GOPATH=/usr/share/gocode GOFLAGS= GOPROXY=off
export GOCACHE=${GOCACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/go-build}
for d in null-kv replica; do (cd "$here/$d" && go vet . && go build -o "$d" .); done
echo "built $here/null-kv/null-kv and $here/replica/replica"
