#!/usr/bin/env bash
# Object-store benchmarks (issue 4), against a real radosgw on 127.0.0.1 started here:
#   download: a 1 GB database (8 objects of 128 MiB) fetched by dram's downloader vs curl fetching
#             the same objects in parallel (--parallel, same connection count) from the same server
#   materialize: dram's materialization of a Parquet directory vs plain DuckDB CTAS on the same files
# Each side runs REPEATS times alternately; the best run of each is compared (ratio = curl time /
# dram time, so > 1 means dram is faster). CI runs it on
# 2 MB (scripts/bench_smoke.sh).
#
# Usage: bash bench/store.sh     Environment: REPEATS=3  OBJECTS=8  OBJECT_MIB=128  PARALLEL=8
#        BUILD_DIR=build  MATERIALIZE_ROWS=20000000  SKIP_BUILD=1 (use BUILD_DIR as built)
#        DOWNLOAD_ONLY=1 (skip the materialize part)
#        DRAM_S3_ENV (use that radosgw instead of starting one: bench/s3_fixture.sh)
#        BASELINE_BENCH=path/to/an/older/download_bench (timed too, in the same runs, for before/after)
# CPU seconds (user + system) are reported per GB for each client and for radosgw while it served
# that client, since on 2 shared cores the CPU each side needs is what decides its speed.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$root/build}
REPEATS=${REPEATS:-3}
OBJECTS=${OBJECTS:-8}
OBJECT_MIB=${OBJECT_MIB:-128}
PARALLEL=${PARALLEL:-8}
MATERIALIZE_ROWS=${MATERIALIZE_ROWS:-20000000}
work=$(mktemp -d /tmp/dram-store-bench.XXXXXX)
# shellcheck source=bench/s3_fixture.sh
. "$root/bench/s3_fixture.sh"
trap 'bench_s3_stop "$work/s3" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

[ "${SKIP_BUILD:-0}" = 1 ] || "$root/scripts/build.sh" >/dev/null
memstore=$(( (OBJECTS * OBJECT_MIB + 1024) * 1024 * 1024 ))
bench_s3_start "$work/s3" "$memstore"
# shellcheck disable=SC1091
. "$work/s3/env"
sigv4=(--aws-sigv4 "aws:amz:us-east-1:s3" --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY")
empty_sha=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855

echo "== uploading $OBJECTS x $OBJECT_MIB MiB"
for i in $(seq 1 "$OBJECTS"); do
  head -c "$((OBJECT_MIB * 1024 * 1024))" /dev/urandom >"$work/object"
  sha=$(sha256sum "$work/object" | cut -d' ' -f1)
  curl -sf "${sigv4[@]}" -H "x-amz-content-sha256: $sha" -T "$work/object" \
    "$AWS_ENDPOINT_URL/$DRAM_TEST_BUCKET/$S3_DB/part-$i.parquet" >/dev/null
done
rm -f "$work/object"

# Clock ticks of user + system CPU a process has used so far.
ticks_of() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)
rgw_pid=$(cat "$work/s3/radosgw.pid")
# Runs a command; prints "wall_s client_cpu_s radosgw_cpu_s".
measure() {
  local before after
  before=$(ticks_of "$rgw_pid")
  /usr/bin/time -f '%e %U %S' -o "$work/time" "$@" >/dev/null
  after=$(ticks_of "$rgw_pid")
  read -r wall user sys <"$work/time"
  echo "$wall $(echo "$user + $sys" | bc -l) $(echo "($after - $before) / $hz" | bc -l)"
}
curl_args=(-sf --parallel --parallel-max "$PARALLEL" "${sigv4[@]}" -H "x-amz-content-sha256: $empty_sha")
for i in $(seq 1 "$OBJECTS"); do
  curl_args+=(-o "$work/curl/part-$i.parquet" "$AWS_ENDPOINT_URL/$DRAM_TEST_BUCKET/$S3_DB/part-$i.parquet")
