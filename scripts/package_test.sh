#!/usr/bin/env bash
# Builds the packages from the Release build (cpack) and uses them the way an operator would: the
# .deb's metadata and file list, `dpkg -i` (no network), `dram --version`, the systemd unit's
# command started as its user until /ready answers, SIGTERM, `dpkg --purge`; then the tarball
# unpacked in a temporary directory and run from there. Needs root (dpkg); leaves nothing behind
# (a dram package installed before it runs is purged too). About 15 s.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build="${BUILD_DIR:-$here/build}"
[ "$(id -u)" = 0 ] || { echo "package_test: needs root (dpkg -i)" >&2; exit 1; }
version=$(sed -n 's/^project(dram VERSION \([0-9.]*\).*/\1/p' "$here/CMakeLists.txt")
[ -n "$version" ] || { echo "package_test: no VERSION in CMakeLists.txt" >&2; exit 1; }

work=$(mktemp -d /tmp/dram-package-test.XXXXXX)
server_pid=""
fail() { echo "package_test: $*" >&2; exit 1; }
purge_if_installed() {
  local status
  status=$(dpkg-query -W -f='${Status}' dram 2>/dev/null || true)
  if grep -q "ok installed\|config-files" <<<"$status"; then
    dpkg --purge dram >"$work/purge.log" 2>&1 || { cat "$work/purge.log" >&2; return 1; }
  fi
}
# The libduckdb.so the loader picks for BINARY, as a canonical path ($ORIGIN/.. resolved).
loaded_duckdb() {
  local path
  path=$(ldd "$1" | awk '$1 == "libduckdb.so" {print $3}')
  [ -n "$path" ] && realpath "$path"
}
cleanup() {
  if [ -n "$server_pid" ]; then kill -KILL "$server_pid" 2>/dev/null || true; fi
  purge_if_installed || true
  rm -rf "$work"
}
trap cleanup EXIT
started=$(date +%s%N)

purge_if_installed
(cd "$build" && cpack -B "$work/packages" >"$work/cpack.log" 2>&1) || { cat "$work/cpack.log" >&2; fail "cpack failed"; }
deb="$work/packages/dram_${version}_$(dpkg --print-architecture).deb"
tarball="$work/packages/dram-${version}-linux-$(uname -m).tar.gz"
[ -f "$deb" ] && [ -f "$tarball" ] || { ls -l "$work/packages" >&2; fail "cpack did not make $deb and $tarball"; }
echo "package_test: $(basename "$deb") $(stat -c %s "$deb") bytes, $(basename "$tarball") $(stat -c %s "$tarball") bytes"

# The .deb: metadata, maintainer scripts, conffiles, and exactly the expected files.
info=$(dpkg-deb --info "$deb")
for field in "Package: dram" "Version: $version" "Depends: .*adduser" "Depends: .*libc6" "Depends: .*libyaml-cpp"; do
  grep -q "^ $field" <<<"$info" || { echo "$info" >&2; fail "dpkg-deb --info lacks '$field'"; }
done
for script in postinst prerm postrm conffiles; do
  grep -qw "$script" <<<"$info" || fail "the .deb has no $script"
done
[ "$(dpkg-deb --ctrl-tarfile "$deb" | tar -xOf - ./conffiles)" = $'/etc/dram/dram.yml\n/etc/default/dram' ] ||
  fail "conffiles should list /etc/dram/dram.yml and /etc/default/dram"
contents=$(dpkg-deb --contents "$deb")
files=$(awk '$1 !~ /^d/ {print $6}' <<<"$contents" | sort)
expected=$(printf '%s\n' ./etc/default/dram ./etc/dram/dram.yml ./lib/systemd/system/dram.service \
  ./usr/bin/dram ./usr/lib/dram/libduckdb.so | sort)
[ "$files" = "$expected" ] || fail "the .deb holds"$'\n'"$files"$'\n'"expected"$'\n'"$expected"
grep -q -- "^-rw------- root/root .* ./etc/default/dram$" <<<"$contents" ||
  fail "/etc/default/dram (it may hold the admin token) should be readable by root only"

# Installed: the user, the cache directory, the binary with its private libduckdb.
dpkg -i "$deb" >"$work/install.log" 2>&1 || { cat "$work/install.log" >&2; fail "dpkg -i failed"; }
getent passwd dram >/dev/null || fail "postinst did not create the dram user"
[ "$(stat -c %U "/var/cache/dram")" = dram ] || fail "/var/cache/dram is not owned by dram"
[ "$(stat -c %U "/var/lib/dram")" = dram ] || fail "/var/lib/dram (the usage log) is not owned by dram"
[ "$(loaded_duckdb /usr/bin/dram)" = /usr/lib/dram/libduckdb.so ] || { ldd /usr/bin/dram >&2; fail "libduckdb not found in /usr/lib/dram"; }
installed_version=$(/usr/bin/dram --version)
grep -q "^dram $version$" <<<"$installed_version" && grep -q "^duckdb: v[0-9]" <<<"$installed_version" ||
  { echo "$installed_version" >&2; fail "dram --version from /usr/bin"; }

