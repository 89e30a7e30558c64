#!/usr/bin/env bash
# Fairness under a flood: tenant t02 sends a steady closed-loop load (1 connection) while tenant
# t01 floods (32 connections). Prints t02's p99 alone and during the flood, and the ratio
# (target: within 2x), for a light lookup (tenant_lookup) and a heavy aggregate (tenant_heavy).
# Uses bench/fairness/ (pool 2: a tenant holds at most 1 connection; 8 requests in flight per
# tenant) over the demo data. Everything on 127.0.0.1; every load run is bounded by DURATION
# seconds. ENDPOINTS overrides the list.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DURATION=${DURATION:-10}
build=${BUILD_DIR:-$root/build}
[ "${SKIP_BUILD:-0}" = 1 ] || { DRAM_WITH_BENCH=1 "$root/scripts/setup.sh"; "$root/scripts/build.sh"; }
"$root/scripts/gen_demo_data.sh"

tmp=$(mktemp -d)
pid=""
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
cp -r "$root/bench/fairness" "$tmp/project"
sed -i "s#\.\./\.\./\.\./examples#$root/examples#" "$tmp/project/datasets/bench.yml"
key_of() { "$build/dram" keys create "$tmp/project" --tenant "$1" | grep -oE 'dram_[0-9a-f]{12}_[A-Za-z0-9_-]+'; }
flood_key=$(key_of t01)
steady_key=$(key_of t02)

"$build/dram" serve "$tmp/project" --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 --cache-dir "$tmp/cache" \
  --ready-file "$tmp/ready.json" > "$tmp/dram.log" 2>&1 &
pid=$!
for _ in $(seq 600); do [ -s "$tmp/ready.json" ] && break; sleep 0.2; done
[ -s "$tmp/ready.json" ] || { cat "$tmp/dram.log"; exit 1; }
api=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["api"])' "$tmp/ready.json")

run() {  # run KEY CONNECTIONS → wrk_result line
  WRK_KEY=$1 wrk -t1 -c"$2" -d"${DURATION}s" --timeout 10s -s "$root/bench/wrk/tenant_lookup.lua" "http://$api" | grep wrk_result
}
field() { sed -E "s/.*$1=([0-9.]+).*/\1/" <<<"$2"; }

for endpoint in ${ENDPOINTS:-tenant_lookup tenant_heavy}; do
  export WRK_ENDPOINT=$endpoint
  run "$steady_key" 1 >/dev/null  # warm up
  alone=$(run "$steady_key" 1)
  WRK_KEY=$flood_key wrk -t1 -c32 -d"$((DURATION + 2))s" --timeout 10s -s "$root/bench/wrk/tenant_lookup.lua" "http://$api" \
    > "$tmp/flood.txt" &
  flood=$!
  sleep 1
  during=$(run "$steady_key" 1)
  wait "$flood"
  flood_line=$(grep wrk_result "$tmp/flood.txt")

  echo "== $endpoint"
  echo "steady tenant alone:        $alone"
  echo "steady tenant during flood: $during"
  echo "flooding tenant:            $flood_line   (errors = its requests refused with 503)"
  python3 - "$(field p99_ms "$alone")" "$(field p99_ms "$during")" "$(field rps "$alone")" "$(field rps "$during")" <<'PY'
import sys
alone, during, rps_alone, rps_during = map(float, sys.argv[1:])
ratio = during / alone if alone else float("inf")
print(f"steady p99: alone {alone:.3f} ms, during flood {during:.3f} ms, ratio {ratio:.2f} (target <= 2.0) "
      f"{'ok' if ratio <= 2.0 else 'MISS'}; steady req/s {rps_alone:.0f} -> {rps_during:.0f}")
PY
done