done
best_dram=999999; best_curl=999999; best_base=999999
gb=$(echo "$OBJECTS * $OBJECT_MIB * 1048576 / 1000000000" | bc -l)
for run in $(seq 1 "$REPEATS"); do
  rm -rf "$work/dram" "$work/curl"; mkdir -p "$work/curl"; sync
  read -r t_dram cpu_dram rgw_dram < <(measure "$BUILD_DIR/bench/download_bench" "s3://$DRAM_TEST_BUCKET/$S3_DB" "$work/dram" "$PARALLEL")
  if [ -n "${BASELINE_BENCH:-}" ]; then
    rm -rf "$work/dram"; sync
    read -r t_base cpu_base rgw_base < <(measure "$BASELINE_BENCH" "s3://$DRAM_TEST_BUCKET/$S3_DB" "$work/dram" "$PARALLEL")
    printf 'run %d: baseline %.2f s (CPU/GB: baseline %.2f s, radosgw %.2f s)\n' "$run" "$t_base" \
      "$(echo "$cpu_base / $gb" | bc -l)" "$(echo "$rgw_base / $gb" | bc -l)"
    best_base=$(echo "if ($t_base < $best_base) $t_base else $best_base" | bc -l)
  fi
  rm -rf "$work/dram" "$work/curl"; mkdir -p "$work/curl"; sync
  read -r t_curl cpu_curl rgw_curl < <(measure curl "${curl_args[@]}")
  printf 'run %d: dram %.2f s (CPU/GB: dram %.2f s, radosgw %.2f s), curl %.2f s (CPU/GB: curl %.2f s, radosgw %.2f s)\n' "$run" \
    "$t_dram" "$(echo "$cpu_dram / $gb" | bc -l)" "$(echo "$rgw_dram / $gb" | bc -l)" \
    "$t_curl" "$(echo "$cpu_curl / $gb" | bc -l)" "$(echo "$rgw_curl / $gb" | bc -l)"
  best_dram=$(echo "if ($t_dram < $best_dram) $t_dram else $best_dram" | bc -l)
  best_curl=$(echo "if ($t_curl < $best_curl) $t_curl else $best_curl" | bc -l)
done
mb=$((OBJECTS * OBJECT_MIB * 1048576 / 1000000))
printf 'download %d MB: dram best %.2f s (%.0f MB/s), curl best %.2f s (%.0f MB/s), ratio %.2fx (target >= 0.9x)\n' \
  "$mb" "$best_dram" "$(echo "$mb / $best_dram" | bc -l)" "$best_curl" "$(echo "$mb / $best_curl" | bc -l)" \
  "$(echo "$best_curl / $best_dram" | bc -l)"
if [ -n "${BASELINE_BENCH:-}" ]; then
  printf 'baseline best %.2f s (%.0f MB/s), ratio %.2fx\n' "$best_base" "$(echo "$mb / $best_base" | bc -l)" \
    "$(echo "$best_curl / $best_base" | bc -l)"
fi
[ "${DOWNLOAD_ONLY:-0}" = 1 ] && exit 0

echo "== materialize: $MATERIALIZE_ROWS rows of Parquet"
mkdir -p "$work/parquet/events"
cat >"$work/gen.sql" <<SQL
COPY (SELECT i AS id, i % 1000 AS customer, (i * 7919) % 100000 / 100.0 AS amount,
             DATE '2024-01-01' + (i % 365)::INTEGER AS day, 'sku-' || (i % 5000) AS sku
      FROM range($MATERIALIZE_ROWS) t(i))
TO '$work/parquet/events' (FORMAT parquet, PER_THREAD_OUTPUT true);
SQL
"$BUILD_DIR/dram-sql" "$work/gen.sql"
du -sh "$work/parquet"
for run in $(seq 1 "$REPEATS"); do
  "$BUILD_DIR/bench/materialize_bench" "$work/parquet" "$work/materialize"
done
