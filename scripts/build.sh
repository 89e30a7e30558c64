#!/usr/bin/env bash
# Configures and builds dram (Release, Ninja) into ${BUILD_DIR:-build}. Reuses an existing build.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build="${BUILD_DIR:-$here/build}"
jobs="${JOBS:-$(nproc)}"
cmake -S "$here" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-Release}" ${CMAKE_ARGS:-} >/dev/null
cmake --build "$build" -j "$jobs"
