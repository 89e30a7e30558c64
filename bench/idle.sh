#!/usr/bin/env bash
# Scale to zero (issue 16): one server with 10 databases, each `idle_evict: 3s`. Prints its RSS
# with all 10 loaded and queried, then once all 10 went cold (target < 100 MB), and the first
# request on a cold database (it loads the database again) beside a request on a warm one.
# CI runs it with ROWS=20000 (scripts/bench_smoke.sh).
#
# Usage: bash bench/idle.sh     Environment: ROWS=1000000 (per database)  BUILD_DIR=build  SKIP_BUILD=1
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$root/build}
ROWS=${ROWS:-1000000}
DATABASES=10
work=$(mktemp -d /tmp/dram-idle-bench.XXXXXX)
server_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

[ "${SKIP_BUILD:-0}" = 1 ] || "$root/scripts/build.sh" >/dev/null  # SKIP_BUILD=1: use BUILD_DIR as built
mkdir -p "$work/project/datasets" "$work/project/endpoints"
printf 'server: {listen: 127.0.0.1:0}\nengine: {threads: 2, pool_size: 2}\n' >"$work/project/dram.yml"
for n in $(seq 1 $DATABASES); do
  mkdir -p "$work/data/db$n"
  echo "COPY (SELECT i AS id, (i * $n) % 1000 AS customer, (i * 7919) % 100000 / 100.0 AS amount, md5(i::VARCHAR) AS note
        FROM range($ROWS) t(i)) TO '$work/data/db$n/events.parquet' (FORMAT parquet);" >>"$work/gen.sql"
  printf 'name: db%s\nsource: %s\nidle_evict: 3s\n' "$n" "$work/data/db$n" >"$work/project/datasets/db$n.yml"
  printf 'name: top%s\nversion: 1\ndataset: db%s\ntable: events\ngroup_by: [customer]\nselect: [customer, {agg: sum, column: amount, as: total}]\norder_by: [-total, customer]\nlimit: {default: 10, max: 10}\ncache: false\n' \
    "$n" "$n" >"$work/project/endpoints/top$n.yml"
done
"$BUILD_DIR/dram-sql" "$work/gen.sql"
echo "== $DATABASES databases x $ROWS rows ($(du -sh "$work/data" | cut -f1) of Parquet)"

DRAM_ADMIN_TOKEN=bench "$BUILD_DIR/dram" serve "$work/project" --cache-dir "$work/cache" \
  --ready-file "$work/ready" --log-level warn >"$work/log" 2>&1 &
server_pid=$!
for _ in $(seq 1 1200); do [ -f "$work/ready" ] && break; kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
[ -f "$work/ready" ] || { cat "$work/log"; echo "idle: the server did not start" >&2; exit 1; }
api=$(sed 's/.*"api":"\([^"]*\)".*/\1/' "$work/ready")
admin=$(sed 's/.*"admin":"\([^"]*\)".*/\1/' "$work/ready")
rss_mb() { awk '/^VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$server_pid/status"; }
ms() { curl -sf -o /dev/null -w '%{time_total}' "http://$api/v1/$1" | awk '{printf "%.1f", $1 * 1000}'; }
cold_count() { curl -sf -H 'Authorization: Bearer bench' "http://$admin/ready" | grep -o '"cold"' | wc -l; }

for n in $(seq 1 $DATABASES); do ms "top$n" >/dev/null; done
warm_rss=$(rss_mb)
warm_ms=$(ms top1)
echo "all $DATABASES loaded and queried: RSS $warm_rss MB; a request on a warm database $warm_ms ms"
for _ in $(seq 1 300); do [ "$(cold_count)" -ge $DATABASES ] && break; sleep 0.1; done
[ "$(cold_count)" -ge $DATABASES ] || { echo "idle: not all databases went cold" >&2; exit 1; }
sleep 1  # the last eviction's files and snapshot are gone; let the allocator settle
cold_rss=$(rss_mb)
echo "all $DATABASES cold: RSS $cold_rss MB (target < 100 MB), cache dir $(du -sh "$work/cache" | cut -f1)"
first_ms=$(ms top2)
again_ms=$(ms top2)
echo "first request on a cold database (loads it again): $first_ms ms; the next one: $again_ms ms"
awk -v w="$warm_rss" -v c="$cold_rss" 'BEGIN {printf "RSS cold / warm: %.2f\n", c / w}'
awk -v c="$cold_rss" 'BEGIN {exit !(c < 100)}' || echo "idle: cold RSS is not under 100 MB" >&2