# The unit as systemd reads it: an unknown key or a missing binary is an error here.
unit=/lib/systemd/system/dram.service
verify=$(systemd-analyze verify "$unit" 2>&1) && [ -z "$verify" ] || { echo "$verify" >&2; fail "systemd-analyze verify $unit"; }

# The service, started as dram.service would start it: its user, working directory, environment
# file and ExecStart. Only the ports are overridden (the defaults may be taken on this machine).
unit_value() { sed -n "s/^$1=//p" "$unit"; }
user=$(unit_value User)
workdir=$(unit_value WorkingDirectory)
env_file=$(unit_value EnvironmentFile)
env_file=${env_file#-}
read -r -a exec_start <<<"$(unit_value ExecStart)"
[ "$user" = dram ] && [ "${exec_start[0]}" = /usr/bin/dram ] || fail "unexpected User= or ExecStart= in $unit"
ready_file="$workdir/package-test-ready.json"
(
  cd "$workdir"
  set -a
  [ -r "$env_file" ] && . "$env_file"
  set +a
  exec setpriv --reuid="$user" --regid="$user" --init-groups -- env HOME="$workdir" USER="$user" LOGNAME="$user" \
    "${exec_start[@]}" --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 --ready-file "$ready_file"
) >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 100); do
  [ -s "$ready_file" ] && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log" >&2; fail "the service exited at start"; }
  sleep 0.1
done
[ -s "$ready_file" ] || { cat "$work/server.log" >&2; fail "the service was not ready within 10 s"; }
[ "$(stat -c %U /proc/"$server_pid")" = dram ] || fail "the service does not run as dram"
admin=$(sed -n 's/.*"admin":"\([^"]*\)".*/\1/p' "$ready_file")
curl -fsS --max-time 5 "http://$admin/live" >/dev/null || fail "GET /live on $admin"
curl -fsS --max-time 5 "http://$admin/ready" >/dev/null || fail "GET /ready on $admin"
# One request on the API port (a 404: the default project has no endpoint), so the usage log has
# something to write to /var/lib/dram at the stop: the unit lets the service write there.
api=$(sed -n 's/.*"api":"\([^"]*\)".*/\1/p' "$ready_file")
curl -sS --max-time 5 -o /dev/null "http://$api/v1/nothing" || fail "GET on the API port $api"
kill -TERM "$server_pid"
for _ in $(seq 100); do
  kill -0 "$server_pid" 2>/dev/null || break
  sleep 0.1
done
kill -0 "$server_pid" 2>/dev/null && fail "the service did not stop within 10 s of SIGTERM"
exit_code=0
wait "$server_pid" || exit_code=$?
server_pid=""
[ "$exit_code" = 0 ] || { cat "$work/server.log" >&2; fail "the service exited with $exit_code after SIGTERM"; }
ls /var/lib/dram/_usage/day=*/*.parquet >/dev/null 2>&1 || { cat "$work/server.log" >&2; fail "no usage file in /var/lib/dram"; }

# Purged: nothing of it is left, the user included.
dpkg --purge dram >"$work/purge.log" 2>&1 || { cat "$work/purge.log" >&2; fail "dpkg --purge failed"; }
for path in /usr/bin/dram /usr/lib/dram /etc/dram /etc/default/dram "$unit" /var/cache/dram /var/lib/dram; do
  [ ! -e "$path" ] || fail "$path is left after dpkg --purge"
done
getent passwd dram >/dev/null && fail "the dram user is left after dpkg --purge"

# The tarball: exactly the binary and its libduckdb, runnable from wherever it is unpacked.
listing=$(tar -tzf "$tarball" | grep -v '/$' | sort)
top=$(basename "$tarball" .tar.gz)
[ "$listing" = "$(printf '%s\n' "$top/bin/dram" "$top/lib/dram/libduckdb.so")" ] || fail "the tarball holds"$'\n'"$listing"
mkdir "$work/unpacked"
tar -xzf "$tarball" -C "$work/unpacked"
relocated="$work/unpacked/$top"
[ "$(loaded_duckdb "$relocated/bin/dram")" = "$relocated/lib/dram/libduckdb.so" ] ||
  { ldd "$relocated/bin/dram" >&2; fail "the unpacked binary does not use its own libduckdb"; }
relocated_version=$("$relocated/bin/dram" --version)
grep -q "^dram $version$" <<<"$relocated_version" || { echo "$relocated_version" >&2; fail "dram --version from the tarball"; }

echo "package_test: ok in $(( ($(date +%s%N) - started) / 1000000 )) ms"
