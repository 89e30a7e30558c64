#!/usr/bin/env bash
# Runs every bench script once with its smallest settings (1-second load runs, tiny data) against
# the build in BUILD_DIR, so none can rot unnoticed (issue 14); scripts/test.sh runs it after the
# Release suites. It checks that each script runs to the end, not the figures they print (those
# mean nothing at this size on a shared CI machine), except the soak's verdict, which is the point
# of the soak. One radosgw serves every script that needs S3 (starting it takes ~20 s).
# Fails when any script fails; prints each script's time and, for a failure, its log's tail.
#
# Usage: bash scripts/bench_smoke.sh     Environment: BUILD_DIR=build
#   BENCH_SMOKE_ONLY="lazy soak"   run only these (names as in the table below)
# Requirements: DRAM_WITH_BENCH=1 scripts/setup.sh (wrk, nginx-light) and a built BUILD_DIR.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
export BUILD_DIR=${BUILD_DIR:-$here/build}
export SKIP_BUILD=1 # the build is the one the suites just tested; no script may rebuild it
[ -x "$BUILD_DIR/dram" ] || { echo "bench_smoke: $BUILD_DIR/dram not found; build first" >&2; exit 1; }

work=$(mktemp -d /tmp/dram-bench-smoke.XXXXXX)
cleanup() {
  "$here/scripts/s3_server.sh" stop "$work/s3" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# name | time limit (s) | command. The limits are ~3x the time measured on 2 cores, so a script
# that hangs fails the smoke instead of holding CI until its global timeout.
smokes=(
  "run|120|env DURATION=1 bash bench/run.sh"
  "store|60|env REPEATS=1 OBJECTS=2 OBJECT_MIB=1 PARALLEL=2 MATERIALIZE_ROWS=10000 bash bench/store.sh"
  "lazy|60|env ROWS_PER_DAY=1000 bash bench/lazy.sh"
  "idle|60|env ROWS=20000 bash bench/idle.sh"
  "catalog|90|env COMMITS=10 RUNS=1 bash bench/catalog.sh"
  "fairness|90|env DURATION=1 bash bench/fairness.sh"
  "shadow_diff|60|env REQUESTS=200 bash bench/shadow_diff.sh"
  "init|60|bash bench/init.sh --smoke"
  "cluster|120|bash bench/cluster.sh --smoke"
  "distributed|60|bash bench/distributed.sh --smoke"
  "soak|120|env DURATION=30 bash bench/soak.sh"
)

wanted() { [ -z "${BENCH_SMOKE_ONLY:-}" ] || case " $BENCH_SMOKE_ONLY " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
needs_s3=0
for entry in "${smokes[@]}"; do
  name=${entry%%|*}
  case "$name" in store | lazy | catalog | init | soak) wanted "$name" && needs_s3=1 ;; esac
done
total_start=$(date +%s.%N)
if [ "$needs_s3" = 1 ]; then
  s3_start=$(date +%s.%N)
  "$here/scripts/s3_server.sh" start "$work/s3" >"$work/s3.log" 2>&1 || { cat "$work/s3.log" >&2; exit 1; }
  export DRAM_S3_ENV=$work/s3/env
  printf 'bench_smoke: %-12s %6.1f s\n' radosgw "$(echo "$(date +%s.%N) - $s3_start" | bc -l)"
fi

failed=()
cd "$here"
for entry in "${smokes[@]}"; do
  IFS='|' read -r name limit cmd <<<"$entry"
  wanted "$name" || continue
  start=$(date +%s.%N)
  # shellcheck disable=SC2086  # cmd is a word list written above
  if timeout --kill-after=15 "$limit" $cmd >"$work/$name.log" 2>&1; then status=ok; else status="FAILED (exit $?)"; fi
  printf 'bench_smoke: %-12s %6.1f s  %s\n' "$name" "$(echo "$(date +%s.%N) - $start" | bc -l)" "$status"
  if [ "$status" != ok ]; then
    failed+=("$name")
    echo "---- last 60 lines of $name ($cmd)" >&2
    tail -n 60 "$work/$name.log" >&2
    echo "----" >&2
  fi
  # The soak's series and verdict, in CI's log too (a failure's tail above has them already).
  if [ "$name" = soak ] && [ "$status" = ok ]; then grep -E '^(sample|soak|rss|fds|threads|requests)' "$work/$name.log" | sed 's/^/  /'; fi
done
printf 'bench_smoke: total %.1f s\n' "$(echo "$(date +%s.%N) - $total_start" | bc -l)"
if [ ${#failed[@]} -gt 0 ]; then
  echo "bench_smoke: failed: ${failed[*]}" >&2
  exit 1
fi
