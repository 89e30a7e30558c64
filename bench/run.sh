#!/usr/bin/env bash
# dram benchmark harness: builds dram, generates the demo data, starts dram on bench/project and
# compares it against nginx (static file), a Node.js + @duckdb/node-api server and a raw DuckDB C API
# loop. See bench/README.md.
#
# Usage: bash bench/run.sh
# Environment:
#   DURATION=10        seconds per load run (wrk -d / raw loop SECONDS)
#   BENCHES="page lookup scan sortby"   which benches to run (subset allowed)
#   BUILD_DIR=build    CMake build directory (must be Ninja; Release is configured)
#   SKIP_BUILD=1       skip scripts/setup.sh and the CMake configure/build (dram must already be built)
#   REGEN_DATA=1       run scripts/gen_demo_data.sh even when the parquet files already exist
#   KEEP_TMP=1         keep the temporary directory (logs, configs) after a successful run
#   STRICT=1           exit with status 1 when a target is missed or a load run had errors
#   RESULTS_FILE=path  also append the summary table to this file
# Everything listens on 127.0.0.1 only; every load run is bounded by DURATION.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DURATION=${DURATION:-10}
BENCHES=${BENCHES:-page lookup scan sortby}
BUILD_DIR=${BUILD_DIR:-build}
DUCKDB_ROOT=${DUCKDB_ROOT:-$root/third_party/duckdb}

LOOKUP_SQL='SELECT event_id, day, region, units, revenue FROM events WHERE tenant_id = ? AND product = ? ORDER BY day LIMIT 100'
SCAN_SQL='SELECT region, count(*) AS events, sum(revenue) AS revenue FROM events WHERE channel = ? GROUP BY region ORDER BY region'

tmp=""
pids=()
summary_rows=()
failed_targets=0
dram_log=""

log() { printf '\n== %s\n' "$*" >&2; }
die() {
  printf 'bench: error: %s\n' "$*" >&2
  exit 1
}

# ---------------------------------------------------------------- processes
cleanup() {
  local rc=$?
  local pid
  for pid in "${pids[@]}"; do stop_pid "$pid"; done
  if [ -n "$tmp" ] && [ -d "$tmp" ]; then
    if [ "$rc" -ne 0 ] || [ "${KEEP_TMP:-0}" = 1 ]; then
      echo "bench: logs and configs kept in $tmp" >&2
    else
      rm -rf "$tmp"
    fi
  fi
  exit "$rc"
}

# stop_pid PID: TERM, wait up to 5 s, then KILL. Only ever called on processes this script started.
stop_pid() {
  local pid=$1 _
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 50); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
  wait "$pid" 2>/dev/null || true
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

http_get() { curl --noproxy '*' -fsS --max-time 30 "$@"; }

# wait_http URL PID NAME LOGFILE [TIMEOUT]: waits until URL answers (any HTTP status).
wait_http() {
  local url=$1 pid=$2 name=$3 logfile=$4 timeout=${5:-30} _
  for _ in $(seq $((timeout * 10))); do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "bench: $name exited during startup; its log ($logfile):" >&2
      cat "$logfile" >&2 || true
      die "$name failed to start"
    fi
    if curl --noproxy '*' -s -o /dev/null --max-time 2 "$url"; then return 0; fi
    sleep 0.1
  done
  echo "bench: $name did not answer $url within ${timeout}s; its log ($logfile):" >&2
  cat "$logfile" >&2 || true
  die "$name did not start"
}

dram_failed() {
  echo "bench: --- dram log ($dram_log) ---" >&2
  tail -n 100 "$dram_log" >&2 || true
  echo "bench: --- end of dram log ---" >&2
  die "$*"
}

# ---------------------------------------------------------------- results
# field FILE KEY: value of KEY=... on the wrk_result / raw_loop line of FILE.
field() {
  awk -v k="$2" '/^(wrk_result|raw_loop) / { for (i = 2; i <= NF; i++) { split($i, a, "="); if (a[1] == k) print a[2] } }' "$1" | tail -n 1
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 == 0) print "n/a"; else printf "%.2f", a / b }'; }

