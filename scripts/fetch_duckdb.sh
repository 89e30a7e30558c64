#!/usr/bin/env bash
# Fetches DuckDB's shared library and C header from npm with pinned checksums into third_party/duckdb.
# libduckdb.so: @duckdb/node-bindings-linux-x64@1.5.6-r.1 (DuckDB v1.5.6, C API)
# duckdb.h:     duckdb@1.4.4 (the stable C API of 1.4 links and runs against the 1.5.6 library)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
dest="${DUCKDB_ROOT:-$here/third_party/duckdb}"
lib_sha=3f4962cdd266eab2b479a5b5a4a6d063d279b2954ae814ed00385d553b747633
hdr_sha=cbe6a827284375c5a646b8f27dbd3a00808ce8738b5bbb49c190cb1e08540281

check() { [ -f "$1" ] && echo "$2  $1" | sha256sum -c --quiet - 2>/dev/null; }
if check "$dest/lib/libduckdb.so" "$lib_sha" && check "$dest/include/duckdb.h" "$hdr_sha"; then
  exit 0
fi

mkdir -p "$dest/lib" "$dest/include"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent @duckdb/node-bindings-linux-x64@1.5.6-r.1 duckdb@1.4.4 >/dev/null)
tar -xzf "$work"/duckdb-node-bindings-linux-x64-1.5.6-r.1.tgz -C "$work" package/libduckdb.so
mv "$work/package/libduckdb.so" "$work/libduckdb.so"
tar -xzf "$work"/duckdb-1.4.4.tgz -C "$work" package/src/duckdb/src/include/duckdb.h
mv "$work/package/src/duckdb/src/include/duckdb.h" "$work/duckdb.h"
echo "$lib_sha  $work/libduckdb.so" | sha256sum -c --quiet - || { echo "fetch_duckdb: libduckdb.so checksum mismatch" >&2; exit 1; }
echo "$hdr_sha  $work/duckdb.h" | sha256sum -c --quiet - || { echo "fetch_duckdb: duckdb.h checksum mismatch" >&2; exit 1; }
mv "$work/libduckdb.so" "$dest/lib/"
mv "$work/duckdb.h" "$dest/include/"
echo "fetch_duckdb: DuckDB in $dest"
