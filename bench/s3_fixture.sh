# shellcheck shell=bash
# Sourced by the bench scripts that need an S3 server (store.sh, lazy.sh, catalog.sh, init.sh,
# soak.sh). Starting radosgw takes ~20 s on 2 cores, so scripts/bench_smoke.sh starts one and hands
# it to every script through DRAM_S3_ENV (the env file scripts/s3_server.sh writes); a script run
# alone starts and stops its own, as before.
#
#   bench_s3_start DIR [MEMSTORE_BYTES]   starts radosgw under DIR, or, with DRAM_S3_ENV set, copies
#                                         that env file to DIR/env; either way DIR/env is the one to source
#   bench_s3_stop DIR                     stops what bench_s3_start started (nothing when shared)
# Both set S3_DB: a key prefix unique to the caller's DIR, so scripts sharing a bucket never list
# each other's objects (lazy.sh serves "everything under the prefix" as a database).
# The caller sets root (the repository's top directory).

bench_s3_start() {
  local dir=$1 memstore=${2:-}
  # shellcheck disable=SC2034  # read by the caller
  S3_DB="$(basename "$(dirname "$dir")")/db"
  if [ -n "${DRAM_S3_ENV:-}" ]; then
    mkdir -p "$dir"
    cp "$DRAM_S3_ENV" "$dir/env"
    # store.sh reads radosgw's CPU time from its pid file, which s3_server.sh writes beside env.
    if [ -f "$(dirname "$DRAM_S3_ENV")/radosgw.pid" ]; then cp "$(dirname "$DRAM_S3_ENV")/radosgw.pid" "$dir/"; fi
  else
    "${root:?}/scripts/s3_server.sh" start "$dir" ${memstore:+"$memstore"}
  fi
}

bench_s3_stop() {
  local dir=$1
  if [ -n "${DRAM_S3_ENV:-}" ]; then rm -rf "$dir"; else "${root:?}/scripts/s3_server.sh" stop "$dir"; fi
}