# run_wrk OUTFILE CONNECTIONS SCRIPT URL [ENV=VALUE...]: one bounded wrk run, output shown and kept.
run_wrk() {
  local out=$1 conns=$2 script=$3 url=$4
  shift 4
  echo "-- wrk -t1 -c$conns -d${DURATION}s -s $script $url $*" >&2
  env "$@" wrk -t1 -c"$conns" -d"${DURATION}s" --timeout 5s -s "$script" "$url" >"$out" 2>&1 || {
    cat "$out" >&2
    die "wrk failed"
  }
  sed 's/^/   /' "$out" >&2
  [ -n "$(field "$out" rps)" ] || die "no wrk_result line in $out"
  sleep 1
}

# cpu_ticks PID: user + system CPU ticks of PID and its children (nginx's workers), all threads.
cpu_ticks() {
  local pid total=0 t
  for pid in "$1" $(pgrep -P "$1" || true); do
    t=$(awk '{ print $14 + $15 }' "/proc/$pid/stat" 2>/dev/null || echo 0)
    total=$((total + t))
  done
  echo "$total"
}

# run_wrk_cpu OUTFILE SERVER_PID CONNECTIONS SCRIPT URL [ENV=VALUE...]: run_wrk, and the server's CPU
# time per request served (µs, from /proc: independent of how fast the machine is) added to OUTFILE
# as cpu_us.
run_wrk_cpu() {
  local out=$1 server=$2 before after
  shift 2
  before=$(cpu_ticks "$server")
  run_wrk "$out" "$@"
  after=$(cpu_ticks "$server")
  awk -v t=$((after - before)) -v hz="$(getconf CLK_TCK)" -v n="$(field "$out" requests)" \
    'BEGIN { printf "wrk_result cpu_us=%.2f\n", (n > 0 ? t * 1e6 / hz / n : 0) }' >>"$out"
  echo "   server CPU per request: $(field "$out" cpu_us) µs" >&2
}

# run_raw OUTFILE SQL PARAM...: the raw DuckDB loop, 2 threads, DURATION seconds, on the baseline file.
run_raw() {
  local out=$1 sql=$2
  shift 2
  echo "-- $raw_loop $baseline_db 2 $DURATION \"$sql\" $*" >&2
  "$raw_loop" "$baseline_db" 2 "$DURATION" "$sql" "$@" >"$out" 2>"$out.err" || {
    cat "$out.err" >&2
    die "raw_duckdb_loop failed"
  }
  sed 's/^/   /' "$out" >&2
  sleep 1
}

# add_row NAME DRAM BASELINE RATIO TARGET(>=x|<=x|info) ERRORS
add_row() {
  local name=$1 dram=$2 base=$3 r=$4 target=$5 errors=${6:-0} status
  case "$target" in
    ">="*) status=$(awk -v r="$r" -v t="${target#>=}" 'BEGIN { print (r != "n/a" && r + 0 >= t + 0) ? "ok" : "MISS" }') ;;
    "<="*) status=$(awk -v r="$r" -v t="${target#<=}" 'BEGIN { print (r != "n/a" && r + 0 <= t + 0) ? "ok" : "MISS" }') ;;
    *) status="-" ;;
  esac
  if [ "$errors" != 0 ]; then status="ERRORS($errors)"; fi
  case "$status" in ok | -) ;; *) failed_targets=$((failed_targets + 1)) ;; esac
  summary_rows+=("$name|$dram|$base|$r|$target|$status")
}

