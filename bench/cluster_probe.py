#!/usr/bin/env python3
"""What bench/cluster.sh asks the cluster, one process per step (python3 takes ~0.5 s to start on a
busy 2-core box, so the polling loops run in here rather than as one python3 per poll).

ADMINS is a comma-separated list of the live members' admin HOST:PORT; the first one answers
/cluster/where/orders and the member list, each one its own /cluster/status (bytes_loaded,
copies_dropped). Output is `key=value` words on one line, for the shell to read.

  state ADMINS N OUT.json                 one snapshot of the cluster into OUT.json; prints a summary
  wait-settled ADMINS N LIVE TIMEOUT OUT.json [ID]
                                          until LIVE members are live, every shard has exactly N
                                          ready copies on them and nothing else, ID (if given) holds
                                          one, and bytes_loaded stays put, for 3 polls 0.5 s apart;
                                          prints at=EPOCH (first seen so) and the summary of the
                                          last poll, whose snapshot goes to OUT.json
  wait-restored ADMINS N GONE TIMEOUT     polls every 0.1 s until GONE is no longer a member and
                                          every shard has >= N ready copies on live members;
                                          prints at=EPOCH
  moved BEFORE.json AFTER.json [JOINER]   bytes_loaded and copies_dropped deltas between two
                                          snapshots, and which copies are new (and how many on JOINER)
  loads ADMINS SINCE                      copies loaded since SINCE (epoch seconds), from each member's
                                          /databases (loaded_at, load_ms): count=, start= (the first
                                          load's start), end= (the last one's end), summed_ms=
  held SNAPSHOT.json MEMBER                bytes=B copies=C: the ready copies MEMBER holds in a snapshot
  etcd URLS                               counters from every etcd member's /metrics, summed
                                          (per-member counters) or the largest (cluster-wide ones),
                                          and t=EPOCH when it started asking
Exit status 1 when a wait times out (the last state goes to stderr).
"""
import datetime
import json
import sys
import time
import urllib.request

ORDERS = "orders"
# name -> how to combine the etcd members' values: raft counters are the same on every member
# (the largest is the most caught-up one); renewals count only on the leader, ranges where served.
ETCD_METRICS = {
    "etcd_server_proposals_committed_total": max,
    "etcd_debugging_lease_renewed_total": sum,
    "etcd_mvcc_put_total": max,
    "etcd_mvcc_txn_total": max,
    "etcd_mvcc_delete_total": max,
    "etcd_mvcc_range_total": sum,
}


def get(url):
    with urllib.request.urlopen(url, timeout=5) as reply:
        return reply.read().decode()


def snapshot(admins):
    """Status of every member in `admins` and the shard map as the first one sees it."""
    statuses = {}
    for admin in admins:
        s = json.loads(get(f"http://{admin}/cluster/status"))
        statuses[s["member"]] = {k: s[k] for k in ("bytes_loaded", "copies_dropped", "under_replicated")}
    first = json.loads(get(f"http://{admins[0]}/cluster/status"))
    where = json.loads(get(f"http://{admins[0]}/cluster/where/{ORDERS}"))
    return {"t": time.time(), "live": [m["id"] for m in first["members"]], "status": statuses, "where": where}


def summary(snap, n):
    """Counts over the ready copies on live members: per member (max, mean) in copies and bytes, and
    the smallest and largest shard (the bytes of its first ready copy)."""
    live = snap["live"]
    copies_of = {m: 0 for m in live}
    bytes_of = {m: 0 for m in live}
    shard_bytes = []
    exact, short, not_ready = 1, 0, 0
    for shard in snap["where"]["shards"]:
        here = [r for r in shard["replicas"] if r["member"] in copies_of]
        ready = [r for r in here if r["state"] == "ready"]
        not_ready += len(here) - len(ready)
        exact &= len(ready) == n and len(here) == n
        short += len(ready) < n
        if ready:
            shard_bytes.append(ready[0]["bytes"])
        for r in ready:
            copies_of[r["member"]] += 1
            bytes_of[r["member"]] += r["bytes"]
    members = max(len(live), 1)
    loaded = sum(s["bytes_loaded"] for s in snap["status"].values())
    return {"live": len(live), "exact": exact, "short": short, "not_ready": not_ready,
            "copies": sum(copies_of.values()), "bytes": sum(bytes_of.values()),
            "max": max(copies_of.values(), default=0), "mean": "%.2f" % (sum(copies_of.values()) / members),
            "bytes_max": max(bytes_of.values(), default=0), "bytes_mean": "%.0f" % (sum(bytes_of.values()) / members),
            "shard_min": min(shard_bytes, default=0), "shard_max": max(shard_bytes, default=0), "loaded": loaded}


