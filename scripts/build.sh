#!/usr/bin/env bash
# Configures and builds dram (Release, Ninja) into ${BUILD_DIR:-build}. Reuses an existing build.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build="${BUILD_DIR:-$here/build}"
jobs="${JOBS:-$(nproc)}"
# ccache, when there: CI builds three configurations of a fresh clone each run, and most files are
# unchanged since the last run on this machine. Paths are hashed relative to the clone (base dir)
# and without the build directory (nohashdir), so a clone elsewhere hits the same entries; debug
# info then names the file relative to the build directory, which sanitizer reports resolve fine.
# The settings live in the launcher so that any later `cmake --build` of this tree uses them.
# DRAM_CCACHE=0 builds without it.
launcher=()
if command -v ccache >/dev/null && [ "${DRAM_CCACHE:-1}" = 1 ]; then
  cache="env;CCACHE_BASEDIR=$here;CCACHE_NOHASHDIR=1;CCACHE_MAXSIZE=10G;ccache"
  launcher=("-DCMAKE_CXX_COMPILER_LAUNCHER=$cache" "-DCMAKE_C_COMPILER_LAUNCHER=$cache")
fi
cmake -S "$here" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-Release}" "${launcher[@]}" ${CMAKE_ARGS:-} >/dev/null
cmake --build "$build" -j "$jobs"
