#!/usr/bin/env bash
# Cluster benchmarks (dram serve --cluster on a real 3-member etcd, everything on 127.0.0.1), in one
# run, printed side by side with the ideal each is measured against:
#   1. join:    bytes loaded by all members when member M+1 joins a database of S shards x N copies
#               (files hashed by path), vs the ideal: total copy bytes / (M+1); copies per member
#               max / mean before and after
#   2. restore: time from SIGKILL of one member until every shard has N ready copies again, vs
#               lease TTL + re-replication delay + the time the cluster took to load the same bytes
#               in this run (the killed member's copy bytes at the rate `db add --wait` loaded them)
#   3. disk:    peak `du -sb` of all cache dirs (sampled every 200 ms) during the join vs before it
#   4. rest:    etcd writes/s per member with the cluster idle (raft proposals committed + lease
#               renewals, from etcd's /metrics) over REST_SECONDS, and the dram processes' CPU
#               seconds (utime + stime from /proc/PID/stat) over the same window
# CI runs the smoke mode (scripts/bench_smoke.sh).
#
# Usage: bash bench/cluster.sh [--smoke]
# Environment:
#   DRAM_BENCH_GB=0.2      Parquet bytes of the database, in GB (the issue's target run is 1)
#   DRAM_BENCH_SMOKE=1     same as --smoke: tiny data, 8 shards, short waits; well under a minute
#   MEMBERS=4 SHARDS=32 REPLICAS=2 FILES=128 REST_SECONDS=30
#   LEASE_TTL=4            --lease-ttl (etcd raises a TTL to its minimum, 4 s with etcd_cluster.sh)
#   REREPLICATE_MS=5000    --rereplicate-after
#   POLL_MS=2000           --poll-interval (dram's default; members also wake on etcd's catalog head)
#   BUILD_DIR=build KEEP_TMP=1 STRICT=1 (exit 1 when a target is missed) RESULTS_FILE=path
# Every process it starts (3 etcd, M+1 dram, a du sampler) is stopped on exit; every wait is bounded.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$root/build}
smoke=${DRAM_BENCH_SMOKE:-0}
[ "${1:-}" = --smoke ] && smoke=1
if [ "$smoke" = 1 ]; then
  DRAM_BENCH_GB=${DRAM_BENCH_GB:-0.004} SHARDS=${SHARDS:-8} FILES=${FILES:-32} REST_SECONDS=${REST_SECONDS:-3}
  REREPLICATE_MS=${REREPLICATE_MS:-1000}
fi
DRAM_BENCH_GB=${DRAM_BENCH_GB:-0.2}
MEMBERS=${MEMBERS:-4}
SHARDS=${SHARDS:-32}
REPLICAS=${REPLICAS:-2}
FILES=${FILES:-128}
REST_SECONDS=${REST_SECONDS:-30}
LEASE_TTL=${LEASE_TTL:-4}
REREPLICATE_MS=${REREPLICATE_MS:-5000}
POLL_MS=${POLL_MS:-2000}
readonly etcd_min_ttl=4        # 1.5 election timeouts of etcd_cluster.sh (2.5 s), rounded up
readonly bytes_per_row=41.6    # of the generated Parquet (measured: 4,165,596 B per 100k rows)
[ "$MEMBERS" -ge 2 ] && [ "$REPLICAS" -ge 1 ] && [ "$REPLICAS" -le "$MEMBERS" ] ||
  { echo "cluster.sh: need MEMBERS >= 2 and 1 <= REPLICAS <= MEMBERS (N copies must fit after the kill)" >&2; exit 2; }
for tool in "$BUILD_DIR/dram" "$BUILD_DIR/dram-sql" etcd curl python3 du; do
  command -v "$tool" >/dev/null || { echo "cluster.sh: $tool not found" >&2; exit 1; }
done

