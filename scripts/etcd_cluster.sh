#!/usr/bin/env bash
# A real etcd cluster for the tests: N members of Debian's etcd-server (3.4) on 127.0.0.1, each
# with its own free client and peer ports, data, log and pid file under DIR. Raft timing is the
# one the cluster module is written for: --heartbeat-interval 250 --election-timeout 2500.
#
#   scripts/etcd_cluster.sh start DIR [N]          starts members m1..mN (default 3), waits until
#                                                  every one is healthy, writes DIR/env
#   scripts/etcd_cluster.sh stop DIR               stops every member (by PID) and removes DIR
#   scripts/etcd_cluster.sh kill DIR NAME          SIGKILLs one member (its data stays in DIR)
#   scripts/etcd_cluster.sh restart DIR NAME...    starts killed members again (same ports, same
#                                                  data) and waits until every running member is
#                                                  healthy
#
# DIR/env, in shell syntax:
#   ETCD_ENDPOINTS=http://127.0.0.1:P1,http://127.0.0.1:P2,...   the client URLs, in member order
#   ETCD_MEMBERS="m1 m2 m3"
#   ETCD_MEMBER_m1_URL=http://127.0.0.1:P1   ETCD_MEMBER_m1_PID_FILE=DIR/m1.pid   (one pair per member)
# Watch progress notifications come every second (--experimental-watch-progress-notify-interval;
# etcd's default is 10 minutes; one is skipped after events, so a healthy watch stream is silent
# for up to 2 s), so tests can use watch idle timeouts of 3 s.
# With ETCD_CLUSTER_OWNER_PID set, start also leaves a watchdog that stops the cluster (and removes
# DIR) within ~1 s of that process exiting, so a test killed before its cleanup (a timeout, a
# crash) leaves no members behind.
# Every wait is bounded; a failed start leaves no process behind (the logs stay in DIR). Nothing
# runs as a system service; nothing outlives stop.
set -euo pipefail
cmd=${1:?start|stop|kill|restart}
dir=${2:?directory}
if [ -d "$dir" ]; then dir=$(cd "$dir" && pwd); fi  # (reservations name it whole)

readonly health_wait_s=30       # a 3-member cluster is healthy after ~2 s here
readonly stop_wait_tenths=50    # how long a signalled member may take to exit before SIGKILL
readonly start_attempts=3       # new ports each time, in case another process took one first

# A port nobody listens on, below the kernel's ephemeral range (32768+) so outgoing connections
# cannot take it meanwhile, and reserved to this cluster (a directory per port under `reserved`,
# naming DIR) until it stops: a test that kills a member and restarts it on the same port leaves
# that port free for a moment, and another cluster started meanwhile (tests run in parallel) must
# not take it (seen once: "bind: address already in use" on restart). A reservation whose DIR is
# gone is stale and taken over.
readonly reserved=${TMPDIR:-/tmp}/dram-etcd-ports
free_port() {
  local port owner
  mkdir -p "$reserved"
  for _ in $(seq 1 200); do
    port=$((20000 + RANDOM % 12000))
    if ! mkdir "$reserved/$port" 2>/dev/null; then
      owner=$(cat "$reserved/$port/owner" 2>/dev/null || true)
      [ -z "$owner" ] || [ -d "$owner" ] && continue  # (no owner yet: being reserved right now)
      rm -rf "$reserved/$port"
      mkdir "$reserved/$port" 2>/dev/null || continue
    fi
    echo "$dir" >"$reserved/$port/owner"
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return
    fi
    rm -rf "$reserved/$port"
  done
  echo "etcd_cluster.sh: no free port" >&2
  return 1
}

release_ports() {  # this cluster's reservations (free_port)
  [ -f "$dir/members" ] || return 0
  local port
  for port in $(awk '{ print $2; print $3 }' "$dir/members"); do
    [ "$(cat "$reserved/$port/owner" 2>/dev/null)" = "$dir" ] && rm -rf "${reserved:?}/$port"
  done
  return 0
}

member_field() {  # NAME FIELD(2=client port, 3=peer port)
  awk -v n="$1" -v f="$2" '$1 == n { print $f }' "$dir/members"
}

start_member() {
  local name=$1 client_port peer_port
  client_port=$(member_field "$name" 2)
  peer_port=$(member_field "$name" 3)
  [ -n "$client_port" ] || { echo "etcd_cluster.sh: no member $name in $dir" >&2; return 1; }
  # --initial-* flags are read only while the data directory is empty; a restart reuses the data.
  etcd --name "$name" --data-dir "$dir/$name" \
    --listen-client-urls "http://127.0.0.1:$client_port" --advertise-client-urls "http://127.0.0.1:$client_port" \
    --listen-peer-urls "http://127.0.0.1:$peer_port" --initial-advertise-peer-urls "http://127.0.0.1:$peer_port" \
    --initial-cluster "$(cat "$dir/initial-cluster")" --initial-cluster-state new \
    --initial-cluster-token "$(cat "$dir/token")" \
    --heartbeat-interval 250 --election-timeout 2500 \
    --experimental-watch-progress-notify-interval 1s \
    </dev/null >>"$dir/$name.log" 2>&1 &
  echo $! >"$dir/$name.pid"
}

running() { [ -f "$dir/$1.pid" ] && kill -0 "$(cat "$dir/$1.pid")" 2>/dev/null; }

