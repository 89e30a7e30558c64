#!/usr/bin/env bash
# shadow-diff throughput (issue 17): two dram servers over the demo data on 127.0.0.1 (the same
# project twice, cache off so every pair runs two queries), N requests replayed at concurrency 16.
# Prints request pairs per second and the CPU seconds shadow-diff itself spent per pair. Not part
# of CI.
#
# Usage: bash bench/shadow_diff.sh     Environment: REQUESTS=5000 CONCURRENCY=16 BUILD_DIR=build
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${BUILD_DIR:-$root/build}
REQUESTS=${REQUESTS:-5000}
CONCURRENCY=${CONCURRENCY:-16}
[ "${SKIP_BUILD:-0}" = 1 ] || "$root/scripts/build.sh" >/dev/null
"$root/scripts/gen_demo_data.sh" >/dev/null

work=$(mktemp -d /tmp/dram-shadow-bench.XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# start NAME: starts a server; sets started_api to its API address. Not called as $(start …): a
# subshell would keep the pid to itself, and the cleanup would leave the server running.
start() {
  cp -r "$root/examples/demo" "$work/$1"
  sed -i 's#path: data/#path: '"$root"'/examples/demo/data/#' "$work/$1"/datasets/*.yml
  grep -q '^cache:' "$work/$1"/endpoints/events.yml || echo "cache: false" >>"$work/$1"/endpoints/events.yml
  "$build/dram" serve "$work/$1" --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 --cache-dir "$work/$1-cache" \
    --ready-file "$work/$1.ready" --log-level warn >"$work/$1.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 600); do [ -s "$work/$1.ready" ] && break; sleep 0.2; done
  [ -s "$work/$1.ready" ] || { cat "$work/$1.log" >&2; exit 1; }
  started_api=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["api"])' "$work/$1.ready")
}
start live
live=$started_api
start candidate
candidate=$started_api

python3 - "$work/requests.txt" "$REQUESTS" <<'PY'
import sys
path, count = sys.argv[1], int(sys.argv[2])
channels = ["web", "app", "store", "online"]
with open(path, "w") as out:
    for i in range(count):
        out.write(f"/v1/events?tenant=t{1 + i % 20:02d}&channel={channels[i % 4]}&limit={10 + i % 40}&offset={i % 7}\n")
PY

/usr/bin/time -f "%U %S" -o "$work/time.txt" "$build/dram" shadow-diff --live "http://$live" --candidate "http://$candidate" \
  --requests "$work/requests.txt" --concurrency "$CONCURRENCY" --report "$work/report.json" >"$work/out.txt" || true
python3 - "$work/report.json" "$work/time.txt" "$CONCURRENCY" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
user, system = map(float, open(sys.argv[2]).read().split()[-2:])
pairs = report["requests"]
print(f"shadow-diff: {pairs} pairs, equal {report['equal']}, different {report['different']}, errors {report['errors']}")
print(f"throughput: {report['requests_per_second']:.0f} pairs/s at concurrency {sys.argv[3]}; "
      f"shadow-diff's own CPU {1e6 * (user + system) / max(pairs, 1):.0f} us per pair (both servers on the same 2 cores)")
PY