work=$(mktemp -d /tmp/dram-cluster-bench.XXXXXX)
pids=()          # dram members, by index 1..M+1 ("" once killed)
sampler_pid=""
cleanup() {
  local rc=$? pid
  if [ -n "$sampler_pid" ]; then kill "$sampler_pid" 2>/dev/null || true; wait "$sampler_pid" 2>/dev/null || true; fi
  for pid in "${pids[@]}"; do if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; fi; done
  for pid in "${pids[@]}"; do
    [ -n "$pid" ] || continue
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  "$root/scripts/etcd_cluster.sh" stop "$work/etcd" >/dev/null 2>&1 || true
  if [ "$rc" -ne 0 ] || [ "${KEEP_TMP:-0}" = 1 ]; then
    echo "cluster.sh: logs kept in $work" >&2
  else
    rm -rf "$work"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

now() { date +%s.%N; }
calc() { awk "BEGIN { printf \"%.${2:-3}f\", $1 }"; }
die() { echo "cluster.sh: $*" >&2; exit 1; }
mb() { calc "$1 / 1000000" 1; }
probe() { python3 "$root/bench/cluster_probe.py" "$@"; }
w=()  # the words of the last probe_words
probe_words() { local out; out=$(probe "$@") || return 1; read -ra w <<<"$out"; }
# val KEY WORDS...: the value of KEY=... among the words (cluster_probe.py's output).
val() { local k=$1 w; shift; for w in "$@"; do [ "${w%%=*}" = "$k" ] && { echo "${w#*=}"; return; }; done; echo "cluster.sh: no $k in: $*" >&2; return 1; }

# A port nobody listens on, below the ephemeral range (as scripts/etcd_cluster.sh picks them).
taken=" "
free_port() {
  local port
  for _ in $(seq 200); do
    port=$((20000 + RANDOM % 12000))
    [[ "$taken" == *" $port "* ]] && continue
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then taken+="$port "; echo "$port"; return; fi
  done
  die "no free port"
}

# ---------------------------------------------------------------- members
admin=()   # admin HOST:PORT by index
ids=()     # advertise HOST:PORT (the member id) by index
launch_member() {  # launch_member I: starts member I (its API on a free port)
  local i=$1 port
  port=$(free_port)
  mkdir -p "$work/cache$i"
  "$dram" serve --catalog "$work/catalog" --cluster bench --etcd "$ETCD_ENDPOINTS" \
    --advertise "127.0.0.1:$port" --listen "127.0.0.1:$port" --admin-listen 127.0.0.1:0 \
    --cache-dir "$work/cache$i" --lease-ttl "$LEASE_TTL" --rereplicate-after "$REREPLICATE_MS" \
    --poll-interval "$POLL_MS" --ready-file "$work/ready$i" >"$work/member$i.log" 2>&1 &
  pids[i]=$!
  ids[i]=127.0.0.1:$port
}
wait_member() {  # wait_member I: until member I has written its ready file (30 s at most)
  local i=$1
  for _ in $(seq 300); do
    [ -s "$work/ready$i" ] && break
    kill -0 "${pids[i]}" 2>/dev/null || { tail -20 "$work/member$i.log" >&2; die "member $i exited"; }
    sleep 0.1
  done
  [ -s "$work/ready$i" ] || die "member $i not ready after 30 s"
  admin[i]=$(sed -E 's/.*"admin":"([^"]*)".*/\1/' "$work/ready$i")
}
alive() { local i out=""; for i in "${!pids[@]}"; do [ -n "${pids[i]}" ] && out+="$i "; done; echo "$out"; }
admins() {  # admins [I...]: admin addresses, comma-separated (default: every live member)
  local i out=""
  # shellcheck disable=SC2046
  [ $# -gt 0 ] || set -- $(alive)
  for i in "$@"; do out+="${out:+,}${admin[i]}"; done
  echo "$out"
}
cpu_ticks() {  # cpu_ticks PID...: utime + stime summed
  local pid total=0 t
  for pid in "$@"; do
    t=$(sed 's/^.*) //' "/proc/$pid/stat" | awk '{ print $12 + $13 }')
    total=$((total + t))
  done
  echo "$total"
}

rows=()
add_row() {  # add_row NAME MEASURED IDEAL RATIO TARGET(<=x|info)
  local status="-"
  case "$5" in "<="*) status=$(awk -v r="$4" -v t="${5#<=}" 'BEGIN { print (r + 0 <= t + 0) ? "ok" : "MISS" }') ;; esac
  rows+=("$1|$2|$3|$4|$5|$status")
}

# ---------------------------------------------------------------- setup
# Private copies: a rebuild of BUILD_DIR during the run must not take the joining member's binary away.
mkdir -p "$work/bin"
cp "$BUILD_DIR/dram" "$BUILD_DIR/dram-sql" "$work/bin/"
dram=$work/bin/dram
"$dram" --version >/dev/null || die "$BUILD_DIR/dram does not run (being rebuilt?)"
echo "== etcd (3 members) and the data (at ${SECONDS} s)"
"$root/scripts/etcd_cluster.sh" start "$work/etcd" 3 >/dev/null
# shellcheck disable=SC1091
. "$work/etcd/env"
mkdir -p "$work/data/orders" "$work/catalog"
rows_per_file=$(awk -v gb="$DRAM_BENCH_GB" -v b="$bytes_per_row" -v f="$FILES" 'BEGIN { r = int(gb * 1e9 / b / f); print r < 100 ? 100 : r }')
for f in $(seq 0 $((FILES - 1))); do
  echo "COPY (SELECT i AS id, i % 1000 AS customer, (i * 7919) % 100000 / 100.0 AS amount, md5(i::VARCHAR) AS note
        FROM range($((f * rows_per_file)), $(((f + 1) * rows_per_file))) t(i)) TO '$work/data/orders/part-$f.parquet' (FORMAT parquet);"
