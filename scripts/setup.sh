#!/usr/bin/env bash
# Installs what dram needs to build, test and benchmark on Debian 12, and fetches DuckDB and the
# API reference page's renderer (Redoc).
# Idempotent: a second run only checks what is there (a few seconds).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)

packages=(
  build-essential cmake ninja-build pkg-config
  # Compiles each unchanged file once per configuration and machine (scripts/build.sh).
  ccache
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  libyaml-cpp-dev libcurl4-openssl-dev libssl-dev zlib1g-dev libexpat1-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  clang libclang-rt-14-dev
  curl ca-certificates openssl
  # A real S3 server for the store tests: Ceph's radosgw, single node, in memory (scripts/s3_server.sh).
  radosgw ceph-mon ceph-osd ceph-common
  # A real etcd (3.4) for the cluster module's tests: three members on 127.0.0.1 (scripts/etcd_cluster.sh).
  etcd-server etcd-client
  # promtool checks deploy/prometheus/dram-rules.yml; the monitoring test runs a real Prometheus
  # (2.42) on 127.0.0.1 against a live dram (tests/integration/monitoring_test.cc).
  prometheus
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
  # Debian's prometheus package starts a system service on :9090 when it is installed. The tests
  # only run their own (temp dir, free port), so tell invoke-rc.d not to start anything (101:
  # action forbidden) while we install, unless the machine already has a policy of its own.
  policy=/usr/sbin/policy-rc.d
  if [ ! -e "$policy" ]; then
    trap '$sudo_cmd rm -f "$policy"' EXIT
    printf '#!/bin/sh\nexit 101\n' | $sudo_cmd tee "$policy" >/dev/null
    $sudo_cmd chmod 755 "$policy"
  fi
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # With systemd the unit is still enabled for the next boot; a Prometheus this script installed
  # should not come up on :9090 then either (one installed before is left as it is).
  if [[ " ${missing[*]} " == *" prometheus "* ]] && [ -d /run/systemd/system ]; then
    $sudo_cmd systemctl disable --now prometheus >/dev/null 2>&1 || true
  fi
fi

"$here/scripts/fetch_duckdb.sh"
"$here/scripts/fetch_redoc.sh"
