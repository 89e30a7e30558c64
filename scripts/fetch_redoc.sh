#!/usr/bin/env bash
# Fetches the API reference page's renderer from npm with pinned checksums into third_party/redoc:
# Redoc's standalone bundle (one JavaScript file with React and every other dependency inside), its
# license and the licenses of what it bundles. The build embeds the bundle in the binary, which
# serves it at /docs/assets/; nothing is downloaded at run time.
# redoc.standalone.js: redoc@2.5.4 (MIT), 1,103,471 bytes.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
dest="${REDOC_ROOT:-$here/third_party/redoc}"
version=2.5.4
declare -A sha=(
  [redoc.standalone.js]=dcaf76612bc4a3fbcc923a8966dee2f6146a5f32e5ce1b6f02dd60cbbf89500b
  [redoc.standalone.js.LICENSE.txt]=eed602ec32e00b2b9df1984fbcc26a687b1b3193ec01961389c4b8439e6edf73
  [LICENSE]=d3026d549cf68ab7355bcfa85877bf8f845b3334a7efbfdc63936432fb34ff0e
)

check() { [ -f "$1" ] && echo "$2  $1" | sha256sum -c --quiet - 2>/dev/null; }
complete=1
for file in "${!sha[@]}"; do check "$dest/$file" "${sha[$file]}" || complete=0; done
[ "$complete" = 1 ] && exit 0

mkdir -p "$dest"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "redoc@$version" >/dev/null)
tar -xzf "$work/redoc-$version.tgz" -C "$work" package/LICENSE package/bundles/redoc.standalone.js \
  package/bundles/redoc.standalone.js.LICENSE.txt
mv "$work"/package/bundles/* "$work/package/LICENSE" "$work/"
for file in "${!sha[@]}"; do
  echo "${sha[$file]}  $work/$file" | sha256sum -c --quiet - || { echo "fetch_redoc: $file checksum mismatch" >&2; exit 1; }
done
for file in "${!sha[@]}"; do mv "$work/$file" "$dest/"; done
echo "fetch_redoc: Redoc $version in $dest"
