#!/usr/bin/env bash
# Object-store benchmarks (issue 4), against a real radosgw on 127.0.0.1 started here:
#   download: a 1 GB database (8 objects of 128 MiB) fetched by dram's downloader vs curl fetching
#             the same objects in parallel (--parallel, same connection count) from the same server
#   materialize: dram's materialization of a Parquet directory vs plain DuckDB CTAS on the same files
# Each side runs REPEATS times alternately; the best run of each is compared (ratio = curl time /
# dram time, so > 1 means dram is faster). Not part of CI.
#
# Usage: bash bench/store.sh     Environment: REPEATS=3  OBJECTS=8  OBJECT_MIB=128  PARALLEL=8
#        BUILD_DIR=build  MATERIALIZE_ROWS=20000000
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$root/build}
REPEATS=${REPEATS:-3}
OBJECTS=${OBJECTS:-8}
OBJECT_MIB=${OBJECT_MIB:-128}
PARALLEL=${PARALLEL:-8}
MATERIALIZE_ROWS=${MATERIALIZE_ROWS:-20000000}
work=$(mktemp -d /tmp/dram-store-bench.XXXXXX)
trap '"$root/scripts/s3_server.sh" stop "$work/s3" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

"$root/scripts/build.sh" >/dev/null
memstore=$(( (OBJECTS * OBJECT_MIB + 1024) * 1024 * 1024 ))
"$root/scripts/s3_server.sh" start "$work/s3" "$memstore"
# shellcheck disable=SC1091
. "$work/s3/env"
sigv4=(--aws-sigv4 "aws:amz:us-east-1:s3" --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY")
empty_sha=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855

echo "== uploading $OBJECTS x $OBJECT_MIB MiB"
for i in $(seq 1 "$OBJECTS"); do
  head -c "$((OBJECT_MIB * 1024 * 1024))" /dev/urandom >"$work/object"
  sha=$(sha256sum "$work/object" | cut -d' ' -f1)
  curl -sf "${sigv4[@]}" -H "x-amz-content-sha256: $sha" -T "$work/object" \
    "$AWS_ENDPOINT_URL/$DRAM_TEST_BUCKET/db/part-$i.parquet" >/dev/null
done
rm -f "$work/object"

time_of() { local start end; start=$(date +%s.%N); "$@" >/dev/null; end=$(date +%s.%N); echo "$end - $start" | bc -l; }
curl_all() {
  local args=()
  for i in $(seq 1 "$OBJECTS"); do
    args+=(-o "$work/curl/part-$i.parquet" "$AWS_ENDPOINT_URL/$DRAM_TEST_BUCKET/db/part-$i.parquet")
  done
  curl -sf --parallel --parallel-max "$PARALLEL" "${sigv4[@]}" -H "x-amz-content-sha256: $empty_sha" "${args[@]}"
}
best_dram=999999; best_curl=999999
for run in $(seq 1 "$REPEATS"); do
  rm -rf "$work/dram" "$work/curl"; mkdir -p "$work/curl"; sync
  t_dram=$(time_of "$BUILD_DIR/bench/download_bench" "s3://$DRAM_TEST_BUCKET/db" "$work/dram" "$PARALLEL")
  rm -rf "$work/dram" "$work/curl"; mkdir -p "$work/curl"; sync
  t_curl=$(time_of curl_all)
  printf 'run %d: dram %.2f s, curl %.2f s\n' "$run" "$t_dram" "$t_curl"
  best_dram=$(echo "if ($t_dram < $best_dram) $t_dram else $best_dram" | bc -l)
  best_curl=$(echo "if ($t_curl < $best_curl) $t_curl else $best_curl" | bc -l)
done
mb=$((OBJECTS * OBJECT_MIB * 1048576 / 1000000))
printf 'download %d MB: dram best %.2f s (%.0f MB/s), curl best %.2f s (%.0f MB/s), ratio %.2fx (target >= 0.9x)\n' \
  "$mb" "$best_dram" "$(echo "$mb / $best_dram" | bc -l)" "$best_curl" "$(echo "$mb / $best_curl" | bc -l)" \
  "$(echo "$best_curl / $best_dram" | bc -l)"

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
