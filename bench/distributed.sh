#!/usr/bin/env bash
# Queries across shards (issue 16), on a real 3-member etcd and 3 dram members on 127.0.0.1: the
# same endpoints over `orders` (4 shards x 2 copies, split over the members) and over `whole` (an
# unsplit copy of the same data on every member), asked of one member one request at a time.
# Prints p50/p99 of each and their difference (what splitting, the member-to-member calls and the
# reduce cost beyond a shard's own query, which is on a quarter of the rows), and the CPU seconds
# all members spent per request; then the same split requests through the smart client
# (bench/client_bench.cc: shard map from a member, map steps to the members, reduced in the
# client), with the client's CPU added; and the wire format of partial results against JSON rows
# (bench/wire_bench.cc); the reduce step alone (bench/reduce_bench.cc); and the coordinator's overhead: each transparent request's latency minus
# its slowest shard's map step (meta.shards[].ms, the coordinator's own timing of that call);
# the throughput of a lookup over a database sharded by tenant on 3 members and then on 1; and the
# smart client's p99 hedged and unhedged with one member that is sometimes slow.
# Not part of CI except `--smoke` (tiny data, few requests).
#
# Usage: bash bench/distributed.sh [--smoke]
# Environment: ROWS=2000000 REQUESTS=400 LOOKUP_SECONDS=10 CONNECTIONS=4 HEDGE_EVERY=50 HEDGE_DELAY_MS=100
#              BUILD_DIR=build
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$root/build}
ROWS=${ROWS:-2000000}
REQUESTS=${REQUESTS:-400}
LOOKUP_SECONDS=${LOOKUP_SECONDS:-10}
CONNECTIONS=${CONNECTIONS:-4}
HEDGE_EVERY=${HEDGE_EVERY:-50}
HEDGE_DELAY_MS=${HEDGE_DELAY_MS:-100}
WIRE_ROWS="100 10000"
REDUCE_ROUNDS=2000
if [ "${1:-}" = --smoke ]; then ROWS=20000 REQUESTS=20 WIRE_ROWS=100 LOOKUP_SECONDS=1 REDUCE_ROUNDS=20; fi
work=$(mktemp -d /tmp/dram-distributed-bench.XXXXXX)
pids=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  "$root/scripts/etcd_cluster.sh" stop "$work/etcd" >/dev/null 2>&1 || true
  [ "${KEEP_TMP:-0}" = 1 ] || rm -rf "$work"
}
trap cleanup EXIT
die() { echo "distributed.sh: $*" >&2; exit 1; }

mkdir -p "$work/bin" "$work/project/data/orders" "$work/catalog" "$work/project/datasets" "$work/project/endpoints"
cp "$BUILD_DIR/dram" "$BUILD_DIR/dram-sql" "$BUILD_DIR/bench/client_bench" "$work/bin/"
dram=$work/bin/dram
"$root/scripts/etcd_cluster.sh" start "$work/etcd" 3 >/dev/null
# shellcheck disable=SC1091
. "$work/etcd/env"

files=16
per_file=$((ROWS / files))
for f in $(seq 0 $((files - 1))); do
  echo "COPY (SELECT i AS id, i % 50 AS tenant, (i * 7919) % 100000 AS amount FROM range($((f * per_file)), $(((f + 1) * per_file))) t(i))
        TO '$work/project/data/orders/part-$f.parquet' (FORMAT parquet);"
done >"$work/gen.sql"
"$work/bin/dram-sql" "$work/gen.sql" >/dev/null
printf 'engine:\n  threads: 1\n  pool_size: 2\ncache:\n  max_bytes: 0\n' >"$work/project/dram.yml"
printf 'name: orders\nsource: %s\nreplicas: 2\nshards: 4\n' "$work/project/data" >"$work/project/datasets/orders.yml"
printf 'name: whole\nsource: %s\n' "$work/project/data" >"$work/project/datasets/whole.yml"
# Sharded by tenant, one copy per shard: a lookup that names a tenant runs on one shard, on one member.
printf 'name: by_tenant\nsource: %s\nreplicas: 1\nshards: 4\nshard_by: tenant\n' "$work/project/data" >"$work/project/datasets/by_tenant.yml"
cat >"$work/project/endpoints/orders_lookup.yml" <<YML
name: orders_lookup
dataset: by_tenant
table: orders
cache: false
params:
  tenant: {type: integer, required: true}
  id: {type: integer, required: true}
