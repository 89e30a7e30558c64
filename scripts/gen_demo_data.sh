#!/usr/bin/env bash
# Generates the demo data (deterministic) into examples/demo/data with DuckDB through dram-sql.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build="${BUILD_DIR:-$here/build}"
demo="$here/examples/demo"
if [ "${REGEN_DATA:-0}" != 1 ] && ls "$demo"/data/events/*.parquet >/dev/null 2>&1 && [ -f "$demo/data/regions/regions.csv" ]; then
  exit 0
fi
mkdir -p "$demo/data/events" "$demo/data/regions"
(cd "$demo" && "$build/dram-sql" generate.sql)
echo "gen_demo_data: wrote $(du -sh "$demo/data" | cut -f1) into $demo/data"
