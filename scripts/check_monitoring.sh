#!/usr/bin/env bash
# Checks the Prometheus rules with Debian's promtool (scripts/setup.sh installs it): the file
# parses and every expression is valid (check), and the alerts fire, and stay quiet, on the series
# of deploy/prometheus/dram-rules.test.yml (test). Exit 77 (ctest: skipped) without promtool.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
if ! command -v promtool >/dev/null; then
  echo "check_monitoring: promtool is not installed (Debian package prometheus; scripts/setup.sh installs it)" >&2
  exit 77
fi
cd "$here/deploy/prometheus"
promtool check rules dram-rules.yml
promtool test rules dram-rules.test.yml