filters:
  - {column: tenant, op: eq, param: tenant}
  - {column: id, op: eq, param: id}
select: [id, tenant, amount]
YML
for d in orders whole; do
  cat >"$work/project/endpoints/${d}_by_tenant.yml" <<YML
name: ${d}_by_tenant
dataset: $d
table: orders
cache: false
params:
  min_amount: {type: integer}
filters:
  - {column: amount, op: gte, param: min_amount}
group_by: [tenant]
select: [tenant, {column: amount, agg: sum, as: revenue}, {agg: count, as: n}, {column: amount, agg: avg, as: mean}]
order_by: [-revenue]
limit: {default: 10}
YML
done
"$dram" apply "$work/project" --catalog "$work/catalog" >/dev/null || die "apply failed"

# Every shard of by_tenant has a ready copy that ADDRESS reaches: a lookup of each of the 50
# tenants answers 200.
all_tenants_answer() {
  local t
  for t in $(seq 0 49); do curl -fs --max-time 5 -o /dev/null "http://$1/v1/orders_lookup?tenant=$t&id=$t" 2>/dev/null || return 1; done
}
api=()
for i in 1 2 3; do
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  DRAM_CLUSTER_SECRET=bench-secret "$dram" serve --catalog "$work/catalog" --cluster bench --etcd "$ETCD_ENDPOINTS" \
    --advertise "127.0.0.1:$port" --listen "127.0.0.1:$port" --admin-listen 127.0.0.1:0 --cache-dir "$work/cache$i" \
    --lease-ttl 4 --rereplicate-after 1000 --poll-interval 500 --ready-file "$work/ready$i" >"$work/member$i.log" 2>&1 &
  pids+=($!)
  api+=("127.0.0.1:$port")
done
# Ready: every member answers both endpoints (each holds its share of the shards, or hands over).
for _ in $(seq 600); do
  ok=1
  for a in "${api[@]}"; do
    for d in orders whole; do
      curl -fs --max-time 5 -o /dev/null "http://$a/v1/${d}_by_tenant" 2>/dev/null || ok=0
    done
  done
  [ "$ok" = 1 ] && all_tenants_answer "${api[0]}" && break
  sleep 0.2
done
[ "$ok" = 1 ] || { tail -20 "$work"/member*.log >&2; die "the members did not all answer within 120 s"; }
sleep 2  # let surplus copies go (make before break)

members=$(IFS=,; echo "${api[*]}")
# Where orders' copies are (placement decides; a member with none hands each request over, which
# the overhead below then includes): copies per member address, from the shard map.
curl -fs -H 'X-Dram-Scatter: plan' -H 'X-Dram-Cluster-Secret: bench-secret' "http://${api[0]}/v1/orders_by_tenant" |
  python3 -c 'import json, sys, collections
m = json.load(sys.stdin); held = collections.Counter(r["api"] for shard in m["replicas"] for r in shard)
print("orders copies per member:", ", ".join(f"{a} {held.get(a, 0)}" for a in sys.argv[1].split(",")), "(requests go to the first)")' "$members" || true
python3 - "$REQUESTS" "${api[0]}" "$work/bin/client_bench" "$members" "${pids[@]}" <<'PY'
import http.client, json, os, subprocess, sys, time
requests, address, client_bench, members, pids = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:]
host, port = address.split(":")
tick = os.sysconf("SC_CLK_TCK")
def cpu():
    total = 0
    for pid in pids:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / tick
