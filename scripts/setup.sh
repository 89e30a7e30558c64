#!/usr/bin/env bash
# Installs what dram needs to build, test and benchmark on Debian 12, and fetches DuckDB and the
# API reference page's renderer (Redoc).
# Idempotent: a second run only checks what is there (a few seconds).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)

packages=(
  build-essential cmake ninja-build pkg-config
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  libyaml-cpp-dev libcurl4-openssl-dev libssl-dev zlib1g-dev libexpat1-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  clang libclang-rt-14-dev
  curl ca-certificates openssl
  # A real S3 server for the store tests: Ceph's radosgw, single node, in memory (scripts/s3_server.sh).
  radosgw ceph-mon ceph-osd ceph-common
  # A real etcd (3.4) for the cluster module's tests: three members on 127.0.0.1 (scripts/etcd_cluster.sh).
  etcd-server etcd-client
)
# npm fetches DuckDB; machines that ship Node.js from elsewhere already have it, and Debian's npm
# conflicts with such a nodejs, so install Debian's only when the command is missing.
command -v npm >/dev/null || packages+=(nodejs npm)
if [ "${DRAM_WITH_BENCH:-0}" = 1 ]; then packages+=(wrk nginx-light); fi
# A headless browser for the /docs page test (tests/integration/docs_test.cc); scripts/test.sh asks for it.
if [ "${DRAM_WITH_BROWSER:-0}" = 1 ]; then packages+=(chromium); fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  sudo_cmd=""; [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

"$here/scripts/fetch_duckdb.sh"
"$here/scripts/fetch_redoc.sh"
