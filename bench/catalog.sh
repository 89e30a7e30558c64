#!/usr/bin/env bash
# Catalog benchmarks (issue 5), on a local directory and on a real radosgw on 127.0.0.1:
#   commit:  p50/p99 of catalog commits vs a plain create-only put of the same size (the floor)
#   boot:    a fresh server (empty cache) from start to ready on the demo: `dram serve DIR` from
#            the project directory (baseline) vs `dram serve --catalog ROOT` from the store
#   reload:  from `dram apply` returning to the new endpoint answering (poll interval 100 ms),
#            for an endpoint-only change and for a data change
# Usage: bash bench/catalog.sh   Environment: BUILD_DIR=build COMMITS=200 RUNS=3 SKIP_BUILD=1 DRAM_S3_ENV
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$root/build}
COMMITS=${COMMITS:-200}
RUNS=${RUNS:-3}  # boots of each kind, endpoint reloads and data reloads
dram=$BUILD_DIR/dram
work=$(mktemp -d /tmp/dram-catalog-bench.XXXXXX)
cleanup() {
  [[ -f $work/server.pid ]] && kill "$(cat "$work/server.pid")" 2>/dev/null || true
  bench_s3_stop "$work/s3" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
# shellcheck source=bench/s3_fixture.sh
. "$root/bench/s3_fixture.sh"
[ "${SKIP_BUILD:-0}" = 1 ] || "$root/scripts/build.sh" >/dev/null  # SKIP_BUILD=1: use BUILD_DIR as built
bench_s3_start "$work/s3" >/dev/null
# shellcheck disable=SC1091
. "$work/s3/env"
export AWS_ENDPOINT_URL AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_REGION
s3_root="s3://$DRAM_TEST_BUCKET/$S3_DB/bench-catalog"

now() { date +%s.%N; }
echo "== commit latency"
mkdir -p "$work/local-commits"
printf 'local: '; "$BUILD_DIR/bench/catalog_bench" "$work/local-commits" "$COMMITS"
printf 's3:    '; "$BUILD_DIR/bench/catalog_bench" "$s3_root-commits" "$COMMITS"

# Starts a server with the given arguments; prints seconds from start to /ready answering 200.
start_server() {
  rm -f "$work/ready.json"
  local start; start=$(now)
  "$dram" serve "$@" --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 --ready-file "$work/ready.json" \
    --log-level warn >"$work/server.log" 2>&1 &
  echo $! >"$work/server.pid"
  until [[ -s $work/ready.json ]]; do sleep 0.01; done
  admin=$(sed -E 's/.*"admin":"([^"]*)".*/\1/' "$work/ready.json")
  api=$(sed -E 's/.*"api":"([^"]*)".*/\1/' "$work/ready.json")
  until curl -sf "http://$admin/ready" >/dev/null; do sleep 0.01; done
  echo "$(now) - $start" | bc -l
}
stop_server() {
  local pid; pid=$(cat "$work/server.pid")
  kill "$pid"; while kill -0 "$pid" 2>/dev/null; do sleep 0.02; done
}

echo "== boot to ready on the demo (fresh cache each time)"
cp -r "$root/examples/demo" "$work/demo"; rm -rf "$work/demo/.dram"
"$dram" apply "$work/demo" --catalog "$work/local-root" >/dev/null
"$dram" apply "$work/demo" --catalog "$s3_root" >/dev/null
for run in $(seq "$RUNS"); do
  rm -rf "$work/cache"; t_dir=$(start_server "$work/demo" --cache-dir "$work/cache"); stop_server
  rm -rf "$work/cache"; t_local=$(start_server --catalog "$work/local-root" --cache-dir "$work/cache"); stop_server
  rm -rf "$work/cache"; t_s3=$(start_server --catalog "$s3_root" --cache-dir "$work/cache"); stop_server
  printf 'run %d: serve DIR %.2f s | --catalog local dir %.2f s (%.2fx) | --catalog s3 %.2f s (%.2fx)\n' "$run" \
    "$t_dir" "$t_local" "$(echo "$t_dir / $t_local" | bc -l)" "$t_s3" "$(echo "$t_dir / $t_s3" | bc -l)"
done

echo "== reload: apply returns -> new endpoint serving (poll 100 ms)"
rm -rf "$work/cache"
start_server --catalog "$s3_root" --cache-dir "$work/cache" --poll-interval 100 >/dev/null
for run in $(seq "$RUNS"); do
  cat >"$work/demo/endpoints/bench_$run.yml" <<YAML
name: bench_$run
version: 1
dataset: reference
table: regions
YAML
  "$dram" apply "$work/demo" --catalog "$s3_root" >/dev/null
  start=$(now)
  until curl -sf "http://$api/v1/bench_$run" >/dev/null; do sleep 0.005; done
  printf 'endpoint added: %.3f s\n' "$(echo "$(now) - $start" | bc -l)"
done
for run in $(seq "$RUNS"); do
  echo "zz-bench-$run,Bench $run,XX,UTC,2024-01-0$run" >>"$work/demo/data/regions/regions.csv"
  "$dram" apply "$work/demo" --catalog "$s3_root" >/dev/null
  start=$(now)
  until curl -sf "http://$api/v1/regions?limit=100" | grep -q "zz-bench-$run"; do sleep 0.005; done
  printf 'data changed (regions.csv): %.3f s\n' "$(echo "$(now) - $start" | bc -l)"
done
curl -sf "http://$admin/status" | python3 -c 'import json,sys; c=json.load(sys.stdin)["catalog"]; print("server: serving version", c["serving_version"], "reloads", c["reloads_ok"], "last switch", round(c["last_reload_seconds"],3), "s")'
stop_server
