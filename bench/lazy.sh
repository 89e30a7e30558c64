#!/usr/bin/env bash
# Lazy vs full load of the same database in a local radosgw (issue 4): time from `dram serve` to
# ready, the first and a repeated selective query, and the bytes a query touching one partition
# of 30 fetched vs the database's size (target < 10%). CI runs it on
# ROWS_PER_DAY=1000 (scripts/bench_smoke.sh).
#
# Usage: bash bench/lazy.sh     Environment: ROWS_PER_DAY=400000  BUILD_DIR=build  SKIP_BUILD=1  DRAM_S3_ENV
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$root/build}
ROWS_PER_DAY=${ROWS_PER_DAY:-400000}
work=$(mktemp -d /tmp/dram-lazy-bench.XXXXXX)
server_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null || true
  bench_s3_stop "$work/s3" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
# shellcheck source=bench/s3_fixture.sh
. "$root/bench/s3_fixture.sh"

[ "${SKIP_BUILD:-0}" = 1 ] || "$root/scripts/build.sh" >/dev/null  # SKIP_BUILD=1: use BUILD_DIR as built
bench_s3_start "$work/s3" $((3 * 1024 * 1024 * 1024))
# shellcheck disable=SC1091
. "$work/s3/env"
sigv4=(--aws-sigv4 "aws:amz:us-east-1:s3" --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY")

echo "== 30 day partitions x $ROWS_PER_DAY rows"
mkdir -p "$work/data"
for d in $(seq -w 1 30); do
  echo "COPY (SELECT i AS id, i % 1000 AS customer, (i * 7919) % 100000 / 100.0 AS amount, md5(i::VARCHAR) AS note
        FROM range($ROWS_PER_DAY) t(i)) TO '$work/data/$d.parquet' (FORMAT parquet);" >>"$work/gen.sql"
done
"$BUILD_DIR/dram-sql" "$work/gen.sql"
for d in $(seq -w 1 30); do
  f="$work/data/$d.parquet"
  curl -sf "${sigv4[@]}" -H "x-amz-content-sha256: $(sha256sum "$f" | cut -d' ' -f1)" -T "$f" \
    "$AWS_ENDPOINT_URL/$DRAM_TEST_BUCKET/$S3_DB/events/day%3D2024-01-$d/part-0.parquet" >/dev/null
done
du -sh "$work/data"

run() {  # run MODE(lazy|full)
  local mode=$1 project="$work/project-$1"
  rm -rf "$project" "$work/cache-$1"
  mkdir -p "$project/datasets" "$project/endpoints"
  printf 'server: {listen: 127.0.0.1:0}\nengine: {threads: 2, pool_size: 2}\n' >"$project/dram.yml"
  printf 'name: db\nsource: s3://%s/%s\nlazy: %s\n' "$DRAM_TEST_BUCKET" "$S3_DB" "$([ "$mode" = lazy ] && echo true || echo false)" \
    >"$project/datasets/db.yml"
  printf 'name: day\nversion: 1\ndataset: db\ntable: events\nparams:\n  day: {type: date, required: true}\nfilters:\n  - {column: day, op: eq, param: day}\ngroup_by: [customer]\nselect: [customer, {agg: sum, column: amount, as: total}]\norder_by: [customer]\nlimit: {default: 1000, max: 1000}\n' \
    >"$project/endpoints/day.yml"
  local start; start=$(date +%s.%N)
  DRAM_ADMIN_TOKEN=bench "$BUILD_DIR/dram" serve "$project" --cache-dir "$work/cache-$mode" \
    --ready-file "$work/ready-$mode" --log-level warn >"$work/log-$mode" 2>&1 &
  server_pid=$!
  while [ ! -f "$work/ready-$mode" ]; do sleep 0.05; done
  local ready; ready=$(echo "$(date +%s.%N) - $start" | bc -l)
  local api admin
  api=$(sed 's/.*"api":"\([^"]*\)".*/\1/' "$work/ready-$mode")
  admin=$(sed 's/.*"admin":"\([^"]*\)".*/\1/' "$work/ready-$mode")
  local first second
  first=$(curl -s -o /dev/null -w '%{time_total}' "http://$api/v1/day?day=2024-01-17")
  second=$(curl -s -o /dev/null -w '%{time_total}' "http://$api/v1/day?day=2024-01-17")
  local stats; stats=$(curl -s -H 'Authorization: Bearer bench' "http://$admin/databases/db")
  local store fetched meta
  store=$(echo "$stats" | sed 's/.*"store_bytes":\([0-9]*\).*/\1/')
  fetched=$(echo "$stats" | sed 's/.*"fetched_bytes":\([0-9]*\).*/\1/')
  meta=$(echo "$stats" | sed 's/.*"metadata_bytes":\([0-9]*\).*/\1/')
  printf '%s: ready %.2f s, first query %.3f s, repeat %.3f s' "$mode" "$ready" "$first" "$second"
  if [ "$mode" = lazy ]; then
    printf ', metadata %d B, fetched for the query %d of %d B (%.2f%%)' "$meta" "$fetched" "$store" \
      "$(echo "100 * $fetched / $store" | bc -l)"
  fi
  echo
  kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=""
}
run lazy
run full