print_summary() {
  local line
  {
    printf '\n%-28s | %12s | %12s | %7s | %7s | %s\n' name dram baseline ratio target status
    printf '%s\n' "-----------------------------+--------------+--------------+---------+---------+--------"
    for line in "${summary_rows[@]}"; do
      IFS='|' read -r n d b r t s <<<"$line"
      printf '%-28s | %12s | %12s | %7s | %7s | %s\n' "$n" "$d" "$b" "$r" "$t" "$s"
    done
    printf '(DURATION=%ss, %s, %s)\n' "$DURATION" "$(nproc) cores" "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  } | tee -a "${RESULTS_FILE:-/dev/null}"
}

wants() { case " $BENCHES " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

# ---------------------------------------------------------------- steps
build_all() {
  cd "$root"
  if [ "${SKIP_BUILD:-0}" != 1 ]; then
    log "setup + build ($BUILD_DIR, Release)"
    DRAM_WITH_BENCH=1 bash scripts/setup.sh
    if [ -f "$BUILD_DIR/CMakeCache.txt" ] && ! grep -q '^CMAKE_GENERATOR:INTERNAL=Ninja$' "$BUILD_DIR/CMakeCache.txt"; then
      die "$BUILD_DIR was configured with another generator than Ninja; use BUILD_DIR=build-bench"
    fi
    cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
    cmake --build "$BUILD_DIR"
  fi
  for tool in wrk nginx node npm curl python3 g++; do
    command -v "$tool" >/dev/null || die "$tool not found (DRAM_WITH_BENCH=1 bash scripts/setup.sh installs wrk and nginx-light)"
  done
  [ -x "$BUILD_DIR/dram" ] || die "$BUILD_DIR/dram not found; build it first (or unset SKIP_BUILD)"
  if [ ! -f "$DUCKDB_ROOT/include/duckdb.h" ] || [ ! -f "$DUCKDB_ROOT/lib/libduckdb.so" ]; then
    bash scripts/fetch_duckdb.sh
  fi

  raw_loop="$BUILD_DIR/bench/raw_duckdb_loop"
  if [ ! -x "$raw_loop" ] || [ bench/raw_duckdb_loop.cc -nt "$raw_loop" ]; then
    log "building $raw_loop"
    mkdir -p "$BUILD_DIR/bench"
    g++ -O2 -std=c++20 bench/raw_duckdb_loop.cc -I "$DUCKDB_ROOT/include" -L "$DUCKDB_ROOT/lib" -lduckdb \
      -Wl,-rpath,"$DUCKDB_ROOT/lib" -pthread -o "$raw_loop"
  fi

  if [ ! -d bench/node_server/node_modules/@duckdb/node-api ]; then
    log "installing the Node baseline's dependencies"
    (cd bench/node_server && if [ -f package-lock.json ]; then npm ci --no-audit --no-fund; else npm install --no-audit --no-fund; fi)
  fi

  if [ "${REGEN_DATA:-0}" = 1 ] || ! compgen -G "examples/demo/data/events/*.parquet" >/dev/null; then
    log "generating demo data"
    bash scripts/gen_demo_data.sh
  fi
  compgen -G "examples/demo/data/events/*.parquet" >/dev/null || die "no examples/demo/data/events/*.parquet after gen_demo_data.sh"
}

# launch_dram PROJECT TAG: starts dram serve on PROJECT; sets api, admin and dram_pid.
launch_dram() {
  local project=$1 tag=$2
  dram_log="$tmp/dram$tag.log"
  "$BUILD_DIR/dram" serve "$project" --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 \
    --cache-dir "$tmp/cache$tag" --ready-file "$tmp/ready$tag.json" >"$dram_log" 2>&1 &
  dram_pid=$!
  pids+=("$dram_pid")
  local _
  api="" admin=""
  for _ in $(seq 1200); do # 120 s
    kill -0 "$dram_pid" 2>/dev/null || dram_failed "dram exited during startup"
    if [ -s "$tmp/ready$tag.json" ]; then
      api=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["api"])' "$tmp/ready$tag.json" 2>/dev/null || true)
      admin=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["admin"])' "$tmp/ready$tag.json" 2>/dev/null || true)
      [ -n "$api" ] && [ -n "$admin" ] && break
    fi
    sleep 0.1
  done
  if [ -z "$api" ] || [ -z "$admin" ]; then dram_failed "dram did not write a valid $tmp/ready$tag.json within 120 s"; fi
  echo "dram api=$api admin=$admin (pid $dram_pid)" >&2
}

