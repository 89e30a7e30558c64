#!/usr/bin/env bash
# One command for all the tests on a fresh Debian 12: installs what is missing, builds once
# (Release) and runs every test with ctest (unit and integration; the integration tests start the
# real binary on 127.0.0.1), runs every bench script once at its smallest on that build
# (scripts/bench_smoke.sh), then packages that build and installs them (scripts/package_test.sh,
# as root). SANITIZE=1 adds an ASan+UBSan build of every suite, made with clang (so it is also the
# -Wthread-safety build) and with the libFuzzer targets; FUZZ_SECONDS=N runs each for N seconds
# (scripts/fuzz.sh; in that build when SANITIZE=1, else in its own); TSAN=1 adds a ThreadSanitizer build
# (reports from inside the uninstrumented libduckdb.so are suppressed: tsan.supp). Setup also
# installs Chromium, which the /docs page test drives headless, and wrk and nginx-light for the
# benches.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
DRAM_WITH_BROWSER=1 DRAM_WITH_BENCH=1 "$here/scripts/setup.sh"
"$here/scripts/check_layering.sh"
"$here/scripts/build.sh"
ctest --test-dir "${BUILD_DIR:-$here/build}" --output-on-failure -j 2 --timeout 600
# Every bench script once at its smallest, on that build, so none rots unnoticed (about 3 minutes;
# includes the 30-second soak).
"$here/scripts/bench_smoke.sh"
# The .deb and the tarball of that Release build, installed and started (dpkg needs root).
sudo_cmd=""; [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
$sudo_cmd env BUILD_DIR="${BUILD_DIR:-$here/build}" "$here/scripts/package_test.sh"
if [ "${SANITIZE:-0}" = 1 ]; then
  # One clang build for the suites and the fuzzers (a separate fuzz build cost CI ~8 minutes).
  BUILD_DIR="$here/build-asan" BUILD_TYPE=RelWithDebInfo \
    CMAKE_ARGS="-DCMAKE_CXX_COMPILER=clang++ -DDRAM_SANITIZE=ON -DDRAM_FUZZ=ON -DDRAM_BENCH=OFF" "$here/scripts/build.sh"
  ctest --test-dir "$here/build-asan" --output-on-failure -j 2 --timeout 900
fi
if [ "${TSAN:-0}" = 1 ]; then
  BUILD_DIR="$here/build-tsan" BUILD_TYPE=RelWithDebInfo CMAKE_ARGS="-DDRAM_TSAN=ON -DDRAM_BENCH=OFF" "$here/scripts/build.sh"
  # detect_deadlocks=0: DuckDB (uninstrumented, but its pthread calls are intercepted) can hold more
  # than 64 mutexes at once in a parallel scan, which overflows TSan's deadlock detector (CHECK failed).
  TSAN_OPTIONS="suppressions=$here/tsan.supp halt_on_error=1 detect_deadlocks=0" ctest --test-dir "$here/build-tsan" --output-on-failure -j 2 --timeout 900
fi
if [ -n "${FUZZ_SECONDS:-}" ]; then
  if [ "${SANITIZE:-0}" = 1 ]; then FUZZ_BUILD_DIR="$here/build-asan" "$here/scripts/fuzz.sh"; else "$here/scripts/fuzz.sh"; fi
fi
