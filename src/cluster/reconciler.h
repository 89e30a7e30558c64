#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "cluster/cluster_view.h"
#include "cluster/membership.h"
#include "cluster/placement.h"
#include "common/mutex.h"
#include "database/dataset_manager.h"

namespace dram::cluster {

struct ReconcilerOptions {
  std::chrono::seconds lease_ttl{10};
  // A lost member's copies are re-made elsewhere only after this (so a rolling restart moves
  // nothing), at once when no ready copy of a shard is left.
  std::chrono::milliseconds rereplicate_after{45'000};
  std::chrono::milliseconds tick{500};
  int max_loads = 2;  // copies loading at once on this member
};

// What the reconciler last saw and did, for status and metrics.
struct ReconcilerReport {
  bool etcd_ok = false;      // the last tick could talk to etcd and had a synced view
  std::string etcd_error;
  bool draining = false;
  bool left = false;         // drained and deregistered
  ShardMap desired;          // the placement the last tick acted on
  std::vector<UnderReplicated> under_replicated;  // shards with fewer ready copies than wanted
  int64_t bytes_loaded = 0;  // by loads this member made for placement (bytes moved in)
  int64_t copies_dropped = 0;
  int64_t loads_failed = 0;
};

// Makes this member hold what placement gives it, on a tick (never reacting to single
// callbacks): loads missing copies (at most max_loads at once, failed ones with backoff), drops
// surplus ones make-before-break — only with a valid lease, after the copy has been surplus for
// 2×TTL, when a linearizable read shows enough other ready copies of the same snapshot, and while
// holding that shard's drop lock — and publishes what it holds. With etcd unreachable it keeps
// everything and moves nothing. Owner: ClusterNode. Thread-safety: Start/Stop from the owner;
// Report and Wake from any thread; the rest runs on its thread.
class Reconciler {
 public:
  using ManagerSource = std::function<std::shared_ptr<database::DatasetManager>()>;
  // `busy`: true while the server builds a new generation beside the live one; ticks wait, so
  // no copy is loaded into or dropped from a generation that is about to be replaced.
  Reconciler(EtcdClient& client, const Keys& keys, ClusterView& view, Membership& membership, ManagerSource manager,
             std::function<bool()> busy, ReconcilerOptions options);
  ~Reconciler();
  void Start();
  void Stop();
  void Wake();
  ReconcilerReport Report() const;

 private:
  void Loop();
  void Tick();
  void StartLoad(std::shared_ptr<database::DatasetManager> manager, const database::CopyId& copy);
  bool TryDrop(database::DatasetManager& manager, const database::CopyStatus& copy, int needed, const ClusterSnapshot& view);
  std::vector<Member> PlacementMembers(const ClusterSnapshot& view, bool with_recently_lost) const;

  EtcdClient& client_;
  const Keys& keys_;
  ClusterView& view_;
  Membership& membership_;
  ManagerSource manager_;
  std::function<bool()> busy_;
  const ReconcilerOptions options_;

  // Reconciler thread only.
  std::map<std::string, MemberRecord> last_seen_;  // members of the previous tick
  std::map<std::string, std::chrono::steady_clock::time_point> lost_at_;
  std::map<database::CopyId, std::chrono::steady_clock::time_point> surplus_since_;
  struct Backoff {
    int failures = 0;
    std::chrono::steady_clock::time_point retry_at;
  };
  std::map<database::CopyId, Backoff> backoff_;

  mutable common::Mutex mu_;
  common::CondVar cv_;
  bool stopping_ GUARDED_BY(mu_) = false;
  bool wake_ GUARDED_BY(mu_) = false;
  std::set<database::CopyId> loading_ GUARDED_BY(mu_);
  std::map<database::CopyId, Status> finished_ GUARDED_BY(mu_);  // load results not yet seen by a tick
  struct Load {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;
  };
  std::vector<Load> loads_ GUARDED_BY(mu_);
  ReconcilerReport report_ GUARDED_BY(mu_);
  std::thread thread_;
};

}  // namespace dram::cluster
