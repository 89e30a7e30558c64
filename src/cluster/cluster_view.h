#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "cluster/prefix_watcher.h"
#include "cluster/records.h"
#include "common/mutex.h"

namespace dram::cluster {

// What the cluster's etcd prefix says at one moment, parsed.
struct ClusterSnapshot {
  std::map<std::string, MemberRecord> members;  // live (their lease holds), by id
  std::vector<ReplicaRecord> replicas;          // of live members
  std::map<std::string, bool> drains;           // members asked to drain
  int64_t catalog_head = 0;
  int64_t revision = 0;
  bool synced = false;  // a first snapshot of the prefix has arrived

  // Ready copies of `copy` on live members, optionally only those serving `snapshot`.
  int ReadyCopies(const database::CopyId& copy, const std::string& snapshot = "", const std::string& except_member = "") const;
  // Copies of `copy` on live members in `state` ("cold", "loading", …).
  int CopiesIn(const database::CopyId& copy, std::string_view state) const;
};

// A mirror of one cluster's prefix in etcd, kept current by a PrefixWatcher (its thread applies
// updates; `on_change` runs there after each). Owner: ClusterNode. Thread-safety: Start/Stop from
// the owner; Snapshot() from any thread.
class ClusterView {
 public:
  // `on_change(catalog_head)` runs on the watcher's thread after every update.
  ClusterView(EtcdClient& client, const Keys& keys, std::function<void(int64_t catalog_head)> on_change);
  ~ClusterView();
  void Start();  // starts mirroring (the watcher's thread)
  void Stop();
  ClusterSnapshot Snapshot() const;
  // When the mirror last heard from etcd (a snapshot or events); watch silence is bounded by the
  // watcher's idle timeout.
  std::chrono::steady_clock::time_point last_update() const;

 private:
  void Apply(const PrefixUpdate& update);

  EtcdClient& client_;
  const Keys& keys_;
  std::function<void(int64_t)> on_change_;
  mutable common::Mutex mu_;
  std::map<std::string, std::string> kvs_ GUARDED_BY(mu_);
  int64_t revision_ GUARDED_BY(mu_) = 0;
  bool synced_ GUARDED_BY(mu_) = false;
  std::chrono::steady_clock::time_point last_update_ GUARDED_BY(mu_);
  std::unique_ptr<PrefixWatcher> watcher_;  // last: its thread calls Apply
};

}  // namespace dram::cluster