def run(path):
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    times, shards, overheads = [], 0, []
    parts = {"fan-out": [], "reduce": [], "plan+reply": [], "http": []}  # the overhead split by Server-Timing
    before = cpu()
    for i in range(requests):
        start = time.perf_counter()
        conn.request("GET", f"{path}?min_amount={(i * 37) % 90000}")
        response = conn.getresponse()
        body = response.read()
        times.append((time.perf_counter() - start) * 1000)
        if response.status != 200:
            sys.exit(f"{path}: HTTP {response.status}: {body[:300]!r}")
        meta = json.loads(body)["meta"]
        shards = len(meta.get("shards", []))
        if shards:
            # What coordinating cost beyond the slowest shard's map step (its member's call included).
            slowest = max(s["ms"] for s in meta["shards"])
            overheads.append(times[-1] - slowest)
            timing = {}  # name -> dur (each entry is name;dur=…[;desc="…"])
            for item in (response.getheader("Server-Timing") or "").split(", "):
                name, *params = item.split(";")
                durations = [p[len("dur="):] for p in params if p.startswith("dur=")]
                if durations:
                    timing[name] = durations[0]
            if {"gather", "reduce", "total"} <= timing.keys():
                gather, reduce, total = (float(timing[k]) for k in ("gather", "reduce", "total"))
                parts["fan-out"].append(gather - slowest)
                parts["reduce"].append(reduce)
                parts["plan+reply"].append(total - gather - reduce)
                parts["http"].append(times[-1] - total)
    used = cpu() - before
    times.sort()
    overheads.sort()
    if overheads:
        overhead_p50 = overheads[len(overheads) // 2]
        overhead_p99 = overheads[min(len(overheads) - 1, int(len(overheads) * 0.99))]
        print(f"coordinator overhead {path}: p50 {overhead_p50:.2f} ms, p99 {overhead_p99:.2f} ms "
              f"(request latency - slowest shard's map step, per request; target p50 <= 2 ms)")
        if parts["reduce"]:
            print("  its parts, p50 ms (Server-Timing): " + ", ".join(
                f"{name} {sorted(values)[len(values) // 2]:.2f}" for name, values in parts.items()) +
                  " (fan-out: gather - slowest map step; plan+reply: arrival to reply - gather - reduce; "
                  "http: seen by the caller - total)")
    return times[len(times) // 2], times[min(len(times) - 1, int(len(times) * 0.99))], used / requests * 1000, shards
def run_client(path):
    before = cpu()
    out = subprocess.run([client_bench, members, path, str(requests)], capture_output=True, text=True, timeout=600,
                         env=dict(os.environ, DRAM_CLUSTER_SECRET="bench-secret"))
    if out.returncode != 0:
        sys.exit(f"client_bench: {out.stderr[-500:]}")
    used = cpu() - before
    r = json.loads(out.stdout)
    return r["p50_ms"], r["p99_ms"], used / requests * 1000 + r["client_cpu_ms_per_request"], 4, r
whole = run("/v1/whole_by_tenant")
split = run("/v1/orders_by_tenant")
smart = run_client("/v1/orders_by_tenant")
print(f"{'':34} {'p50 ms':>8} {'p99 ms':>8} {'CPU ms/req':>11}  shards")
print(f"{'whole (one copy, local)':34} {whole[0]:8.2f} {whole[1]:8.2f} {whole[2]:11.2f}  {whole[3]}")
print(f"{'orders via a member (transparent)':34} {split[0]:8.2f} {split[1]:8.2f} {split[2]:11.2f}  {split[3]}")
print(f"{'orders via the smart client':34} {smart[0]:8.2f} {smart[1]:8.2f} {smart[2]:11.2f}  {smart[3]}")
print(f"{'difference transparent - whole':34} {split[0] - whole[0]:8.2f} {split[1] - whole[1]:8.2f} {split[2] - whole[2]:11.2f}")
print(f"{'ratio client / transparent':34} {smart[0] / split[0]:8.2f} {smart[1] / split[1]:8.2f} {smart[2] / split[2]:11.2f}")
print(f"(CPU: every member's, plus the client's own for the smart client; client map requests "
      f"{smart[4]['map_requests']}, hedges {smart[4]['hedges']}, retries {smart[4]['retries']})")
PY

# Throughput of the tenant-sharded lookup: 3 members (each shard on one of them; a member asked for
# a tenant whose shard it does not hold asks the holder), then 1 (the other two stopped, their
# shards loaded again on the one left). The same load both times: one wrk per member address
# (3 wrk processes; against the single member all three), each 1 thread x CONNECTIONS.
lookup_load() {  # ADDRESS... → summed requests/s, and every server's CPU ms per request
  local out=() a pid cpu_before cpu_after rps=0 requests=0
  cpu_before=$(for pid in "${pids[@]}"; do [ -r "/proc/$pid/stat" ] && awk '{print $14 + $15}' "/proc/$pid/stat"; done | paste -sd+ | bc)
  for a in "$@"; do
    WRK_ROWS=$ROWS wrk -t1 -c"$CONNECTIONS" -d"${LOOKUP_SECONDS}s" --latency -s "$root/bench/wrk/shard_lookup.lua" "http://$a" >"$work/wrk-$a.out" 2>&1 &
    out+=($!)
  done
  for pid in "${out[@]}"; do wait "$pid"; done
  cpu_after=$(for pid in "${pids[@]}"; do [ -r "/proc/$pid/stat" ] && awk '{print $14 + $15}' "/proc/$pid/stat"; done | paste -sd+ | bc)
  for a in "$@"; do
    grep -q '^wrk_result' "$work/wrk-$a.out" || die "wrk against $a: $(tail -3 "$work/wrk-$a.out")"
    local line errors
    line=$(grep '^wrk_result' "$work/wrk-$a.out")
    errors=$(sed -n 's/.* errors=\([0-9]*\).*/\1/p' <<<"$line")
    [ "$errors" = 0 ] || die "wrk against $a: $errors errors"
    rps=$(echo "$rps + $(sed -n 's/.*rps=\([0-9.]*\).*/\1/p' <<<"$line")" | bc -l)
    requests=$((requests + $(sed -n 's/.*requests=\([0-9]*\).*/\1/p' <<<"$line")))
  done
  echo "$rps $(echo "($cpu_after - $cpu_before) * 1000 / $(getconf CLK_TCK) / $requests" | bc -l)"
}
if command -v wrk >/dev/null; then
  read -r rps3 cpu3 < <(lookup_load "${api[@]}")
  kill "${pids[1]}" "${pids[2]}"
  wait "${pids[1]}" "${pids[2]}" 2>/dev/null || true
  pids=("${pids[0]}")
  # The one member left loads the shards it did not hold once the others' leases end.
  held=0
  for _ in $(seq 300); do
    if all_tenants_answer "${api[0]}"; then held=1; break; fi
    sleep 0.2
  done
  [ "$held" = 1 ] || die "the member left did not take every shard of by_tenant"
  read -r rps1 cpu1 < <(lookup_load "${api[0]}" "${api[0]}" "${api[0]}")
  printf '\ntenant-sharded lookup (one shard per request, uncached), %s s, 3 wrk x %s connections:\n' "$LOOKUP_SECONDS" "$CONNECTIONS"
  printf '  3 members: %8.0f req/s, CPU %.3f ms/request (every member)\n' "$rps3" "$cpu3"
  printf '  1 member:  %8.0f req/s, CPU %.3f ms/request\n' "$rps1" "$cpu1"
  printf '  3 members / 1 member: %.2fx (target >= 2.5x; here every member and wrk share the same %s cores)\n' \
    "$(echo "$rps3 / $rps1" | bc -l)" "$(nproc)"
else
  echo "(wrk not installed: DRAM_WITH_BENCH=1 scripts/setup.sh; the lookup throughput is skipped)"
fi

# Hedging: the smart client with one member that is sometimes slow. Member 1 stays; the others
# stop and two new ones join, the second behind bench/slow_proxy.py (it advertises the proxy's
# port, so everyone reaches it through the proxy), which holds back one reply in HEDGE_EVERY by
# HEDGE_DELAY_MS. Once placement has given it copies of orders, the same requests through the
# smart client unhedged and hedged (after that member's own p95, within 5% extra map steps).
for pid in "${pids[@]:1}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
pids=("${pids[0]}")
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
slow_listen=$(free_port) slow_advertise=$(free_port) other=$(free_port)
python3 "$root/bench/slow_proxy.py" "$slow_advertise" "$slow_listen" "$HEDGE_EVERY" "$HEDGE_DELAY_MS" >"$work/proxy.log" 2>&1 &
proxy_pid=$!
pids+=("$proxy_pid")  # (for cleanup)
for m in "$other:$other" "$slow_advertise:$slow_listen"; do
  DRAM_CLUSTER_SECRET=bench-secret "$dram" serve --catalog "$work/catalog" --cluster bench --etcd "$ETCD_ENDPOINTS" \
    --advertise "127.0.0.1:${m%%:*}" --listen "127.0.0.1:${m##*:}" --admin-listen 127.0.0.1:0 --cache-dir "$work/cache-${m%%:*}" \
    --lease-ttl 4 --rereplicate-after 1000 --poll-interval 500 >"$work/member-${m%%:*}.log" 2>&1 &
  pids+=($!)
done
# Placed: every shard of orders has 2 copies, and the slow member holds some of them.
placed() {
  curl -fs -H 'X-Dram-Scatter: plan' -H 'X-Dram-Cluster-Secret: bench-secret' "http://${api[0]}/v1/orders_by_tenant" |
    python3 -c 'import json, sys
m = json.load(sys.stdin)
ok = all(len(shard) >= 2 for shard in m["replicas"]) and any(r["api"] == sys.argv[1] for shard in m["replicas"] for r in shard)
sys.exit(0 if ok else 1)' "127.0.0.1:$slow_advertise"
}
ok=0
for _ in $(seq 600); do
  if placed; then ok=1; break; fi
  sleep 0.2
done
[ "$ok" = 1 ] || { tail -5 "$work"/member-*.log >&2; die "the slow member got no copy of orders within 120 s"; }
sleep 3  # surplus copies go
hedge_run() {  # HEDGE → the client_bench JSON line
  HEDGE=$1 DRAM_CLUSTER_SECRET=bench-secret timeout 600 "$work/bin/client_bench" "${api[0]}" /v1/orders_by_tenant "$REQUESTS" ||
    die "client_bench (HEDGE=$1) failed"
}
unhedged=$(hedge_run 0)
hedged=$(hedge_run 1)
kill "$proxy_pid"
wait "$proxy_pid" 2>/dev/null || true
python3 - "$unhedged" "$hedged" "$(cat "$work/proxy.log")" "$HEDGE_EVERY" "$HEDGE_DELAY_MS" <<'PY'
import json, sys
off, on = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(f"\nsmart client, one member holding back 1 reply in {sys.argv[4]} by {sys.argv[5]} ms ({sys.argv[3]}, both runs):")
print(f"{'':10} {'p50 ms':>8} {'p99 ms':>8} {'client CPU ms/req':>18} {'map requests':>13} {'hedges':>7}")
for name, r in (("unhedged", off), ("hedged", on)):
    print(f"{name:10} {r['p50_ms']:8.2f} {r['p99_ms']:8.2f} {r['client_cpu_ms_per_request']:18.3f} {r['map_requests']:13} {r['hedges']:7}")
extra = on["hedges"] / max(1, on["map_requests"] - on["hedges"])
print(f"hedged / unhedged p99: {on['p99_ms'] / off['p99_ms']:.2f}x; extra map requests {100 * extra:.1f}% (cap 5%)")
PY

echo
echo "partial results between members: columnar (sent) vs JSON rows and the exact CSV in JSON sent before (bench/wire_bench.cc)"
# shellcheck disable=SC2086
"$BUILD_DIR/bench/wire_bench" $WIRE_ROWS
echo
echo "the reduce step alone, against the file + read_csv it replaced (bench/reduce_bench.cc)"
"$BUILD_DIR/bench/reduce_bench" "$REDUCE_ROUNDS" "$((REDUCE_ROUNDS / 2))"
