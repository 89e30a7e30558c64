#!/usr/bin/env bash
# `dram init` on 3M rows (issue 17): a Hive-partitioned Parquet database (30 days x 100k rows of
# events, plus a 3M-row orders table in one file), inspected locally and from a local radosgw;
# prints the wall and CPU time of each init and checks `dram validate` accepts what it wrote.
# `--smoke` runs it on 30k rows (CI does: scripts/bench_smoke.sh; the full run writes ~150 MB).
#
# Usage: bash bench/init.sh [--smoke]     Environment: BUILD_DIR=build  SKIP_BUILD=1 (use BUILD_DIR as built)
#   DRAM_S3_ENV (use that radosgw instead of starting one: bench/s3_fixture.sh)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$root/build}
rows_per_day=100000
[ "${1:-}" = --smoke ] && rows_per_day=1000
work=$(mktemp -d /tmp/dram-init-bench.XXXXXX)
cleanup() {
  bench_s3_stop "$work/s3" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
# shellcheck source=bench/s3_fixture.sh
. "$root/bench/s3_fixture.sh"
[ "${SKIP_BUILD:-0}" = 1 ] || "$root/scripts/build.sh" >/dev/null  # SKIP_BUILD=1: use BUILD_DIR as built
total=$((rows_per_day * 30))

echo "== data: events $total rows in 30 day partitions, orders $total rows in one file"
mkdir -p "$work/data/orders"
for d in $(seq -w 1 30); do
  mkdir -p "$work/data/events/day=2024-01-$d"
  echo "COPY (SELECT i AS id, 't' || (i % 50) AS tenant_id, ['view','click','buy'][1 + i % 3] AS kind,
        (i * 7919) % 100000 / 100.0 AS amount, TIMESTAMP '2024-01-$d' + INTERVAL (i % 86400) SECOND AS at
        FROM range($rows_per_day) t(i)) TO '$work/data/events/day=2024-01-$d/part-0.parquet' (FORMAT parquet);" >>"$work/gen.sql"
done
echo "COPY (SELECT i AS order_id, 't' || (i % 50) AS tenant_id, ['open','paid','refunded'][1 + i % 3] AS status,
      DATE '2023-01-01' + (i % 365)::INTEGER AS order_date, (i % 997) * 1.25 AS total
      FROM range($total) t(i)) TO '$work/data/orders/orders.parquet' (FORMAT parquet);" >>"$work/gen.sql"
"$BUILD_DIR/dram-sql" "$work/gen.sql"
du -sh "$work/data"

# CPU seconds of a command's children (user + system), from bash's `times`, around one run.
timed() {  # LABEL CMD...
  local label=$1; shift
  local start end cpu_before cpu_after
  cpu_before=$(awk '{print $14 + $15 + $16 + $17}' /proc/$$/stat)
  start=$(date +%s.%N)
  "$@" >"$work/out.log" 2>&1 || { cat "$work/out.log"; echo "$label failed"; exit 1; }
  end=$(date +%s.%N)
  cpu_after=$(awk '{print $14 + $15 + $16 + $17}' /proc/$$/stat)
  printf '%-28s wall %6.2f s   cpu %6.2f s\n' "$label" "$(echo "$end - $start" | bc)" \
    "$(echo "($cpu_after - $cpu_before) / $(getconf CLK_TCK)" | bc -l)"
}

echo "== dram init"
timed "local directory" "$BUILD_DIR/dram" init "$work/p-local" --from "$work/data" --tenant-column tenant_id
timed "validate (local)" "$BUILD_DIR/dram" validate "$work/p-local"

bench_s3_start "$work/s3" >/dev/null
# shellcheck disable=SC1091
. "$work/s3/env"
sigv4=(--aws-sigv4 "aws:amz:us-east-1:s3" --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY")
(cd "$work/data" && find . -name '*.parquet' | sed 's|^\./||') | while read -r f; do
  curl -sf "${sigv4[@]}" -H "x-amz-content-sha256: $(sha256sum "$work/data/$f" | cut -d' ' -f1)" -T "$work/data/$f" \
    "$AWS_ENDPOINT_URL/$DRAM_TEST_BUCKET/$S3_DB/${f//=/%3D}" >/dev/null
done
timed "s3 (radosgw, loopback)" "$BUILD_DIR/dram" init "$work/p-s3" --from "s3://$DRAM_TEST_BUCKET/$S3_DB" --tenant-column tenant_id
timed "validate (s3)" "$BUILD_DIR/dram" validate "$work/p-s3"
echo "== written: $(ls "$work/p-local/endpoints" | wc -l) endpoints locally, $(ls "$work/p-s3/endpoints" | wc -l) from s3"