start_dram() {
  log "starting dram on bench/project"
  launch_dram bench/project ""
  http_get "http://$admin/status" >"$tmp/status.json" || dram_failed "GET http://$admin/status failed"
  snapshot=$(python3 - "$tmp/status.json" bench <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
ds = d.get("datasets", [])
if isinstance(ds, dict):
    ds = [dict(v, name=k) for k, v in ds.items()]
for x in ds:
    if x.get("name") == sys.argv[2]:
        print((x.get("snapshot") or {}).get("path") or "")
        break
EOF
  )
  [ -n "$snapshot" ] || {
    cat "$tmp/status.json" >&2
    dram_failed "no datasets[name=bench].snapshot.path in /status"
  }
  [ -f "$snapshot" ] || dram_failed "snapshot $snapshot (from /status) does not exist"
  echo "dataset bench snapshot: $snapshot" >&2

  # The baselines open the same DuckDB file read-only. If dram holds it in a way that prevents a
  # second process from opening it (read-write lock), fall back to a copy of the same file.
  baseline_db="$snapshot"
  if ! "$raw_loop" "$baseline_db" 1 0 "SELECT count(*) FROM events" >/dev/null 2>"$tmp/probe.err"; then
    echo "bench: cannot open $snapshot from a second process ($(head -c 300 "$tmp/probe.err")); using a copy" >&2
    cp "$snapshot" "$tmp/snapshot.duckdb"
    [ -f "$snapshot.wal" ] && cp "$snapshot.wal" "$tmp/snapshot.duckdb.wal"
    baseline_db="$tmp/snapshot.duckdb"
    "$raw_loop" "$baseline_db" 1 0 "SELECT count(*) FROM events" >/dev/null 2>"$tmp/probe.err" || {
      cat "$tmp/probe.err" >&2
      die "cannot open the copy of the snapshot either"
    }
  fi
}

# start_nginx WORKERS: nginx serving $tmp/www on a free port; sets nginx_pid and nginx_port.
start_nginx() {
  local workers=$1 user_line=""
  mkdir -p "$tmp/nginx$workers"
  nginx_port=$(free_port)
  [ "$(id -u)" = 0 ] && user_line="user root;"
  cat >"$tmp/nginx$workers/nginx.conf" <<EOF
$user_line
worker_processes $workers;
daemon off;
master_process on;
pid $tmp/nginx$workers/nginx.pid;
error_log $tmp/nginx$workers/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  tcp_nodelay on;
  keepalive_timeout 65;
  keepalive_requests 100000000;
  types { application/json json; }
  default_type application/octet-stream;
  client_body_temp_path $tmp/nginx$workers/client_body;
  proxy_temp_path $tmp/nginx$workers/proxy;
  fastcgi_temp_path $tmp/nginx$workers/fastcgi;
  uwsgi_temp_path $tmp/nginx$workers/uwsgi;
  scgi_temp_path $tmp/nginx$workers/scgi;
  server {
    listen 127.0.0.1:$nginx_port;
    root $tmp/www;
  }
}
EOF
  nginx -e "$tmp/nginx$workers/error.log" -p "$tmp/nginx$workers/" -c "$tmp/nginx$workers/nginx.conf" \
    >"$tmp/nginx$workers/stdout.log" 2>&1 &
  nginx_pid=$!
  pids+=("$nginx_pid")
  wait_http "http://127.0.0.1:$nginx_port/page.json" "$nginx_pid" nginx "$tmp/nginx$workers/error.log"
  cmp -s <(http_get "http://127.0.0.1:$nginx_port/page.json") "$tmp/www/page.json" || die "nginx does not serve page.json"
}

# page_pair THREADS DRAM_API DRAM_PID: dram with THREADS io threads vs nginx with THREADS workers,
# req/s, p99 and each server's CPU per request.
page_pair() {
  local threads=$1 dram_api=$2 server=$3
  start_nginx "$threads"
  run_wrk_cpu "$tmp/page_nginx$threads.txt" "$nginx_pid" 64 bench/wrk/report.lua "http://127.0.0.1:$nginx_port/page.json"
  run_wrk_cpu "$tmp/page_dram$threads.txt" "$server" 64 bench/wrk/report.lua "http://$dram_api/v1/page?tenant=t01"
  stop_pid "$nginx_pid"

  local d="$tmp/page_dram$threads.txt" n="$tmp/page_nginx$threads.txt" errs key
  errs=$(($(field "$d" errors) + $(field "$n" errors)))
  echo "page ${threads}t: dram/nginx req/s = $(ratio "$(field "$d" rps)" "$(field "$n" rps)") (target >= 0.8)," \
    "p99 = $(ratio "$(field "$d" p99_ms)" "$(field "$n" p99_ms)") (<= 1.5), CPU/req = $(ratio "$(field "$d" cpu_us)" "$(field "$n" cpu_us)") (<= 1.25)" >&2
  for key in "rps|req/s (vs nginx)|>=0.8" "p99_ms|p99 ms (vs nginx)|<=1.5" "cpu_us|CPU us/req|<=1.25"; do
    IFS='|' read -r field_name label target <<<"$key"
    add_row "page ${threads}t $label" "$(field "$d" "$field_name")" "$(field "$n" "$field_name")" \
      "$(ratio "$(field "$d" "$field_name")" "$(field "$n" "$field_name")")" "$target" "$errs"
  done
}