done >"$work/gen.sql"
"$work/bin/dram-sql" "$work/gen.sql" >/dev/null
data_bytes=$(du -sb "$work/data" | cut -f1)
echo "data: $FILES Parquet files, $((rows_per_file * FILES)) rows, $(mb "$data_bytes") MB"

echo "== $MEMBERS members, db add orders --replicas $REPLICAS --shards $SHARDS (by file path) (at ${SECONDS} s)"
for i in $(seq 1 "$MEMBERS"); do launch_member "$i"; done
for i in $(seq 1 "$MEMBERS"); do wait_member "$i"; done
for _ in $(seq 100); do
  [ "$(curl -fsS --max-time 5 "http://${admin[1]}/cluster/status" | grep -o '"zone"' | wc -l)" = "$MEMBERS" ] && break
  sleep 0.1
done
t0=$(now)
"$dram" db add orders "$work/data" --replicas "$REPLICAS" --shards "$SHARDS" --wait --timeout 900 \
  --admin "http://${admin[1]}" >"$work/db-add.log" 2>&1 || { cat "$work/db-add.log" >&2; die "db add failed"; }
t_add=$(calc "$(now) - $t0")
probe_words wait-settled "$(admins)" "$REPLICAS" "$MEMBERS" 120 "$work/before-join.json" || die "not settled after db add"
add_loaded=$(val loaded "${w[@]}")
copies0=$(val copies "${w[@]}") bytes0=$(val bytes "${w[@]}") max0=$(val max "${w[@]}") mean0=$(val mean "${w[@]}")
bmax0=$(val bytes_max "${w[@]}") bmean0=$(val bytes_mean "${w[@]}")
shard_min=$(val shard_min "${w[@]}") shard_max=$(val shard_max "${w[@]}")
rate=$(calc "$add_loaded / $t_add" 0)
echo "db add --wait: $(calc "$t_add" 2) s for $copies0 copies ($(mb "$bytes0") MB), $(mb "$add_loaded") MB of" \
  "snapshots loaded: $(mb "$rate") MB/s over the cluster; one copy of a shard: $(mb "$shard_min") to $(mb "$shard_max") MB"

# ---------------------------------------------------------------- 1 + 3: a member joins
j=$((MEMBERS + 1))
echo "== member $j joins (at ${SECONDS} s)"
mkdir -p "$work/cache$j"
disk() { du -sbc "$work"/cache* | tail -1 | cut -f1; }
disk0=$(disk)
join_timeout=$(calc "60 + 4 * $LEASE_TTL + 5 * $t_add" 0)
(
  end=$((SECONDS + join_timeout + 10))
  while [ ! -f "$work/sampler.stop" ] && [ "$SECONDS" -lt "$end" ]; do
    disk >>"$work/disk-samples"
    sleep 0.2
  done
) &
sampler_pid=$!
t0=$(now)
launch_member "$j"
wait_member "$j"
probe_words wait-settled "$(admins)" "$REPLICAS" "$j" "$join_timeout" "$work/after-join.json" "${ids[j]}" ||
  die "the join did not settle"
t_join=$(calc "$(val at "${w[@]}") - $t0")
touch "$work/sampler.stop"
wait "$sampler_pid" || true
sampler_pid=""
copies1=$(val copies "${w[@]}") bytes1=$(val bytes "${w[@]}") max1=$(val max "${w[@]}") mean1=$(val mean "${w[@]}")
bmax1=$(val bytes_max "${w[@]}") bmean1=$(val bytes_mean "${w[@]}")
probe_words moved "$work/before-join.json" "$work/after-join.json" "${ids[j]}" || die "probe failed"
moved=$(val loaded "${w[@]}") moved_by_stayers=$(val loaded_by_stayers "${w[@]}") dropped=$(val dropped "${w[@]}")
new_copies=$(val new_copies "${w[@]}") new_on_joiner=$(val new_on_joiner "${w[@]}")
ideal=$(calc "$bytes1 / $j" 0)
peak=$(sort -n "$work/disk-samples" | tail -1)
disk1=$(disk)
echo "settled $(calc "$t_join" 1) s after the start (surplus copies go after 2 x lease TTL); copies made: $new_copies" \
  "($new_on_joiner on the new member, $((new_copies - new_on_joiner)) on members that stayed), dropped: $dropped;" \
  "ideal: $(calc "$copies1 / $j" 1) made, as many dropped"
echo "bytes loaded: $(mb "$moved") MB ($(mb "$moved_by_stayers") MB by members that stayed); ideal: $(mb "$bytes1") MB / $j = $(mb "$ideal") MB"
echo "disk: before $(mb "$disk0") MB, peak $(mb "$peak") MB ($(wc -l <"$work/disk-samples") samples), after $(mb "$disk1") MB"
[ "$copies1" = $((SHARDS * REPLICAS)) ] || echo "WARNING: $copies1 ready copies after the join, want $((SHARDS * REPLICAS))"
[ "$dropped" = "$new_copies" ] || echo "WARNING: $new_copies copies made but $dropped dropped"
add_row "join: bytes moved (MB)" "$(mb "$moved")" "$(mb "$ideal")" "$(calc "$moved / $ideal" 2)" info
add_row "join: copies made" "$new_copies" "$(calc "$copies1 / $j" 1)" "$(calc "$new_copies * $j / $copies1" 2)" info
add_row "copies/member max/mean, $MEMBERS" "$max0" "$mean0" "$(calc "$max0 / $mean0" 2)" info
add_row "copies/member max/mean, $j" "$max1" "$mean1" "$(calc "$max1 / $mean1" 2)" info
add_row "MB/member max/mean, $MEMBERS" "$(mb "$bmax0")" "$(mb "$bmean0")" "$(calc "$bmax0 / $bmean0" 2)" info
add_row "MB/member max/mean, $j" "$(mb "$bmax1")" "$(mb "$bmean1")" "$(calc "$bmax1 / $bmean1" 2)" info
add_row "join: peak disk (MB)" "$(mb "$peak")" "$(mb "$disk0")" "$(calc "$peak / $disk0" 2)" info

# ---------------------------------------------------------------- 2: SIGKILL one member
victim=2
echo "== SIGKILL member $victim (${ids[victim]}) (at ${SECONDS} s)"
probe_words held "$work/after-join.json" "${ids[victim]}" || die "probe failed"
victim_bytes=$(val bytes "${w[@]}") victim_copies=$(val copies "${w[@]}")
ttl_eff=$((LEASE_TTL > etcd_min_ttl ? LEASE_TTL : etcd_min_ttl))
load_s=$(calc "$victim_bytes / $rate")
expected=$(calc "$ttl_eff + $REREPLICATE_MS / 1000 + $load_s")
restore_timeout=$(calc "60 + 3 * $expected" 0)
{
  kill -KILL "${pids[victim]}"
  t0=$(now)
  wait "${pids[victim]}" || true
} 2>/dev/null
pids[victim]=""
probe_words wait-restored "$(admins)" "$REPLICAS" "${ids[victim]}" "$restore_timeout" || die "N copies not restored"
t_restore=$(calc "$(val at "${w[@]}") - $t0")
probe_words wait-settled "$(admins)" "$REPLICAS" "$MEMBERS" 120 "$work/after-restore.json" || die "not settled after the restore"
copies2=$(val copies "${w[@]}")
# Nothing moved between the join settling and the kill, so the join's end is the kill's start.
probe_words moved "$work/after-join.json" "$work/after-restore.json" || die "probe failed"
echo "$victim_copies copies, $(mb "$victim_bytes") MB lost; N copies again after $(calc "$t_restore" 2) s; ideal:" \
  "TTL $ttl_eff s + delay $(calc "$REREPLICATE_MS / 1000" 1) s + load $(calc "$load_s" 2) s (at the db add rate)" \
  "= $(calc "$expected" 2) s"
remade=$(val loaded "${w[@]}")
echo "copies made: $(val new_copies "${w[@]}") ($(mb "$remade") MB), dropped: $(val dropped "${w[@]}"); ready copies now: $copies2"
probe_words loads "$(admins)" "$t0" || die "probe failed"
load_start=$(calc "$(val start "${w[@]}") - $t0" 2) load_window=$(calc "$(val end "${w[@]}") - $(val start "${w[@]}")" 2)
expected_actual=$(calc "$ttl_eff + $REREPLICATE_MS / 1000 + $load_window")
echo "the $(val count "${w[@]}") loads ran from $load_start s to $(calc "$load_start + $load_window" 2) s after the kill" \
  "($load_window s; $(calc "$(val summed_ms "${w[@]}") / 1000" 1) s summed); TTL + delay + that = $(calc "$expected_actual" 2) s"
add_row "restore after SIGKILL (s)" "$(calc "$t_restore" 2)" "$(calc "$expected" 2)" "$(calc "$t_restore / $expected" 2)" "<=1.2"
add_row "restore vs TTL+delay+its loads" "$(calc "$t_restore" 2)" "$(calc "$expected_actual" 2)" "$(calc "$t_restore / $expected_actual" 2)" info
add_row "restore: bytes moved (MB)" "$(mb "$remade")" "$(mb "$victim_bytes")" "$(calc "$remade / $victim_bytes" 2)" info

# ---------------------------------------------------------------- 4: at rest
echo "== at rest: $REST_SECONDS s (at ${SECONDS} s)"
sleep 1
members_live=$(alive | wc -w)
rest_pids=()
for i in $(alive); do rest_pids+=("${pids[i]}"); done
etcd_pids=()
for m in $ETCD_MEMBERS; do etcd_pids+=("$(cat "$work/etcd/$m.pid")"); done
read -ra e0 < <(probe etcd "$ETCD_ENDPOINTS")
cpu0=$(cpu_ticks "${rest_pids[@]}") ecpu0=$(cpu_ticks "${etcd_pids[@]}") r0=$(now)
sleep "$REST_SECONDS"
cpu1=$(cpu_ticks "${rest_pids[@]}") ecpu1=$(cpu_ticks "${etcd_pids[@]}") r1=$(now)
read -ra e1 < <(probe etcd "$ETCD_ENDPOINTS")
rest=$(calc "$r1 - $r0")
etcd_window=$(calc "$(val t "${e1[@]}") - $(val t "${e0[@]}")")
delta() { echo $(($(val "$1" "${e1[@]}") - $(val "$1" "${e0[@]}"))); }
proposals=$(delta etcd_server_proposals_committed_total)
renewals=$(delta etcd_debugging_lease_renewed_total)
hz=$(getconf CLK_TCK)
writes=$(calc "($proposals + $renewals) / $etcd_window / $members_live" 2)
cpu=$(calc "($cpu1 - $cpu0) / $hz" 2)
echo "etcd over $(calc "$etcd_window" 1) s: $proposals raft proposals committed (puts $(delta etcd_mvcc_put_total)," \
  "txns $(delta etcd_mvcc_txn_total), deletes $(delta etcd_mvcc_delete_total)), $renewals lease renewals," \
  "$(delta etcd_mvcc_range_total) range reads; etcd CPU $(calc "($ecpu1 - $ecpu0) / $hz" 2) s"
echo "dram CPU over $(calc "$rest" 1) s: $cpu s for $members_live members ($(calc "$cpu / $rest * 100" 2)% of one core)"
add_row "rest: etcd writes/s/member" "$writes" "-" "-" info
add_row "rest: dram CPU s (all members)" "$cpu" "-" "-" info

missed=0
for line in "${rows[@]}"; do [ "${line##*|}" = MISS ] && missed=$((missed + 1)); done
{
  printf '\n%-32s | %10s | %10s | %6s | %6s | %s\n' name measured ideal ratio target status
  printf '%s\n' "---------------------------------+------------+------------+--------+--------+-------"
  for line in "${rows[@]}"; do
    IFS='|' read -r n a b r t s <<<"$line"
    printf '%-32s | %10s | %10s | %6s | %6s | %s\n' "$n" "$a" "$b" "$r" "$t" "$s"
  done
  printf '(M=%s S=%s N=%s, %s MB Parquet in %s files, lease TTL %s s, re-replication %s ms, rest %s s, %s cores, %s%s)\n' \
    "$MEMBERS" "$SHARDS" "$REPLICAS" "$(mb "$data_bytes")" "$FILES" "$ttl_eff" "$REREPLICATE_MS" "$REST_SECONDS" "$(nproc)" \
    "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$([ "$smoke" = 1 ] && echo ', smoke')"
} | tee -a "${RESULTS_FILE:-/dev/null}"
[ "${STRICT:-0}" = 1 ] && [ "$missed" -gt 0 ] && exit 1
exit 0
