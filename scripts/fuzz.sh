#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan+UBSan) into build-fuzz and runs each for
# FUZZ_SECONDS (default 60) from the seeds in fuzz/corpus/<target>. New inputs go to a scratch
# corpus, not into the repository; a crash stops the run and leaves its input in build-fuzz/crashes.
# This is also CI's clang build, so it compiles every src/ module (the fuzzers link all libraries;
# `dram` adds the cli) with -Wthread-safety -Werror=thread-safety (src/CMakeLists.txt): a guarded
# field touched without its lock fails here.
# FUZZ_BUILD_DIR: a build configured with -DDRAM_FUZZ=ON already (scripts/test.sh's ASan build,
# which is clang with the fuzzers), used as it is instead of configuring build-fuzz.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build="${FUZZ_BUILD_DIR:-$here/build-fuzz}"
seconds=${FUZZ_SECONDS:-60}
if [ -z "${FUZZ_BUILD_DIR:-}" ]; then
  "$here/scripts/setup.sh"  # clang and its libFuzzer runtime are among its packages
  cmake -S "$here" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ \
    -DDRAM_FUZZ=ON -DDRAM_TESTS=OFF >/dev/null
fi
cmake --build "$build" --target fuzz_params fuzz_jwt fuzz_endpoint_yaml fuzz_http_request fuzz_map_reply dram
mkdir -p "$build/crashes"
total=0
for target in params jwt endpoint_yaml http_request map_reply; do
  scratch=$(mktemp -d)
  log="$build/fuzz_$target.log"
  # DuckDB allocates through its own jemalloc, where LeakSanitizer cannot see pointers, so the
  # targets that open a DuckDB database would report its live objects as leaks.
  case "$target" in http_request | map_reply) leaks=0 ;; *) leaks=1 ;; esac
  if ! ASAN_OPTIONS="detect_leaks=$leaks" "$build/fuzz/fuzz_$target" -max_total_time="$seconds" -max_len=4096 -timeout=10 -detect_leaks=$leaks \
       -artifact_prefix="$build/crashes/${target}-" "$scratch" "$here/fuzz/corpus/$target" > "$log" 2>&1; then
    tail -40 "$log"
    echo "fuzz: fuzz_$target FAILED; inputs in $build/crashes" >&2
    exit 1
  fi
  runs=$(grep -oE 'Done [0-9]+ runs' "$log" | grep -oE '[0-9]+' || echo 0)
  total=$((total + runs))
  echo "fuzz: fuzz_$target ok, $runs executions in ${seconds}s"
  rm -rf "$scratch"
done
echo "fuzz: $total executions, no crash"