bench_page() {
  log "bench 1: cached page — dram vs nginx serving the same bytes (1 io thread vs 1 worker, 2 vs 2)"
  mkdir -p "$tmp/www"
  http_get "http://$api/v1/page?tenant=t01" -o "$tmp/www/page.json" || dram_failed "GET /v1/page?tenant=t01 failed"
  http_get "http://$api/v1/page?tenant=t01" -o /dev/null || dram_failed "second GET /v1/page failed"
  echo "page.json: $(wc -c <"$tmp/www/page.json") bytes" >&2
  page_pair 1 "$api" "$dram_pid"

  # The same project with io_threads: 2, in a second server (its data paths made absolute).
  local main_api=$api main_admin=$admin main_pid=$dram_pid main_log=$dram_log
  mkdir -p "$tmp/project2"
  cp -r bench/project/. "$tmp/project2/"
  sed -i 's/^  io_threads: 1$/  io_threads: 2/' "$tmp/project2/dram.yml"
  grep -q '^  io_threads: 2$' "$tmp/project2/dram.yml" || die "bench/project/dram.yml has no 'io_threads: 1' line to change"
  sed -i "s|path: \.\./\.\./|path: $root/|" "$tmp/project2/datasets/"*.yml
  launch_dram "$tmp/project2" 2
  http_get "http://$api/v1/page?tenant=t01" -o "$tmp/page2.json" || dram_failed "GET /v1/page on the 2-thread server failed"
  # (The same rows; the meta differs: request id, times.)
  cmp -s <(sed 's/,"meta":.*//' "$tmp/page2.json") <(sed 's/,"meta":.*//' "$tmp/www/page.json") ||
    die "the 2-thread server's page has other rows than the first's"
  page_pair 2 "$api" "$dram_pid"
  stop_pid "$dram_pid"
  api=$main_api admin=$main_admin dram_pid=$main_pid dram_log=$main_log
}

bench_lookup() {
  log "bench 2: selective lookup — dram vs Node.js + @duckdb/node-api (pool 4, threads 2)"
  http_get "http://$api/v1/lookup?tenant=t01&product=p01" -o "$tmp/lookup_sample.json" || dram_failed "GET /v1/lookup failed"
  local port node_pid
  port=$(free_port)
  node bench/node_server/server.mjs "$baseline_db" "$port" 4 2 >"$tmp/node.log" 2>&1 &
  node_pid=$!
  pids+=("$node_pid")
  wait_http "http://127.0.0.1:$port/health" "$node_pid" "node server" "$tmp/node.log" 60
  http_get "http://127.0.0.1:$port/lookup?tenant=t01&product=p01" -o /dev/null || die "node /lookup failed; see $tmp/node.log"

  run_wrk_cpu "$tmp/lookup_node.txt" "$node_pid" 32 bench/wrk/lookup.lua "http://127.0.0.1:$port" WRK_PREFIX=
  stop_pid "$node_pid"
  # Reference only: the same query with no HTTP at all (one fixed pair), to show the ceiling; and
  # without its ORDER BY, as dram runs it (the rows are stored in that order: StorageOrderAnswers).
  run_raw "$tmp/lookup_raw.txt" "$LOOKUP_SQL" t01 p01
  run_raw "$tmp/lookup_raw_scan.txt" "${LOOKUP_SQL/ ORDER BY day/}" t01 p01
  run_wrk_cpu "$tmp/lookup_dram.txt" "$dram_pid" 32 bench/wrk/lookup.lua "http://$api" WRK_PREFIX=/v1

  local d n errs
  d=$(field "$tmp/lookup_dram.txt" rps) n=$(field "$tmp/lookup_node.txt" rps)
  errs=$(($(field "$tmp/lookup_dram.txt" errors) + $(field "$tmp/lookup_node.txt" errors)))
  echo "lookup: dram/node req/s = $(ratio "$d" "$n") (target >= 3)" >&2
  add_row "lookup req/s (vs node)" "$d" "$n" "$(ratio "$d" "$n")" ">=3" "$errs"
  add_row "lookup CPU us/req (vs node)" "$(field "$tmp/lookup_dram.txt" cpu_us)" "$(field "$tmp/lookup_node.txt" cpu_us)" \
    "$(ratio "$(field "$tmp/lookup_dram.txt" cpu_us)" "$(field "$tmp/lookup_node.txt" cpu_us)")" info "$errs"
  add_row "lookup req/s (vs raw loop)" "$d" "$(field "$tmp/lookup_raw.txt" qps)" \
    "$(ratio "$d" "$(field "$tmp/lookup_raw.txt" qps)")" info 0
  add_row "lookup req/s (vs raw scan)" "$d" "$(field "$tmp/lookup_raw_scan.txt" qps)" \
    "$(ratio "$d" "$(field "$tmp/lookup_raw_scan.txt" qps)")" info 0
  add_row "lookup p99 ms (vs node)" "$(field "$tmp/lookup_dram.txt" p99_ms)" "$(field "$tmp/lookup_node.txt" p99_ms)" \
    "$(ratio "$(field "$tmp/lookup_dram.txt" p99_ms)" "$(field "$tmp/lookup_node.txt" p99_ms)")" info "$errs"
}

