#!/usr/bin/env bash
# One command for the demo on a fresh Debian 12: installs what is missing, builds, generates the
# demo data and serves examples/demo on 127.0.0.1:8080 (API) and 127.0.0.1:8081 (admin).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
"$here/scripts/setup.sh"
"$here/scripts/build.sh"
"$here/scripts/gen_demo_data.sh"
echo "demo: serving on http://127.0.0.1:8080 (admin http://127.0.0.1:8081); Ctrl-C stops"
exec "$here/build/dram" serve "$here/examples/demo" "$@"