def holders(snap):
    """(member, shard) -> bytes of each ready copy."""
    out = {}
    for shard in snap["where"]["shards"]:
        for r in shard["replicas"]:
            if r["state"] == "ready":
                out[(r["member"], shard["shard"])] = r["bytes"]
    return out


def words(d):
    return " ".join(f"{k}={v}" for k, v in d.items())


def cmd_state(admins, n, out):
    snap = snapshot(admins)
    with open(out, "w") as f:
        json.dump(snap, f)
    print(words(summary(snap, n)))


def cmd_wait_settled(admins, n, live, timeout, out, must=None):
    deadline = time.time() + timeout
    seen, first, last_loaded, last = 0, None, None, None
    while time.time() < deadline:
        try:
            snap = snapshot(admins)
            s = summary(snap, n)
            ok = (s["live"] == live and s["exact"] == 1 and (must is None or any(m == must for m, _ in holders(snap)))
                  and (last_loaded is None or s["loaded"] == last_loaded))
            last_loaded, last = s["loaded"], s
        except (OSError, ValueError, KeyError) as e:
            ok, last = False, {"error": str(e)}
        if ok:
            first = first or snap["t"]
            seen += 1
            if seen >= 3:
                with open(out, "w") as f:
                    json.dump(snap, f)
                print(words({"at": "%.3f" % first, **s}))
                return 0
        else:
            seen, first = 0, None
        time.sleep(0.5)
    print(f"cluster_probe: not settled after {timeout} s: {last}", file=sys.stderr)
    return 1


def cmd_wait_restored(admins, n, gone, timeout):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        try:
            snap = snapshot(admins[:1])
            s = summary(snap, n)
            last = s
            if gone not in snap["live"] and s["short"] == 0:
                print(words({"at": "%.3f" % snap["t"], **s}))
                return 0
        except (OSError, ValueError, KeyError) as e:
            last = {"error": str(e)}
        time.sleep(0.1)
    print(f"cluster_probe: not restored after {timeout} s: {last}", file=sys.stderr)
    return 1


def cmd_moved(before_file, after_file, joiner=None):
    before, after = (json.load(open(f)) for f in (before_file, after_file))
    loaded = dropped = stayers = 0
    for member, s in after["status"].items():
        b = before["status"].get(member, {"bytes_loaded": 0, "copies_dropped": 0})
        d = s["bytes_loaded"] - b["bytes_loaded"]
        loaded += d
        stayers += d if member != joiner else 0
        dropped += s["copies_dropped"] - b["copies_dropped"]
    new = set(holders(after)) - set(holders(before))
    print(words({"loaded": loaded, "loaded_by_stayers": stayers, "dropped": dropped, "new_copies": len(new),
                 "new_on_joiner": sum(1 for m, _ in new if m == joiner)}))


def cmd_held(snap_file, member):
    mine = [b for (m, _), b in holders(json.load(open(snap_file))).items() if m == member]
    print(words({"bytes": sum(mine), "copies": len(mine)}))


def cmd_loads(admins, since):
    count, start, end, summed = 0, None, None, 0
    for admin in admins:
        for db in json.loads(get(f"http://{admin}/databases"))["databases"]:
            if not db.get("loaded_at") or not db["name"].startswith(ORDERS + "~"):
                continue
            done = datetime.datetime.fromisoformat(db["loaded_at"].replace("Z", "+00:00")).timestamp()
            if done < since:
                continue
            began = done - db["load_ms"] / 1000
            count, summed = count + 1, summed + db["load_ms"]
            start, end = min(start or began, began), max(end or done, done)
    print(words({"count": count, "start": "%.3f" % (start or 0), "end": "%.3f" % (end or 0), "summed_ms": summed}))


def cmd_etcd(urls):
    values = {name: [] for name in ETCD_METRICS}
    t = time.time()
    for url in urls:
        for line in get(f"{url}/metrics").splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[0] in values:
                values[parts[0]].append(float(parts[1]))
    print(words({"t": "%.3f" % t, **{name: "%.0f" % (combine(values[name]) if values[name] else 0)
                                      for name, combine in ETCD_METRICS.items()}}))


def main(argv):
    cmd, args = argv[1], argv[2:]
    if cmd == "state":
        return cmd_state(args[0].split(","), int(args[1]), args[2])
    if cmd == "wait-settled":
        return cmd_wait_settled(args[0].split(","), int(args[1]), int(args[2]), float(args[3]), *args[4:6])
    if cmd == "wait-restored":
        return cmd_wait_restored(args[0].split(","), int(args[1]), args[2], float(args[3]))
    if cmd == "moved":
        return cmd_moved(*args[:3])
    if cmd == "loads":
        return cmd_loads(args[0].split(","), float(args[1]))
    if cmd == "held":
        return cmd_held(*args[:2])
    if cmd == "etcd":
        return cmd_etcd(args[0].split(","))
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv) or 0)