# Waits until every running member answers /health with true. Fails early when one exits.
wait_healthy() {
  local deadline=$((SECONDS + health_wait_s)) name all
  while :; do
    all=1
    for name in $(awk '{ print $1 }' "$dir/members"); do
      [ -f "$dir/$name.pid" ] || continue  # killed on purpose
      if ! running "$name"; then
        echo "etcd_cluster.sh: member $name exited:" >&2
        tail -5 "$dir/$name.log" >&2
        return 1
      fi
      curl -s --max-time 1 "http://127.0.0.1:$(member_field "$name" 2)/health" | grep -q '"health":"true"' || all=0
    done
    [ "$all" = 1 ] && return 0
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "etcd_cluster.sh: not healthy after ${health_wait_s}s; logs in $dir" >&2
      return 1
    fi
    sleep 0.2
  done
}

kill_member() {  # NAME SIGNAL: signals it and waits (bounded) until it is gone
  local pid
  [ -f "$dir/$1.pid" ] || return 0
  pid=$(cat "$dir/$1.pid")
  kill "-$2" "$pid" 2>/dev/null || true
  for _ in $(seq 1 "$stop_wait_tenths"); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
  for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  rm -f "$dir/$1.pid"
}

stop() {
  [ -d "$dir" ] || return 0
  local pids=() f
  for f in "$dir"/*.pid; do [ -f "$f" ] && pids+=("$(cat "$f")"); done
  # SIGKILL, all at once: the data goes with DIR, and SIGTERM makes a leader hand over its
  # leadership first (9 s for a 3-member cluster here). SIGKILL also ends a SIGSTOPped member.
  [ ${#pids[@]} -gt 0 ] && kill -KILL "${pids[@]}" 2>/dev/null || true
  for f in "$dir"/*.pid; do [ -f "$f" ] && kill_member "$(basename "$f" .pid)" KILL; done
  release_ports
  rm -rf "$dir"
}

start_cluster() {
  local count=$1 i name client_port peer_port
  rm -rf "$dir"
  mkdir -p "$dir"
  : >"$dir/members"
  local initial=""
  for i in $(seq 1 "$count"); do
    name="m$i"
    client_port=$(free_port)
    peer_port=$(free_port)
    echo "$name $client_port $peer_port" >>"$dir/members"
    initial+="${initial:+,}$name=http://127.0.0.1:$peer_port"
  done
  echo "$initial" >"$dir/initial-cluster"
  echo "dram-test-$$-$RANDOM" >"$dir/token"
  for name in $(awk '{ print $1 }' "$dir/members"); do start_member "$name"; done
  wait_healthy
}

# Stops this cluster once process $1 is gone; ends by itself when the cluster is stopped (DIR
# removed) or DIR is started anew (another token).
watch_owner() {
  local owner=$1 token
  token=$(cat "$dir/token")
  (
    while [ "$(cat "$dir/token" 2>/dev/null)" = "$token" ] && kill -0 "$owner" 2>/dev/null; do sleep 1; done
    [ "$(cat "$dir/token" 2>/dev/null)" = "$token" ] && stop
  ) </dev/null >/dev/null 2>&1 &
}

write_env() {
  local name endpoints="" names=""
  for name in $(awk '{ print $1 }' "$dir/members"); do
    endpoints+="${endpoints:+,}http://127.0.0.1:$(member_field "$name" 2)"
    names+="${names:+ }$name"
  done
  {
    echo "export ETCD_ENDPOINTS=$endpoints"
    echo "export ETCD_MEMBERS=\"$names\""
    for name in $names; do
      echo "export ETCD_MEMBER_${name}_URL=http://127.0.0.1:$(member_field "$name" 2)"
      echo "export ETCD_MEMBER_${name}_PID_FILE=$dir/$name.pid"
    done
  } >"$dir/env"
}

case "$cmd" in
  stop)
    stop
    ;;
  start)
    count=${3:-3}
    [[ "$count" =~ ^[1-9]$ ]] || { echo "etcd_cluster.sh: N must be 1..9" >&2; exit 2; }
    command -v etcd >/dev/null || { echo "etcd_cluster.sh: etcd not installed (apt-get install etcd-server)" >&2; exit 1; }
    stop
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    for attempt in $(seq 1 "$start_attempts"); do
      if start_cluster "$count"; then
        write_env
        [ -n "${ETCD_CLUSTER_OWNER_PID:-}" ] && watch_owner "$ETCD_CLUSTER_OWNER_PID"
        echo "etcd: $count members healthy; environment in $dir/env"
        exit 0
      fi
      # Show why (a port taken meanwhile shows as "address already in use"), then clean up every
      # member the attempt started; the next attempt picks new ports.
      echo "etcd_cluster.sh: start attempt $attempt failed:" >&2
      for f in "$dir"/*.log; do [ -f "$f" ] && { echo "== $f" >&2; tail -3 "$f" >&2; }; done
      for f in "$dir"/*.pid; do [ -f "$f" ] && kill -9 "$(cat "$f")" 2>/dev/null || true; done
    done
    exit 1
    ;;
  kill)
    name=${3:?member name}
    [ -n "$(member_field "$name" 2)" ] || { echo "etcd_cluster.sh: no member $name" >&2; exit 2; }
    kill_member "$name" KILL
    ;;
  restart)
    shift 2
    [ $# -gt 0 ] || { echo "usage: $0 restart DIR NAME..." >&2; exit 2; }
    for name in "$@"; do
      running "$name" && { echo "etcd_cluster.sh: $name is running" >&2; exit 2; }
      start_member "$name"
    done
    wait_healthy
    ;;
  *)
    echo "usage: $0 start DIR [N] | stop DIR | kill DIR NAME | restart DIR NAME..." >&2
    exit 2
    ;;
esac
