#!/usr/bin/env bash
# Rejects includes that go up the module DAG (CMake alone tolerates such cycles between static
# libraries). Order, lowest first: common < engine, store, http, auth < catalog, database < cluster
# < api < client < cli.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
declare -A allowed=(
  [common]="common"
  [engine]="common engine"
  [store]="common store"
  [usage]="common engine store usage"
  [catalog]="common store catalog"
  [http]="common http"
  [database]="common engine store database"
  [auth]="common auth"
  [cluster]="common engine store catalog database cluster"
  [api]="common engine store usage catalog http database auth cluster api"
  [client]="common engine store usage catalog http database auth cluster api client"
  [cli]="common engine store usage catalog http database auth cluster api client cli"
)
status=0
for module in "${!allowed[@]}"; do
  dir="$here/src/$module"
  [ -d "$dir" ] || continue
  while IFS= read -r line; do
    file=${line%%:*}
    target=$(sed -E 's/.*#include "([a-z_]+)\/.*/\1/' <<<"$line")
    [ "$target" = dram ] && continue  # public headers
    if ! grep -qw "$target" <<<"${allowed[$module]}"; then
      echo "layering: $file includes $target/ (module $module may use: ${allowed[$module]})" >&2
      status=1
    fi
  done < <(grep -rHE '#include "[a-z_]+/' "$dir" --include='*.h' --include='*.cc' | grep -v '_test.cc:' || true)
done
if grep -rlE '#include <duckdb.h>' "$here/src" | grep -v "^$here/src/engine/" | grep -v "^$here/tools/"; then
  echo "layering: duckdb.h may only be included in src/engine/" >&2
  status=1
fi
exit $status
