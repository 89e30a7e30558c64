#!/usr/bin/env bash
# A real S3-compatible server for the tests: Ceph's radosgw (Debian packages radosgw, ceph-mon,
# ceph-osd), single node, objects in memory (memstore), SigV4 enforced, on 127.0.0.1 only.
#
#   scripts/s3_server.sh start DIR [MEMSTORE_BYTES]   starts mon, osd and radosgw under DIR, creates
#                                                     a user and the bucket "dram-test", writes DIR/env
#   scripts/s3_server.sh stop DIR                     stops them (by PID) and removes DIR
#
# DIR/env holds AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION and
# DRAM_TEST_BUCKET, in shell syntax. Nothing runs as a system service; nothing outlives stop.
# Recipe and quirks: ../shared/notes/s3-test-servers.md.
set -euo pipefail
cmd=${1:?start|stop}
dir=${2:?directory}

free_port() {
  local port
  for _ in $(seq 1 200); do
    port=$((20000 + RANDOM % 30000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "$port"; return; fi
  done
  echo "no free port" >&2
  return 1
}

stop() {
  [ -d "$dir" ] || return 0
  for name in radosgw osd mon; do
    if [ -f "$dir/$name.pid" ]; then kill "$(cat "$dir/$name.pid")" 2>/dev/null || true; fi
  done
  for name in radosgw osd mon; do
    if [ -f "$dir/$name.pid" ]; then
      pid=$(cat "$dir/$name.pid")
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
    fi
  done
  rm -rf "$dir"
}

if [ "$cmd" = stop ]; then stop; exit 0; fi
[ "$cmd" = start ] || { echo "usage: $0 start|stop DIR" >&2; exit 2; }

stop
started=0
# A failed start leaves no process behind (the logs stay in DIR).
trap '[ "$started" = 1 ] || { echo "s3_server.sh: start failed; logs in $dir" >&2; for f in "$dir"/*.pid; do kill -9 "$(cat "$f")" 2>/dev/null || true; done; }' EXIT
mkdir -p "$dir"/mon "$dir"/osd/0 "$dir"/run "$dir"/rgw
dir=$(cd "$dir" && pwd)
mon_port=$(free_port)
rgw_port=$(free_port)
fsid=$(cat /proc/sys/kernel/random/uuid)
memstore_bytes=${3:-1073741824}
conf="$dir/ceph.conf"
cat >"$conf" <<EOF
[global]
fsid = $fsid
mon host = v2:127.0.0.1:$mon_port
auth cluster required = none
auth service required = none
auth client required = none
ms bind msgr1 = false
ms mon client mode = crc
ms client mode = crc
public addr = 127.0.0.1
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
mon allow pool size one = true
mon warn on pool no redundancy = false
mon max pg per osd = 1000
osd crush chooseleaf type = 0
osd objectstore = memstore
memstore device bytes = $memstore_bytes
run dir = $dir/run
log file = $dir/\$name.log
admin socket = $dir/run/\$name.asok
mon data = $dir/mon/\$id
osd data = $dir/osd/\$id
keyring = $dir/keyring
[client.rgw]
rgw frontends = beast endpoint=127.0.0.1:$rgw_port tcp_nodelay=1
rgw data = $dir/rgw
EOF

quiet() { "$@" >>"$dir/setup.log" 2>&1 || { echo "failed: $*" >&2; tail -20 "$dir/setup.log" >&2; return 1; }; }
quiet ceph-authtool --create-keyring "$dir/keyring" --gen-key -n mon. --cap mon 'allow *'
quiet monmaptool --create --addv a "[v2:127.0.0.1:$mon_port]" --fsid "$fsid" "$dir/monmap"
quiet ceph-mon -c "$conf" --mkfs -i a --monmap "$dir/monmap" --keyring "$dir/keyring"
ceph-mon -c "$conf" -i a -f >>"$dir/mon.out" 2>&1 &
echo $! >"$dir/mon.pid"
quiet timeout 60 ceph -c "$conf" osd create
quiet ceph-osd -c "$conf" -i 0 --mkfs
quiet ceph -c "$conf" osd crush add osd.0 1 root=default host=localhost
ceph-osd -c "$conf" -i 0 -f >>"$dir/osd.out" 2>&1 &
echo $! >"$dir/osd.pid"
radosgw -c "$conf" -n client.rgw -f >>"$dir/rgw.out" 2>&1 &
echo $! >"$dir/radosgw.pid"

endpoint="http://127.0.0.1:$rgw_port"
for i in $(seq 1 120); do
  if curl -s -o /dev/null "$endpoint/"; then break; fi
  kill -0 "$(cat "$dir/radosgw.pid")" 2>/dev/null || { echo "radosgw exited:" >&2; tail -20 "$dir/rgw.out" >&2; exit 1; }
  [ "$i" = 120 ] && { echo "radosgw did not answer on $endpoint" >&2; exit 1; }
  sleep 0.5
done

access_key="DRAMTEST$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n' | tr a-f A-F)"
secret_key=$(head -c 24 /dev/urandom | base64 | tr -d '/+=')
quiet radosgw-admin -c "$conf" -n client.rgw user create --uid=test --display-name=test \
  --access-key="$access_key" --secret-key="$secret_key"
bucket=dram-test
for i in $(seq 1 40); do
  code=$(curl -s -o /dev/null -w '%{http_code}' --aws-sigv4 "aws:amz:us-east-1:s3" \
    --user "$access_key:$secret_key" -X PUT "$endpoint/$bucket" \
    -H "x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
  [ "$code" = 200 ] && break
  [ "$i" = 40 ] && { echo "cannot create bucket (HTTP $code)" >&2; exit 1; }
  sleep 0.5
done

cat >"$dir/env" <<EOF
export AWS_ENDPOINT_URL=$endpoint
export AWS_ACCESS_KEY_ID=$access_key
export AWS_SECRET_ACCESS_KEY=$secret_key
export AWS_REGION=us-east-1
export DRAM_TEST_BUCKET=$bucket
EOF
started=1
echo "radosgw on $endpoint (bucket $bucket); environment in $dir/env"