bench_scan() {
  log "bench 3: aggregate scan — dram vs raw DuckDB C API loop (2 threads)"
  http_get "http://$api/v1/scan?channel=web" -o "$tmp/scan_sample.json" || dram_failed "GET /v1/scan failed"
  run_raw "$tmp/scan_raw.txt" "$SCAN_SQL" web
  run_wrk "$tmp/scan_dram.txt" 8 bench/wrk/scan.lua "http://$api" WRK_PREFIX=/v1

  local d r
  d=$(field "$tmp/scan_dram.txt" rps) r=$(field "$tmp/scan_raw.txt" qps)
  echo "scan: dram req/s / raw loop q/s = $(ratio "$d" "$r") (target >= 0.9)" >&2
  add_row "scan req/s (vs raw loop)" "$d" "$r" "$(ratio "$d" "$r")" ">=0.9" "$(field "$tmp/scan_dram.txt" errors)"
}

bench_sortby() {
  log "bench 4: sort_by effect — /v1/lookup (bench, sorted) vs /v1/lookup_unsorted (bench_unsorted)"
  http_get "http://$api/v1/lookup_unsorted?tenant=t01&product=p01" -o /dev/null || dram_failed "GET /v1/lookup_unsorted failed"
  run_wrk "$tmp/sortby_unsorted.txt" 32 bench/wrk/lookup.lua "http://$api" WRK_PREFIX=/v1 WRK_ENDPOINT=lookup_unsorted
  run_wrk "$tmp/sortby_sorted.txt" 32 bench/wrk/lookup.lua "http://$api" WRK_PREFIX=/v1 WRK_ENDPOINT=lookup

  local s u errs
  s=$(field "$tmp/sortby_sorted.txt" rps) u=$(field "$tmp/sortby_unsorted.txt" rps)
  errs=$(($(field "$tmp/sortby_sorted.txt" errors) + $(field "$tmp/sortby_unsorted.txt" errors)))
  echo "sort_by: sorted/unsorted req/s = $(ratio "$s" "$u")" >&2
  add_row "sort_by lookup req/s" "$s" "$u" "$(ratio "$s" "$u")" info "$errs"
}

main() {
  cd "$root"
  trap cleanup EXIT
  trap 'exit 130' INT TERM
  build_all
  tmp=$(mktemp -d /tmp/dram-bench.XXXXXX)
  start_dram
  wants page && bench_page
  wants lookup && bench_lookup
  wants scan && bench_scan
  wants sortby && bench_sortby
  print_summary
  if [ "${STRICT:-0}" = 1 ] && [ "$failed_targets" -gt 0 ]; then
    echo "bench: $failed_targets row(s) missed the target or had errors" >&2
    exit 1
  fi
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then main "$@"; fi
